// Package otelrefine traces and measures refine runs with OpenTelemetry.
//
// It is an observer: pass what Observer returns to refine.WithObserver and
// every run becomes a span tree under the span in the run's context, and
// its model calls, scores and stops are counted through the metric API:
//
//	loop, err := refine.New(
//		refine.WithProvider(p),
//		refine.WithObserver(otelrefine.Observer()),
//	)
//
// The spans nest the way the work does:
//
//	invoke_workflow refine            the run (refine.stop_reason, refine.score)
//	├── refine.draft                  an attempt: refine.round 0, refine.candidate i
//	│   ├── chat {model}              the draft's model call (refine.stage "draft")
//	│   └── chat {model}              the judge's call (refine.stage "judge", then "repair")
//	├── refine.refinement             refinement round 1.. (refine.round)
//	│   └── ...
//	└── refine.guard                  WithRegressionGuard's comparison, when it ran
//
// Model call spans follow the OpenTelemetry GenAI semantic conventions
// (gen_ai.operation.name "chat", gen_ai.request.model when the provider
// names it, gen_ai.request.temperature, top_p,
// max_tokens, gen_ai.usage.input_tokens and output_tokens,
// gen_ai.response.model and finish_reasons); a failed call has error
// status, the error recorded and error.type set. Token totals of a run or an
// attempt are refine.usage.* rather than gen_ai.usage.*, so that backends
// summing gen_ai.usage over a trace count each call once.
//
// Prompts, answers, critiques and judges' replies are never exported unless
// WithContent(true) asks for them — not in attributes, not in a span's
// status, not in exception or retry events. That is the rule
// refine.WithLogger states for logs, and refine's own errors keep to it: an
// unreadable verdict's error says why in refine's words and leaves the
// reply in VerdictError.Raw. With WithContent(true) they appear on the
// call spans as the conventions' opt-in gen_ai.system_instructions,
// gen_ai.input.messages and gen_ai.output.messages attributes, and an
// unreadable verdict's exception message quotes the judge's reply. Errors
// from providers are recorded as their text: the built-in adapters scrub
// credentials from them; a server's own message is kept.
//
// The observer cannot hand a context back to the loop, so spans are built
// from the events' own timestamps (an event reports the end of its step,
// and the step began Duration earlier): the events of a run are kept until
// its EventStopped and the run's span tree is then emitted at once. Events
// of concurrent runs are told apart by Event.RunID.
package otelrefine

import (
	"context"
	"sync"
	"time"

	"github.com/selfrefine/refine"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// scope names the instrumentation library in the spans and metrics it makes.
const scope = "github.com/selfrefine/refine/otelrefine"

// Option configures Observer.
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	content bool
}

// WithTracerProvider sets where spans go. nil, or no such option, means
// the global provider (otel.GetTracerProvider), which also follows a
// later otel.SetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go. nil, or no such option, means
// the global provider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithContent(true) records prompts, answers and critiques on the model
// call spans. They may hold personal data, so the default is false: spans
// then carry settings, token counts, scores and timings only.
func WithContent(on bool) Option {
	return func(c *config) { c.content = on }
}

// Observer returns a function for refine.WithObserver that traces each run
// and records its metrics. Later options win.
//
// The function is safe for concurrent use, and one observer may serve any
// number of loops and concurrent runs. A run's span tree is emitted when
// the run stops; until then its events (without prompt or answer text,
// unless WithContent) are held in memory. A run that never stops (a panic
// out of Run) leaves its events held.
//
// Metrics:
//   - gen_ai.client.operation.duration (s): each model call, with
//     gen_ai.operation.name, gen_ai.request.model and gen_ai.response.model
//     (when known), refine.stage and, for a
//     failed call, error.type.
//   - gen_ai.client.token.usage ({token}): each successful call's input and
//     output tokens, told apart by gen_ai.token.type.
//   - refine.runs ({run}): runs by refine.stop_reason.
//   - refine.score: every judged attempt's score (0–10), by refine.round.
func Observer(opts ...Option) func(ctx context.Context, e refine.Event) {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	o := &observer{
		tracer:  c.tp.Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL)),
		metrics: newMetrics(c.mp.Meter(scope, metric.WithSchemaURL(semconv.SchemaURL))),
		content: c.content,
		runs:    map[uint64]*runEvents{},
	}
	return o.observe
}

type observer struct {
	tracer  trace.Tracer
	metrics metrics
	content bool

	mu   sync.Mutex
	runs map[uint64]*runEvents // the runs that have not stopped yet
}

// runEvents is what a run has reported so far.
type runEvents struct {
	events []refine.Event
	// firstDelta is when each attempt's answer began to stream: the
	// deltas themselves are not kept, only the time to the first one.
	firstDelta map[stepKey]time.Time
}

// stepKey names an attempt of a run.
type stepKey struct{ round, candidate int }

func (o *observer) observe(ctx context.Context, e refine.Event) {
	o.metrics.record(ctx, e)
	switch e.Kind {
	case refine.EventStopped:
		o.mu.Lock()
		r := o.runs[e.RunID]
		delete(o.runs, e.RunID)
		o.mu.Unlock()
		if r == nil {
			r = &runEvents{}
		}
		o.export(ctx, r, e)
		return
	case refine.EventDelta:
		k := stepKey{e.Round, e.Candidate}
		o.mu.Lock()
		r := o.run(e.RunID)
		if _, ok := r.firstDelta[k]; !ok {
			r.firstDelta[k] = e.Time
		}
		o.mu.Unlock()
		return
	}
	e = o.keep(e)
	o.mu.Lock()
	r := o.run(e.RunID)
	r.events = append(r.events, e)
	o.mu.Unlock()
}

// run returns the events of a run, adding it when it is new. o.mu is held.
func (o *observer) run(id uint64) *runEvents {
	r := o.runs[id]
	if r == nil {
		r = &runEvents{firstDelta: map[stepKey]time.Time{}}
		o.runs[id] = r
	}
	return r
}

// keep returns the part of e the span tree needs. Without WithContent no
// text is kept: the buffer holds no prompt, answer or critique that could
// leak into a span by mistake, and a long run holds no more memory than
// its settings and counts.
func (o *observer) keep(e refine.Event) refine.Event {
	e.Verdict = nil // Score carries what the spans use
	e.Result = nil
	if o.content {
		return e
	}
	if e.Request != nil {
		req := *e.Request
		req.Messages, req.Schema = nil, nil
		e.Request = &req
	}
	if e.Response != nil {
		resp := *e.Response
		resp.Text, resp.Logprobs = "", nil
		e.Response = &resp
	}
	return e
}
