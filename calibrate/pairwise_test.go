package calibrate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/calibrate"
	"github.com/selfrefine/refine/refinetest"
)

// TestPairwiseAlwaysFirst: a judge whose every reply picks the answer shown
// first has a position bias and nothing else. Compare shows each pair both
// ways, so every pair is a split decision: a tie.
func TestPairwiseAlwaysFirst(t *testing.T) {
	data := []calibrate.Pair{
		{Query: "q0", A: "a0", B: "b0", Human: "A"},
		{Query: "q1", A: "a1", B: "b1", Human: "B"},
		{Query: "q2", A: "a2", B: "b2", Human: "tie"},
		{Query: "한국의 수도는?", A: "서울입니다.", B: "부산입니다.", Human: "A"},
	}
	replies := make([]string, 2*len(data))
	for i := range replies {
		replies[i] = "Both are fine, but the first is clearer. [[A]]"
	}
	p := refinetest.NewProvider(replies...)
	r, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(p), data)
	if err != nil {
		t.Fatalf("Pairwise: %v", err)
	}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"FirstPositionWins", r.FirstPositionWins, 1},
		{"OrderConsistency", r.OrderConsistency, 0},
		{"Ties", r.Ties, 1},
		{"Agreement", r.Agreement, 0.25}, // only the human tie matches
		{"HumanTies", r.HumanTies, 0.25},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if r.N != 4 || p.Calls() != 8 {
		t.Errorf("N = %d with %d model calls, want 4 with 8", r.N, p.Calls())
	}
	if r.Usage.Total() == 0 {
		t.Error("Usage is zero, want the comparisons' tokens")
	}
}

// preferring is a provider for a pairwise judge that prefers, for each
// query, a fixed answer ("A" or "B" of the Pair), calls it a tie ("tie"), or
// picks whichever it is shown first ("first"). It tells the orders apart by
// where each answer's text appears in the prompt.
func preferring(pairs []calibrate.Pair, prefs []string) refine.Provider {
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		var prompt strings.Builder
		for _, m := range req.Messages {
			prompt.WriteString(m.Content)
		}
		text := prompt.String()
		for i, p := range pairs {
			if !strings.Contains(text, p.Query) {
				continue
			}
			aFirst := strings.Index(text, p.A) < strings.Index(text, p.B)
			verdict := "[[C]]"
			switch {
			case prefs[i] == "first":
				verdict = "[[A]]"
			case prefs[i] == "A" && aFirst, prefs[i] == "B" && !aFirst:
				verdict = "[[A]]"
			case prefs[i] == "A", prefs[i] == "B":
				verdict = "[[B]]"
			}
			return &refine.Response{Text: "Reasoning. " + verdict, Usage: refine.Usage{InputTokens: 5, OutputTokens: 2}}, nil
		}
		return nil, fmt.Errorf("no pair matches the prompt")
	})
}

