package openai_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// Retries belong to the adapter: whichever way a Provider reaches a run,
// its calls are retried by its own policy, once. These tests count the
// requests at the server.

const (
	draftText   = "DRAFT-ANSWER about select."
	refinedText = "REFINED-ANSWER about select."
)

// isPairwise tells the pairwise judge's requests apart by its prompt.
func isPairwise(h hit) bool { return strings.Contains(h.Raw, "Two AI assistants, A and B") }

// refinedFirst is the pairwise order that shows the refined answer first.
func refinedFirst(h hit) bool {
	r, d := strings.Index(h.Raw, "REFINED-ANSWER"), strings.Index(h.Raw, "DRAFT-ANSWER")
	return isPairwise(h) && r >= 0 && d >= 0 && r < d
}

// isGeneration is a draft or refinement request.
func isGeneration(h hit) bool { return !isJudge(h) && !isPairwise(h) }

// loopServer answers a whole refine run: drafts, refinements, verdicts
// (always 5, so the loop refines) and pairwise comparisons. Requests for
// which throttle says so get a 429 asking for a 1ms pause: all of them
// when always, else only the first.
func loopServer(t *testing.T, throttle func(hit) bool, always bool) *fake {
	var (
		mu        sync.Mutex
		throttled bool
	)
	return newFake(t, func(_ int, h hit) reply {
		mu.Lock()
		hit := throttle(h) && (always || !throttled)
		if hit {
			throttled = true
		}
		mu.Unlock()
		switch {
		case hit:
			return apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"retry-after-ms": "1"})
		case isPairwise(h):
			return reply{body: completion{text: "A is better. [[A]]", in: 50, out: 5}.json()}
		case isJudge(h):
			return reply{body: completion{text: verdict(5, "too vague"), in: 100, out: 40}.json()}
		case strings.Contains(h.Raw, "DRAFT-ANSWER"):
			return ok(refinedText)
		}
		return ok(draftText)
	})
}

// A path is one way a Provider reaches a run. p is the Provider under
// test; other is a second Provider on the same server for the other parts.
type path struct {
	name     string
	throttle func(hit) bool // the requests p makes first
	loop     bool           // p is given raw to the Loop (WithProvider, WithJudgeProvider)
	run      func(ctx context.Context, p, other *openai.Provider, policy refine.RetryPolicy) error
}

func runOn(ctx context.Context, opts ...refine.Option) error {
	_, err := refine.Run(ctx, "What does the select statement do in Go?", append([]refine.Option{refine.WithMaxIterations(1)}, opts...)...)
	return err
}

var paths = []path{
	{name: "WithProvider", throttle: isGeneration, loop: true,
		run: func(ctx context.Context, p, _ *openai.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(p))
		}},
	{name: "WithJudgeProvider", throttle: isJudge, loop: true,
		run: func(ctx context.Context, p, other *openai.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithJudgeProvider(p))
		}},
	{name: "WithJudge(NewLLMJudge)", throttle: isJudge,
		run: func(ctx context.Context, p, other *openai.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithJudge(refine.NewLLMJudge(p)))
		}},
	{name: "composite judge part", throttle: isJudge,
		run: func(ctx context.Context, p, other *openai.Provider, _ refine.RetryPolicy) error {
			fixed := refine.JudgeFunc(func(context.Context, string, string) (*refine.Verdict, error) {
				return &refine.Verdict{Score: 9}, nil
			})
			j := refine.NewCompositeJudge(refine.RuleMinimum,
				refine.JudgePart{Name: "llm", Judge: refine.NewLLMJudge(p)},
				refine.JudgePart{Name: "fixed", Judge: fixed})
			return runOn(ctx, refine.WithProvider(other), refine.WithJudge(j))
		}},
	{name: "regression guard", throttle: refinedFirst,
		run: func(ctx context.Context, p, other *openai.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithRegressionGuard(refine.NewPairwiseJudge(p)))
		}},
	{name: "RetryProvider(openai.New)", throttle: func(hit) bool { return true },
		run: func(ctx context.Context, p, _ *openai.Provider, policy refine.RetryPolicy) error {
			_, err := refine.RetryProvider(p, policy).Complete(ctx, user("q"))
			return err
		}},
}

