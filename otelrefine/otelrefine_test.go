package otelrefine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/otelrefine"
	"github.com/selfrefine/refine/refinetest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// named gives a scripted provider a model name, as the real adapters have.
type named struct {
	*refinetest.Provider
	model string
}

func (n named) Model() string { return n.model }

// verdict is a reply of the default LLM judge.
func verdict(score int, issue string) string {
	return fmt.Sprintf(`{"score": %d, "issues": [%q], "suggestions": ["더 구체적으로 쓰세요"]}`, score, issue)
}

// telemetry records what an observer exports.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) observer(opts ...otelrefine.Option) func(context.Context, refine.Event) {
	return otelrefine.Observer(append([]otelrefine.Option{
		otelrefine.WithTracerProvider(tel.tp), otelrefine.WithMeterProvider(tel.mp)}, opts...)...)
}

// children returns the ended spans whose parent is p, in the order they began.
func (tel *telemetry) children(p trace.SpanContext) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.Parent().SpanID() == p.SpanID() && s.Parent().TraceID() == p.TraceID() {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func intAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string) int {
	t.Helper()
	v, ok := attr(s, key)
	if !ok || v.Type() != attribute.INT64 {
		t.Fatalf("span %q: %s = %v (present %v), want an int", s.Name(), key, v.Emit(), ok)
	}
	return int(v.AsInt64())
}

func strAttr(s sdktrace.ReadOnlySpan, key string) string {
	v, _ := attr(s, key)
	return v.Emit()
}

// start opens the caller's own span, the one a run's span must join.
func (tel *telemetry) start(ctx context.Context, name string) (context.Context, trace.Span) {
	return tel.tp.Tracer("test").Start(ctx, name)
}

const query = "서울의 겨울 날씨를 설명해 주세요"

