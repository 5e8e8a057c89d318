package openai_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

func user(s string) *refine.Request {
	return &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: s}}}
}

func TestCompleteMapsResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want refine.Response
	}{
		{
			name: "stop",
			body: completion{model: "gpt-4o-mini-2024-07-18", text: "Paris.", finish: "stop", in: 12, out: 3}.json(),
			want: refine.Response{Text: "Paris.", Usage: refine.Usage{InputTokens: 12, OutputTokens: 3},
				Model: "gpt-4o-mini-2024-07-18", FinishReason: "stop"},
		},
		{
			name: "length",
			body: completion{model: "gpt-4o-mini", text: "Once upon a", finish: "length", in: 5, out: 4}.json(),
			want: refine.Response{Text: "Once upon a", Usage: refine.Usage{InputTokens: 5, OutputTokens: 4},
				Model: "gpt-4o-mini", FinishReason: "length"},
		},
		{
			name: "content filter",
			body: completion{model: "gpt-4o", text: "", finish: "content_filter", in: 5, out: 0}.json(),
			want: refine.Response{Usage: refine.Usage{InputTokens: 5}, Model: "gpt-4o", FinishReason: "content_filter"},
		},
		{
			name: "provider's own word kept",
			body: completion{model: "llama3.2", text: "x", finish: "tool_calls", in: 1, out: 1}.json(),
			want: refine.Response{Text: "x", Usage: refine.Usage{InputTokens: 1, OutputTokens: 1}, Model: "llama3.2", FinishReason: "tool_calls"},
		},
		{
			name: "backend synonyms normalised",
			body: completion{model: "m", text: "x", finish: "eos", in: 1, out: 1}.json(),
			want: refine.Response{Text: "x", Usage: refine.Usage{InputTokens: 1, OutputTokens: 1}, Model: "m", FinishReason: "stop"},
		},
		{
			name: "no model in the reply: the requested one",
			body: `{"id":"1","object":"chat.completion","created":1,"model":"","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`,
			want: refine.Response{Text: "hi", Usage: refine.Usage{InputTokens: 2, OutputTokens: 1}, Model: "gpt-4o-mini", FinishReason: "stop"},
		},
		{
			name: "refusal is the answer",
			body: `{"id":"1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":6,"total_tokens":8}}`,
			want: refine.Response{Text: "I can't help with that.", Usage: refine.Usage{InputTokens: 2, OutputTokens: 6}, Model: "gpt-4o", FinishReason: "stop"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(reply{body: tt.body}))
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
			got, err := p.Complete(context.Background(), user("q"))
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Complete =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestCompleteSendsMessages(t *testing.T) {
	srv := newFake(t, replies(ok("fine")))
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("sk-test"))
	req := &refine.Request{Messages: []refine.Message{
		{Role: refine.RoleSystem, Content: "Be terse."},
		{Role: refine.RoleUser, Content: "Hi"},
		{Role: refine.RoleAssistant, Content: "Hello."},
		{Role: refine.RoleUser, Content: "How are you?"},
	}}
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	h := srv.last(t)
	if h.Method != http.MethodPost || h.Path != "/v1/chat/completions" {
		t.Errorf("request = %s %s, want POST /v1/chat/completions", h.Method, h.Path)
	}
	if got, want := h.Header.Get("Authorization"), "Bearer sk-test"; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got, want := h.Body["model"], "gpt-4o-mini"; got != want {
		t.Errorf("model = %v, want %v", got, want)
	}
	want := []any{
		map[string]any{"role": "system", "content": "Be terse."},
		map[string]any{"role": "user", "content": "Hi"},
		map[string]any{"role": "assistant", "content": "Hello."},
		map[string]any{"role": "user", "content": "How are you?"},
	}
	if got := h.Body["messages"]; !reflect.DeepEqual(got, want) {
		t.Errorf("messages = %v, want %v", got, want)
	}
	if got := h.Body["stream"]; got != false {
		t.Errorf("stream = %v, want false", got)
	}
}

// samplingFields are the request fields sampling settings can produce.
var samplingFields = []string{"temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
	"logprobs", "top_logprobs", "response_format"}

// checkFields compares the sampling fields of a request body with want:
// fields in want must have that value, every other one must be absent.
func checkFields(t *testing.T, body map[string]any, want map[string]any) {
	t.Helper()
	for _, k := range samplingFields {
		got, present := body[k]
		w, wanted := want[k]
		switch {
		case wanted && !present:
			t.Errorf("%s absent from the request, want %v", k, w)
		case !wanted && present:
			t.Errorf("%s = %v on the wire, want it absent", k, got)
		case wanted && !reflect.DeepEqual(got, w):
			t.Errorf("%s = %v (%T), want %v (%T)", k, got, got, w, w)
		}
	}
}

func TestSamplingOnTheWire(t *testing.T) {
	tests := []struct {
		name string
		req  refine.Request
		want map[string]any // decoded JSON values
	}{
		{name: "defaults send nothing", want: map[string]any{}},
		{name: "temperature 0 is sent", req: refine.Request{Sampling: refine.Sampling{Temperature: ptr(0.0)}},
			want: map[string]any{"temperature": 0.0}},
		{name: "temperature 0.7", req: refine.Request{Sampling: refine.Sampling{Temperature: ptr(0.7)}},
			want: map[string]any{"temperature": 0.7}},
		{name: "top_p 0 is sent", req: refine.Request{Sampling: refine.Sampling{TopP: ptr(0.0)}},
			want: map[string]any{"top_p": 0.0}},
		{name: "top_p 0.9", req: refine.Request{Sampling: refine.Sampling{TopP: ptr(0.9)}},
			want: map[string]any{"top_p": 0.9}},
		{name: "max tokens as max_tokens", req: refine.Request{Sampling: refine.Sampling{MaxTokens: 256}},
			want: map[string]any{"max_tokens": 256.0}},
		{name: "stop", req: refine.Request{Sampling: refine.Sampling{Stop: []string{"END", "\n\n"}}},
			want: map[string]any{"stop": []any{"END", "\n\n"}}},
		{name: "seed 0 is sent", req: refine.Request{Sampling: refine.Sampling{Seed: ptr[int64](0)}},
			want: map[string]any{"seed": 0.0}},
		{name: "seed 42", req: refine.Request{Sampling: refine.Sampling{Seed: ptr[int64](42)}},
			want: map[string]any{"seed": 42.0}},
		{name: "JSON mode", req: refine.Request{JSON: true},
			want: map[string]any{"response_format": map[string]any{"type": "json_object"}}},
		{name: "logprobs", req: refine.Request{TopLogprobs: 3},
			want: map[string]any{"logprobs": true, "top_logprobs": 3.0}},
		{
			name: "everything at once",
			req: refine.Request{
				Sampling: refine.Sampling{Temperature: ptr(0.0), TopP: ptr(0.0), MaxTokens: 64,
					Stop: []string{"###"}, Seed: ptr[int64](7)},
				TopLogprobs: 2, JSON: true,
			},
			want: map[string]any{"temperature": 0.0, "top_p": 0.0, "max_tokens": 64.0, "stop": []any{"###"},
				"seed": 7.0, "logprobs": true, "top_logprobs": 2.0, "response_format": map[string]any{"type": "json_object"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(ok("x")))
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
			req := tt.req
			req.Messages = []refine.Message{{Role: refine.RoleUser, Content: "q"}}
			if _, err := p.Complete(context.Background(), &req); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			checkFields(t, srv.last(t).Body, tt.want)
		})
	}
}

func TestReasoningModels(t *testing.T) {
	req := &refine.Request{
		Messages:    []refine.Message{{Role: refine.RoleUser, Content: "q"}},
		Sampling:    refine.Sampling{Temperature: ptr(0.0), TopP: ptr(0.5), MaxTokens: 64, Seed: ptr[int64](1)},
		TopLogprobs: 3,
		JSON:        true,
	}
	tests := []struct {
		model    string
		want     map[string]any
		warnings map[string]int
	}{
		{
			model:    "gpt-4o-mini", // not a reasoning model: everything is sent
			want:     map[string]any{"temperature": 0.0, "top_p": 0.5, "max_tokens": 64.0, "seed": 1.0, "logprobs": true, "top_logprobs": 3.0, "response_format": map[string]any{"type": "json_object"}},
			warnings: map[string]int{},
		},
	}
	reasoning := map[string]any{"max_completion_tokens": 64.0, "seed": 1.0, "response_format": map[string]any{"type": "json_object"}}
	for _, m := range []string{"o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", goopenai.GPT6Sol} {
		tests = append(tests, struct {
			model    string
			want     map[string]any
			warnings map[string]int
		}{m, reasoning, map[string]int{"temperature": 1, "top_p": 1, "logprobs": 1}})
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			srv := newFake(t, replies(ok("x")))
			rec := &logRecorder{}
			p := openai.New(tt.model, openai.WithBaseURL(srv.URL+"/v1"), openai.WithLogger(slog.New(rec)))
			// Concurrent calls: one warning per parameter for the Provider,
			// however many calls and goroutines.
			const calls = 8
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := p.Complete(context.Background(), req)
					if err == nil && resp.Logprobs != nil {
						err = fmt.Errorf("Logprobs = %v, want nil", resp.Logprobs)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Complete: %v", err)
			}
			hits := srv.Hits()
			if len(hits) != calls {
				t.Fatalf("server received %d requests, want %d", len(hits), calls)
			}
			for _, h := range hits {
				checkFields(t, h.Body, tt.want)
			}
			if got := rec.warnings(); !reflect.DeepEqual(got, tt.warnings) {
				t.Errorf("warnings per parameter = %v, want %v", got, tt.warnings)
			}
		})
	}
}

