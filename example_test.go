package refine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// The package-level Run uses the Default Loop; options give it a model.
// Here a scripted model drafts, is judged 6/10, refines, and is judged 9/10.
func ExampleRun() {
	model := refinetest.NewProvider(
		"Goroutines are threads.",
		`{"score": 6, "issues": ["goroutines are not OS threads"], "suggestions": ["explain the scheduler"], "assessment": "Partly wrong."}`,
		"Goroutines are functions scheduled by the Go runtime onto a few OS threads.",
		`{"score": 9, "issues": [], "suggestions": [], "assessment": "Accurate."}`,
	)
	res, err := refine.Run(context.Background(), "What is a goroutine?", refine.WithProvider(model))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for i, a := range res.Attempts {
		fmt.Printf("attempt %d: %.0f/10\n", i, a.Verdict.Score)
	}
	fmt.Println("answer:", res.Answer)
	fmt.Println("stopped:", res.StopReason)
	fmt.Println("model calls:", model.Calls())
	// Output:
	// attempt 0: 6/10
	// attempt 1: 9/10
	// answer: Goroutines are functions scheduled by the Go runtime onto a few OS threads.
	// stopped: threshold
	// model calls: 4
}

// New builds a Loop once (validating every option) for use by many
// goroutines; Run takes per-call overrides.
func ExampleNew() {
	loop, err := refine.New(
		refine.WithMaxIterations(2),
		refine.WithThreshold(9),
		refine.WithTemperature(0.7),
		refine.WithStop(refine.NoImprovement(1)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	model := refinetest.NewProvider("draft", "second", "third")
	judge := refinetest.NewJudge(7, 7, 10) // the second round brings no improvement
	res, err := loop.Run(context.Background(), "Summarise the release notes.",
		refine.WithProvider(model), refine.WithJudge(judge))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.StopReason, len(res.Attempts), res.Answer)

	_, err = refine.New(refine.WithTemperature(3))
	fmt.Println(err)
	// Output:
	// no_improvement 2 second
	// refine: WithTemperature(3): must be within [0, 2]: invalid option
}

// A custom Judge plugs code checks or domain rules into the loop. This one
// wants the answer to mention a deadline, and says so when it does not.
func ExampleJudgeFunc() {
	mentionsDeadline := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		if strings.Contains(answer, "deadline") {
			return &refine.Verdict{Score: 10}, nil
		}
		return &refine.Verdict{
			Score:       3,
			Issues:      []string{"no deadline given"},
			Suggestions: []string{"state the deadline"},
		}, nil
	})
	model := refinetest.NewProvider("We will ship soon.", "We will ship before the Friday deadline.")
	res, err := refine.Run(context.Background(), "When do we ship?",
		refine.WithProvider(model), refine.WithJudge(mentionsDeadline))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Answer)
	refinePrompt := model.Requests()[1].Messages[1].Content
	fmt.Println(strings.Contains(refinePrompt, "no deadline given"))
	// Output:
	// We will ship before the Friday deadline.
	// true
}

// A custom Refiner produces the drafts and refinements itself: here
// without a model, by appending to the previous answer what the judge
// asked for.
func ExampleRefinerFunc() {
	appendSuggestion := refine.RefinerFunc(func(ctx context.Context, query string, history []refine.Attempt) (*refine.Response, error) {
		if len(history) == 0 {
			return &refine.Response{Text: "SELECT * FROM users"}, nil
		}
		last := history[len(history)-1]
		return &refine.Response{Text: last.Answer + " " + last.Verdict.Suggestions[0]}, nil
	})
	judge := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		if !strings.Contains(answer, "LIMIT") {
			return &refine.Verdict{Score: 4, Suggestions: []string{"LIMIT 100"}}, nil
		}
		return &refine.Verdict{Score: 9}, nil
	})
	res, err := refine.Run(context.Background(), "List the users.",
		refine.WithRefiner(appendSuggestion), refine.WithJudge(judge))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Answer, "|", res.StopReason)
	// Output:
	// SELECT * FROM users LIMIT 100 | threshold
}

// When a later round fails, the best answer so far comes back with the
// error.
func ExampleLoop_Run_partialResult() {
	model := refinetest.NewProvider(
		"draft answer",
		`{"score": 5, "issues": ["too short"]}`,
	).FailAt(3, &refine.ProviderError{Kind: refine.ErrAuth, Provider: "example", StatusCode: 401})
	res, err := refine.Run(context.Background(), "Explain channels.", refine.WithProvider(model))
	fmt.Println(err)
	fmt.Println(res.Answer, res.Score, res.StopReason)
	// Output:
	// refine: round 1: refine failed: example: authentication failed (HTTP 401)
	// draft answer 5 error
}