// runCandidates runs a real loop: two drafts judged 5 and 6, one
// refinement judged 9, which passes the threshold.
func runCandidates(t *testing.T, tel *telemetry, opts ...otelrefine.Option) (*refine.Result, trace.SpanContext) {
	t.Helper()
	gen := named{refinetest.NewProvider("서울의 겨울은 춥습니다.", "서울의 겨울은 춥고 건조합니다.", "서울의 겨울은 영하 10도까지 내려가고 건조합니다."), "gen-model"}
	judge := named{refinetest.NewProvider(verdict(5, "근거가 없습니다"), verdict(6, "기온이 없습니다"), verdict(9, "")), "judge-model"}
	loop, err := refine.New(refine.WithProvider(gen), refine.WithJudgeProvider(judge),
		refine.WithCandidates(2), refine.WithThreshold(8), refine.WithMaxIterations(3),
		refine.WithTemperature(0.3), refine.WithTopP(0.9), refine.WithMaxTokens(256),
		refine.WithObserver(tel.observer(opts...)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tel.start(context.Background(), "handle request")
	res, err := loop.Run(ctx, query)
	parent.End()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, parent.SpanContext()
}

func TestSpanTree(t *testing.T) {
	tel := newTelemetry(t)
	res, parent := runCandidates(t, tel)

	runs := tel.children(parent)
	if len(runs) != 1 {
		t.Fatalf("spans under the caller's span: got %d, want 1 run span", len(runs))
	}
	run := runs[0]
	if got, want := run.Name(), "invoke_workflow refine"; got != want {
		t.Errorf("run span name = %q, want %q", got, want)
	}
	for key, want := range map[string]string{
		"gen_ai.operation.name": "invoke_workflow",
		"refine.stop_reason":    "threshold",
		"refine.score":          "9",
		"refine.attempts":       "3",
		"refine.best":           "2",
	} {
		if got := strAttr(run, key); got != want {
			t.Errorf("run span %s = %q, want %q", key, got, want)
		}
	}
	if got := intAttr(t, run, "refine.usage.input_tokens"); got != res.Usage.InputTokens {
		t.Errorf("run span refine.usage.input_tokens = %d, want Result.Usage.InputTokens %d", got, res.Usage.InputTokens)
	}
	if run.Status().Code != codes.Unset {
		t.Errorf("run span status = %v, want unset", run.Status())
	}

	attempts := tel.children(run.SpanContext())
	var names []string
	candidates := map[int]bool{}
	scores := map[string]string{}
	for _, a := range attempts {
		names = append(names, a.Name())
		if intAttr(t, a, "refine.round") == 0 {
			candidates[intAttr(t, a, "refine.candidate")] = true
		}
		scores[fmt.Sprintf("%s/%d", a.Name(), intAttr(t, a, "refine.candidate"))] = strAttr(a, "refine.score")
	}
	slices.Sort(names)
	if want := []string{"refine.draft", "refine.draft", "refine.refinement"}; !slices.Equal(names, want) {
		t.Fatalf("attempt spans = %q, want %q", names, want)
	}
	if !candidates[0] || !candidates[1] {
		t.Errorf("draft spans' refine.candidate = %v, want 0 and 1", candidates)
	}
	if d0, d1 := scores["refine.draft/0"], scores["refine.draft/1"]; !(d0 == "5" && d1 == "6" || d0 == "6" && d1 == "5") {
		t.Errorf("draft scores = %q and %q, want 5 and 6", d0, d1)
	}
	if got := scores["refine.refinement/0"]; got != "9" {
		t.Errorf("refinement score = %q, want 9", got)
	}

	var inputTokens, outputTokens int
	for _, a := range attempts {
		if a.StartTime().Before(run.StartTime()) || a.EndTime().After(run.EndTime()) {
			t.Errorf("attempt %q [%v, %v] is not inside the run [%v, %v]", a.Name(), a.StartTime(), a.EndTime(), run.StartTime(), run.EndTime())
		}
		calls := tel.children(a.SpanContext())
		genStage := "refine"
		if intAttr(t, a, "refine.round") == 0 {
			genStage = "draft"
		}
		var got []string
		for _, c := range calls {
			got = append(got, c.Name()+" "+strAttr(c, "refine.stage"))
			if c.SpanKind() != trace.SpanKindClient {
				t.Errorf("call %q kind = %v, want client", c.Name(), c.SpanKind())
			}
			if c.StartTime().Before(a.StartTime()) || c.EndTime().After(a.EndTime()) {
				t.Errorf("call %q is not inside its attempt %q", c.Name(), a.Name())
			}
			for key, want := range map[string]string{
				"gen_ai.operation.name":          "chat",
				"gen_ai.response.model":          "refinetest",
				"gen_ai.response.finish_reasons": `["stop"]`,
			} {
				if got := strAttr(c, key); got != want {
					t.Errorf("call %q %s = %q, want %q", c.Name(), key, got, want)
				}
			}
			inputTokens += intAttr(t, c, "gen_ai.usage.input_tokens")
			outputTokens += intAttr(t, c, "gen_ai.usage.output_tokens")
			if strAttr(c, "refine.stage") == genStage {
				for key, want := range map[string]string{
					"gen_ai.request.model":       "gen-model",
					"gen_ai.request.temperature": "0.3",
					"gen_ai.request.top_p":       "0.9",
					"gen_ai.request.max_tokens":  "256",
				} {
					if got := strAttr(c, key); got != want {
						t.Errorf("%s call %s = %q, want %q", genStage, key, got, want)
					}
				}
			}
		}
		if want := []string{"chat gen-model " + genStage, "chat judge-model judge"}; !slices.Equal(got, want) {
			t.Errorf("calls under %q = %q, want %q", a.Name(), got, want)
		}
	}
	// Every token of the run is on exactly one call span.
	if inputTokens != res.Usage.InputTokens || outputTokens != res.Usage.OutputTokens {
		t.Errorf("call spans' tokens = %d in, %d out; want the Result's %d in, %d out",
			inputTokens, outputTokens, res.Usage.InputTokens, res.Usage.OutputTokens)
	}
}

func TestMetrics(t *testing.T) {
	tel := newTelemetry(t)
	res, _ := runCandidates(t, tel)

	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = m
		}
	}

	duration, ok := found["gen_ai.client.operation.duration"].Data.(metricdata.Histogram[float64])
	if !ok || found["gen_ai.client.operation.duration"].Unit != "s" {
		t.Fatalf("gen_ai.client.operation.duration = %+v, want a float histogram in s", found["gen_ai.client.operation.duration"])
	}
	var calls uint64
	for _, p := range duration.DataPoints {
		calls += p.Count
		if v, _ := p.Attributes.Value("gen_ai.operation.name"); v.AsString() != "chat" {
			t.Errorf("duration point attributes %v, want gen_ai.operation.name=chat", p.Attributes.ToSlice())
		}
	}
	if calls != 6 {
		t.Errorf("gen_ai.client.operation.duration count = %d, want 6 calls (3 generations, 3 judgements)", calls)
	}

	tokens, ok := found["gen_ai.client.token.usage"].Data.(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("gen_ai.client.token.usage = %+v, want an int histogram", found["gen_ai.client.token.usage"])
	}
	byType := map[string]int64{}
	for _, p := range tokens.DataPoints {
		v, _ := p.Attributes.Value("gen_ai.token.type")
		byType[v.AsString()] += p.Sum
	}
	if byType["input"] != int64(res.Usage.InputTokens) || byType["output"] != int64(res.Usage.OutputTokens) {
		t.Errorf("gen_ai.client.token.usage sums = %v, want input %d, output %d", byType, res.Usage.InputTokens, res.Usage.OutputTokens)
	}

	runs, ok := found["refine.runs"].Data.(metricdata.Sum[int64])
	if !ok || len(runs.DataPoints) != 1 || runs.DataPoints[0].Value != 1 {
		t.Fatalf("refine.runs = %+v, want one point of 1", found["refine.runs"].Data)
	}
	if v, _ := runs.DataPoints[0].Attributes.Value("refine.stop_reason"); v.AsString() != "threshold" {
		t.Errorf("refine.runs stop reason = %q, want threshold", v.AsString())
	}

	scores, ok := found["refine.score"].Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("refine.score = %+v, want a float histogram", found["refine.score"])
	}
	var n uint64
	var sum float64
	for _, p := range scores.DataPoints {
		n += p.Count
		sum += p.Sum
	}
	if n != 3 || sum != 20 {
		t.Errorf("refine.score: %d scores summing to %v, want 3 summing to 20 (5+6+9)", n, sum)
	}
}

