package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// A slow server that keeps writing is never cut off by WithTimeout: the
// limit is on silence, not on the length of the answer. The server writes
// ten chunks paced by a ticker, 400 ms in all, four times the timeout.
func TestStreamSlowButLive(t *testing.T) {
	const pieces = 10
	srv := sseServer(t, func(send func(string), _ map[string]any) {
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		send(roleChunk)
		for i := range pieces {
			<-tick.C
			send(chunk(fmt.Sprintf("조각%d ", i), ""))
		}
		send(chunk("", "stop"))
		send(usageChunk)
		send(done)
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(100*time.Millisecond), noRetry)
	n := 0
	resp, err := p.Stream(context.Background(), user("q"), func(string) { n++ })
	if err != nil {
		t.Fatalf("Stream of a slow but live server: %v", err)
	}
	if n != pieces || resp.Usage.OutputTokens != 7 {
		t.Errorf("got %d deltas and usage %+v, want %d deltas and 7 output tokens", n, resp.Usage, pieces)
	}
}

// A whole chat.completion as OpenAI's non-streaming reply, the body a
// server or gateway that ignores "stream": true sends.
const wholeCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"서울은 한국의 수도입니다.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":7,"total_tokens":26},"system_fingerprint":"fp_1"}`

// Servers that answer a stream request with something other than a
// stream of chunks.
func TestStreamNotAStream(t *testing.T) {
	tests := []struct {
		name          string
		contentType   string
		body          string
		wantText      string   // "": an error is wanted
		wantDeltas    []string // for a Response
		wantKind      error
		wantPermanent bool
		wantIn        []string
	}{
		{name: "gateway ignores stream: true", contentType: "application/json", body: wholeCompletion,
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 한국의 수도입니다."}},
		// Issue 20 item 17: a server that ignores "stream": true and
		// sends the completion as text/plain, or with no type at all.
		{name: "completion as text/plain", contentType: "text/plain; charset=utf-8", body: wholeCompletion,
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 한국의 수도입니다."}},
		{name: "completion with no Content-Type", contentType: "", body: "\n  " + wholeCompletion,
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 한국의 수도입니다."}},
		{name: "event stream as text/plain still streams", contentType: "text/plain",
			body:     roleChunk + chunk("서울은 ", "") + chunk("한국의 수도입니다.", "") + chunk("", "stop") + usageChunk + done,
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 ", "한국의 수도입니다."}},
		{name: "event stream as application/json still streams", contentType: "application/json",
			body:     roleChunk + chunk("서울은 ", "") + chunk("한국의 수도입니다.", "") + chunk("", "stop") + usageChunk + done,
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 ", "한국의 수도입니다."}},
		{name: "pretty-printed completion", contentType: "application/json; charset=utf-8",
			body:     strings.Replace(wholeCompletion, `,"`, ",\n  \"", -1),
			wantText: "서울은 한국의 수도입니다.", wantDeltas: []string{"서울은 한국의 수도입니다."}},
		// llama.cpp's server before its 2025 fixes (ggml-org/llama.cpp PRs
		// #16109 and #16486): status 200, then an "error: " line with the
		// error object and "data: [DONE]".
		{name: "llama.cpp error line, bare object", contentType: "text/event-stream",
			body:     `error: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}` + "\n\n" + done,
			wantKind: refine.ErrContextLength, wantIn: []string{"exceed_context_size_error", "exceeds the available context size"}},
		{name: "llama.cpp error line, wrapped object", contentType: "text/event-stream",
			body:     `error: {"error":{"code":500,"message":"failed to decode the batch","type":"server_error"}}` + "\n\n" + done,
			wantKind: refine.ErrUnavailable, wantIn: []string{"server_error", "failed to decode the batch"}},
		{name: "JSON that is no completion", contentType: "application/json", body: `{"object":"list","data":[]}`,
			wantKind: refine.ErrUnavailable, wantIn: []string{"neither an event stream nor a chat completion"}},
		{name: "completion larger than one body may be", contentType: "application/json",
			body:     `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("a", 2<<10) + `"}}]}`,
			wantKind: refine.ErrUnavailable, wantPermanent: true, wantIn: []string{`ignores "stream": true`, "2048-byte limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header()["Content-Type"] = nil // no sniffing: the type is tt's
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithMaxResponseBytes(2<<10), fastRetry(2))
			var deltas []string
			resp, err := p.Stream(context.Background(), user("q"), func(s string) { deltas = append(deltas, s) })
			if tt.wantText != "" {
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				if resp.Text != tt.wantText || resp.Usage.OutputTokens != 7 || resp.FinishReason != refine.FinishStop ||
					resp.Model != "gpt-4o-mini-2024-07-18" {
					t.Errorf("Stream = %+v, want %q with 7 output tokens, finish stop, the server's model", resp, tt.wantText)
				}
				if !reflect.DeepEqual(deltas, tt.wantDeltas) {
					t.Errorf("deltas = %q, want %q", deltas, tt.wantDeltas)
				}
				return
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, tt.wantKind) || pe.Permanent != tt.wantPermanent {
				t.Fatalf("err = %v, want %v with Permanent %v", err, tt.wantKind, tt.wantPermanent)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// A JSON body in place of a stream that stalls or breaks off is what any
// reply that does so is: ErrUnavailable, retried, saying where it stopped.
func TestStreamNotAStreamBroken(t *testing.T) {
	srv := stallServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		io.WriteString(w, wholeCompletion[:40])
		w.(http.Flusher).Flush()
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(100*time.Millisecond), noRetry)
	_, err := p.Stream(context.Background(), user("q"), nil)
	var pe *refine.ProviderError
	if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || pe.Permanent {
		t.Fatalf("err = %v, want a retryable ErrUnavailable", err)
	}
	if want := "for 100ms in the middle of its reply"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// WithMaxResponseBytes caps each event of a stream; the whole stream may
// be several times that, since its framing costs hundreds of bytes per
// token: a long answer streamed is not cut off at the size of one body.
func TestStreamSizeCap(t *testing.T) {
	const limit = 4 << 10
	tests := []struct {
		name      string
		write     func(send func(string))
		wantText  int    // length of the answer; 0: an error is wanted
		wantIn    string // in the error
		wantLimit int
	}{
		{"stream three times the cap, small events", func(send func(string)) {
			for range 3 * limit / len(chunk("0123456789", "")) {
				send(chunk("0123456789", ""))
			}
			send(chunk("", "stop"))
			send(usageChunk)
			send(done)
		}, 3 * limit / len(chunk("0123456789", "")) * 10, "", 0},
		{"one event over the cap", func(send func(string)) {
			send(chunk(strings.Repeat("a", limit), ""))
		}, 0, "an event of the stream from http://127.0.0.1", limit},
		{"endless small events hit the stream's cap", func(send func(string)) {
			for range 9 * limit / len(chunk("0123456789", "")) {
				send(chunk("0123456789", ""))
			}
		}, 0, "the stream from http://127.0.0.1", 8 * limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sseServer(t, func(send func(string), _ map[string]any) { tt.write(send) })
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithMaxResponseBytes(limit))
			resp, err := p.Stream(context.Background(), user("q"), nil)
			if tt.wantText > 0 {
				if err != nil || len(resp.Text) != tt.wantText {
					t.Fatalf("Stream = %v, %v; want %d bytes of text", resp, err, tt.wantText)
				}
				return
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || !pe.Permanent {
				t.Fatalf("err = %v, want a Permanent ErrUnavailable", err)
			}
			for _, want := range []string{tt.wantIn, fmt.Sprintf("larger than the %d-byte limit", tt.wantLimit)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
