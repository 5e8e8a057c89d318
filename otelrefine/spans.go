package otelrefine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/selfrefine/refine"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// refine's own attributes.
const (
	roundKey        = attribute.Key("refine.round")     // 0 for drafts, 1.. for refinement rounds
	candidateKey    = attribute.Key("refine.candidate") // which first draft (WithCandidates)
	scoreKey        = attribute.Key("refine.score")     // an attempt's score; the best one's on the run
	stopReasonKey   = attribute.Key("refine.stop_reason")
	stageKey        = attribute.Key("refine.stage") // draft, refine, judge, repair or guard
	attemptsKey     = attribute.Key("refine.attempts")
	bestKey         = attribute.Key("refine.best") // index of the chosen attempt
	revertedKey     = attribute.Key("refine.reverted")
	convergedKey    = attribute.Key("refine.converged")
	inputTokensKey  = attribute.Key("refine.usage.input_tokens")
	outputTokensKey = attribute.Key("refine.usage.output_tokens")
	costKey         = attribute.Key("refine.cost_usd")
)

// group is the events of one attempt (or of the regression guard).
type group struct {
	key     stepKey
	guard   bool
	gen     *refine.Event // EventDraft or EventRefined
	judged  *refine.Event
	calls   []refine.Event
	retries []refine.Event
}

// span returns when the group's work began and ended: from the start of
// its first step or call to the end of its last.
func (g *group) span() (start, end time.Time) {
	widen := func(e *refine.Event) {
		s := e.Time.Add(-e.Duration)
		if start.IsZero() || s.Before(start) {
			start = s
		}
		if end.IsZero() || e.Time.After(end) {
			end = e.Time
		}
	}
	if g.gen != nil {
		widen(g.gen)
	}
	if g.judged != nil {
		widen(g.judged)
	}
	for i := range g.calls {
		widen(&g.calls[i])
	}
	for i := range g.retries {
		widen(&g.retries[i])
	}
	return start, end
}

// export emits the span tree of a run that stopped.
func (o *observer) export(ctx context.Context, r *runEvents, stop refine.Event) {
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameInvokeWorkflow,
		semconv.GenAIWorkflowName("refine"),
		stopReasonKey.String(string(stop.StopReason)),
		inputTokensKey.Int(stop.Usage.InputTokens),
		outputTokensKey.Int(stop.Usage.OutputTokens),
	}
	if res := stop.Result; res != nil {
		attrs = append(attrs, scoreKey.Float64(res.Score), attemptsKey.Int(len(res.Attempts)), bestKey.Int(res.Best))
		if res.Reverted {
			attrs = append(attrs, revertedKey.Bool(true))
		}
		if res.CostKnown {
			attrs = append(attrs, costKey.Float64(res.Cost))
		}
	}
	ctx, run := o.tracer.Start(ctx, "invoke_workflow refine",
		trace.WithTimestamp(stop.Time.Add(-stop.Duration)),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrs...))
	o.fail(run, stop.Err, stop.Time)

	var failed *refine.StepError
	errors.As(stop.Err, &failed)
	for _, g := range groups(r.events) {
		o.exportGroup(ctx, g, r, stop, failed)
	}
	run.End(trace.WithTimestamp(stop.Time))
}