func TestErrors(t *testing.T) {
	tel := newTelemetry(t)
	denied := &refine.ProviderError{Kind: refine.ErrAuth, Provider: "refinetest", StatusCode: 401, Message: "invalid key"}
	// The draft's call succeeds; the judge's first try is refused as
	// unavailable and retried; the refinement's call is refused for good.
	gen := named{refinetest.NewProvider("첫 답", "고친 답").FailAt(2, denied), "gen-model"}
	judge := named{refinetest.NewProvider(verdict(4, "틀렸습니다")).FailAt(1, refinetest.Transient(refine.ErrUnavailable, 0)), "judge-model"}
	fast := refine.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond}
	loop, err := refine.New(refine.WithProvider(refine.RetryProvider(gen, fast)), refine.WithJudgeProvider(refine.RetryProvider(judge, fast)),
		refine.WithThreshold(9), refine.WithMaxIterations(2),
		refine.WithObserver(tel.observer()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tel.start(context.Background(), "handle request")
	res, err := loop.Run(ctx, query)
	parent.End()
	if !errors.Is(err, refine.ErrAuth) || res == nil {
		t.Fatalf("Run = %v, %v; want the draft's Result and an ErrAuth error", res, err)
	}

	runs := tel.children(parent.SpanContext())
	if len(runs) != 1 {
		t.Fatalf("run spans = %d, want 1", len(runs))
	}
	run := runs[0]
	if run.Status().Code != codes.Error || strAttr(run, "refine.stop_reason") != "error" {
		t.Errorf("run span status %v, stop reason %q; want error, error", run.Status(), strAttr(run, "refine.stop_reason"))
	}
	attempts := tel.children(run.SpanContext())
	if len(attempts) != 2 {
		t.Fatalf("attempt spans = %d, want the draft and the failed refinement", len(attempts))
	}
	draft, refinement := attempts[0], attempts[1]
	if draft.Status().Code != codes.Unset || refinement.Status().Code != codes.Error {
		t.Errorf("attempt statuses: draft %v, refinement %v; want unset, error", draft.Status(), refinement.Status())
	}

	// The judge's call is one span covering both tries, with the retry on it.
	calls := tel.children(draft.SpanContext())
	if len(calls) != 2 {
		t.Fatalf("draft calls = %d, want 2", len(calls))
	}
	judged := calls[1]
	if judged.Status().Code != codes.Unset {
		t.Errorf("retried judge call status = %v, want unset: it succeeded", judged.Status())
	}
	var retries []string
	for _, e := range judged.Events() {
		retries = append(retries, e.Name)
	}
	if !slices.Equal(retries, []string{"refine.retry"}) {
		t.Errorf("judge call events = %q, want one refine.retry", retries)
	}

	calls = tel.children(refinement.SpanContext())
	if len(calls) != 1 {
		t.Fatalf("refinement calls = %d, want the failed one", len(calls))
	}
	failed := calls[0]
	if failed.Status().Code != codes.Error || !strings.Contains(failed.Status().Description, "invalid key") {
		t.Errorf("failed call status = %+v, want error naming the provider's message", failed.Status())
	}
	if got := strAttr(failed, "error.type"); got != "auth" {
		t.Errorf("failed call error.type = %q, want auth", got)
	}
	if _, ok := attr(failed, "gen_ai.usage.input_tokens"); ok {
		t.Errorf("failed call has token counts; a refused call reports none")
	}
	if ev := failed.Events(); len(ev) != 1 || ev[0].Name != "exception" {
		t.Errorf("failed call events = %v, want the recorded exception", ev)
	}
}

// allText returns every attribute value of every span and span event.
func allText(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Name() + "\n" + s.Status().Description + "\n")
		for _, kv := range s.Attributes() {
			b.WriteString(kv.Value.Emit() + "\n")
		}
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				b.WriteString(kv.Value.Emit() + "\n")
			}
		}
	}
	return b.String()
}

