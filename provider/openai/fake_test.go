package openai_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// A fake Chat Completions server speaking the wire format of WIRE.md and
// go-openai's own test fixtures. It records every request it receives.

// hit is one request the fake received.
type hit struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   map[string]any
	Raw    string // the body as sent
}

// reply is what the fake sends back.
type reply struct {
	status int
	header map[string]string
	body   string
}

type fake struct {
	*httptest.Server
	mu    sync.Mutex
	hits  []hit
	reply func(n int, h hit) reply // n counts from 0
}

// newFake starts a fake that answers with reply; it is closed at the end
// of the test.
func newFake(t testing.TB, fn func(n int, h hit) reply) *fake {
	t.Helper()
	f := &fake{reply: fn}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// replies answers with rs in order; the last one repeats.
func replies(rs ...reply) func(int, hit) reply {
	return func(n int, _ hit) reply { return rs[min(n, len(rs)-1)] }
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	h := hit{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: string(raw)}
	if err := json.Unmarshal(raw, &h.Body); err != nil {
		http.Error(w, `{"error":{"message":"body is not JSON","type":"invalid_request_error","code":null}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	n := len(f.hits)
	f.hits = append(f.hits, h)
	f.mu.Unlock()

	rep := f.reply(n, h)
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// Hits returns the requests received so far.
func (f *fake) Hits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// last returns the last request, failing the test when there was none.
func (f *fake) last(t testing.TB) hit {
	t.Helper()
	hs := f.Hits()
	if len(hs) == 0 {
		t.Fatal("the server received no request")
	}
	return hs[len(hs)-1]
}

// completion is a successful Chat Completions body.
type completion struct {
	model, text, finish string
	in, out             int
	logprobs            string // raw JSON of choices[0].logprobs, or ""
}

func (c completion) json() string {
	if c.model == "" {
		c.model = "gpt-4o-mini-2024-07-18"
	}
	if c.finish == "" {
		c.finish = "stop"
	}
	choice := map[string]any{
		"index":         0,
		"message":       map[string]any{"role": "assistant", "content": c.text, "refusal": nil},
		"finish_reason": c.finish,
		"logprobs":      nil,
	}
	if c.logprobs != "" {
		choice["logprobs"] = json.RawMessage(c.logprobs)
	}
	b, err := json.Marshal(map[string]any{
		"id":                 "chatcmpl-1",
		"object":             "chat.completion",
		"created":            1700000000,
		"model":              c.model,
		"choices":            []any{choice},
		"usage":              map[string]any{"prompt_tokens": c.in, "completion_tokens": c.out, "total_tokens": c.in + c.out},
		"system_fingerprint": "fp_1",
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ok(text string) reply {
	return reply{body: completion{text: text, in: 9, out: 3}.json()}
}

// apiError is an error response in OpenAI's shape.
func apiError(status int, code, typ, msg string, header map[string]string) reply {
	var c any
	if code != "" {
		c = code
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
	return reply{status: status, header: header, body: string(b)}
}

// logRecorder is a slog.Handler keeping the records it receives, safe for
// concurrent use.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// warnings counts the Warn records per "parameter" attribute.
func (h *logRecorder) warnings() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, r := range h.records {
		if r.Level != slog.LevelWarn {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "parameter" {
				out[a.Value.String()]++
			}
			return true
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// noRetry makes each call one request, for tests of how one failure is
// read.
var noRetry = openai.WithRetry(refine.RetryPolicy{MaxRetries: -1})

// fastRetry retries n times with millisecond backoff.
func fastRetry(n int) openai.Option {
	return openai.WithRetry(refine.RetryPolicy{MaxRetries: n, Base: time.Millisecond, Max: time.Millisecond})
}
