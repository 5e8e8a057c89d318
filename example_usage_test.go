package refine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// A judge of your own that makes two model calls reports the tokens of the
// first when the second fails, so that the run (or your own accounting)
// counts them: WithUsage attaches them to the error, UsageOf reads them.
func ExampleWithUsage() {
	model := refinetest.NewProvider(`{"score": 8}`).FailAt(2, errors.New("connection reset"))
	twoOpinions := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		var spent refine.Usage
		for range 2 {
			resp, err := model.Complete(ctx, &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: answer}}})
			if err != nil {
				return nil, refine.WithUsage(fmt.Errorf("second opinion: %w", err), spent)
			}
			spent = spent.Add(resp.Usage)
		}
		return &refine.Verdict{Score: 8, Usage: spent}, nil
	})
	_, err := twoOpinions.Evaluate(context.Background(), "q", "an answer")
	fmt.Println(err)
	fmt.Println("tokens spent before it failed:", refine.UsageOf(err).Total() > 0)
	// Output:
	// second opinion: connection reset
	// tokens spent before it failed: true
}

// UsageOf also reads the tokens a run spent from its *StepError: here the
// draft was written but the judge's call failed, so no attempt was judged,
// Run returned no Result, and the error is where the spent tokens are told.
func ExampleUsageOf() {
	model := refinetest.NewProvider("A goroutine is a function running concurrently.").
		FailAt(2, &refine.ProviderError{Kind: refine.ErrAuth, Provider: "test", Message: "invalid key"})
	res, err := refine.Run(context.Background(), "What is a goroutine?", refine.WithProvider(model))
	fmt.Println(res == nil, errors.Is(err, refine.ErrAuth))
	fmt.Println("tokens of the draft:", refine.UsageOf(err).Total() > 0)
	// Output:
	// true true
	// tokens of the draft: true
}

// IsBlank is the check Run applies to queries: reject the same input before
// it reaches a Loop (a zero-width space and a Hangul filler are blank).
func ExampleIsBlank() {
	for _, q := range []string{"  \n", "\u200b", "\u3164", "고루틴이란?"} {
		fmt.Printf("%q blank: %v\n", q, refine.IsBlank(q))
	}
	_, err := refine.Run(context.Background(), "\u200b", refine.WithProvider(refinetest.NewProvider("never asked")))
	fmt.Println(errors.Is(err, refine.ErrEmptyQuery))
	// Output:
	// "  \n" blank: true
	// "\u200b" blank: true
	// "ㅤ" blank: true
	// "고루틴이란?" blank: false
	// true
}

// One pairwise judge serves tasks with different references: WithReference
// returns a copy that grades against the task's own.
func ExamplePairwiseJudge_WithReference() {
	model := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		prompt := req.Messages[len(req.Messages)-1].Content
		verdict := "No reference to go by.\n\n[[C]]"            // a tie
		if strings.Contains(prompt, "The war ended in 1945.") { // the reference reached the judge
			verdict = "Answer A matches the reference.\n\n[[A]]"
			if strings.Index(prompt, "It ended in 1945.") > strings.Index(prompt, "It ended in 1946.") {
				verdict = "Answer B matches the reference.\n\n[[B]]"
			}
		}
		return &refine.Response{Text: verdict}, nil
	})
	judge := refine.NewPairwiseJudge(model)
	c, err := judge.WithReference("The war ended in 1945.").Compare(context.Background(),
		"When did the Second World War end?", "It ended in 1946.", "It ended in 1945.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("winner:", c.Winner)
	// Output:
	// winner: B
}

// WithSeed gives drafts and refinements a seed, for providers that sample
// reproducibly from one; the judge keeps its own sampling.
func ExampleWithSeed() {
	model := refinetest.NewProvider("An answer.", `{"score": 9}`)
	if _, err := refine.Run(context.Background(), "What is a goroutine?",
		refine.WithProvider(model), refine.WithSeed(42)); err != nil {
		fmt.Println(err)
		return
	}
	for _, req := range model.Requests() {
		if req.Seed != nil {
			fmt.Println("seed", *req.Seed, "JSON verdict asked:", req.JSON)
		} else {
			fmt.Println("no seed, JSON verdict asked:", req.JSON)
		}
	}
	// Output:
	// seed 42 JSON verdict asked: false
	// no seed, JSON verdict asked: true
}