func TestContent(t *testing.T) {
	secrets := []string{query, "서울의 겨울은 춥습니다.", "근거가 없습니다"}
	tests := []struct {
		name    string
		opts    []otelrefine.Option
		content bool
	}{
		{"default", nil, false},
		{"WithContent(false)", []otelrefine.Option{otelrefine.WithContent(false)}, false},
		{"WithContent(true)", []otelrefine.Option{otelrefine.WithContent(true)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			runCandidates(t, tel, tt.opts...)
			text := allText(tel.spans.Ended())
			if !tt.content {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("spans hold %q without WithContent(true)", s)
					}
				}
				return
			}
			var draftCall sdktrace.ReadOnlySpan
			for _, s := range tel.spans.Ended() {
				if strAttr(s, "refine.stage") == "draft" && strings.Contains(strAttr(s, "gen_ai.output.messages"), "서울의 겨울은 춥습니다.") {
					draftCall = s
				}
			}
			if draftCall == nil {
				t.Fatalf("no draft call span has the draft in gen_ai.output.messages")
			}
			if in := strAttr(draftCall, "gen_ai.input.messages"); !strings.Contains(in, query) || !strings.Contains(in, `"role":"user"`) {
				t.Errorf("gen_ai.input.messages = %s, want the user's query", in)
			}
			if sys := strAttr(draftCall, "gen_ai.system_instructions"); !strings.Contains(sys, `"type":"text"`) {
				t.Errorf("gen_ai.system_instructions = %s, want the system prompt as text parts", sys)
			}
			if !strings.Contains(text, "근거가 없습니다") {
				t.Errorf("the judge's critique is in no span with WithContent(true)")
			}
		})
	}
}

// TestConcurrentRuns runs two loops at once on one observer: each run's
// spans must stay under its own caller's span, with its own calls.
func TestConcurrentRuns(t *testing.T) {
	tel := newTelemetry(t)
	obs := tel.observer()
	// Each run's second call (the judge's) waits until the other run has
	// reported its first (the draft's), so that both runs have events
	// pending before either stops.
	var drafted sync.WaitGroup
	drafted.Add(2)
	provider := func(model string) refine.Provider {
		p := refinetest.NewProvider("답 "+model, verdict(5, "부족합니다"), "고친 답 "+model, verdict(7, "좋아졌습니다"))
		return named{p, model}.withHook(func() {
			if p.Calls() == 1 { // the draft is done and reported
				drafted.Done()
				drafted.Wait()
			}
		})
	}
	var wg sync.WaitGroup
	parents := map[string]trace.SpanContext{}
	var mu sync.Mutex
	for _, model := range []string{"model-a", "model-b"} {
		ctx, parent := tel.start(context.Background(), "request "+model)
		mu.Lock()
		parents[model] = parent.SpanContext()
		mu.Unlock()
		wg.Go(func() {
			defer parent.End()
			_, err := refine.Run(ctx, query, refine.WithProvider(provider(model)),
				refine.WithThreshold(9), refine.WithMaxIterations(1), refine.WithObserver(obs))
			if err != nil {
				t.Errorf("Run %s: %v", model, err)
			}
		})
	}
	wg.Wait()

	for model, parent := range parents {
		runs := tel.children(parent)
		if len(runs) != 1 {
			t.Fatalf("%s: run spans = %d, want 1", model, len(runs))
		}
		attempts := tel.children(runs[0].SpanContext())
		if len(attempts) != 2 {
			t.Errorf("%s: attempt spans = %d, want 2 (draft, refinement)", model, len(attempts))
		}
		for _, a := range attempts {
			calls := tel.children(a.SpanContext())
			if len(calls) != 2 {
				t.Errorf("%s: calls under %q = %d, want 2", model, a.Name(), len(calls))
			}
			for _, c := range calls {
				if got := strAttr(c, "gen_ai.request.model"); got != model {
					t.Errorf("%s: a call of model %q is in its trace", model, got)
				}
			}
		}
	}
}

