package bedrock_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// Retries belong to the adapter: whichever way a Provider reaches a run,
// its calls are retried by its own policy, once, and the SDK's retryer
// never adds a layer. These tests count the requests at the fake endpoint,
// through the SDK's real client (with a standard retryer of its own, which
// must stay unused).

const (
	draftText   = "DRAFT-ANSWER: 초안입니다."
	refinedText = "REFINED-ANSWER: 다듬은 답입니다."
)

func isPairwise(s seen) bool {
	return strings.Contains(s.Req.systemText(), "Two AI assistants, A and B")
}

// refinedFirst is the pairwise order that shows the refined answer first.
func refinedFirst(s seen) bool {
	body := string(s.Body)
	r, d := strings.Index(body, "REFINED-ANSWER"), strings.Index(body, "DRAFT-ANSWER")
	return isPairwise(s) && r >= 0 && d >= 0 && r < d
}

func isGeneration(s seen) bool { return !isJudge(s) && !isPairwise(s) }

// loopServer answers a whole run: drafts, refinements, verdicts (always
// 5, so the loop refines) and pairwise comparisons. Requests throttle
// picks get a ThrottlingException: all of them when always, else the
// first only.
func loopServer(t *testing.T, throttle func(seen) bool, always bool) *fakeBedrock {
	var (
		mu        sync.Mutex
		throttled bool
	)
	return newFake(t, func(_ int, s seen) reply {
		mu.Lock()
		hit := throttle(s) && (always || !throttled)
		if hit {
			throttled = true
		}
		mu.Unlock()
		switch {
		case hit:
			return errorReply(429, "ThrottlingException", "Too many requests, please wait before trying again.", true)
		case isPairwise(s):
			return okReply("A is better. [[A]]", "end_turn", 50, 5)
		case isJudge(s):
			return okReply(`{"score": 5, "issues": ["too vague"], "suggestions": ["add detail"], "assessment": "vague"}`, "end_turn", 100, 40)
		case strings.Contains(string(s.Body), "DRAFT-ANSWER"):
			return okReply(refinedText, "end_turn", 20, 10)
		}
		return okReply(draftText, "end_turn", 20, 10)
	})
}

type path struct {
	name     string
	throttle func(seen) bool
	loop     bool // p is given raw to the Loop
	run      func(ctx context.Context, p, other *bedrock.Provider, policy refine.RetryPolicy) error
}

func runOn(ctx context.Context, opts ...refine.Option) error {
	_, err := refine.Run(ctx, koreanQuery, append([]refine.Option{refine.WithMaxIterations(1)}, opts...)...)
	return err
}

var paths = []path{
	{name: "WithProvider", throttle: isGeneration, loop: true,
		run: func(ctx context.Context, p, _ *bedrock.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(p))
		}},
	{name: "WithJudgeProvider", throttle: isJudge, loop: true,
		run: func(ctx context.Context, p, other *bedrock.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithJudgeProvider(p))
		}},
	{name: "WithJudge(NewLLMJudge)", throttle: isJudge,
		run: func(ctx context.Context, p, other *bedrock.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithJudge(refine.NewLLMJudge(p)))
		}},
	{name: "composite judge part", throttle: isJudge,
		run: func(ctx context.Context, p, other *bedrock.Provider, _ refine.RetryPolicy) error {
			fixed := refine.JudgeFunc(func(context.Context, string, string) (*refine.Verdict, error) {
				return &refine.Verdict{Score: 9}, nil
			})
			j := refine.NewCompositeJudge(refine.RuleMinimum,
				refine.JudgePart{Name: "llm", Judge: refine.NewLLMJudge(p)},
				refine.JudgePart{Name: "fixed", Judge: fixed})
			return runOn(ctx, refine.WithProvider(other), refine.WithJudge(j))
		}},
	{name: "regression guard", throttle: refinedFirst,
		run: func(ctx context.Context, p, other *bedrock.Provider, _ refine.RetryPolicy) error {
			return runOn(ctx, refine.WithProvider(other), refine.WithRegressionGuard(refine.NewPairwiseJudge(p)))
		}},
	{name: "RetryProvider(bedrock.New)", throttle: func(seen) bool { return true },
		run: func(ctx context.Context, p, _ *bedrock.Provider, policy refine.RetryPolicy) error {
			_, err := refine.RetryProvider(p, policy).Complete(ctx, userQ)
			return err
		}},
}

// TestRetryOnEveryPath: a policy of N retries against an endpoint that
// always throttles is exactly N+1 requests for the throttled call, on
// every path, although the client's own retryer would make 3 attempts.
func TestRetryOnEveryPath(t *testing.T) {
	policies := []struct {
		name   string
		policy refine.RetryPolicy
		want   int
	}{
		{"zero policy (3 retries)", refine.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond}, 4},
		{"1 retry", fastRetry(1), 2},
		{"off", refine.RetryPolicy{MaxRetries: -1}, 1},
	}
	for _, pt := range paths {
		for _, pol := range policies {
			t.Run(pt.name+"/"+pol.name, func(t *testing.T) {
				f := loopServer(t, pt.throttle, true)
				p := bedrock.New(f.client(t, fastSDKRetries), novaLite, bedrock.WithRetry(pol.policy))
				other := bedrock.New(f.client(t), novaLite)
				err := pt.run(context.Background(), p, other, pol.policy)
				if !errors.Is(err, refine.ErrRateLimited) {
					t.Fatalf("run error = %v, want one wrapping ErrRateLimited", err)
				}
				perCall := map[string]int{}
				for _, s := range f.requests() {
					if pt.throttle(s) {
						perCall[string(s.Body)]++
					}
				}
				if len(perCall) != 1 {
					t.Fatalf("%d distinct throttled calls reached the endpoint, want 1", len(perCall))
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

// TestOne429DoesNotFailARun: with the default policy, one throttled first
// call of the Provider under test is retried and the run succeeds, on
// every path; every judge request carries temperature 0.
func TestOne429DoesNotFailARun(t *testing.T) {
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			f := loopServer(t, pt.throttle, false)
			// The zero policy's first backoff (250-500ms) is waited: the
			// default, as a user gets it.
			p := bedrock.New(f.client(t), novaLite)
			other := bedrock.New(f.client(t), novaLite)
			if err := pt.run(context.Background(), p, other, refine.RetryPolicy{}); err != nil {
				t.Fatalf("run: %v, want success after one retry", err)
			}
			var throttled, judged int
			for _, s := range f.requests() {
				if pt.throttle(s) {
					throttled++
				}
				if isJudge(s) || isPairwise(s) {
					judged++
					if got := string(s.Req.InferenceConfig["temperature"]); got != "0" {
						t.Errorf("judge request with temperature %q, want 0", got)
					}
				}
			}
			if throttled < 2 {
				t.Errorf("%d requests of the throttled kind, want the throttled one and its retry", throttled)
			}
			if pt.name != "RetryProvider(bedrock.New)" && judged == 0 {
				t.Error("no judge request reached the endpoint")
			}
		})
	}
}
