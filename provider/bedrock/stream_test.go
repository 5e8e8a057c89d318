package bedrock_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// frame is one message of an AWS event stream as bedrock-runtime sends it
// for ConverseStream, encoded with the SDK's own encoder. Bedrock pads
// every event with a "p" field of random length; the client ignores it.
func frame(t testing.TB, messageType, eventType, payload string) []byte {
	t.Helper()
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue(messageType))
	if messageType == "exception" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(eventType))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = []byte(payload)
	var b strings.Builder
	if err := eventstream.NewEncoder().Encode(&b, msg); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

func event(t testing.TB, typ, payload string) []byte { return frame(t, "event", typ, payload) }

func textDelta(t testing.TB, s string) []byte {
	return event(t, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":`+mustJSON(s)+`},"p":"abcdefgh"}`)
}

// A whole ConverseStream reply, as Nova Lite sends it: a reasoning-free
// answer in three pieces, then messageStop and metadata.
func streamEvents(t testing.TB, pieces ...string) [][]byte {
	evs := [][]byte{
		event(t, "messageStart", `{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN","role":"assistant"}`),
		event(t, "contentBlockStart", `{"contentBlockIndex":0,"p":"abcd","start":{}}`),
	}
	for _, s := range pieces {
		evs = append(evs, textDelta(t, s))
	}
	return append(evs,
		event(t, "contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefghijklmn"}`),
		event(t, "messageStop", `{"p":"abcdefghijklmnopqrs","stopReason":"end_turn"}`),
		event(t, "metadata", `{"metrics":{"latencyMs":321},"p":"abc","usage":{"cacheReadInputTokens":100,"cacheWriteInputTokens":20,"inputTokens":12,"outputTokens":9,"totalTokens":141}}`),
	)
}

// streamReply writes frames as an event-stream 200; before each frame
// whose index is a key of gates it waits for that channel (or the client
// going away).
func streamReply(frames [][]byte, gates map[int]<-chan struct{}, after func(w http.ResponseWriter)) reply {
	return reply{raw: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("X-Amzn-Requestid", "req-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for i, f := range frames {
			if g, ok := gates[i]; ok {
				select {
				case <-g:
				case <-r.Context().Done():
					return
				}
			}
			w.Write(f)
			w.(http.Flusher).Flush()
		}
		if after != nil {
			after(w)
		}
	}}
}

var streamReq = &refine.Request{Messages: []refine.Message{
	{Role: refine.RoleSystem, Content: koreanSystem},
	{Role: refine.RoleUser, Content: koreanQuery},
}}

func TestStream(t *testing.T) {
	f := newFake(t, alwaysFail(streamReply(streamEvents(t, "물론", "입니다", "! requests를 씁니다."), nil, nil)))
	p := bedrock.New(f.client(t), novaLite)
	var got []string
	resp, err := p.Stream(context.Background(), streamReq, func(s string) { got = append(got, s) })
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if want := []string{"물론", "입니다", "! requests를 씁니다."}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("deltas = %q, want %q", got, want)
	}
	want := refine.Response{Text: "물론입니다! requests를 씁니다.", Model: novaLite, FinishReason: "stop",
		// From the metadata event; cache reads and writes are prompt tokens too.
		Usage: refine.Usage{InputTokens: 132, OutputTokens: 9, CachedInputTokens: 100}}
	if resp.Text != want.Text || resp.Model != want.Model || resp.FinishReason != want.FinishReason || resp.Usage != want.Usage {
		t.Errorf("Stream = %+v, want %+v", *resp, want)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Path != "/model/us.amazon.nova-lite-v1%3A0/converse-stream" {
		t.Fatalf("requests = %+v, want one POST to converse-stream", reqs)
	}
	if got := turnsOf(reqs[0].Req); len(got) != 1 || got[0] != (wantTurn{"user", koreanQuery}) || reqs[0].Req.systemText() != koreanSystem {
		t.Errorf("request = system %q, turns %q", reqs[0].Req.systemText(), got)
	}
}

// The first piece reaches the caller while the server still holds the
// rest of the answer.
func TestStreamFirstDeltaBeforeTheEnd(t *testing.T) {
	release := make(chan struct{})
	frames := streamEvents(t, "첫 조각", " 나머지")
	// Frames: messageStart, contentBlockStart, delta 1, [held] delta 2, ...
	f := newFake(t, alwaysFail(streamReply(frames, map[int]<-chan struct{}{3: release}, nil)))
	p := bedrock.New(f.client(t), novaLite)

	first := make(chan string, 1)
	type result struct {
		resp *refine.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := p.Stream(context.Background(), streamReq, func(s string) {
			select {
			case first <- s:
			default:
			}
		})
		done <- result{resp, err}
	}()

	select {
	case s := <-first:
		if s != "첫 조각" {
			t.Errorf("first delta = %q, want %q", s, "첫 조각")
		}
	case r := <-done:
		close(release)
		t.Fatalf("Stream returned (%v, %v) before any delta arrived", r.resp, r.err)
	}
	select {
	case r := <-done:
		t.Fatalf("Stream returned (%v, %v) while the server held the rest", r.resp, r.err)
	default:
	}
	close(release)
	r := <-done
	if r.err != nil || r.resp.Text != "첫 조각 나머지" {
		t.Fatalf("Stream = %+v, %v; want the whole answer", r.resp, r.err)
	}
}

// A stream that fails after some deltas returns the error, classified; the
// text delivered is not an answer, and RetryProvider does not restart it.
func TestStreamFailsAfterDeltas(t *testing.T) {
	full := streamEvents(t, "앞부분", " 뒷부분")
	head := full[:3] // messageStart, contentBlockStart, one delta
	tests := []struct {
		name     string
		reply    reply
		wantKind error
		wantText string
	}{
		{"throttling exception in the stream",
			streamReply(append(head[:3:3], frame(t, "exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`)), nil, nil),
			refine.ErrRateLimited, "Too many tokens, please wait"},
		{"model stream error",
			streamReply(append(head[:3:3], frame(t, "exception", "modelStreamErrorException", `{"message":"The model failed.","originalStatusCode":500}`)), nil, nil),
			refine.ErrUnavailable, "The model failed."},
		{"validation exception: input too long",
			streamReply(append(head[:3:3], frame(t, "exception", "validationException", `{"message":"Input is too long for requested model."}`)), nil, nil),
			refine.ErrContextLength, "Input is too long"},
		{"connection reset", streamReply(head, nil, func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				resetConn(conn)
			}
		}), refine.ErrUnavailable, "connection reset"},
		{"cut without messageStop", streamReply(head, nil, nil), refine.ErrUnavailable, "without its messageStop and metadata events"},
		{"cut inside a frame", streamReply(append(head[:3:3], full[3][:10]), nil, nil), refine.ErrUnavailable, "ended without"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, alwaysFail(tt.reply))
			p := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(fastRetry(3)))
			var got []string
			resp, err := p.Stream(context.Background(), streamReq, func(s string) { got = append(got, s) })
			if err == nil {
				t.Fatalf("Stream = %+v, want an error", resp)
			}
			if resp != nil {
				t.Errorf("Stream returned a response %+v with its error", resp)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("error %v, want errors.Is %v", err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if len(got) != 1 || got[0] != "앞부분" {
				t.Errorf("deltas = %q, want the one piece sent", got)
			}
			if n := f.hits(); n != 1 {
				t.Errorf("server hits = %d, want 1 (a stream that delivered text is not restarted)", n)
			}
		})
	}
}