// groups sorts a run's events into its attempts and guard, in the order
// they began.
func groups(events []refine.Event) []*group {
	var out []*group
	find := func(e refine.Event) *group {
		k, guard := stepKey{e.Round, e.Candidate}, e.Stage == "guard"
		for _, g := range out {
			if g.key == k && g.guard == guard {
				return g
			}
		}
		g := &group{key: k, guard: guard}
		out = append(out, g)
		return g
	}
	for _, e := range events {
		g := find(e)
		switch e.Kind {
		case refine.EventDraft, refine.EventRefined:
			g.gen = &e
		case refine.EventJudged:
			g.judged = &e
		case refine.EventCall:
			g.calls = append(g.calls, e)
		case refine.EventRetry:
			g.retries = append(g.retries, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *group) int {
		as, _ := a.span()
		bs, _ := b.span()
		return as.Compare(bs)
	})
	return out
}

func (o *observer) exportGroup(ctx context.Context, g *group, r *runEvents, stop refine.Event, failed *refine.StepError) {
	start, end := g.span()
	name := "refine.draft"
	var attrs []attribute.KeyValue
	switch {
	case g.guard:
		name = "refine.guard"
		attrs = append(attrs, roundKey.Int(g.key.round))
	default:
		if g.key.round > 0 {
			name = "refine.refinement"
		}
		attrs = append(attrs, roundKey.Int(g.key.round), candidateKey.Int(g.key.candidate))
		var u refine.Usage
		if g.gen != nil {
			u = u.Add(g.gen.Usage)
		}
		if g.judged != nil {
			u = u.Add(g.judged.Usage)
			attrs = append(attrs, scoreKey.Float64(g.judged.Score))
		}
		attrs = append(attrs, inputTokensKey.Int(u.InputTokens), outputTokensKey.Int(u.OutputTokens))
		// A refinement that repeats the previous answer is not judged:
		// the run stopped because it converged.
		if g.gen != nil && g.judged == nil && stop.StopReason == refine.StopConverged {
			attrs = append(attrs, convergedKey.Bool(true))
		}
	}
	ctx, span := o.tracer.Start(ctx, name, trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))

	// The step the run failed in carries the run's error; an attempt cut
	// short otherwise (a candidate canceled when another failed) carries
	// its last failed call's.
	switch {
	case failed != nil && failed.Round == g.key.round && (failed.Stage == "guard") == g.guard &&
		(g.guard || failed.Candidate == g.key.candidate):
		o.fail(span, failed, end)
	case !g.guard && g.judged == nil && !(g.gen != nil && stop.StopReason == refine.StopConverged):
		for i := len(g.calls) - 1; i >= 0; i-- {
			if g.calls[i].Err != nil {
				o.fail(span, g.calls[i].Err, end)
				break
			}
		}
	}

	calls := slices.Clone(g.calls)
	slices.SortStableFunc(calls, func(a, b refine.Event) int {
		return a.Time.Add(-a.Duration).Compare(b.Time.Add(-b.Duration))
	})
	retries := slices.Clone(g.retries)
	for _, c := range calls {
		cs := c.Time.Add(-c.Duration)
		// A retried call is one span covering every try (the conventions'
		// rule); each retry is an event on it.
		// Retries name the step's stage; a repair is a call of the judge's step.
		stepStage := c.Stage
		if stepStage == "repair" {
			stepStage = "judge"
		}
		var mine []refine.Event
		retries = slices.DeleteFunc(retries, func(e refine.Event) bool {
			if e.Stage != stepStage || e.Time.Before(cs) || e.Time.After(c.Time) {
				return false
			}
			mine = append(mine, e)
			return true
		})
		first, streamed := r.firstDelta[g.key]
		streamed = streamed && (c.Stage == "draft" || c.Stage == "refine") && !first.Before(cs) && !first.After(c.Time)
		o.exportCall(ctx, c, mine, first, streamed)
	}
	for _, e := range retries { // retries of a call that never reported (a custom part)
		span.AddEvent("refine.retry", o.retryAttrs(e)...)
	}
	span.End(trace.WithTimestamp(end))
}

func (o *observer) retryAttrs(e refine.Event) []trace.EventOption {
	return []trace.EventOption{trace.WithTimestamp(e.Time), trace.WithAttributes(
		attribute.Int("refine.retry.attempt", e.Attempt),
		attribute.Float64("refine.retry.delay", e.Delay.Seconds()),
		errorType(e.Err),
		semconv.ExceptionMessage(o.errText(e.Err)),
	)}
}

