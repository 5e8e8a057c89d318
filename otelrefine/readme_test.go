package otelrefine_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/otelrefine"
	"github.com/selfrefine/refine/refinetest"
)

// README's Tracing block (its text is checked against README.md by the
// root module's TestREADMEBlocksAreTested): a Loop with the observer on the
// global tracer provider traces a run.
func TestREADMETracing(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	old := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	t.Cleanup(func() { otel.SetTracerProvider(old) })

	p := &refinetest.Simulator{}
	// README:
	loop, err := refine.New(
		refine.WithProvider(p),
		refine.WithObserver(otelrefine.Observer()), // the global tracer and meter providers
	)
	// :README
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loop.Run(context.Background(), "What is a goroutine?", refine.WithMaxIterations(1)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range spans.Ended() {
		names[s.Name()] = true
	}
	for _, want := range []string{"invoke_workflow refine", "refine.draft", "refine.refinement", "chat simulated"} {
		if !names[want] {
			t.Errorf("no %q span; got %v", want, names)
		}
	}
}