// withHook returns a provider that calls hook before each call.
func (n named) withHook(hook func()) refine.Provider {
	return hooked{n, hook}
}

type hooked struct {
	named
	hook func()
}

func (h hooked) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	h.hook()
	return h.named.Complete(ctx, req)
}

// TestGlobalProviders: with no provider given, or nil, spans go to the
// global tracer provider.
func TestGlobalProviders(t *testing.T) {
	tel := newTelemetry(t)
	old := otel.GetTracerProvider()
	otel.SetTracerProvider(tel.tp)
	t.Cleanup(func() { otel.SetTracerProvider(old) })

	for _, obs := range []func(context.Context, refine.Event){
		otelrefine.Observer(),
		otelrefine.Observer(otelrefine.WithTracerProvider(nil), otelrefine.WithMeterProvider(nil)),
	} {
		before := len(tel.spans.Ended())
		p := refinetest.NewProvider("답", verdict(9, ""))
		if _, err := refine.Run(context.Background(), query, refine.WithProvider(p), refine.WithObserver(obs)); err != nil {
			t.Fatal(err)
		}
		// The run, its draft, and the draft's two calls.
		if got := len(tel.spans.Ended()) - before; got != 4 {
			t.Errorf("spans through the global provider = %d, want 4", got)
		}
	}
}

// TestGuardSpan: WithRegressionGuard's comparison is a step of its own
// under the run, holding its two calls.
func TestGuardSpan(t *testing.T) {
	tel := newTelemetry(t)
	gen := named{refinetest.NewProvider("첫 답", "고친 답"), "gen-model"}
	judge := named{refinetest.NewProvider(verdict(5, "부족합니다"), verdict(9, "")), "judge-model"}
	pairwise := named{refinetest.NewProvider("둘 다 비슷합니다.\n[[C]]", "둘 다 비슷합니다.\n[[C]]"), "guard-model"}
	ctx, parent := tel.start(context.Background(), "handle request")
	res, err := refine.Run(ctx, query, refine.WithProvider(gen), refine.WithJudgeProvider(judge),
		refine.WithRegressionGuard(refine.NewPairwiseJudge(pairwise)), refine.WithObserver(tel.observer()))
	parent.End()
	if err != nil || !res.Reverted {
		t.Fatalf("Run = %+v, %v; want a reverted Result (a tie keeps the draft)", res, err)
	}
	runs := tel.children(parent.SpanContext())
	if len(runs) != 1 || strAttr(runs[0], "refine.reverted") != "true" {
		t.Fatalf("run spans = %d (refine.reverted %q), want 1 with refine.reverted=true", len(runs), strAttr(runs[0], "refine.reverted"))
	}
	var steps []string
	for _, s := range tel.children(runs[0].SpanContext()) {
		steps = append(steps, s.Name())
		if s.Name() != "refine.guard" {
			continue
		}
		var calls []string
		for _, c := range tel.children(s.SpanContext()) {
			calls = append(calls, c.Name()+" "+strAttr(c, "refine.stage"))
		}
		if want := []string{"chat guard-model guard", "chat guard-model guard"}; !slices.Equal(calls, want) {
			t.Errorf("calls under refine.guard = %q, want %q", calls, want)
		}
	}
	if want := []string{"refine.draft", "refine.refinement", "refine.guard"}; !slices.Equal(steps, want) {
		t.Errorf("spans under the run = %q, want %q", steps, want)
	}
}