// Before the first delta, a failed stream is retried like any call.
func TestStreamRetriedBeforeFirstDelta(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		if n == 0 {
			return errorReply(503, "ServiceUnavailableException", "try again", true)
		}
		return streamReply(streamEvents(t, "ok"), nil, nil)
	})
	p := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(fastRetry(3)))
	resp, err := p.Stream(context.Background(), streamReq, func(string) {})
	if err != nil || resp.Text != "ok" || f.hits() != 2 {
		t.Fatalf("Stream = %+v, %v after %d hits; want ok after 2", resp, err, f.hits())
	}
}

// WithTimeout bounds the wait between events, not the whole stream, and
// the message says whether the reply had begun.
func TestStreamIdleTimeout(t *testing.T) {
	tests := []struct {
		name   string
		holdAt int // the frame the server stops before
		want   string
	}{
		{"before the first event", 0, "no reply within 100ms"},
		{"in the middle of the reply", 3, "the stream stopped in the middle of the reply, no event for 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			frames := streamEvents(t, "a", "b")
			f := newFake(t, alwaysFail(streamReply(frames, map[int]<-chan struct{}{tt.holdAt: hold}, nil)))
			p := bedrock.New(f.client(t), novaLite, bedrock.WithTimeout(100*time.Millisecond), noRetry)
			_, err := p.Stream(context.Background(), streamReq, func(string) {})
			if !errors.Is(err, refine.ErrUnavailable) || !transient(err) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v: want a retryable ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// Cancelling the caller's context ends the stream at once, as a context
// error, and leaves nothing running.
func TestStreamCancel(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	f := newFake(t, alwaysFail(streamReply(streamEvents(t, "a", "b"), map[int]<-chan struct{}{3: hold}, nil)))
	p := bedrock.New(f.client(t), novaLite)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := p.Stream(ctx, streamReq, func(string) { cancel() })
	if !errors.Is(err, context.Canceled) || errors.Is(err, refine.ErrUnavailable) {
		t.Fatalf("error %v: want context.Canceled", err)
	}
}

// converseOnly hides the client's ConverseStream method: a client a user
// wrote against the ConverseAPI interface.
type converseOnly struct{ c *bedrockruntime.Client }

func (c converseOnly) Converse(ctx context.Context, in *bedrockruntime.ConverseInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error) {
	return c.c.Converse(ctx, in, optFns...)
}

// A client with only Converse still streams, as one piece.
func TestStreamWithConverseOnlyClient(t *testing.T) {
	f := newFake(t, alwaysFail(okReply("한 번에", "end_turn", 5, 3)))
	p := bedrock.New(converseOnly{f.client(t)}, novaLite)
	var got []string
	resp, err := p.Stream(context.Background(), streamReq, func(s string) { got = append(got, s) })
	if err != nil || resp.Text != "한 번에" || len(got) != 1 || got[0] != "한 번에" {
		t.Fatalf("Stream = %+v, %v, deltas %q; want one delta with the answer", resp, err, got)
	}
	if p := f.requests()[0].Path; !strings.HasSuffix(p, "/converse") {
		t.Errorf("path = %s, want Converse", p)
	}
}

// The loop streams drafts and refinements through the Provider when an
// observer listens for deltas.
func TestStreamThroughRun(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		if isJudge(s) {
			return okReply(`{"score": 9, "issues": [], "suggestions": [], "assessment": "좋습니다."}`, "end_turn", 50, 20)
		}
		return streamReply(streamEvents(t, "초", "안"), nil, nil)
	})
	p := bedrock.New(f.client(t), novaLite)
	var (
		mu     sync.Mutex
		deltas []string
	)
	res, err := refine.Run(context.Background(), koreanQuery, refine.WithProvider(p), refine.WithMaxIterations(0),
		refine.WithObserver(func(ctx context.Context, e refine.Event) {
			if e.Kind == refine.EventDelta {
				mu.Lock()
				deltas = append(deltas, e.Delta)
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if res.Answer != "초안" || strings.Join(deltas, "|") != "초|안" {
		t.Errorf("Run = %q with deltas %q, want 초안 streamed as 초|안", res.Answer, deltas)
	}
}

// resetConn closes conn with an RST.
func resetConn(c interface{ Close() error }) {
	type linger interface{ SetLinger(int) error }
	if l, ok := c.(linger); ok {
		l.SetLinger(0)
	}
	c.Close()
}

// WithConverseInput edits reach ConverseStream too, the guardrail in its
// streaming form.
func TestStreamConverseInputEdits(t *testing.T) {
	f := newFake(t, alwaysFail(streamReply(streamEvents(t, "ok"), nil, nil)))
	p := bedrock.New(f.client(t), novaLite, bedrock.WithConverseInput(func(in *bedrockruntime.ConverseInput) {
		in.RequestMetadata = map[string]string{"app": "refine"}
		in.GuardrailConfig = &types.GuardrailConfiguration{GuardrailIdentifier: aws.String("gr-1"), GuardrailVersion: aws.String("2")}
	}))
	if _, err := p.Stream(context.Background(), streamReq, func(string) {}); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	body := f.requests()[0].Body
	for _, want := range []string{`"requestMetadata":{"app":"refine"}`, `"guardrailConfig":{"guardrailIdentifier":"gr-1","guardrailVersion":"2"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body %s does not contain %s", body, want)
		}
	}
}