func TestReasoningModelQuietWhenNothingChanges(t *testing.T) {
	// Temperature and top_p of 1 are what reasoning models use anyway:
	// dropping them is not worth a warning.
	srv := newFake(t, replies(ok("x")))
	rec := &logRecorder{}
	p := openai.New("o3-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithLogger(slog.New(rec)))
	req := user("q")
	req.Temperature, req.TopP = ptr(1.0), ptr(1.0)
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	checkFields(t, srv.last(t).Body, map[string]any{})
	if got := rec.warnings(); len(got) != 0 {
		t.Errorf("warnings = %v, want none", got)
	}
}

func TestLogprobs(t *testing.T) {
	// The shape of OpenAI's reply to logprobs=true, top_logprobs=2.
	const fixture = `{"content":[
		{"token":"Yes","logprob":-0.0001,"bytes":[89,101,115],"top_logprobs":[
			{"token":"Yes","logprob":-0.0001,"bytes":[89,101,115]},
			{"token":"No","logprob":-9.25,"bytes":[78,111]}]},
		{"token":".","logprob":-0.5,"bytes":[46],"top_logprobs":[
			{"token":".","logprob":-0.5,"bytes":[46]},
			{"token":"!","logprob":-1.0,"bytes":[33]}]}
	],"refusal":null}`
	srv := newFake(t, replies(reply{body: completion{text: "Yes.", in: 4, out: 2, logprobs: fixture}.json()}))
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	req := user("Is water wet?")
	req.TopLogprobs = 2
	resp, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	checkFields(t, srv.last(t).Body, map[string]any{"logprobs": true, "top_logprobs": 2.0})
	want := []refine.TokenLogprob{
		{Token: "Yes", Logprob: -0.0001, Top: []refine.TokenLogprob{{Token: "Yes", Logprob: -0.0001}, {Token: "No", Logprob: -9.25}}},
		{Token: ".", Logprob: -0.5, Top: []refine.TokenLogprob{{Token: ".", Logprob: -0.5}, {Token: "!", Logprob: -1.0}}},
	}
	if !reflect.DeepEqual(resp.Logprobs, want) {
		t.Errorf("Logprobs = %+v, want %+v", resp.Logprobs, want)
	}

	// Not asked for: not returned, even when the server sends them.
	resp, err = p.Complete(context.Background(), user("again"))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Logprobs != nil {
		t.Errorf("Logprobs = %v without TopLogprobs, want nil", resp.Logprobs)
	}
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name string
		opts []openai.Option
		want map[string]string // header -> value; "" means absent
	}{
		{name: "local server without key sends no Authorization", want: map[string]string{"Authorization": "", "OpenAI-Organization": ""}},
		{name: "key", opts: []openai.Option{openai.WithAPIKey("sk-abc")}, want: map[string]string{"Authorization": "Bearer sk-abc"}},
		{name: "organization", opts: []openai.Option{openai.WithAPIKey("sk-abc"), openai.WithOrganization("org-1")},
			want: map[string]string{"Authorization": "Bearer sk-abc", "OpenAI-Organization": "org-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(ok("x")))
			p := openai.New("llama3.2", append([]openai.Option{openai.WithBaseURL(srv.URL + "/v1")}, tt.opts...)...)
			if _, err := p.Complete(context.Background(), user("q")); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			h := srv.last(t)
			for k, want := range tt.want {
				if got := h.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
				if _, present := h.Header[k]; want == "" && present {
					t.Errorf("%s header present, want absent", k)
				}
			}
		})
	}
}

