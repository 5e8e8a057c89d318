package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch/openaifake"
	"github.com/selfrefine/refine/provider/openai"
)

const batchKey = "sk-batch-secret-0123456789"

// newBatch returns a batch Provider talking to srv, closed at the end of
// the test. Poll defaults to 1ms, Idle and MaxWait to an hour (tests
// flush by MaxRequests unless they say otherwise).
func newBatch(t testing.TB, srv *openaifake.Server, o openai.BatchOptions, opts ...openai.Option) *openai.Provider {
	t.Helper()
	if o.Poll == 0 {
		o.Poll = time.Millisecond
	}
	if o.Idle == 0 {
		o.Idle = time.Hour
	}
	if o.MaxWait == 0 {
		o.MaxWait = time.Hour
	}
	p := openai.New("gpt-4o-mini", append([]openai.Option{openai.WithBaseURL(srv.BaseURL()), openai.WithAPIKey(batchKey), openai.WithBatch(o)}, opts...)...)
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func newServer(t testing.TB) *openaifake.Server {
	srv := openaifake.New()
	t.Cleanup(srv.Close)
	return srv
}

func ask(text string) *refine.Request {
	return &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: text}}}
}

// completeAll calls p.Complete for each prompt concurrently.
func completeAll(ctx context.Context, p *openai.Provider, prompts []string) ([]*refine.Response, []error) {
	resps := make([]*refine.Response, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, q := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = p.Complete(ctx, ask(q))
		}()
	}
	wg.Wait()
	return resps, errs
}

func TestBatchCoalescesConcurrentCalls(t *testing.T) {
	const n = 50
	srv := newServer(t)
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: n})
	prompts := make([]string, n)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("q%d", i)
	}
	resps, errs := completeAll(context.Background(), p, prompts)
	for i := range prompts {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if got, want := resps[i].Text, "answer: "+prompts[i]; got != want {
			t.Errorf("call %d: Text = %q, want %q (answers matched to the wrong caller?)", i, got, want)
		}
		if !resps[i].Batch {
			t.Errorf("call %d: Response.Batch = false, want true", i)
		}
	}
	bs := srv.Batches()
	if len(bs) != 1 {
		t.Fatalf("batches = %d, want 1 for %d concurrent calls", len(bs), n)
	}
	if got := len(bs[0].CustomIDs); got != n {
		t.Errorf("lines = %d, want %d", got, n)
	}
	for _, l := range bs[0].Lines {
		if l["method"] != "POST" || l["url"] != "/v1/chat/completions" {
			t.Errorf("line %v: want method POST and url /v1/chat/completions", l)
		}
	}
	if _, ok := bs[0].Metadata["refine_journal"].(string); !ok {
		t.Errorf("metadata = %v, want a refine_journal id", bs[0].Metadata)
	}
}

// The line of a request carries the body Complete sends on demand.
func TestBatchBodyIsOnDemandBody(t *testing.T) {
	schema := &refine.Schema{Name: "verdict", Schema: json.RawMessage(`{"type":"object","properties":{"score":{"type":"integer"}},"required":["score"]}`)}
	tests := []struct {
		name, model string
		req         refine.Request
	}{
		{"temperature 0 and top_p 0", "gpt-4o-mini", refine.Request{Sampling: refine.Sampling{Temperature: ptr(0.0), TopP: ptr(0.0)}}},
		{"json mode and max_tokens", "gpt-4o-mini", refine.Request{JSON: true, Sampling: refine.Sampling{MaxTokens: 64, Seed: ptr(int64(7))}}},
		{"schema", "gpt-4o-mini", refine.Request{Schema: schema}},
		{"reasoning model: max_completion_tokens, no temperature", "o3-mini", refine.Request{Sampling: refine.Sampling{MaxTokens: 99, Temperature: ptr(0.0), Stop: []string{"END"}}}},
		{"logprobs", "gpt-4o-mini", refine.Request{TopLogprobs: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Messages = []refine.Message{{Role: refine.RoleSystem, Content: "be brief"}, {Role: refine.RoleUser, Content: "hi"}}
			onDemand := newFake(t, replies(ok("{}")))
			od := openai.New(tt.model, openai.WithBaseURL(onDemand.URL), openai.WithAPIKey(batchKey))
			if _, err := od.Complete(context.Background(), &req); err != nil {
				t.Fatalf("on demand: %v", err)
			}
			var want map[string]any
			json.Unmarshal([]byte(onDemand.last(t).Raw), &want)

			srv := newServer(t)
			srv.Answer = func(*openaifake.Batch, string, []byte) openaifake.Outcome {
				return openaifake.Outcome{Body: openaifake.Completion(`{"score":1}`)}
			}
			p := openai.New(tt.model, openai.WithBaseURL(srv.BaseURL()), openai.WithAPIKey(batchKey),
				openai.WithBatch(openai.BatchOptions{MaxRequests: 1, Poll: time.Millisecond}))
			defer p.Close(context.Background())
			if _, err := p.Complete(context.Background(), &req); err != nil {
				t.Fatalf("batch: %v", err)
			}
			var got map[string]any
			json.Unmarshal(srv.Batches()[0].Bodies[0], &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("batch line body = %v\nwant the on-demand body %v", got, want)
			}
		})
	}
}