// exportCall emits the span of one model call.
func (o *observer) exportCall(ctx context.Context, c refine.Event, retries []refine.Event, firstDelta time.Time, streamed bool) {
	start := c.Time.Add(-c.Duration)
	attrs := []attribute.KeyValue{semconv.GenAIOperationNameChat, stageKey.String(c.Stage)}
	if req := c.Request; req != nil {
		attrs = append(attrs, requestAttrs(req)...)
	}
	// The conventions name the span "chat {gen_ai.request.model}"; a
	// provider that does not name its model is known by the model that
	// answered, if any.
	name := "chat"
	if c.Model != "" {
		name += " " + c.Model
		attrs = append(attrs, semconv.GenAIRequestModel(c.Model))
	} else if c.Response != nil && c.Response.Model != "" {
		name += " " + c.Response.Model
	}
	if resp := c.Response; resp != nil {
		if resp.Model != "" {
			attrs = append(attrs, semconv.GenAIResponseModel(resp.Model))
		}
		if resp.FinishReason != "" {
			attrs = append(attrs, semconv.GenAIResponseFinishReasons(resp.FinishReason))
		}
		attrs = append(attrs,
			semconv.GenAIUsageInputTokens(resp.Usage.InputTokens),
			semconv.GenAIUsageOutputTokens(resp.Usage.OutputTokens))
		if resp.Usage.CachedInputTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokens(resp.Usage.CachedInputTokens))
		}
		if resp.Usage.ReasoningTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokens(resp.Usage.ReasoningTokens))
		}
	}
	if streamed {
		attrs = append(attrs, semconv.GenAIRequestStream(true),
			semconv.GenAIResponseTimeToFirstChunk(firstDelta.Sub(start).Seconds()))
	}
	if o.content {
		attrs = append(attrs, contentAttrs(c.Request, c.Response)...)
	}
	if c.Err != nil {
		attrs = append(attrs, errorType(c.Err))
	}
	_, span := o.tracer.Start(ctx, name, trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	for _, e := range retries {
		span.AddEvent("refine.retry", o.retryAttrs(e)...)
	}
	o.fail(span, c.Err, c.Time)
	span.End(trace.WithTimestamp(c.Time))
}

func requestAttrs(req *refine.Request) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if t := req.Temperature; t != nil {
		attrs = append(attrs, semconv.GenAIRequestTemperature(*t))
	}
	if p := req.TopP; p != nil {
		attrs = append(attrs, semconv.GenAIRequestTopP(*p))
	}
	if req.MaxTokens > 0 {
		attrs = append(attrs, semconv.GenAIRequestMaxTokens(req.MaxTokens))
	}
	if s := req.Seed; s != nil {
		attrs = append(attrs, semconv.GenAIRequestSeed(int(*s)))
	}
	if len(req.Stop) > 0 {
		attrs = append(attrs, semconv.GenAIRequestStopSequences(req.Stop...))
	}
	if req.JSON || req.Schema != nil {
		attrs = append(attrs, semconv.GenAIOutputTypeJSON)
	}
	return attrs
}

// fail marks a span as failed with err, when there is one, recording it
// as the conventions' exception event.
func (o *observer) fail(span trace.Span, err error, at time.Time) {
	if err == nil {
		return
	}
	msg := o.errText(err)
	span.AddEvent(semconv.ExceptionEventName, trace.WithTimestamp(at), trace.WithAttributes(
		semconv.ExceptionType(fmt.Sprintf("%T", err)), semconv.ExceptionMessage(msg)))
	span.SetStatus(codes.Error, msg)
}

// errText is err's message as spans show it. The package's errors never
// quote a model's text (refine.WithLogger states the rule); with
// WithContent an unreadable verdict's message gains the judge's reply,
// which is then content the caller asked for.
func (o *observer) errText(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ve *refine.VerdictError
	if o.content && errors.As(err, &ve) {
		msg += fmt.Sprintf(" [judge reply: %q", truncate(ve.Raw, 500))
		if ve.RepairRaw != "" {
			msg += fmt.Sprintf("; restated: %q", truncate(ve.RepairRaw, 500))
		}
		msg += "]"
	}
	return msg
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// errorType names the kind of a failure for error.type: refine's error
// kinds, which every adapter classifies its errors into, or "_OTHER".
func errorType(err error) attribute.KeyValue {
	kinds := []struct {
		err  error
		name string
	}{
		{context.DeadlineExceeded, "timeout"},
		{context.Canceled, "canceled"},
		{refine.ErrRateLimited, "rate_limited"},
		{refine.ErrAuth, "auth"},
		{refine.ErrContextLength, "context_length"},
		{refine.ErrUnavailable, "unavailable"},
		{refine.ErrInvalidRequest, "invalid_request"},
		{refine.ErrUnreadableVerdict, "unreadable_verdict"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return semconv.ErrorTypeKey.String(k.name)
		}
	}
	return semconv.ErrorTypeOther
}