func TestAzure(t *testing.T) {
	tests := []struct {
		name                     string
		model, version           string
		opts                     []openai.Option
		wantPath, wantAPIVersion string
	}{
		{name: "explicit deployment", model: "gpt-4o", version: "2024-10-21",
			opts:     []openai.Option{openai.WithAzureDeployment("prod-gpt4o")},
			wantPath: "/openai/deployments/prod-gpt4o/chat/completions", wantAPIVersion: "2024-10-21"},
		{name: "deployment named after the model", model: "gpt-4o-mini", version: "2025-01-01-preview",
			wantPath: "/openai/deployments/gpt-4o-mini/chat/completions", wantAPIVersion: "2025-01-01-preview"},
		{name: "gpt-3.5 naming", model: "gpt-3.5-turbo", version: "2024-10-21",
			wantPath: "/openai/deployments/gpt-35-turbo/chat/completions", wantAPIVersion: "2024-10-21"},
		{name: "default API version", model: "gpt-4o",
			wantPath: "/openai/deployments/gpt-4o/chat/completions", wantAPIVersion: openai.DefaultAzureAPIVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(ok("x")))
			opts := append([]openai.Option{openai.WithAzure(srv.URL, tt.version), openai.WithAPIKey("az-key")}, tt.opts...)
			p := openai.New(tt.model, opts...)
			req := user("q")
			req.Temperature = ptr(0.0)
			if _, err := p.Complete(context.Background(), req); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			h := srv.last(t)
			if h.Path != tt.wantPath {
				t.Errorf("path = %q, want %q", h.Path, tt.wantPath)
			}
			if got := h.Query.Get("api-version"); got != tt.wantAPIVersion {
				t.Errorf("api-version = %q, want %q", got, tt.wantAPIVersion)
			}
			if got := h.Header.Get("api-key"); got != "az-key" {
				t.Errorf("api-key = %q, want %q", got, "az-key")
			}
			if got := h.Header.Get("Authorization"); got != "" {
				t.Errorf("Authorization = %q, want none", got)
			}
			checkFields(t, h.Body, map[string]any{"temperature": 0.0})
		})
	}
}