// TestRetryOnEveryPath: a policy of N retries against a server that always
// answers 429 is exactly N+1 requests for the throttled call, on every
// path; and the run fails with ErrRateLimited.
func TestRetryOnEveryPath(t *testing.T) {
	policies := []struct {
		name   string
		policy refine.RetryPolicy
		want   int
	}{
		{"zero policy (3 retries)", refine.RetryPolicy{}, 4},
		{"1 retry", refine.RetryPolicy{MaxRetries: 1}, 2},
		{"off", refine.RetryPolicy{MaxRetries: -1}, 1},
	}
	for _, pt := range paths {
		for _, pol := range policies {
			t.Run(pt.name+"/"+pol.name, func(t *testing.T) {
				srv := loopServer(t, pt.throttle, true)
				p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithRetry(pol.policy))
				other := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
				err := pt.run(context.Background(), p, other, pol.policy)
				if !errors.Is(err, refine.ErrRateLimited) {
					t.Fatalf("run error = %v, want one wrapping ErrRateLimited", err)
				}
				perCall := map[string]int{}
				for _, h := range srv.Hits() {
					if pt.throttle(h) {
						perCall[h.Raw]++
					}
				}
				if len(perCall) != 1 {
					t.Fatalf("%d distinct throttled calls reached the server, want 1", len(perCall))
				}
				for _, n := range perCall {
					if n != pol.want {
						t.Errorf("requests for the throttled call = %d, want %d", n, pol.want)
					}
				}
			})
		}
	}
}

// TestOne429DoesNotFailARun: with the default policy, one 429 on the
// first call of the Provider under test is retried and the run succeeds,
// on every path; every judge request carries an exact temperature 0.
func TestOne429DoesNotFailARun(t *testing.T) {
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			srv := loopServer(t, pt.throttle, false)
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
			other := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
			if err := pt.run(context.Background(), p, other, refine.RetryPolicy{}); err != nil {
				t.Fatalf("run: %v, want success after one retry", err)
			}
			var throttled, judged int
			for _, h := range srv.Hits() {
				if pt.throttle(h) {
					throttled++
				}
				if isJudge(h) || isPairwise(h) {
					judged++
					if !strings.Contains(h.Raw, `"temperature":0`) {
						t.Errorf("judge request without an exact temperature 0: %s", h.Raw)
					}
				}
			}
			if throttled < 2 {
				t.Errorf("%d requests of the throttled kind, want the 429 and its retry", throttled)
			}
			if pt.name != "RetryProvider(openai.New)" && judged == 0 {
				t.Error("no judge request reached the server")
			}
		})
	}
}

// A Retry-After pause belongs to the Provider that received it: later
// calls through it wait (here: fail at once, the pause being longer than
// the policy waits, without a request), while another Provider on the
// same server goes on.
func TestRetryAfterPauseIsPerProvider(t *testing.T) {
	srv := newFake(t, func(n int, _ hit) reply {
		if n == 0 {
			return apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"Retry-After": "30"})
		}
		return ok("served")
	})
	policy := openai.WithRetry(refine.RetryPolicy{MaxRetries: 3, MaxRetryAfter: time.Second})
	a := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), policy)
	b := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), policy)

	if _, err := a.Complete(context.Background(), user("q")); !errors.Is(err, refine.ErrRateLimited) {
		t.Fatalf("first call: %v, want ErrRateLimited (the 30s asked for is longer than the policy waits)", err)
	}
	if _, err := a.Complete(context.Background(), user("q")); !errors.Is(err, refine.ErrRateLimited) {
		t.Fatalf("second call on the paused Provider: %v, want ErrRateLimited", err)
	}
	if n := len(srv.Hits()); n != 1 {
		t.Errorf("server received %d requests, want 1 (the paused Provider sends none)", n)
	}
	if resp, err := b.Complete(context.Background(), user("q")); err != nil || resp.Text != "served" {
		t.Errorf("another Provider: %v, %v; want it served at once", resp, err)
	}
}
