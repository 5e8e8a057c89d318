package refine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

// byFirstShown answers a pairwise judge by which answer its prompt shows
// first: "[[A]]" when "alpha" comes before "beta", else what second says
// (or its error). Every reply costs 100 input and 10 output tokens.
type byFirstShown struct {
	second    string
	secondErr error
}

func (p byFirstShown) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	var prompt strings.Builder
	for _, m := range req.Messages {
		prompt.WriteString(m.Content)
	}
	text := prompt.String()
	u := refine.Usage{InputTokens: 100, OutputTokens: 10}
	if strings.Index(text, "alpha") < strings.Index(text, "beta") {
		return &refine.Response{Text: "[[A]]", Usage: u}, nil
	}
	if p.secondErr != nil {
		return nil, p.secondErr
	}
	return &refine.Response{Text: p.second, Usage: u}, nil
}

// When one of Compare's two orders fails, its error carries the tokens of
// both: UsageOf(err) counts every call made (issue 20, item 21).
func TestCompareFailureCarriesBothOrdersUsage(t *testing.T) {
	tests := []struct {
		name        string
		p           byFirstShown
		want        refine.Usage
		wantVerdict bool
	}{
		// Order 1: one call. Order 2: a call and its repair, both unreadable.
		{"second order unreadable", byFirstShown{second: "I cannot decide."}, refine.Usage{InputTokens: 300, OutputTokens: 30}, true},
		// Order 1: one call. Order 2: a failed call, which spent nothing.
		{"second order failed", byFirstShown{secondErr: refine.ErrInvalidRequest}, refine.Usage{InputTokens: 100, OutputTokens: 10}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := refine.NewPairwiseJudge(tt.p).Compare(context.Background(), "q", "alpha", "beta")
			if err == nil || c != nil {
				t.Fatalf("Compare = %+v, %v; want no comparison and an error", c, err)
			}
			if got := refine.UsageOf(err); got != tt.want {
				t.Errorf("UsageOf(err) = %+v, want %+v (both orders)", got, tt.want)
			}
			var ve *refine.VerdictError
			if got := errors.As(err, &ve); got != tt.wantVerdict {
				t.Errorf("errors.As(*VerdictError) = %v, want %v: %v", got, tt.wantVerdict, err)
			}
		})
	}
}

// A failed call's own tokens, reported with its error (WithUsage), are not
// hidden behind the judges' own carriers: the pairwise judge's order, a
// sampling judge's sample and a failed repair call all count them.
func TestFailedCallsReportedUsageCounts(t *testing.T) {
	spent := refine.Usage{InputTokens: 1000, OutputTokens: 1}
	failing := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return nil, refine.WithUsage(&refine.ProviderError{Kind: refine.ErrUnavailable, Provider: "test", Message: "overloaded"}, spent)
	})
	t.Run("pairwise, both orders", func(t *testing.T) {
		_, err := refine.NewPairwiseJudge(failing).Compare(context.Background(), "q", "alpha", "beta")
		if got, want := refine.UsageOf(err), spent.Add(spent); got != want {
			t.Errorf("UsageOf(err) = %+v, want %+v", got, want)
		}
	})
	t.Run("sampling judge, a failed sample", func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first { // no log-probabilities: the judge falls back to sampling
				return &refine.Response{Text: `{"score": 7}`, Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}, nil
			}
			return failing.Complete(ctx, req)
		})
		_, err := refine.NewLLMJudge(p, refine.WithWeightedScore(3)).Evaluate(context.Background(), "q", "a")
		if got := refine.UsageOf(err); err == nil || got.InputTokens < 10+spent.InputTokens {
			t.Errorf("err = %v, UsageOf(err) = %+v; want the first call's tokens and at least one failed sample's %+v", err, got, spent)
		}
	})
	t.Run("failed repair call, through the pairwise judge", func(t *testing.T) {
		first := refine.Usage{InputTokens: 10, OutputTokens: 5}
		var mu sync.Mutex
		asked := map[int]int{} // requests by message count
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			mu.Lock()
			asked[len(req.Messages)]++
			mu.Unlock()
			if len(req.Messages) <= 2 { // the comparison itself: a reply that names no winner
				return &refine.Response{Text: "I cannot decide.", Usage: first}, nil
			}
			return failing.Complete(ctx, req) // the repair request
		})
		_, err := refine.NewPairwiseJudge(p).Compare(context.Background(), "q", "alpha", "beta")
		repairs := 0
		for n, k := range asked {
			if n > 2 {
				repairs += k
			}
		}
		if repairs == 0 {
			t.Fatalf("no repair request was made (requests by message count: %v)", asked)
		}
		// Each order that got as far as its repair: the first reply's tokens
		// and what the failed repair call reported.
		want := refine.Usage{}
		for range repairs {
			want = want.Add(first).Add(spent)
		}
		if got := refine.UsageOf(err); got != want {
			t.Errorf("UsageOf(err) = %+v, want %+v (%d repairs)", got, want, repairs)
		}
	})
}

// A composite part that fails with a verdict and an error, both telling
// the same tokens, is counted once.
func TestCompositePartUsageCountedOnce(t *testing.T) {
	spent := refine.Usage{InputTokens: 300, OutputTokens: 30}
	both := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: 5, Usage: spent}, refine.WithUsage(errors.New("second call failed"), spent)
	})
	ok := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: 9, Usage: refine.Usage{InputTokens: 1, OutputTokens: 1}}, nil
	})
	j := refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Name: "both", Judge: both}, refine.JudgePart{Name: "ok", Judge: ok})
	_, err := j.Evaluate(context.Background(), "q", "a")
	got := refine.UsageOf(err)
	if got != spent && got != spent.Add(refine.Usage{InputTokens: 1, OutputTokens: 1}) {
		t.Errorf("UsageOf(err) = %+v, want %+v (plus the other part's, if it finished): counted once", got, spent)
	}
}
