package openai_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// Stream chunks in the shape OpenAI sends (and go-openai's tests replay):
// a role chunk, content chunks, a finish chunk, and with include_usage a
// last chunk with empty choices and the usage.
func chunk(delta string, finish string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	d, _ := json.Marshal(map[string]string{"content": delta})
	if delta == "" {
		d = []byte("{}")
	}
	return fmt.Sprintf(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}],"usage":null}`+"\n\n", d, fr)
}

const roleChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"

const usageChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":7,"total_tokens":26,"prompt_tokens_details":{"cached_tokens":8,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n"

const done = "data: [DONE]\n\n"

// sseServer runs write for every request, with the request body decoded;
// each string write sends is flushed at once.
func sseServer(t *testing.T, write func(send func(string), body map[string]any)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(200)
		write(func(s string) {
			io.WriteString(w, s)
			w.(http.Flusher).Flush()
		}, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStream(t *testing.T) {
	var (
		mu   sync.Mutex
		sent map[string]any
	)
	srv := sseServer(t, func(send func(string), body map[string]any) {
		mu.Lock()
		sent = body
		mu.Unlock()
		send(roleChunk)
		for _, piece := range []string{"고루틴은 ", "채널로 ", "연결됩니다."} {
			send(chunk(piece, ""))
		}
		send(chunk("", "stop"))
		send(usageChunk)
		send(done)
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	var _ refine.StreamProvider = p

	var deltas []string
	req := user("q")
	req.Temperature = ptr(0.0)
	resp, err := p.Stream(context.Background(), req, func(s string) { deltas = append(deltas, s) })
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if want := []string{"고루틴은 ", "채널로 ", "연결됩니다."}; !reflect.DeepEqual(deltas, want) {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
	want := &refine.Response{
		Text:         "고루틴은 채널로 연결됩니다.",
		Usage:        refine.Usage{InputTokens: 19, OutputTokens: 7, CachedInputTokens: 8, ReasoningTokens: 2},
		Model:        "gpt-4o-mini-2024-07-18",
		FinishReason: refine.FinishStop,
	}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("Stream = %+v, want %+v", resp, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if sent["stream"] != true || !reflect.DeepEqual(sent["stream_options"], map[string]any{"include_usage": true}) {
		t.Errorf("request stream = %v, stream_options = %v; want true and include_usage", sent["stream"], sent["stream_options"])
	}
	if sent["temperature"] != 0.0 {
		t.Errorf("temperature = %v, want an exact 0 on the stream path too", sent["temperature"])
	}
}

func TestStreamLogprobs(t *testing.T) {
	lp := func(tok string, p float64) string {
		return fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":%q},"logprobs":{"content":[{"token":%q,"logprob":%v,"bytes":null,"top_logprobs":[{"token":%q,"logprob":%v,"bytes":null},{"token":"x","logprob":-9,"bytes":null}]}],"refusal":null},"finish_reason":null}]}`+"\n\n", tok, tok, p, tok, p)
	}
	srv := sseServer(t, func(send func(string), _ map[string]any) {
		send(lp("7", -0.1))
		send(lp("!", -0.5))
		send(chunk("", "length"))
		send(done)
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	req := user("q")
	req.TopLogprobs = 2
	resp, err := p.Stream(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	want := []refine.TokenLogprob{
		{Token: "7", Logprob: -0.1, Top: []refine.TokenLogprob{{Token: "7", Logprob: -0.1}, {Token: "x", Logprob: -9}}},
		{Token: "!", Logprob: -0.5, Top: []refine.TokenLogprob{{Token: "!", Logprob: -0.5}, {Token: "x", Logprob: -9}}},
	}
	if !reflect.DeepEqual(resp.Logprobs, want) {
		t.Errorf("Logprobs = %+v, want %+v", resp.Logprobs, want)
	}
	if resp.FinishReason != refine.FinishLength || resp.Text != "7!" {
		t.Errorf("Text, FinishReason = %q, %q; want %q, %q", resp.Text, resp.FinishReason, "7!", refine.FinishLength)
	}
}

// TestStreamFirstDeltaBeforeTheEnd holds the server after the first piece:
// the delta must reach the caller while the answer is still being written.
func TestStreamFirstDeltaBeforeTheEnd(t *testing.T) {
	release := make(chan struct{})
	srv := sseServer(t, func(send func(string), _ map[string]any) {
		send(roleChunk)
		send(chunk("First", ""))
		<-release // the rest of the answer is not written yet
		send(chunk(" second", ""))
		send(chunk("", "stop"))
		send(done)
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))

	first := make(chan string, 1)
	type result struct {
		resp *refine.Response
		err  error
	}
	finished := make(chan result, 1)
	go func() {
		var once sync.Once
		resp, err := p.Stream(context.Background(), user("q"), func(s string) { once.Do(func() { first <- s }) })
		finished <- result{resp, err}
	}()
	if got := <-first; got != "First" {
		t.Errorf("first delta = %q, want %q", got, "First")
	}
	select {
	case r := <-finished:
		t.Fatalf("Stream returned (%v, %v) while the server was still holding the answer", r.resp, r.err)
	default:
	}
	close(release)
	r := <-finished
	if r.err != nil || r.resp.Text != "First second" {
		t.Errorf("Stream = %+v, %v; want the whole answer", r.resp, r.err)
	}
}

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name       string
		srv        func(t *testing.T) *httptest.Server
		wantKind   error
		wantDeltas int
		wantIn     string
	}{
		{"error event after some deltas", func(t *testing.T) *httptest.Server {
			return sseServer(t, func(send func(string), _ map[string]any) {
				send(chunk("Hel", ""))
				send(chunk("lo", ""))
				send(`data: {"error":{"message":"CUDA out of memory","type":"server_error","param":null,"code":null}}` + "\n\n")
			})
		}, refine.ErrUnavailable, 2, "CUDA out of memory"},
		{"context overflow as an error event", func(t *testing.T) *httptest.Server {
			return sseServer(t, func(send func(string), _ map[string]any) {
				send(`data: {"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error"}}` + "\n\n")
			})
		}, refine.ErrContextLength, 0, "exceed_context_size_error"},
		{"connection closed without a finish", func(t *testing.T) *httptest.Server {
			return sseServer(t, func(send func(string), _ map[string]any) {
				send(chunk("Hel", ""))
			})
		}, refine.ErrUnavailable, 1, "ended before the answer was finished"},
		{"connection reset after some deltas", func(t *testing.T) *httptest.Server {
			return hijackServer(t, func(conn net.Conn, buf *bufio.ReadWriter) {
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
				body := chunk("Hel", "")
				fmt.Fprintf(buf, "%x\r\n%s\r\n", len(body), body)
				buf.Flush()
				resetConn(conn)
			})
		}, refine.ErrUnavailable, 1, "in the middle of its reply"},
		{"LM Studio's JSON error with status 200 instead of a stream", func(t *testing.T) *httptest.Server {
			return newFake(t, replies(reply{body: `{"error":"Unexpected endpoint or method. (POST /chat/completions)"}`})).Server
		}, refine.ErrInvalidRequest, 0, "check the base URL"},
		{"HTTP error before the stream", func(t *testing.T) *httptest.Server {
			return newFake(t, replies(apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"Retry-After": "3"}))).Server
		}, refine.ErrRateLimited, 0, "Rate limit reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.srv(t)
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), noRetry)
			deltas := 0
			resp, err := p.Stream(context.Background(), user("q"), func(string) { deltas++ })
			if resp != nil {
				t.Errorf("Stream returned a Response %+v with its error", resp)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("err = %v, want %v", err, tt.wantKind)
			}
			if deltas != tt.wantDeltas {
				t.Errorf("%d deltas delivered, want %d", deltas, tt.wantDeltas)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
		})
	}
}