// TestUnreadableVerdict: a judge reply that cannot be read fails the run
// with an error that quotes the reply; spans show the quote only with
// WithContent(true).
func TestUnreadableVerdict(t *testing.T) {
	const reply = "이 답은 훌륭합니다, 비밀 메모 포함"
	for _, content := range []bool{false, true} {
		t.Run(fmt.Sprintf("WithContent(%v)", content), func(t *testing.T) {
			tel := newTelemetry(t)
			gen := refinetest.NewProvider("첫 답")
			judge := refinetest.NewProvider(reply, reply, reply)
			_, err := refine.Run(context.Background(), query, refine.WithProvider(gen), refine.WithJudgeProvider(judge),
				refine.WithObserver(tel.observer(otelrefine.WithContent(content))))
			if !errors.Is(err, refine.ErrUnreadableVerdict) {
				t.Fatalf("Run error = %v, want ErrUnreadableVerdict", err)
			}
			var draft sdktrace.ReadOnlySpan
			for _, s := range tel.spans.Ended() {
				if s.Name() == "refine.draft" {
					draft = s
				}
			}
			if draft == nil || draft.Status().Code != codes.Error || !strings.Contains(draft.Status().Description, "judge reply unreadable") {
				t.Fatalf("draft span status = %+v, want an error naming the unreadable reply", draft)
			}
			if got := strings.Contains(allText(tel.spans.Ended()), "비밀 메모"); got != content {
				t.Errorf("spans quote the judge's reply: %v, want %v", got, content)
			}
		})
	}
}

// TestJudgeReplyNeverLeaks: a judge reply that quotes the answer and
// cannot be read reaches no span attribute, status or event, through the
// draft's, the call's or the run's error, unless WithContent(true) asks
// for content (issue 20, item 10).
func TestJudgeReplyNeverLeaks(t *testing.T) {
	const secret = "SECRET-XYZ"
	replies := []struct{ name, reply string }{
		{"score as prose", `{"score":"N/A: the answer discloses SECRET-XYZ"}`},
		{"score as a bare word", `{"score": SECRET-XYZ}`},
		{"score with a zero scale", `{"score": "7/0 SECRET-XYZ"}`},
		{"no score at all", `The answer discloses SECRET-XYZ; I will not rate it.`},
	}
	for _, rc := range replies {
		for _, content := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/WithContent(%v)", rc.name, content), func(t *testing.T) {
				tel := newTelemetry(t)
				gen := refinetest.NewProvider("the answer holds " + secret)
				judge := refinetest.NewProvider(rc.reply, rc.reply)
				_, err := refine.Run(context.Background(), query, refine.WithProvider(gen), refine.WithJudgeProvider(judge),
					refine.WithObserver(tel.observer(otelrefine.WithContent(content))))
				if !errors.Is(err, refine.ErrUnreadableVerdict) {
					t.Fatalf("Run error = %v, want ErrUnreadableVerdict", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Run error %q quotes the judge's reply", err)
				}
				var failed int
				for _, s := range tel.spans.Ended() {
					if s.Status().Code == codes.Error {
						failed++
					}
				}
				if failed == 0 {
					t.Fatalf("no span has error status; the failure was not recorded")
				}
				if got := strings.Contains(allText(tel.spans.Ended()), secret); got != content {
					t.Errorf("spans hold %q: got %v, want %v (WithContent(%v))", secret, got, content, content)
				}
			})
		}
	}
}

// streaming answers through Stream, a word at a time.
type streaming struct{ *refinetest.Provider }

func (s streaming) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	resp, err := s.Complete(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, w := range strings.SplitAfter(resp.Text, " ") {
		delta(w)
	}
	return resp, nil
}

// TestStreamedCall: a streamed generation says so and when its first
// piece came; the judge's call, never streamed, does not.
func TestStreamedCall(t *testing.T) {
	tel := newTelemetry(t)
	p := streaming{refinetest.NewProvider("부산은 항구 도시입니다.", verdict(9, ""))}
	if _, err := refine.Run(context.Background(), query, refine.WithProvider(p), refine.WithObserver(tel.observer())); err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, s := range tel.spans.Ended() {
		stage := strAttr(s, "refine.stage")
		if stage == "" {
			continue
		}
		ttfc, ok := attr(s, "gen_ai.response.time_to_first_chunk")
		stages = append(stages, fmt.Sprintf("%s stream=%s ttfc=%v", stage, strAttr(s, "gen_ai.request.stream"), ok))
		if ok {
			if d := s.EndTime().Sub(s.StartTime()).Seconds(); ttfc.AsFloat64() < 0 || ttfc.AsFloat64() > d {
				t.Errorf("%s: time to first chunk %vs, want within the call's %vs", stage, ttfc.AsFloat64(), d)
			}
		}
	}
	slices.Sort(stages)
	if want := []string{"draft stream=true ttfc=true", "judge stream= ttfc=false"}; !slices.Equal(stages, want) {
		t.Errorf("call spans = %q, want %q", stages, want)
	}
}