// Each line's error reaches its own caller only, classified; a transient
// one is sent once more, then fails with ErrUnavailable.
func TestBatchLineErrors(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	sent := map[string]int{}
	srv.Answer = func(_ *openaifake.Batch, _ string, body []byte) openaifake.Outcome {
		q := openaifake.LastContent(body)
		mu.Lock()
		sent[q]++
		n := sent[q]
		mu.Unlock()
		switch {
		case q == "long":
			return openaifake.Outcome{Status: 400, Body: openaifake.ErrorBody("context_length_exceeded", "invalid_request_error", "This model's maximum context length is 128000 tokens.")}
		case q == "quota":
			return openaifake.Outcome{Status: 429, Body: openaifake.ErrorBody("insufficient_quota", "insufficient_quota", "You exceeded your current quota.")}
		case q == "leak":
			return openaifake.Outcome{Status: 401, Body: openaifake.ErrorBody("invalid_api_key", "invalid_request_error", "Incorrect API key provided: "+batchKey)}
		case q == "flaky" && n == 1, q == "down":
			return openaifake.Outcome{Status: 500, Body: openaifake.ErrorBody("server_error", "server_error", "The server had an error.")}
		case q == "unrun" && n == 1:
			return openaifake.Outcome{Skip: true}
		}
		return openaifake.Outcome{Body: openaifake.Completion("answer: " + q)}
	}
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 7, Idle: 5 * time.Millisecond})
	prompts := []string{"fine", "long", "quota", "leak", "flaky", "down", "unrun"}
	resps, errs := completeAll(context.Background(), p, prompts)

	tests := []struct {
		prompt    string
		kind      error // nil: success
		permanent bool
		sent      int
	}{
		{"fine", nil, false, 1},
		{"long", refine.ErrContextLength, false, 1},
		{"quota", refine.ErrRateLimited, true, 1},
		{"leak", refine.ErrAuth, false, 1},
		{"flaky", nil, false, 2},
		{"down", refine.ErrUnavailable, false, 2},
		{"unrun", nil, false, 2},
	}
	for i, tt := range tests {
		resp, err := resps[i], errs[i]
		if got := sent[tt.prompt]; got != tt.sent {
			t.Errorf("%s: sent in %d batches, want %d", tt.prompt, got, tt.sent)
		}
		if tt.kind == nil {
			if err != nil || resp.Text != "answer: "+tt.prompt {
				t.Errorf("%s: got %v, %v; want its answer", tt.prompt, resp, err)
			}
			continue
		}
		var pe *refine.ProviderError
		if !errors.As(err, &pe) || !errors.Is(err, tt.kind) || pe.Permanent != tt.permanent {
			t.Errorf("%s: err = %v, want a *refine.ProviderError of kind %v (permanent %v)", tt.prompt, err, tt.kind, tt.permanent)
			continue
		}
		if strings.Contains(fmt.Sprintf("%v %+v", err, pe), batchKey) {
			t.Errorf("%s: error shows the API key: %v", tt.prompt, err)
		}
	}
}

