package refine_test

// A user's parts are first-class: this file, outside package refine,
// rewrites CostBudget and a minimum-rule composite judge from the exported
// API alone, and shows that they behave as the built-ins do on the same
// scripted runs. If a built-in ever needs a power that is not exported,
// one of these tests fails.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// costBudget is refine.CostBudget, written as a user would.
type costBudget struct{ usd float64 }

func (b costBudget) Check(p refine.Progress) (refine.StopReason, error) {
	if !p.Priced { // the check before the first call refuses the run
		return "", fmt.Errorf("costBudget(%g): counting dollars needs WithPrices: %w", b.usd, refine.ErrInvalidOption)
	}
	if !p.CostKnown { // a model has no price: fail closed
		return "", fmt.Errorf("costBudget(%g): the cost is unknown: a model used by the run has no price", b.usd)
	}
	var next float64
	if n := len(p.Attempts); n > 0 {
		next = p.Attempts[n-1].Cost
	}
	if p.Cost+next > b.usd {
		return refine.StopBudget, nil
	}
	return "", nil
}

func (b costBudget) Validate() error {
	if !(b.usd > 0) || math.IsInf(b.usd, 0) {
		return fmt.Errorf("costBudget(%g): must be a finite number of dollars > 0: %w", b.usd, refine.ErrInvalidOption)
	}
	return nil
}

// minJudge is a minimum-rule composite judge, written as a user would: its
// score is its weakest part's, its parts are validated with it, and a
// failure reports the tokens every part spent.
type minJudge []refine.Judge

func (m minJudge) Validate() error {
	if len(m) == 0 {
		return fmt.Errorf("minJudge: no parts: %w", refine.ErrInvalidOption)
	}
	for i, j := range m {
		if v, ok := j.(refine.Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("minJudge part %d: %w", i+1, err)
			}
		}
	}
	return nil
}