func TestWithHTTPClient(t *testing.T) {
	srv := newFake(t, replies(ok("x")))
	var trips atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		trips.Add(1)
		r.Header.Set("X-Trace", "on")
		return http.DefaultTransport.RoundTrip(r)
	})}
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithHTTPClient(hc))
	req := user("q")
	req.Temperature = ptr(0.0)
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := trips.Load(); got != 1 {
		t.Errorf("custom transport used %d times, want 1", got)
	}
	h := srv.last(t)
	if got := h.Header.Get("X-Trace"); got != "on" {
		t.Errorf("X-Trace = %q, want %q", got, "on")
	}
	checkFields(t, h.Body, map[string]any{"temperature": 0.0})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestConcurrentUse(t *testing.T) {
	// An echo server: each reply must match its own request, whatever the
	// interleaving.
	srv := newFake(t, func(_ int, h hit) reply {
		msgs := h.Body["messages"].([]any)
		last := msgs[len(msgs)-1].(map[string]any)["content"].(string)
		return reply{body: completion{text: "echo " + last, in: 1, out: 1}.json()}
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := user(fmt.Sprint(i))
			if i%2 == 0 {
				req.Temperature = ptr(0.0)
			}
			resp, err := p.Complete(context.Background(), req)
			if err != nil {
				t.Errorf("Complete %d: %v", i, err)
				return
			}
			if want := fmt.Sprint("echo ", i); resp.Text != want {
				t.Errorf("Complete %d = %q, want %q", i, resp.Text, want)
			}
		}()
	}
	wg.Wait()
	for _, h := range srv.Hits() {
		msgs := h.Body["messages"].([]any)
		var i int
		fmt.Sscan(msgs[0].(map[string]any)["content"].(string), &i)
		_, hasTemp := h.Body["temperature"]
		if want := i%2 == 0; hasTemp != want {
			t.Errorf("request %d: temperature present = %v, want %v", i, hasTemp, want)
		}
	}
}