// A batch that failed, expired or was cancelled fails its callers the way
// a failed line does: sent once more, then ErrUnavailable.
func TestBatchThatEndsWithoutAnswers(t *testing.T) {
	for _, end := range []string{"failed", "expired", "cancelled"} {
		for _, always := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s always=%v", end, always), func(t *testing.T) {
				srv := newServer(t)
				srv.OnCreate = func(b *openaifake.Batch) {
					if always || len(srv.Batches()) == 1 {
						b.End = end
					}
				}
				if end == "expired" {
					srv.Answer = func(b *openaifake.Batch, _ string, body []byte) openaifake.Outcome {
						if q := openaifake.LastContent(body); b.End == "expired" && q == "b" {
							return openaifake.Outcome{Skip: true} // not run before the window closed
						}
						return openaifake.Outcome{Body: openaifake.Completion("answer: " + openaifake.LastContent(body))}
					}
				}
				p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 2, Idle: 5 * time.Millisecond})
				resps, errs := completeAll(context.Background(), p, []string{"a", "b"})
				lines := 0
				for _, b := range srv.Batches() {
					lines += len(b.CustomIDs)
				}
				switch {
				case end == "expired" && always:
					// "a" was answered by the expired batch; "b" never ran.
					if errs[0] != nil || !errors.Is(errs[1], refine.ErrUnavailable) || lines != 3 {
						t.Errorf("got %v; %d lines sent; want a answered, b ErrUnavailable after 2 batches (3 lines)", errs, lines)
					}
				case always:
					for i, err := range errs {
						var pe *refine.ProviderError
						if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) {
							t.Errorf("call %d: err = %v, want ErrUnavailable", i, err)
						}
					}
					if lines != 4 {
						t.Errorf("lines sent = %d, want 4 (each request twice)", lines)
					}
				default:
					for i, err := range errs {
						if err != nil || !resps[i].Batch {
							t.Errorf("call %d: %v, want an answer from the second batch", i, err)
						}
					}
				}
			})
		}
	}
}

func TestBatchStreamDeliversOneDelta(t *testing.T) {
	srv := newServer(t)
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 1})
	var deltas []string
	resp, err := p.Stream(context.Background(), ask("hello"), func(s string) { deltas = append(deltas, s) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"answer: hello"}; !reflect.DeepEqual(deltas, want) || resp.Text != want[0] || !resp.Batch {
		t.Errorf("deltas %q, text %q, Batch %v; want %q as one delta, Batch true", deltas, resp.Text, resp.Batch, want)
	}
	if _, _, chats := srv.Counts(); chats != 0 {
		t.Errorf("on-demand requests = %d, want 0", chats)
	}
}

// Cancelling a waiting call withdraws it when its batch is not yet sent.
func TestBatchCancelWithdrawsUnsent(t *testing.T) {
	srv := newServer(t)
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := p.Complete(ctx, ask("never sent"))
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if up, _, _ := srv.Counts(); up != 0 {
		t.Errorf("uploads = %d, want 0: a withdrawn request must not be sent", up)
	}
}

// Cancelling a call whose batch was sent leaves the batch to finish for
// the others in it.
func TestBatchCancelAfterSend(t *testing.T) {
	srv := newServer(t)
	created := make(chan struct{})
	release := make(chan struct{})
	srv.OnCreate = func(*openaifake.Batch) { close(created) }
	srv.Ready = func(*openaifake.Batch) bool {
		select {
		case <-release:
			return true
		default:
			return false
		}
	}
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 2})
	ctx, cancel := context.WithCancel(context.Background())
	leaving, staying := make(chan error), make(chan error)
	go func() { _, err := p.Complete(ctx, ask("leaves")); leaving <- err }()
	go func() { _, err := p.Complete(context.Background(), ask("stays")); staying <- err }()
	<-created
	cancel()
	if err := <-leaving; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-staying; err != nil {
		t.Errorf("the other call of the batch: %v", err)
	}
	if bs := srv.Batches(); len(bs) != 1 {
		t.Errorf("batches = %d, want 1", len(bs))
	}
}

// WithTimeout bounds each HTTP request, not the wait for the batch.
func TestBatchTimeoutIsPerRequest(t *testing.T) {
	const timeout = 20 * time.Millisecond
	srv := newServer(t)
	srv.Ready = func(b *openaifake.Batch) bool { return time.Since(b.Created) > 5*timeout }
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 1}, openai.WithTimeout(timeout))
	start := time.Now()
	resp, err := p.Complete(context.Background(), ask("slow batch"))
	if err != nil {
		t.Fatalf("err = %v after %s, want the answer", err, time.Since(start))
	}
	if d := time.Since(start); d < 5*timeout || !resp.Batch {
		t.Errorf("answered after %s (Batch %v), want after the batch's %s", d, resp.Batch, 5*timeout)
	}
}

