// Package refinetest provides fakes for testing code that uses refine, in
// the spirit of net/http/httptest, testing/iotest and testing/fstest: a
// scripted Provider that records what it was asked, a scripted Judge, fault
// injection (an error at call k, latency) to exercise retries, partial
// results and cancellation without a model; cassettes that record a real
// model's replies once and replay them in tests (Record, Replay,
// UseCassette); and conformance checks for your own Provider, Judge and
// StopCondition (TestProvider, TestJudge, TestJudgeOn, TestStop).
package refinetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/selfrefine/refine"
)

// ErrExhausted is returned (wrapped) when a fake is called more often than
// it was given replies or scores.
var ErrExhausted = errors.New("refinetest: no scripted reply left")

// Provider is a scripted refine.Provider. It answers with its replies in
// order, one per successful call, and records every request. Configure it
// (FailAt, WithLatency, WithUsage) before use; after that it is safe for concurrent
// use.
//
// Token usage is deterministic: input tokens are the words (as
// strings.Fields counts them) of all request messages, output tokens the
// words of the reply (or what WithUsage says). Responses name the model
// "refinetest", the key to give it a price in refine.WithPrices.
type Provider struct {
	replies []string
	model   string
	fails   map[int]error
	latency time.Duration
	usage   *refine.Usage // nil: count words

	mu       sync.Mutex
	next     int // index of the next reply
	calls    int
	requests []refine.Request
}

// NewProvider returns a Provider that answers with replies, in order.
func NewProvider(replies ...string) *Provider {
	return &Provider{replies: slices.Clone(replies), model: "refinetest", fails: map[int]error{}}
}

// FailAt makes call number call (1 for the first) fail with err instead of
// answering; it consumes no reply, so the next call gets the reply the
// failed one would have had. To test retries, fail with an error such as
// Transient returns and wrap p in refine.RetryProvider (a Loop never wraps
// a provider). It returns p for chaining.
func (p *Provider) FailAt(call int, err error) *Provider {
	p.fails[call] = err
	return p
}

// WithLatency makes every call take d, or less when its context ends first.
// It returns p for chaining.
func (p *Provider) WithLatency(d time.Duration) *Provider {
	p.latency = d
	return p
}

// WithUsage makes every successful call report u as its usage, in place of
// word counts, so that tests and examples about tokens and dollars do not
// depend on the wording of refine's prompts. It returns p for chaining.
func (p *Provider) WithUsage(u refine.Usage) *Provider {
	p.usage = &u
	return p
}

// Complete answers req with the next reply. It honours ctx: a done context,
// before or during the latency, returns ctx's error.
func (p *Provider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.calls++
	call := p.calls
	p.requests = append(p.requests, cloneRequest(req))
	err, failed := p.fails[call]
	reply, ok := "", false
	if !failed && p.next < len(p.replies) {
		reply, ok = p.replies[p.next], true
		p.next++
	}
	p.mu.Unlock()

	if p.latency > 0 {
		t := time.NewTimer(p.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	if failed {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: call %d, but NewProvider was given %d replies", ErrExhausted, call, len(p.replies))
	}
	usage := refine.Usage{InputTokens: words(req.Messages...), OutputTokens: len(strings.Fields(reply))}
	if p.usage != nil {
		usage = *p.usage
	}
	return &refine.Response{Text: reply, Model: p.model, FinishReason: refine.FinishStop, Usage: usage}, nil
}

// Requests returns copies of the requests received so far, in order.
func (p *Provider) Requests() []refine.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]refine.Request, len(p.requests))
	for i, r := range p.requests {
		out[i] = cloneRequest(&r)
	}
	return out
}

// Calls returns the number of calls so far, failed ones included.
func (p *Provider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func words(msgs ...refine.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(strings.Fields(m.Content))
	}
	return n
}

func cloneRequest(r *refine.Request) refine.Request {
	c := *r
	c.Messages = slices.Clone(r.Messages)
	c.Stop = slices.Clone(r.Stop)
	if r.Temperature != nil {
		t := *r.Temperature
		c.Temperature = &t
	}
	if r.TopP != nil {
		t := *r.TopP
		c.TopP = &t
	}
	if r.Seed != nil {
		s := *r.Seed
		c.Seed = &s
	}
	return c
}

// Transient returns a classified provider error of the given kind, asking
// for retryAfter, as a real adapter would return it. refine.RetryProvider
// retries it when kind is refine.ErrRateLimited or refine.ErrUnavailable,
// waiting out retryAfter when it is > 0.
func Transient(kind error, retryAfter time.Duration) error {
	return &refine.ProviderError{Kind: kind, Provider: "refinetest", RetryAfter: retryAfter, Message: "injected fault"}
}

// Judge is a scripted refine.Judge: it returns its scores in order, one per
// call, each with feedback text naming the score and the call. It records
// the answers it was asked to judge and is safe for concurrent use.
type Judge struct {
	scores []float64

	mu      sync.Mutex
	answers []string
}

// NewJudge returns a Judge that scores with scores, in order.
func NewJudge(scores ...float64) *Judge {
	return &Judge{scores: slices.Clone(scores)}
}

// Evaluate returns the next score. It fails with an error wrapping
// ErrExhausted when the scores have run out, and with ctx's error when ctx
// is done.
func (j *Judge) Evaluate(ctx context.Context, query, answer string) (*refine.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j.mu.Lock()
	n := len(j.answers)
	j.answers = append(j.answers, answer)
	j.mu.Unlock()
	if n >= len(j.scores) {
		return nil, fmt.Errorf("%w: evaluation %d, but NewJudge was given %d scores", ErrExhausted, n+1, len(j.scores))
	}
	s := j.scores[n]
	return &refine.Verdict{
		Score:       s,
		Feedback:    fmt.Sprintf("refinetest: evaluation %d scored %g", n+1, s),
		Issues:      []string{fmt.Sprintf("issue found in evaluation %d", n+1)},
		Suggestions: []string{fmt.Sprintf("suggestion from evaluation %d", n+1)},
	}, nil
}

// Answers returns the answers judged so far, in order.
func (j *Judge) Answers() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.answers)
}

// Calls returns the number of evaluations so far.
func (j *Judge) Calls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.answers)
}
