package eval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

func ExampleWilson() {
	// 27 of 30 tasks refined better: how sure is "90%"?
	i := eval.Wilson(27, 30, 0.95)
	fmt.Printf("%.0f%%, 95%% interval %.1f%%–%.1f%%\n", 100*i.Estimate, 100*i.Low, 100*i.High)
	// With 3 tasks, the same rate says almost nothing.
	i = eval.Wilson(3, 3, 0.95)
	fmt.Printf("%.0f%%, 95%% interval %.1f%%–%.1f%%\n", 100*i.Estimate, 100*i.Low, 100*i.High)
	// Output:
	// 90%, 95% interval 74.4%–96.5%
	// 100%, 95% interval 43.9%–100.0%
}

func ExampleSignTest() {
	// 9 wins, 1 loss (ties dropped): unlikely if both arms were equal.
	fmt.Printf("%.4f\n", eval.SignTest(9, 1))
	// 6 wins, 4 losses: quite likely by chance.
	fmt.Printf("%.4f\n", eval.SignTest(6, 4))
	// Output:
	// 0.0215
	// 0.7539
}

// Compare a Loop against one call of another model. Here scripted
// providers stand in for real ones: the "big" model's one call always
// loses to the refined answer, except on one task where the judge cannot
// decide, so it is counted as failed rather than scored.
func ExampleCompare() {
	small := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		last := req.Messages[len(req.Messages)-1].Content
		if strings.Contains(last, "score") { // the Loop's judge
			return &refine.Response{Text: `{"score": 9}`}, nil
		}
		return &refine.Response{Text: "a careful answer"}, nil
	})
	big := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: "a quick answer to " + req.Messages[0].Content}, nil
	})
	comparer := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		user := req.Messages[1].Content
		if strings.Contains(user, "q7") {
			return &refine.Response{Text: "Hard to say."}, nil
		}
		if strings.Index(user, "careful") < strings.Index(user, "quick") {
			return &refine.Response{Text: "[[A]]"}, nil
		}
		return &refine.Response{Text: "[[B]]"}, nil
	})
	loop, err := refine.New(refine.WithProvider(small))
	if err != nil {
		fmt.Println(err)
		return
	}
	var tasks []eval.Task
	for i := range 12 {
		tasks = append(tasks, eval.Task{ID: fmt.Sprint(i), Query: fmt.Sprintf("q%d: explain it", i)})
	}
	r, err := eval.Compare(context.Background(), tasks, refine.NewPairwiseJudge(comparer),
		eval.Arm{Name: "small+refine", Loop: loop},
		eval.Arm{Name: "big, one call", Provider: big})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Verdict())
	fmt.Printf("wins %d–%d, ties %d, failed %d, p = %.4f\n", r.WinsA, r.WinsB, r.Ties, r.Failed, r.P)
	// Output:
	// small+refine wins significantly: it beats big, one call in 100% of decisive comparisons (95% interval 74.1%–100%, p < 0.001); 11 of 12 tasks compared, 0 ties, 1 failed (not counted)
	// wins 11–0, ties 0, failed 1, p = 0.0010
}

// Gate a prompt change in a Go test: fail when the new prompt loses
// significantly to the old one. Here the judge prefers the old prompt's
// answers on every task, so the gate closes.
func ExampleCheckNotWorse() {
	model := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: req.Messages[0].Content + " " + req.Messages[1].Content}, nil
	})
	judge := refine.NewPairwiseJudge(refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		user := req.Messages[1].Content
		if strings.Index(user, "Show your steps.") < strings.Index(user, "Be terse.") {
			return &refine.Response{Text: "[[A]]"}, nil
		}
		return &refine.Response{Text: "[[B]]"}, nil
	}))
	var tasks []eval.Task
	for i := range 10 {
		tasks = append(tasks, eval.Task{ID: fmt.Sprint(i), Query: fmt.Sprintf("What is %d × 7?", i)})
	}
	_, err := eval.CheckNotWorse(context.Background(), tasks, judge,
		eval.Arm{Name: "old prompt", Provider: model, System: "Show your steps."},
		eval.Arm{Name: "new prompt", Provider: model, System: "Be terse."})
	fmt.Println(errors.Is(err, eval.ErrWorse))
	fmt.Println(err)
	// Output:
	// true
	// eval: the candidate is significantly worse than the baseline: old prompt wins significantly: it beats new prompt in 100% of decisive comparisons (95% interval 72.2%–100%, p = 0.00195); 10 of 10 tasks compared, 0 ties
}

// Compare two runs after the fact, by task id, as `refine compare` does:
// an id one side lacks is counted as failed, not dropped.
func ExampleCompareAnswers() {
	judge := refine.NewPairwiseJudge(refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: "[[C]]"}, nil // the judge sees no difference
	}))
	one := func(text string) []eval.ArmAnswer { return []eval.ArmAnswer{{Answer: text}} }
	pairs := []eval.Pair{
		{Task: eval.Task{ID: "1", Query: "Name a prime."}, A: one("2"), B: one("3")},
		{Task: eval.Task{ID: "2", Query: "Name an even number."}, A: one("4"), B: one("8")},
		{Task: eval.Task{ID: "3", Query: "Name a square."}, A: one("9")}, // missing from the candidate run
	}
	r, err := eval.CompareAnswers(context.Background(), pairs, judge, "baseline", "candidate")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Verdict())
	for _, res := range r.Results {
		line := res.ID + " " + res.Outcome
		if e := res.Trials[0].Error; e != "" {
			line += ": " + e
		}
		fmt.Println(line)
	}
	// Output:
	// no difference found: all 2 compared tasks are ties; 2 of 3 tasks compared, 2 ties, 1 failed (not counted)
	// 1 tie
	// 2 tie
	// 3 failed: arm candidate: no answer from candidate
}
