package refine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// Events runs the loop and yields each step as it happens; with a
// streaming provider, EventDelta carries the answer as it is written.
func ExampleLoop_Events() {
	model := refinetest.NewProvider(
		"A goroutine is a thread.",
		`{"score": 5, "issues": ["goroutines are not OS threads"]}`,
		"A goroutine is a function the Go runtime schedules onto a few threads.",
		`{"score": 9, "issues": []}`,
	)
	loop, err := refine.New(refine.WithProvider(model))
	if err != nil {
		fmt.Println(err)
		return
	}
	for e, err := range loop.Events(context.Background(), "What is a goroutine?") {
		switch e.Kind {
		case refine.EventDraft, refine.EventRefined:
			fmt.Printf("round %d written\n", e.Round)
		case refine.EventJudged:
			fmt.Printf("round %d: %.0f/10\n", e.Round, e.Score)
		case refine.EventStopped:
			fmt.Println("stopped:", e.StopReason, "error:", err)
			fmt.Println("answer:", e.Result.Answer)
		}
	}
	// Output:
	// round 0 written
	// round 0: 5/10
	// round 1 written
	// round 1: 9/10
	// stopped: threshold error: <nil>
	// answer: A goroutine is a function the Go runtime schedules onto a few threads.
}

// RetryProvider retries transient failures; LimitProvider caps the calls in
// flight. Wrap a provider once and share it: a Retry-After pause it
// receives holds back every run calling through it, and nothing else.
func ExampleRetryProvider() {
	model := refinetest.NewProvider("ok").
		FailAt(1, refinetest.Transient(refine.ErrRateLimited, 10*time.Millisecond)) // a 429 asking for 10ms
	shared := refine.LimitProvider(refine.RetryProvider(model, refine.RetryPolicy{MaxRetries: 2}), 8)

	resp, err := shared.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "hi"}},
	})
	fmt.Println(resp.Text, err, "after", model.Calls(), "calls")
	// Output:
	// ok <nil> after 2 calls
}

// LimitProvider caps the calls in flight through the returned Provider,
// across every run and Loop that shares it.
func ExampleLimitProvider() {
	model := refinetest.NewProvider("a", "b", "c")
	capped := refine.LimitProvider(model, 2)
	loop, err := refine.New(refine.WithProvider(capped), refine.WithJudge(refinetest.NewJudge(9, 9, 9)))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := loop.RunBatch(context.Background(), []string{"q1", "q2", "q3"}, 3)
	fmt.Println(len(out), "results,", model.Calls(), "calls, error:", err)
	// Output:
	// 3 results, 3 calls, error: <nil>
}

// RetryProvider adds no second layer around a provider that already
// retries (an adapter, or a RetryProvider, found through Unwrap): it
// returns it as it is, so a policy of 1 retry stays 2 requests per call.
func ExampleRetryProvider_once() {
	model := refinetest.NewProvider("draft").
		FailAt(1, refine.ErrUnavailable).
		FailAt(2, refine.ErrUnavailable)
	retrying := refine.RetryProvider(model, refine.RetryPolicy{MaxRetries: 1, Base: time.Millisecond, Max: time.Millisecond})
	again := refine.RetryProvider(refine.LimitProvider(retrying, 4), refine.RetryPolicy{MaxRetries: 5})

	_, err := again.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "hi"}},
	})
	fmt.Println(errors.Is(err, refine.ErrUnavailable), "after", model.Calls(), "calls")
	// Output:
	// true after 2 calls
}
