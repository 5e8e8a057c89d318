package refine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

func TestRegressionGuard(t *testing.T) {
	const draft, refined = "draft: Gangnam means south of the river", "refined: Gangnam is named after a king"
	guardUsage := refine.Usage{InputTokens: 50, OutputTokens: 5}
	tests := []struct {
		name         string
		decide       func(a, b string) string
		scores       []float64 // the loop judge's scores: draft, then refinements
		wantAnswer   string
		wantReverted bool
		wantBest     int
		wantScore    float64
		wantCalls    int // calls to the guard's model
	}{
		{"refinement loses: the draft comes back", preferring("draft:"), []float64{5, 8}, draft, true, 0, 5, 2},
		{"refinement wins: kept", preferring("refined:"), []float64{5, 8}, refined, false, 1, 8, 2},
		{"position-biased guard: a tie keeps the draft", always("[[A]]"), []float64{5, 8}, draft, true, 0, 5, 2},
		{"guard says tie: the draft", always("[[C]]"), []float64{5, 8}, draft, true, 0, 5, 2},
		{"draft is already the best: no comparison", always("[[A]]"), []float64{7, 6}, draft, false, 0, 7, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := refinetest.NewProvider(draft, refined)
			guard := &pairwiseModel{decide: tc.decide, usage: guardUsage}
			res, err := refine.Run(context.Background(), "Why is Gangnam called Gangnam?",
				refine.WithProvider(model),
				refine.WithJudge(refinetest.NewJudge(tc.scores...)),
				refine.WithMaxIterations(1),
				refine.WithRegressionGuard(refine.NewPairwiseJudge(guard)),
			)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Answer != tc.wantAnswer {
				t.Errorf("Answer: got %q, want %q", res.Answer, tc.wantAnswer)
			}
			if res.Reverted != tc.wantReverted {
				t.Errorf("Reverted: got %v, want %v", res.Reverted, tc.wantReverted)
			}
			if res.Best != tc.wantBest || res.Score != tc.wantScore {
				t.Errorf("Best, Score: got %d, %v; want %d, %v", res.Best, res.Score, tc.wantBest, tc.wantScore)
			}
			if len(res.Attempts) != 2 {
				t.Errorf("Attempts: got %d, want both kept", len(res.Attempts))
			}
			reqs := guard.requests()
			if len(reqs) != tc.wantCalls {
				t.Fatalf("guard calls: got %d, want %d", len(reqs), tc.wantCalls)
			}
			// The run's usage counts the guard: the loop model's calls plus
			// the guard's (the scripted judge reports none).
			var loopUsage refine.Usage
			for _, a := range res.Attempts {
				loopUsage = loopUsage.Add(a.Usage)
			}
			want := loopUsage
			for range tc.wantCalls {
				want = want.Add(guardUsage)
			}
			if res.Usage != want {
				t.Errorf("Usage: got %+v, want %+v (attempts + guard)", res.Usage, want)
			}
			for _, r := range reqs {
				a, b, _ := fencedAnswers(r.Messages[1].Content)
				if !(a == draft && b == refined) && !(a == refined && b == draft) {
					t.Errorf("guard compared %q with %q; want the draft with the refinement", a, b)
				}
			}
		})
	}
}