// TestPairwiseStatistics: Cohen's kappa and agreement checked against
// scikit-learn 1.2.1 (cohen_kappa_score(human, judge) = 0.375,
// numpy.mean(human == judge) = 0.6) for
//
//	human = [A, B, tie, A,   A, B, tie, B, A, B]
//	judge = [A, B, A,   tie, A, A, tie, B, B, B]
//
// The judge's tie on pair 3 is a split decision (it picks whichever answer
// comes first), on pair 6 a real [[C]]. By hand: 9 of 10 pairs
// order-consistent; first-shown wins: one per decided pair (8), two for the
// split pair, none for the [[C]] pair: 10 of 20 judgements.
func TestPairwiseStatistics(t *testing.T) {
	human := []string{"A", "B", "tie", "A", "A", "B", "tie", "B", "A", "B"}
	prefs := []string{"A", "B", "A", "first", "A", "A", "tie", "B", "B", "B"}
	data := make([]calibrate.Pair, len(human))
	for i, h := range human {
		data[i] = calibrate.Pair{Query: fmt.Sprintf("<q%02d>", i), A: fmt.Sprintf("<a%02d>", i), B: fmt.Sprintf("<b%02d>", i), Human: h}
	}
	r, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(preferring(data, prefs)), data, calibrate.WithConcurrency(3))
	if err != nil {
		t.Fatalf("Pairwise: %v", err)
	}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"Kappa", r.Kappa, 0.375},
		{"Agreement", r.Agreement, 0.6},
		{"OrderConsistency", r.OrderConsistency, 0.9},
		{"FirstPositionWins", r.FirstPositionWins, 0.5},
		{"Ties", r.Ties, 0.2},
		{"HumanTies", r.HumanTies, 0.2},
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want) {
			t.Errorf("%s = %.15g, want %v", tt.name, tt.got, tt.want)
		}
	}
	// Rows human, columns judge, in the order A, B, tie.
	want := [3][3]int{{2, 1, 1}, {1, 3, 0}, {1, 0, 1}}
	if r.Confusion != want {
		t.Errorf("Confusion = %v, want %v", r.Confusion, want)
	}
	if got := r.Results[3]; got.Winner != "tie" || got.Orders != [2]string{"A", "B"} {
		t.Errorf("pair 3 = %+v, want a split decision (orders A, B)", got)
	}
	if r.Usage.InputTokens != 100 {
		t.Errorf("Usage.InputTokens = %d, want 100", r.Usage.InputTokens)
	}
}

func TestPairwiseBadInput(t *testing.T) {
	ok := calibrate.Pair{Query: "q", A: "a", B: "b", Human: "A"}
	tests := []struct {
		name string
		data []calibrate.Pair
		opts []calibrate.Option
		want string
		is   error
	}{
		{"empty", nil, nil, "no pairs", calibrate.ErrInvalidData},
		{"unknown winner", []calibrate.Pair{ok, ok, {Query: "q", A: "a", B: "b", Human: "C"}}, nil, `pair 2: human winner "C"`, calibrate.ErrInvalidData},
		{"lower case", []calibrate.Pair{{Query: "q", A: "a", B: "b", Human: "a"}}, nil, `pair 0: human winner "a"`, calibrate.ErrInvalidData},
		{"blank query", []calibrate.Pair{ok, {Query: " ", A: "a", B: "b", Human: "tie"}}, nil, "pair 1: the query is empty", calibrate.ErrInvalidData},
		{"judge-only option", []calibrate.Pair{ok}, []calibrate.Option{calibrate.WithRepeats(3)}, "WithRepeats applies to Judge only", refine.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("[[A]]", "[[A]]")
			r, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(p), tt.data, tt.opts...)
			if !errors.Is(err, tt.is) || !strings.Contains(fmt.Sprint(err), tt.want) {
				t.Fatalf("err = %v, want %v naming %q", err, tt.is, tt.want)
			}
			if r != nil || p.Calls() != 0 {
				t.Errorf("report %v after %d calls, want nil after none", r, p.Calls())
			}
		})
	}
}

func TestPairwiseFailures(t *testing.T) {
	data := []calibrate.Pair{
		{Query: "q0", A: "a0", B: "b0", Human: "A"},
		{Query: "q1", A: "a1", B: "b1", Human: "B"},
	}
	t.Run("unreadable replies fail one pair", func(t *testing.T) {
		j := refine.NewPairwiseJudge(refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			if strings.Contains(fmt.Sprint(req.Messages), "q1") {
				return &refine.Response{Text: "I cannot decide."}, nil
			}
			return &refine.Response{Text: "[[C]]"}, nil
		}))
		r, err := calibrate.Pairwise(context.Background(), j, data)
		if err != nil {
			t.Fatalf("Pairwise: %v", err)
		}
		if r.N != 1 || len(r.Failures) != 1 || r.Failures[0].Index != 1 || !errors.Is(r.Failures[0].Err, refine.ErrUnreadableVerdict) {
			t.Errorf("N %d, failures %v; want 1 and pair 1 unreadable", r.N, r.Failures)
		}
	})
	t.Run("every pair fails", func(t *testing.T) {
		down := fmt.Errorf("test provider: %w", refine.ErrAuth)
		j := refine.NewPairwiseJudge(refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			return nil, down
		}))
		r, err := calibrate.Pairwise(context.Background(), j, data)
		if !errors.Is(err, refine.ErrAuth) || !strings.Contains(err.Error(), "failed on every pair") {
			t.Fatalf("err = %v, want the judge's error", err)
		}
		if r == nil || len(r.Failures) != 2 {
			t.Fatalf("report = %+v, want 2 failures", r)
		}
	})
}

