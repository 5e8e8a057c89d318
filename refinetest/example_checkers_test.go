package refinetest_test

import (
	"context"
	"fmt"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// TestStop checks a stop condition of your own; in a test, t.Fatal(err).
// This one reads the best attempt without looking, and the loop's check
// before the first call has none.
func ExampleTestStop() {
	stop := refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
		if p.Attempts[p.Best].Verdict.Score >= 9 {
			return "good enough", nil
		}
		return "", nil
	})
	err := refinetest.TestStop(stop)
	fmt.Println(err != nil)

	fixed := refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
		if len(p.Attempts) > 0 && p.Attempts[p.Best].Verdict.Score >= 9 {
			return "good enough", nil
		}
		return "", nil
	})
	fmt.Println(refinetest.TestStop(fixed))
	// Output:
	// true
	// <nil>
}

// TestJudgeOn checks a judge built on a model: it gives build providers
// that fail part-way, and checks that the judge validates its model and
// reports the tokens spent before a failure.
func ExampleTestJudgeOn() {
	err := refinetest.TestJudgeOn(func(p refine.Provider) refine.Judge {
		return refine.NewCompositeJudge(refine.RuleMinimum,
			refine.JudgePart{Name: "rubric", Judge: refine.NewLLMJudge(p)},
			refine.JudgePart{Name: "second opinion", Judge: refine.NewLLMJudge(p)})
	})
	fmt.Println(err)

	// A judge that swallows what its first call spent when the second fails.
	err = refinetest.TestJudgeOn(func(p refine.Provider) refine.Judge {
		return refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
			req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: a}}}
			first, err := p.Complete(ctx, req)
			if err != nil {
				return nil, err
			}
			second, err := p.Complete(ctx, req)
			if err != nil {
				return nil, err // should be refine.WithUsage(err, first.Usage.Add(refine.UsageOf(err)))
			}
			return &refine.Verdict{Score: 7, Usage: first.Usage.Add(second.Usage)}, nil
		})
	})
	fmt.Println(err)
	// Output:
	// <nil>
	// refinetest.TestJudgeOn: the judge (refine.JudgeFunc) does not implement refine.Validator: New and Run cannot check it, or the model inside it, before a run
	// refinetest.TestJudgeOn: calls failing from call 2 of 2: refine.UsageOf(err) = {InputTokens:100 OutputTokens:0 CachedInputTokens:0 ReasoningTokens:0}, want {InputTokens:200 OutputTokens:10 CachedInputTokens:0 ReasoningTokens:0} (the tokens of the 1 call(s) that succeeded and what the failed ones reported with their errors; see refine.WithUsage and refine.UsageOf)
}
