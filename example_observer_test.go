package refine_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// WithObserver streams progress, records metrics or traces each step. The
// function runs on the goroutine of the step, so it must be quick and safe
// for concurrent use.
//
// OpenTelemetry needs no adapter: start a span per run and add an event per
// step, for example
//
//	refine.WithObserver(func(ctx context.Context, e refine.Event) {
//		span := trace.SpanFromContext(ctx)
//		span.AddEvent(string(e.Kind), trace.WithAttributes(
//			attribute.Int("refine.round", e.Round),
//			attribute.Float64("refine.score", e.Score),
//			attribute.Int("refine.tokens", e.Usage.Total())))
//	})
//
// with the run's ctx carrying the span (tracer.Start(ctx, "refine.Run")).
func ExampleWithObserver() {
	var mu sync.Mutex
	tokens := map[refine.EventKind]int{}
	progress := refine.WithObserver(func(ctx context.Context, e refine.Event) {
		switch e.Kind {
		case refine.EventJudged:
			fmt.Printf("round %d: %.0f/10\n", e.Round, e.Score)
		case refine.EventStopped:
			fmt.Printf("stopped: %s, tokens counted: %v\n", e.StopReason, e.Usage.Total() > 0)
		}
		mu.Lock()
		tokens[e.Kind] += e.Usage.Total()
		mu.Unlock()
	})
	model := refinetest.NewProvider("first draft", "second draft")
	_, err := refine.Run(context.Background(), "Name three Go proverbs.",
		refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(5, 8)), progress)
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// round 0: 5/10
	// round 1: 8/10
	// stopped: threshold, tokens counted: true
}