// Temperature and top_p 0 reach the wire as an exact 0 (the bytes
// "temperature":0, not 1e-45 and not absent) on every way a request
// leaves: Complete, Stream, each retry of a call, Azure, a caller's HTTP
// client. go-openai alone drops both (omitempty).
func TestZeroSamplingOnTheWire(t *testing.T) {
	throttled := apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"retry-after-ms": "1"})
	tests := []struct {
		name    string
		replies []reply
		opts    func(url string) []openai.Option
		stream  bool
		want    int // requests
	}{
		{"Complete", []reply{ok("x")}, func(u string) []openai.Option { return []openai.Option{openai.WithBaseURL(u + "/v1")} }, false, 1},
		{"Stream", []reply{{header: map[string]string{"Content-Type": "text/event-stream"}, body: roleChunk + chunk("x", "stop") + usageChunk + done}},
			func(u string) []openai.Option { return []openai.Option{openai.WithBaseURL(u + "/v1")} }, true, 1},
		{"Complete retried after a 429", []reply{throttled, ok("x")},
			func(u string) []openai.Option { return []openai.Option{openai.WithBaseURL(u + "/v1")} }, false, 2},
		{"Stream retried after a 429", []reply{throttled, {header: map[string]string{"Content-Type": "text/event-stream"}, body: roleChunk + chunk("x", "stop") + usageChunk + done}},
			func(u string) []openai.Option { return []openai.Option{openai.WithBaseURL(u + "/v1")} }, true, 2},
		{"Azure", []reply{ok("x")}, func(u string) []openai.Option {
			return []openai.Option{openai.WithAzure(u, ""), openai.WithAPIKey("az-key")}
		}, false, 1},
		{"WithHTTPClient", []reply{ok("x")}, func(u string) []openai.Option {
			return []openai.Option{openai.WithBaseURL(u + "/v1"), openai.WithHTTPClient(&http.Client{})}
		}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(tt.replies...))
			p := openai.New("gpt-4o-mini", tt.opts(srv.URL)...)
			req := user("q")
			req.Temperature, req.TopP = ptr(0.0), ptr(0.0)
			var err error
			if tt.stream {
				_, err = p.Stream(context.Background(), req, nil)
			} else {
				_, err = p.Complete(context.Background(), req)
			}
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			hits := srv.Hits()
			if len(hits) != tt.want {
				t.Fatalf("server received %d requests, want %d", len(hits), tt.want)
			}
			for i, h := range hits {
				for _, field := range []string{"temperature", "top_p"} {
					if !regexp.MustCompile(`"` + field + `":0[,}]`).MatchString(h.Raw) {
						t.Errorf(`request %d: body has no "%s":0: %s`, i, field, h.Raw)
					}
				}
			}
		})
	}
}