func (m minJudge) Evaluate(ctx context.Context, query, answer string) (*refine.Verdict, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	verdicts := make([]*refine.Verdict, len(m))
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, j := range m {
		wg.Go(func() { verdicts[i], errs[i] = j.Evaluate(ctx, query, answer) })
	}
	wg.Wait()
	var spent refine.Usage
	for i := range m {
		if errs[i] != nil {
			spent = spent.Add(refine.UsageOf(errs[i]))
		} else {
			spent = spent.Add(verdicts[i].Usage)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, refine.WithUsage(err, spent)
	}
	out := &refine.Verdict{Score: math.Inf(1), Usage: spent}
	for _, v := range verdicts {
		out.Score = math.Min(out.Score, v.Score)
		out.Issues = append(out.Issues, v.Issues...)
	}
	return out, nil
}

// builtinMin is the built-in counterpart of minJudge.
func builtinMin(parts ...refine.Judge) refine.Judge {
	jp := make([]refine.JudgePart, len(parts))
	for i, j := range parts {
		jp[i] = refine.JudgePart{Judge: j}
	}
	return refine.NewCompositeJudge(refine.RuleMinimum, jp...)
}

// pricedModel costs $0.002 a call: an attempt (answer and verdict) $0.004.
var pricedModel = map[string]refine.Price{"refinetest": {Input: 1, Output: 10}}

func TestUserCostBudgetMatchesBuiltin(t *testing.T) {
	type outcome struct {
		Attempts int
		Reason   refine.StopReason
		Cost     float64
		Calls    int
		Err      string // "" or the class of error
	}
	run := func(stop refine.StopCondition, prices map[string]refine.Price, budget float64) outcome {
		p := flatProvider("a1", verdict(1, "x"), "a2", verdict(2, "x"), "a3", verdict(3, "x"), "a4", verdict(4, "x"))
		opts := []refine.Option{refine.WithProvider(p), refine.WithThreshold(10), refine.WithMaxIterations(3), refine.WithStop(stop)}
		if prices != nil {
			opts = append(opts, refine.WithPrices(prices))
		}
		res, err := refine.Run(context.Background(), "q", opts...)
		o := outcome{Calls: p.(*refinetest.Provider).Calls()}
		if res != nil {
			o.Attempts, o.Reason, o.Cost = len(res.Attempts), res.StopReason, math.Round(res.Cost*1e9)/1e9
		}
		var se *refine.StepError
		switch {
		case err == nil:
		case errors.Is(err, refine.ErrInvalidOption):
			o.Err = "invalid option"
		case errors.As(err, &se):
			o.Err = "step " + se.Stage
		default:
			o.Err = err.Error()
		}
		return o
	}
	tests := []struct {
		name   string
		prices map[string]refine.Price
		budget float64
		want   outcome
	}{
		{"the draft alone passes it", pricedModel, 0.0035, outcome{1, refine.StopBudget, 0.004, 2, ""}},
		{"stops before round 2", pricedModel, 0.010, outcome{2, refine.StopBudget, 0.008, 4, ""}},
		{"stops before round 3", pricedModel, 0.0145, outcome{3, refine.StopBudget, 0.012, 6, ""}},
		{"never reached", pricedModel, 0.1, outcome{4, refine.StopMaxIterations, 0.016, 8, ""}},
		{"no prices: refused before any call", nil, 1, outcome{Err: "invalid option"}},
		{"model not priced: fails closed after the draft", map[string]refine.Price{"gpt-4o": {Input: 1}}, 1, outcome{1, refine.StopError, 0, 2, "step stop"}},
		{"invalid budget: refused before any call", pricedModel, -1, outcome{Err: "invalid option"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			builtin := run(refine.CostBudget(tt.budget), tt.prices, tt.budget)
			mine := run(costBudget{tt.budget}, tt.prices, tt.budget)
			if builtin != tt.want {
				t.Errorf("CostBudget: got %+v, want %+v", builtin, tt.want)
			}
			if mine != builtin {
				t.Errorf("user's costBudget: got %+v, want the built-in's %+v", mine, builtin)
			}
		})
	}
	// Simulate follows the same rules: a recording without cost refuses
	// both budgets, with no replay.
	rec := &refine.Result{Attempts: []refine.Attempt{{Answer: "a", Verdict: &refine.Verdict{Score: 5}}}}
	for _, stop := range []refine.StopCondition{refine.CostBudget(1), costBudget{1}} {
		if res, err := refine.Simulate(rec, refine.WithStop(stop)); !errors.Is(err, refine.ErrInvalidOption) || res != nil {
			t.Errorf("Simulate with %T and no recorded cost = %v, %v; want no result and ErrInvalidOption", stop, res, err)
		}
	}
}

func TestUserMinJudgeMatchesBuiltin(t *testing.T) {
	for _, tt := range []struct {
		name string
		make func(parts ...refine.Judge) refine.Judge
	}{
		{"built-in", builtinMin},
		{"user's", func(parts ...refine.Judge) refine.Judge { return minJudge(parts) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("same run", func(t *testing.T) {
				p := refinetest.NewProvider("a0", "a1", "a2", "a3")
				judge := tt.make(refinetest.NewJudge(5, 9, 6, 9), refinetest.NewJudge(7, 6, 8, 9))
				res, err := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithJudge(judge))
				if err != nil {
					t.Fatal(err)
				}
				var scores []float64
				for _, a := range res.Attempts {
					scores = append(scores, a.Verdict.Score)
				}
				if want := []float64{5, 6, 6, 9}; !reflect.DeepEqual(scores, want) || res.StopReason != refine.StopThreshold {
					t.Errorf("scores %v, %s; want %v, %s (the minimum of each pair)", scores, res.StopReason, want, refine.StopThreshold)
				}
			})
			t.Run("usage of a failed part", func(t *testing.T) {
				// Part 1 is an LLM judge that answers; part 2 fails after it
				// did, reporting what it spent with WithUsage.
				answered := make(chan struct{})
				llm := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
					defer close(answered)
					return &refine.Response{Text: `{"score": 7}`, Usage: refine.Usage{InputTokens: 100, OutputTokens: 10}}, nil
				})
				failing := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
					<-answered
					return nil, refine.WithUsage(errors.New("the test suite crashed"), refine.Usage{InputTokens: 40, OutputTokens: 4})
				})
				draft := refinetest.NewProvider("a draft").WithUsage(refine.Usage{InputTokens: 3, OutputTokens: 2})
				res, err := refine.Run(context.Background(), "q", refine.WithProvider(draft),
					refine.WithJudge(tt.make(refine.NewLLMJudge(llm), failing)))
				var se *refine.StepError
				if !errors.As(err, &se) || se.Stage != "judge" || res != nil {
					t.Fatalf("Run = %v, %v; want no result and a StepError of the judge", res, err)
				}
				want := refine.Usage{InputTokens: 143, OutputTokens: 16} // draft + both parts
				if got := refine.UsageOf(err); got != want {
					t.Errorf("UsageOf(err) = %+v, want %+v", got, want)
				}
			})
			t.Run("validation before any call", func(t *testing.T) {
				bad := errors.New("the part's configuration is wrong")
				p := refinetest.NewProvider("a draft", verdict(9, "x"))
				part := invalidJudge{refinetest.NewJudge(9), bad}
				_, err := refine.New(refine.WithProvider(p), refine.WithJudge(tt.make(refine.NewLLMJudge(p), part)))
				if !errors.Is(err, bad) {
					t.Errorf("New = %v, want an error wrapping %v", err, bad)
				}
				_, err = refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithJudge(tt.make(part)))
				if !errors.Is(err, bad) || p.Calls() != 0 || part.Judge.(*refinetest.Judge).Calls() != 0 {
					t.Errorf("Run = %v after %d calls; want an error wrapping %v and no call", err, p.Calls(), bad)
				}
				// A built-in part's own check reaches through a user's judge.
				_, err = refine.New(refine.WithJudge(tt.make(refine.NewLLMJudge(nil))))
				if !errors.Is(err, refine.ErrInvalidOption) {
					t.Errorf("New with a nil-provider LLM part = %v, want ErrInvalidOption", err)
				}
			})
		})
	}
}