// Self-Refine's own curve: 11 → 17 → 12 → 17. The loop keeps the last 17
// (a tie goes to the later attempt); the guard compares it with the draft.
func TestRegressionGuardLongRun(t *testing.T) {
	model := refinetest.NewProvider("v0 draft", "v1 better", "v2 worse", "v3 same as v1")
	guard := &pairwiseModel{decide: preferring("v3")}
	res, err := refine.Run(context.Background(), "q",
		refine.WithProvider(model),
		refine.WithJudge(refinetest.NewJudge(1.1, 1.7, 1.2, 1.7)),
		refine.WithRegressionGuard(refine.NewPairwiseJudge(guard)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "v3 same as v1" || res.Reverted || res.StopReason != refine.StopMaxIterations {
		t.Errorf("got %q, reverted %v, %s; want the last refinement, not reverted, max_iterations", res.Answer, res.Reverted, res.StopReason)
	}
	for _, r := range guard.requests() {
		a, b, _ := fencedAnswers(r.Messages[1].Content)
		if a != "v0 draft" && b != "v0 draft" {
			t.Errorf("guard compared %q with %q; want the draft in it", a, b)
		}
	}
}

// With several candidates, the chain starts from the best draft and the
// guard compares against that one, not Attempts[0].
func TestRegressionGuardCandidates(t *testing.T) {
	refiner := refine.RefinerFunc(func(ctx context.Context, query string, history []refine.Attempt) (*refine.Response, error) {
		if len(history) == 0 {
			return &refine.Response{Text: "draft"}, nil // candidates differ only by their judge's score
		}
		return &refine.Response{Text: "refined from " + history[len(history)-1].Answer}, nil
	})
	judge := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		if strings.HasPrefix(answer, "refined") {
			return &refine.Verdict{Score: 7}, nil
		}
		return &refine.Verdict{Score: 4}, nil
	})
	guard := &pairwiseModel{decide: func(a, b string) string { // prefers the draft
		if a == "draft" {
			return "[[A]]"
		}
		return "[[B]]"
	}}
	res, err := refine.Run(context.Background(), "q",
		refine.WithRefiner(refiner), refine.WithJudge(judge),
		refine.WithCandidates(3), refine.WithMaxIterations(1),
		refine.WithRegressionGuard(refine.NewPairwiseJudge(guard)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Three drafts scoring 4: the last one is the best (ties go later).
	if !res.Reverted || res.Best != 2 || res.Answer != "draft" {
		t.Errorf("got Best %d (%q), reverted %v; want the chain's start, Attempts[2], restored", res.Best, res.Answer, res.Reverted)
	}
}

func TestRegressionGuardError(t *testing.T) {
	const draft, refined = "first draft", "second try"
	model := refinetest.NewProvider(draft, refined)
	guardModel := refinetest.NewProvider("no verdict", "no verdict", "still none", "still none")
	res, err := refine.Run(context.Background(), "q",
		refine.WithProvider(model),
		refine.WithJudge(refinetest.NewJudge(5, 8)),
		refine.WithMaxIterations(1),
		refine.WithRegressionGuard(refine.NewPairwiseJudge(guardModel)),
	)
	var se *refine.StepError
	if !errors.As(err, &se) || se.Stage != "guard" || !errors.Is(err, refine.ErrUnreadableVerdict) {
		t.Fatalf("error: got %v, want a guard *StepError wrapping ErrUnreadableVerdict", err)
	}
	if res == nil {
		t.Fatal("Result: got nil, want the result so far with the error")
	}
	if res.Answer != refined || res.Reverted || res.StopReason != refine.StopError {
		t.Errorf("got %q, reverted %v, %s; want the best so far, not reverted, StopError", res.Answer, res.Reverted, res.StopReason)
	}
	var attempts refine.Usage
	for _, a := range res.Attempts {
		attempts = attempts.Add(a.Usage)
	}
	if res.Usage.Total() <= attempts.Total() {
		t.Errorf("Usage: got %+v, want more than the attempts' %+v (the failed guard's calls count)", res.Usage, attempts)
	}
}

// The guard's model is its own: the loop's provider is not asked to compare.
func TestRegressionGuardProvider(t *testing.T) {
	model := refinetest.NewProvider("draft", "refined")
	guard := refinetest.NewProvider("[[A]]", "[[A]]")
	_, err := refine.Run(context.Background(), "q",
		refine.WithProvider(model),
		refine.WithJudge(refinetest.NewJudge(5, 9)),
		refine.WithRegressionGuard(refine.NewPairwiseJudge(guard)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if model.Calls() != 2 || guard.Calls() != 2 {
		t.Errorf("calls: loop model %d, guard model %d; want 2 and 2", model.Calls(), guard.Calls())
	}
}