// A pair whose query has no visible character is bad data, found before
// any model call (issue 20, item 20).
func TestPairwiseBlankQuery(t *testing.T) {
	for _, q := range []string{"", "\u200b", "\u200b\ufeff\u2060", "\u3164"} {
		data := []calibrate.Pair{{Query: "q0", A: "a", B: "b", Human: "A"}, {Query: q, A: "a", B: "b", Human: "B"}}
		p := refinetest.NewProvider("[[A]]", "[[B]]", "[[A]]", "[[B]]")
		_, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(p), data)
		if !errors.Is(err, calibrate.ErrInvalidData) || !strings.Contains(err.Error(), "pair 1") {
			t.Errorf("query %q: err = %v, want ErrInvalidData naming pair 1", q, err)
		}
		if n := p.Calls(); n != 0 {
			t.Errorf("query %q: %d model calls, want 0", q, n)
		}
	}
}

// A judge that names one winner for every pair is a constant side:
// Kappa is NaN and the side flagged, as Report's QWK.
func TestPairwiseConstantSide(t *testing.T) {
	data := []calibrate.Pair{
		{Query: "q0", A: "a0", B: "b0", Human: "A"},
		{Query: "q1", A: "a1", B: "b1", Human: "B"},
		{Query: "q2", A: "a2", B: "b2", Human: "tie"},
	}
	replies := make([]string, 2*len(data))
	for i := range replies {
		replies[i] = "[[C]]" // a tie, every time
	}
	r, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(refinetest.NewProvider(replies...)), data)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.Kappa) || !r.ConstantJudge || r.ConstantHuman {
		t.Errorf("Kappa, ConstantJudge, ConstantHuman = %v, %v, %v; want NaN, true, false", r.Kappa, r.ConstantJudge, r.ConstantHuman)
	}
}

// firstShownWins answers "[[A]]" when the prompt shows "alpha" first and
// fails otherwise; every reply costs 100 + 10 tokens.
type firstShownWins struct{}

func (firstShownWins) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	var prompt strings.Builder
	for _, m := range req.Messages {
		prompt.WriteString(m.Content)
	}
	text := prompt.String()
	if strings.Index(text, "alpha") < strings.Index(text, "beta") {
		return &refine.Response{Text: "[[A]]", Usage: refine.Usage{InputTokens: 100, OutputTokens: 10}}, nil
	}
	return nil, refine.ErrInvalidRequest
}

// A comparison whose second order failed still counts the first order's
// tokens in the report (issue 20, item 21).
func TestPairwiseFailureCountsBothOrders(t *testing.T) {
	data := []calibrate.Pair{{Query: "q", A: "alpha", B: "beta", Human: "A"}}
	r, err := calibrate.Pairwise(context.Background(), refine.NewPairwiseJudge(firstShownWins{}), data)
	if err == nil || len(r.Failures) != 1 {
		t.Fatalf("Pairwise = %+v, %v; want one failure and an error", r, err)
	}
	if want := (refine.Usage{InputTokens: 100, OutputTokens: 10}); r.Usage != want {
		t.Errorf("Usage = %+v, want %+v (the order that succeeded)", r.Usage, want)
	}
}
