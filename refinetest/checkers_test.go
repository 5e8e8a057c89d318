package refinetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

func TestTestStop(t *testing.T) {
	var calls atomic.Int64
	tests := []struct {
		name string
		stop refine.StopCondition
		want string // "" for a conforming condition, else a part of the error
	}{
		{"NoImprovement", refine.NoImprovement(2), ""},
		{"TokenBudget", refine.TokenBudget(2000), ""},
		{"CostBudget", refine.CostBudget(0.005), ""},
		{"Confident", refine.Confident(0.6), ""},
		{"NoSignificantImprovement", refine.NoSignificantImprovement(2, 0.8), ""},
		{"StopFunc on the round", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if p.Round >= 2 {
				return "enough", nil
			}
			return "", nil
		}), ""},
		{"nil", nil, "nil"},
		{"invalid", refine.NoImprovement(0), "Validate"},
		{"panics without attempts", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if p.Attempts[p.Best].Verdict.Score > 9 {
				return refine.StopThreshold, nil
			}
			return "", nil
		}), "panic"},
		{"refuses every run", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if len(p.Attempts) == 0 {
				return "", errors.New("not now")
			}
			return "", nil
		}), "refuses every run"},
		{"keeps a count", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if calls.Add(1) > 5 {
				return "tired", nil
			}
			return "", nil
		}), "keep no state"},
		{"reason and error", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if p.Round == 1 {
				return refine.StopBudget, errors.New("and broken")
			}
			return "", nil
		}), "one or the other"},
		{"modifies the attempts", refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			for i := range p.Attempts {
				p.Attempts[i].Verdict.Score = 0
			}
			return "", nil
		}), "modified the Progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := refinetest.TestStop(tt.stop)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("TestStop = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("TestStop = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// twoCalls is a judge that asks its model twice (a draft verdict and a
// second opinion) and averages; lossy forgets what the first call spent
// when the second fails.
type twoCalls struct {
	p     refine.Provider
	lossy bool
}

func (j twoCalls) Validate() error {
	if v, ok := j.p.(refine.Validator); ok {
		return v.Validate()
	}
	return nil
}

func (j twoCalls) Evaluate(ctx context.Context, q, a string) (*refine.Verdict, error) {
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: q + "\n" + a}}, JSON: true}
	r1, err := j.p.Complete(ctx, req)
	if err != nil {
		return nil, err
	}
	r2, err := j.p.Complete(ctx, req)
	if err != nil {
		if j.lossy {
			return nil, fmt.Errorf("second opinion: %w", err)
		}
		return nil, refine.WithUsage(fmt.Errorf("second opinion: %w", err), r1.Usage.Add(refine.UsageOf(err)))
	}
	return &refine.Verdict{Score: 7, Usage: r1.Usage.Add(r2.Usage)}, nil
}

// noValidate hides the Validate of the judge it holds.
type noValidate struct{ refine.Judge }

func TestTestJudgeOn(t *testing.T) {
	tests := []struct {
		name  string
		build func(refine.Provider) refine.Judge
		want  string
	}{
		{"LLM judge", func(p refine.Provider) refine.Judge { return refine.NewLLMJudge(p) }, ""},
		{"weighted LLM judge", func(p refine.Provider) refine.Judge { return refine.NewLLMJudge(p, refine.WithWeightedScore(3)) }, ""},
		{"composite of two LLM judges", func(p refine.Provider) refine.Judge {
			return refine.NewCompositeJudge(refine.RuleMinimum,
				refine.JudgePart{Judge: refine.NewLLMJudge(p)}, refine.JudgePart{Judge: refine.NewLLMJudge(p)})
		}, ""},
		{"composite with a code check", func(p refine.Provider) refine.Judge {
			return refine.NewCompositeJudge(refine.RuleWeightedMean,
				refine.JudgePart{Judge: refine.NewLLMJudge(p)}, refine.JudgePart{Judge: refinetest.NewJudge(9, 9, 9, 9, 9, 9, 9, 9)})
		}, ""},
		{"a judge of your own that keeps its tokens", func(p refine.Provider) refine.Judge { return twoCalls{p: p} }, ""},
		{"a judge of your own that loses its tokens", func(p refine.Provider) refine.Judge { return twoCalls{p: p, lossy: true} }, "UsageOf"},
		{"no Validator", func(p refine.Provider) refine.Judge { return noValidate{refine.NewLLMJudge(p)} }, "does not implement refine.Validator"},
		{"ignores its provider's Validate", func(p refine.Provider) refine.Judge {
			return twoCalls{p: refine.ProviderFunc(p.Complete)}
		}, "provider whose Validate fails"},
		{"makes up a score", func(p refine.Provider) refine.Judge {
			return refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
				resp, err := p.Complete(ctx, &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: a}}})
				if err != nil {
					return &refine.Verdict{Score: 5}, nil
				}
				return &refine.Verdict{Score: 7, Usage: resp.Usage}, nil
			})
		}, "made up"},
		{"nil judge", func(refine.Provider) refine.Judge { return nil }, "nil judge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := refinetest.TestJudgeOn(tt.build)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("TestJudgeOn = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("TestJudgeOn = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