// invalidJudge is a judge whose Validate fails.
type invalidJudge struct {
	refine.Judge
	err error
}

func (j invalidJudge) Validate() error { return j.err }

// Every part a user can give a Loop is validated before any model call.
func TestUserPartsValidated(t *testing.T) {
	bad := errors.New("not configured")
	p := refinetest.NewProvider("a draft", verdict(9, "x"))
	tests := []struct {
		name string
		opt  refine.Option
		want error
	}{
		{"WithProvider", refine.WithProvider(invalidProvider{refinetest.NewProvider(), bad}), bad},
		{"WithJudgeProvider", refine.WithJudgeProvider(invalidProvider{refinetest.NewProvider(), bad}), bad},
		{"WithJudge", refine.WithJudge(invalidJudge{refinetest.NewJudge(9), bad}), bad},
		{"WithRefiner", refine.WithRefiner(invalidRefiner{bad}), bad},
		{"WithStop", refine.WithStop(invalidStop{bad}), bad},
		{"WithRegressionGuard", refine.WithRegressionGuard(refine.NewPairwiseJudge(p, refine.WithWeightedScore(3))), refine.ErrInvalidOption},
		{"the provider of a judge you built", refine.WithJudge(refine.NewLLMJudge(invalidProvider{refinetest.NewProvider(), bad})), bad},
		{"the provider of the guard", refine.WithRegressionGuard(refine.NewPairwiseJudge(invalidProvider{refinetest.NewProvider(), bad})), bad},
		{"the provider of a composite's part", refine.WithJudge(refine.NewCompositeJudge(refine.RuleMinimum,
			refine.JudgePart{Judge: refine.NewLLMJudge(invalidProvider{refinetest.NewProvider(), bad})})), bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errNew := refine.New(tt.opt)
			_, errRun := refine.Run(context.Background(), "q", refine.WithProvider(p), tt.opt)
			for _, err := range []error{errNew, errRun} {
				if !errors.Is(err, tt.want) {
					t.Errorf("error = %v, want one wrapping %v", err, tt.want)
				}
			}
			if p.Calls() != 0 {
				t.Errorf("%d model calls, want none", p.Calls())
			}
		})
	}
}

