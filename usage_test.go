package refine_test

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selfrefine/refine"
)

// countedModel answers every call with text and usage, as a server that
// miscounts would: a draft, then a verdict of 5, then refinements.
type countedModel struct {
	usage refine.Usage
	calls atomic.Int32
}

func (m *countedModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	text := "an answer"
	if n := m.calls.Add(1); n%2 == 0 {
		text = `{"score": 5}`
	}
	return &refine.Response{Text: text, Usage: m.usage, Model: "m"}, nil
}

// Token counts that break Usage's rules are rejected by the loop, never
// priced: cached tokens above the prompt's made dollars negative and
// CostBudget fail open (issue 20, items 14 and 15).
func TestLoopRejectsImpossibleUsage(t *testing.T) {
	tests := []struct {
		name    string
		usage   refine.Usage
		want    string
		counted refine.Usage // the rejected call's tokens, as the run still counts them
	}{
		{"cached above input", refine.Usage{InputTokens: 100, CachedInputTokens: 900_000, OutputTokens: 10}, "900000 cached input tokens out of 100",
			refine.Usage{InputTokens: 100, CachedInputTokens: 100, OutputTokens: 10}},
		{"reasoning above output", refine.Usage{InputTokens: 100, OutputTokens: 10, ReasoningTokens: 11}, "11 reasoning tokens out of 10",
			refine.Usage{InputTokens: 100, OutputTokens: 10, ReasoningTokens: 10}},
		{"negative input", refine.Usage{InputTokens: -1, OutputTokens: 10}, "negative token counts", refine.Usage{OutputTokens: 10}},
		{"negative cached", refine.Usage{InputTokens: 10, CachedInputTokens: -5, OutputTokens: 10}, "negative token counts",
			refine.Usage{InputTokens: 10, OutputTokens: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countedModel{usage: tt.usage}
			res, err := refine.Run(context.Background(), "q", refine.WithProvider(m),
				refine.WithPrices(map[string]refine.Price{"m": {Input: 1, CachedInput: 10, Output: 1}}),
				refine.WithStop(refine.CostBudget(0.002)), refine.WithMaxIterations(5), refine.WithThreshold(10))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one saying %q", err, tt.want)
			}
			if res != nil && res.Cost < 0 {
				t.Errorf("Result.Cost = %v, want >= 0", res.Cost)
			}
			if n := m.calls.Load(); n != 1 {
				t.Errorf("calls = %d, want 1: the first bad count ends the run", n)
			}
			if got := refine.UsageOf(err); got != tt.counted {
				t.Errorf("UsageOf(err) = %+v, want %+v: the rejected call was billed", got, tt.counted)
			}
		})
	}
}

// Cost clamps what the loop would reject, so no Usage prices below zero.
func TestCostNeverNegative(t *testing.T) {
	prices := map[string]refine.Price{"m": {Input: 1, CachedInput: 10, Output: 1}}
	for _, u := range []refine.Usage{
		{InputTokens: 100, CachedInputTokens: 900_000},
		{InputTokens: -5, OutputTokens: -5},
		{InputTokens: 0, CachedInputTokens: math.MaxInt},
	} {
		if got, _ := refine.Cost(prices, "m", u); got < 0 {
			t.Errorf("Cost(%+v) = %v, want >= 0", u, got)
		}
	}
	if got, _ := refine.Cost(prices, "m", refine.Usage{InputTokens: 100, CachedInputTokens: 900_000}); got != 100*10/1e6 {
		t.Errorf("Cost with cached above input = %v, want every input token at the cached price, %v", got, 100*10/1e6)
	}
}

func TestUsageAddSaturates(t *testing.T) {
	huge := refine.Usage{InputTokens: math.MaxInt, OutputTokens: math.MaxInt - 1, CachedInputTokens: math.MaxInt, ReasoningTokens: 1}
	tests := []struct {
		name string
		a, b refine.Usage
		want refine.Usage
	}{
		{"small", refine.Usage{InputTokens: 1, OutputTokens: 2}, refine.Usage{InputTokens: 3, OutputTokens: 4, CachedInputTokens: 1, ReasoningTokens: 2},
			refine.Usage{InputTokens: 4, OutputTokens: 6, CachedInputTokens: 1, ReasoningTokens: 2}},
		{"past MaxInt", huge, huge, refine.Usage{InputTokens: math.MaxInt, OutputTokens: math.MaxInt, CachedInputTokens: math.MaxInt, ReasoningTokens: 2}},
		{"negative adds nothing", refine.Usage{InputTokens: 10}, refine.Usage{InputTokens: -7, OutputTokens: math.MinInt}, refine.Usage{InputTokens: 10}},
	}
	for _, tt := range tests {
		if got := tt.a.Add(tt.b); got != tt.want {
			t.Errorf("%s: %+v.Add(%+v) = %+v, want %+v", tt.name, tt.a, tt.b, got, tt.want)
		}
	}
	var sum refine.Usage
	for range 6 {
		sum = sum.Add(refine.Usage{InputTokens: math.MaxInt64})
	}
	if sum.InputTokens != math.MaxInt || sum.Total() != math.MaxInt {
		t.Errorf("six calls of MaxInt64 input tokens sum to %+v (Total %d), want MaxInt", sum, sum.Total())
	}
	if got := huge.Total(); got != math.MaxInt {
		t.Errorf("Total of %+v = %d, want MaxInt", huge, got)
	}
}

// A provider reporting MaxInt64 input tokens makes TokenBudget fire, not
// wrap past it.
func TestTokenBudgetFiresOnHugeUsage(t *testing.T) {
	m := &countedModel{usage: refine.Usage{InputTokens: math.MaxInt64, OutputTokens: 10}}
	res, err := refine.Run(context.Background(), "q", refine.WithProvider(m),
		refine.WithStop(refine.TokenBudget(1_000_000)), refine.WithMaxIterations(5), refine.WithThreshold(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != refine.StopBudget {
		t.Errorf("StopReason = %q, want %q (usage %+v)", res.StopReason, refine.StopBudget, res.Usage)
	}
	if res.Usage.InputTokens != math.MaxInt || res.Usage.Total() != math.MaxInt {
		t.Errorf("Usage = %+v, want input tokens saturated at MaxInt", res.Usage)
	}
	if n := m.calls.Load(); n != 2 {
		t.Errorf("calls = %d, want 2 (a draft and its verdict)", n)
	}
}