func TestUsageDetails(t *testing.T) {
	body := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"o3-mini-2025-01-31","choices":[{"index":0,"message":{"role":"assistant","content":"6"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":256,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`
	srv := newFake(t, replies(reply{body: body}))
	p := openai.New("o3-mini", openai.WithBaseURL(srv.URL+"/v1"))
	resp, err := p.Complete(context.Background(), user("q"))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	want := refine.Usage{InputTokens: 1200, OutputTokens: 300, CachedInputTokens: 1024, ReasoningTokens: 256}
	if resp.Usage != want {
		t.Errorf("Usage = %+v, want %+v", resp.Usage, want)
	}
}

// TestStreamTimeout: WithTimeout bounds the time a stream goes without
// data, so a server that stops half way through its answer cannot hold the
// caller forever, and the message says where it stopped.
func TestStreamTimeout(t *testing.T) {
	tests := []struct {
		name       string
		before     func(w http.ResponseWriter)
		wantDeltas []string
		wantIn     string
	}{
		{"stalls in the middle of the reply", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			io.WriteString(w, chunk("Hel", ""))
			w.(http.Flusher).Flush()
		}, []string{"Hel"}, "no data from http://127.0.0.1"},
		{"never answers", func(http.ResponseWriter) {}, nil, "before its reply began"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stallServer(t, tt.before)
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(100*time.Millisecond), noRetry)
			var deltas []string
			_, err := p.Stream(context.Background(), user("q"), func(s string) { deltas = append(deltas, s) })
			if !errors.Is(err, refine.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want ErrUnavailable that is not a context error", err)
			}
			for _, want := range []string{tt.wantIn, "for 100ms", "WithTimeout"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if !reflect.DeepEqual(deltas, tt.wantDeltas) {
				t.Errorf("deltas = %q, want %q", deltas, tt.wantDeltas)
			}
		})
	}
}

// The whole loop through the real client: the draft streams to Loop.Events
// while the server still holds the rest of the answer; the judge's call is
// a plain JSON completion, not streamed.
func TestLoopEventsStreamThroughTheAdapter(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if body["stream"] != true { // the judge
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-2","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"{\"score\": 9, \"issues\": []}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":8,"total_tokens":58}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(s string) { io.WriteString(w, s); w.(http.Flusher).Flush() }
		send(roleChunk)
		send(chunk("고루틴은", ""))
		<-release // the rest of the draft is not written yet
		send(chunk(" 가벼운 스레드입니다.", ""))
		send(chunk("", "stop"))
		send(usageChunk)
		send(done)
	}))
	defer srv.Close()
	loop, err := refine.New(refine.WithProvider(openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var last refine.Event
	for e, err := range loop.Events(context.Background(), "고루틴이 뭔가요?") {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == refine.EventDelta {
			if text.Len() == 0 {
				close(release) // the first delta arrived while the server held the rest
			}
			text.WriteString(e.Delta)
		}
		last = e
	}
	if got, want := text.String(), "고루틴은 가벼운 스레드입니다."; got != want {
		t.Errorf("deltas = %q, want %q", got, want)
	}
	if last.Kind != refine.EventStopped || last.Result == nil || last.Result.Answer != text.String() || last.Result.Score != 9 {
		t.Errorf("last event = %+v, want EventStopped with the streamed answer scored 9", last)
	}
	if u := last.Result.Usage; u.InputTokens != 19+50 || u.CachedInputTokens != 8 {
		t.Errorf("usage = %+v, want the stream's exact usage plus the judge's", u)
	}
}