type invalidRefiner struct{ err error }

func (r invalidRefiner) Refine(context.Context, string, []refine.Attempt) (*refine.Response, error) {
	return &refine.Response{Text: "x"}, nil
}
func (r invalidRefiner) Validate() error { return r.err }

type invalidStop struct{ err error }

func (invalidStop) Check(refine.Progress) (refine.StopReason, error) { return "", nil }
func (s invalidStop) Validate() error                                { return s.err }

// A user's stop condition can fail the run the way CostBudget does: before
// any call, or between rounds with the Result so far.
func TestUserStopConditionErrors(t *testing.T) {
	stop := errors.New("the quota service is down")
	tests := []struct {
		name         string
		failRound    int // -1: the check before the first call
		wantAttempts int
		wantCalls    int
	}{
		{"before any call", -1, 0, 0},
		{"after the draft", 0, 1, 2},
		{"after round 1", 1, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("a0", verdict(3, "x"), "a1", verdict(4, "x"), "a2", verdict(5, "x"))
			cond := refine.StopFunc(func(pr refine.Progress) (refine.StopReason, error) {
				switch {
				case tt.failRound < 0 && len(pr.Attempts) == 0:
					return "", stop
				case tt.failRound >= 0 && len(pr.Attempts) > 0 && pr.Round == tt.failRound:
					return "", stop
				}
				return "", nil
			})
			res, err := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithStop(cond))
			if !errors.Is(err, stop) || p.Calls() != tt.wantCalls {
				t.Fatalf("Run error = %v after %d calls; want %v after %d", err, p.Calls(), stop, tt.wantCalls)
			}
			if tt.wantAttempts == 0 {
				if res != nil {
					t.Errorf("Result = %+v, want none", res)
				}
				return
			}
			var se *refine.StepError
			if !errors.As(err, &se) || se.Stage != "stop" {
				t.Errorf("error = %v, want a StepError of stage stop", err)
			}
			if res == nil || len(res.Attempts) != tt.wantAttempts || res.StopReason != refine.StopError {
				t.Errorf("Result = %+v; want %d attempts, StopReason %q", res, tt.wantAttempts, refine.StopError)
			}
		})
	}
}

// A user's ThresholdRule takes the threshold over, as Confident does.
type neverSure struct{}

func (neverSure) Check(refine.Progress) (refine.StopReason, error) { return "", nil }
func (neverSure) DecidesThreshold() bool                           { return true }

func TestUserThresholdRule(t *testing.T) {
	for _, tt := range []struct {
		stop refine.StopCondition
		want refine.StopReason
	}{
		{neverSure{}, refine.StopMaxIterations},
		{refine.StopFunc(func(refine.Progress) (refine.StopReason, error) { return "", nil }), refine.StopThreshold},
	} {
		p := refinetest.NewProvider("a0", "a1", "a2", "a3")
		res, err := refine.Run(context.Background(), "q", refine.WithProvider(p),
			refine.WithJudge(refinetest.NewJudge(9, 9, 9, 9)), refine.WithStop(tt.stop))
		if err != nil || res.StopReason != tt.want {
			t.Errorf("%T: Run = %v, %v; want StopReason %q", tt.stop, res, err, tt.want)
		}
	}
}