// Below MinRequests a flush goes out as ordinary calls.
func TestBatchBelowMinRequestsGoesOnDemand(t *testing.T) {
	srv := newServer(t)
	p := newBatch(t, srv, openai.BatchOptions{MinRequests: 5, MaxRequests: 10, Idle: time.Millisecond})
	resp, err := p.Complete(context.Background(), ask("alone"))
	if err != nil {
		t.Fatal(err)
	}
	up, _, chats := srv.Counts()
	if resp.Batch || up != 0 || chats != 1 || resp.Text != "answer: alone" {
		t.Errorf("Batch %v, uploads %d, chats %d, text %q; want one on-demand call", resp.Batch, up, chats, resp.Text)
	}
}

// Close stops following running batches: their callers fail, and later
// calls fail at once.
func TestBatchClose(t *testing.T) {
	srv := newServer(t)
	created := make(chan struct{})
	srv.OnCreate = func(*openaifake.Batch) { close(created) }
	srv.Ready = func(*openaifake.Batch) bool { return false }
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 1})
	done := make(chan error)
	go func() { _, err := p.Complete(context.Background(), ask("running")); done <- err }()
	<-created
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("waiting call: err = %v, want ErrUnavailable saying the Provider was closed", err)
	}
	if _, err := p.Complete(context.Background(), ask("late")); !errors.Is(err, refine.ErrUnavailable) {
		t.Errorf("call after Close: err = %v, want ErrUnavailable", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Close sends what waits for a flush before it returns.
func TestBatchCloseFlushes(t *testing.T) {
	srv := newServer(t)
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: 2})
	// The first call fills half a batch; the second fills it. Then a
	// third waits alone, with Idle and MaxWait an hour away.
	if _, errs := completeAll(context.Background(), p, []string{"a", "b"}); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	done := make(chan error)
	go func() { _, err := p.Complete(context.Background(), ask("c")); done <- err }()
	// Close may win the race with the call: then the call is refused and
	// nothing more is sent; otherwise Close flushes it, and the call is
	// answered or fails as left running.
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := <-done
	up, _, _ := srv.Counts()
	switch {
	case up == 2 && (err == nil || strings.Contains(err.Error(), "before its batch finished")):
	case up == 1 && err != nil && strings.Contains(err.Error(), "is closed"):
	default:
		t.Errorf("uploads %d, err %v: want the waiting call flushed by Close (2 uploads) or refused (1)", up, err)
	}
}

func TestWithBatchRejectsBadOptions(t *testing.T) {
	tests := []struct {
		o    openai.BatchOptions
		want string
	}{
		{openai.BatchOptions{MaxRequests: 50001}, "MaxRequests 50001"},
		{openai.BatchOptions{MaxRequests: -1}, "MaxRequests -1"},
		{openai.BatchOptions{MaxWait: -time.Second}, "MaxWait -1s"},
		{openai.BatchOptions{Idle: -time.Second}, "Idle -1s"},
		{openai.BatchOptions{Poll: -time.Second}, "Poll -1s"},
		{openai.BatchOptions{MinRequests: -2}, "MinRequests -2"},
		{openai.BatchOptions{MinRequests: 20, MaxRequests: 10}, "MinRequests 20"},
		{openai.BatchOptions{Journal: filepath.Join(t.TempDir(), "missing-dir", "j.json")}, "Journal"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := newServer(t)
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.BaseURL()), openai.WithBatch(tt.o))
			_, err := p.Complete(context.Background(), ask("x"))
			if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidOption naming %q", err, tt.want)
			}
			if up, _, chats := srv.Counts(); up+chats != 0 {
				t.Errorf("requests sent: %d", up+chats)
			}
		})
	}
}

// Azure's batch lines are not written yet: WithBatch with WithAzure fails
// every call, naming both, with no request sent.
func TestWithBatchRefusesAzure(t *testing.T) {
	srv := newServer(t)
	p := openai.New("gpt-4o-mini", openai.WithAzure(srv.BaseURL(), ""), openai.WithAPIKey("k"), openai.WithBatch(openai.BatchOptions{}))
	_, err := p.Complete(context.Background(), ask("x"))
	if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), "WithAzure") || !strings.Contains(err.Error(), "WithBatch") {
		t.Errorf("err = %v, want ErrInvalidOption naming WithBatch and WithAzure", err)
	}
	if up, _, chats := srv.Counts(); up+chats != 0 {
		t.Errorf("requests sent: %d", up+chats)
	}
}
