package refine_test

import (
	"context"
	"errors"
	"strings"
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
