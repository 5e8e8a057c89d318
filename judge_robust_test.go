package refine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// Every built-in judge says how its score was made, and the logprob and
// sampling judges give the distribution behind it.
func TestVerdictMethodAndDist(t *testing.T) {
	ctx := context.Background()

	t.Run("single", func(t *testing.T) {
		v, err := refine.NewLLMJudge(refinetest.NewProvider(`{"score": 6}`)).Evaluate(ctx, "q", "a")
		if err != nil {
			t.Fatal(err)
		}
		if v.Method != refine.MethodSingle || v.Dist != nil {
			t.Errorf("got Method %q, Dist %v; want %q, nil", v.Method, v.Dist, refine.MethodSingle)
		}
	})

	t.Run("logprobs: a softmax over the score tokens", func(t *testing.T) {
		// The fixture's score token is "8" with alternatives "8" -0.510826,
		// "7" -1.203973, "9" -2.525729, "10" -4.60517 and "eight" -4.60517
		// (not a score). Softmax over the four score tokens, by hand:
		// exp gives .6, .3, .08, .01, over their sum .99.
		want := make([]float64, 11)
		z := math.Exp(-0.510826) + math.Exp(-1.203973) + math.Exp(-2.525729) + math.Exp(-4.60517)
		want[8], want[7], want[9], want[10] = math.Exp(-0.510826)/z, math.Exp(-1.203973)/z, math.Exp(-2.525729)/z, math.Exp(-4.60517)/z
		for _, opt := range []refine.JudgeOption{refine.WithWeightedScore(3), refine.RequireLogprobs()} {
			m := &logprobModel{resp: openAIReply(t, "testdata/openai_judge_logprobs.json")}
			v, err := refine.NewLLMJudge(m, opt).Evaluate(ctx, "Why is the sky blue?", "Rayleigh scattering.")
			if err != nil {
				t.Fatal(err)
			}
			if v.Method != refine.MethodLogprobs {
				t.Errorf("Method: got %q, want %q", v.Method, refine.MethodLogprobs)
			}
			checkDist(t, v.Dist, want)
			var mean float64
			for k, p := range v.Dist {
				mean += float64(k) * p
			}
			if !near(v.Score, mean) {
				t.Errorf("Score %v is not the mean %v of Dist", v.Score, mean)
			}
		}
	})

	t.Run("samples: the share of each rounded score", func(t *testing.T) {
		m := &sampleModel{scores: []float64{6, 8, 8, 7.4}, logprobs: func(*refine.Request) (*refine.Response, error) {
			return nil, fmt.Errorf("no logprobs here: %w", errors.ErrUnsupported)
		}}
		v, err := refine.NewLLMJudge(m, refine.WithWeightedScore(4)).Evaluate(ctx, "q", "a")
		if err != nil {
			t.Fatal(err)
		}
		if v.Method != refine.MethodSamples {
			t.Errorf("Method: got %q, want %q", v.Method, refine.MethodSamples)
		}
		want := make([]float64, 11)
		want[6], want[7], want[8] = .25, .25, .5
		checkDist(t, v.Dist, want)
	})

	t.Run("composite: the parts' common method", func(t *testing.T) {
		single := func(s float64) refine.Judge {
			return refine.NewLLMJudge(refinetest.NewProvider(fmt.Sprintf(`{"score": %g}`, s)))
		}
		v, err := refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Judge: single(5)}, refine.JudgePart{Judge: single(7)}).Evaluate(ctx, "q", "a")
		if err != nil {
			t.Fatal(err)
		}
		if v.Method != refine.MethodSingle {
			t.Errorf("Method: got %q, want %q", v.Method, refine.MethodSingle)
		}
		v, err = refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Judge: single(5)}, refine.JudgePart{Judge: fixedJudge(refine.Verdict{Score: 4})}).Evaluate(ctx, "q", "a")
		if err != nil {
			t.Fatal(err)
		}
		if v.Method != "" {
			t.Errorf("Method of mixed parts: got %q, want empty", v.Method)
		}
	})
}

func checkDist(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != 11 {
		t.Fatalf("Dist: got %d entries, want 11: %v", len(got), got)
	}
	var sum float64
	for k := range got {
		sum += got[k]
		if !near(got[k], want[k]) {
			t.Errorf("Dist[%d]: got %v, want %v", k, got[k], want[k])
		}
	}
	if !near(sum, 1) {
		t.Errorf("Dist sums to %v, want 1", sum)
	}
}

// RequireLogprobs turns each silent fallback to sampling into an error
// wrapping errors.ErrUnsupported, and no sample is drawn.
func TestRequireLogprobs(t *testing.T) {
	fixture := openAIReply(t, "testdata/openai_judge_logprobs.json")
	tests := []struct {
		name     string
		logprobs func(*refine.Request) (*refine.Response, error)
	}{
		{"provider rejects logprobs", func(*refine.Request) (*refine.Response, error) {
			return nil, fmt.Errorf("bedrock: %w", errors.ErrUnsupported)
		}},
		{"provider returns none", func(*refine.Request) (*refine.Response, error) {
			return &refine.Response{Text: `{"score": 7}`, Usage: refine.Usage{InputTokens: 5, OutputTokens: 5}}, nil
		}},
		{"score not a token", func(*refine.Request) (*refine.Response, error) {
			r := *fixture
			r.Text = `{"score": "7/10"}`
			r.Logprobs = []refine.TokenLogprob{{Token: `{"score": "7/10"}`, Logprob: -0.1}}
			return &r, nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &sampleModel{scores: []float64{7}, logprobs: tc.logprobs}
			for _, opts := range [][]refine.JudgeOption{{refine.RequireLogprobs()}, {refine.WithWeightedScore(3), refine.RequireLogprobs()}} {
				m.calls.Store(0)
				v, err := refine.NewLLMJudge(m, opts...).Evaluate(context.Background(), "q", "a")
				if !errors.Is(err, errors.ErrUnsupported) || v != nil {
					t.Errorf("got %v, %v; want an error wrapping errors.ErrUnsupported", v, err)
				}
				if n := m.calls.Load(); n != 1 {
					t.Errorf("calls: got %d, want 1 (no samples)", n)
				}
			}
		})
	}
}

// Two criteria weighing math.MaxFloat64 each: their weighted mean does not
// overflow into NaN; weights are relative, so this is the plain mean.
func TestHugeWeightsStayInScale(t *testing.T) {
	huge := []refine.Criterion{
		{Name: "accuracy", Description: "right?", Weight: math.MaxFloat64},
		{Name: "depth", Description: "deep?", Weight: math.MaxFloat64},
		{Name: "style", Description: "nice?", Weight: math.SmallestNonzeroFloat64},
	}
	p := refinetest.NewProvider(`{"score": 2, "criteria": {"accuracy": 9, "depth": 6, "style": 0}}`)
	v, err := refine.NewLLMJudge(p, refine.WithCriteria(huge...)).Evaluate(context.Background(), "q", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !near(v.Score, 7.5) {
		t.Errorf("Score: got %v, want 7.5 (the mean of 9 and 6; the tiny weight counts for nothing)", v.Score)
	}

	c := refine.NewCompositeJudge(refine.RuleWeightedMean,
		refine.JudgePart{Judge: fixedJudge(refine.Verdict{Score: 9}), Weight: math.MaxFloat64},
		refine.JudgePart{Judge: fixedJudge(refine.Verdict{Score: 6}), Weight: math.MaxFloat64})
	cv, err := c.Evaluate(context.Background(), "q", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !near(cv.Score, 7.5) {
		t.Errorf("composite Score: got %v, want 7.5", cv.Score)
	}

	for _, w := range []float64{math.Inf(1), math.NaN(), -1} {
		_, err := refine.NewLLMJudge(p, refine.WithCriteria(refine.Criterion{Name: "x", Weight: w})).Evaluate(context.Background(), "q", "a")
		if !errors.Is(err, refine.ErrInvalidOption) {
			t.Errorf("weight %v: got %v, want ErrInvalidOption", w, err)
		}
	}
}

// When one part of a composite judge fails, the run still counts what the
// parts that answered spent.
func TestCompositeFailureKeepsUsage(t *testing.T) {
	answered := make(chan struct{})
	ok := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		defer close(answered)
		return &refine.Verdict{Score: 8, Usage: refine.Usage{InputTokens: 100, OutputTokens: 10}}, nil
	})
	failing := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		<-answered // fail after the other part has answered
		return nil, errors.New("linter crashed")
	})
	judge := refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Name: "rubric", Judge: ok}, refine.JudgePart{Name: "lint", Judge: failing})
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: "a draft", Usage: refine.Usage{InputTokens: 7, OutputTokens: 3}}, nil
	})
	res, err := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithJudge(judge), refine.WithMaxIterations(0))
	var se *refine.StepError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "linter crashed") {
		t.Fatalf("got %v, %v; want a StepError with the part's error", res, err)
	}
	want := refine.Usage{InputTokens: 107, OutputTokens: 13} // the draft's 10 and the rubric's 110
	if se.Usage != want {
		t.Errorf("StepError.Usage: got %+v, want %+v", se.Usage, want)
	}
	if res != nil && res.Usage != want {
		t.Errorf("Result.Usage: got %+v, want %+v", res.Usage, want)
	}
}

// When one sample of a weighted score fails (not for an unreadable reply),
// the run still counts the samples that answered.
func TestWeightedSampleFailureKeepsUsage(t *testing.T) {
	var samples atomic.Int32
	answered := make(chan struct{}, 2)
	judgeModel := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if req.TopLogprobs > 0 {
			return nil, fmt.Errorf("no logprobs: %w", errors.ErrUnsupported)
		}
		if samples.Add(1) == 3 {
			<-answered // fail after the other two have answered
			<-answered
			return nil, &refine.ProviderError{Kind: refine.ErrInvalidRequest, Provider: "fake", Message: "bad sample"}
		}
		defer func() { answered <- struct{}{} }()
		return &refine.Response{Text: `{"score": 6}`, Usage: refine.Usage{InputTokens: 100, OutputTokens: 10}}, nil
	})
	draft := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: "a draft", Usage: refine.Usage{InputTokens: 7, OutputTokens: 3}}, nil
	})
	judge := refine.NewLLMJudge(judgeModel, refine.WithWeightedScore(3))
	res, err := refine.Run(context.Background(), "q", refine.WithProvider(draft), refine.WithJudge(judge), refine.WithMaxIterations(0))
	var se *refine.StepError
	if !errors.As(err, &se) || !errors.Is(err, refine.ErrInvalidRequest) {
		t.Fatalf("got %v, %v; want a StepError wrapping the sample's error", res, err)
	}
	want := refine.Usage{InputTokens: 207, OutputTokens: 23} // the draft's 10 and two samples' 220
	if se.Usage != want {
		t.Errorf("StepError.Usage: got %+v, want %+v", se.Usage, want)
	}
}

// A panic in a user's judge or provider, on a goroutine a judge starts,
// comes back as an error from the call, and the judge returns only when
// every goroutine it started has ended.
func TestJudgePanicsBecomeErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("composite part", func(t *testing.T) {
		var siblingDone atomic.Bool
		sibling := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
			defer siblingDone.Store(true)
			<-ctx.Done() // ends only when the composite cancels it
			return nil, ctx.Err()
		})
		panicking := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) { panic("judge exploded") })
		c := refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Name: "slow", Judge: sibling}, refine.JudgePart{Name: "bad", Judge: panicking})
		v, err := c.Evaluate(ctx, "q", "a")
		if err == nil || v != nil || !strings.Contains(err.Error(), "judge exploded") || !strings.Contains(err.Error(), `"bad"`) {
			t.Fatalf("got %v, %v; want an error naming the part and the panic", v, err)
		}
		if !siblingDone.Load() {
			t.Error("Evaluate returned before the other part's goroutine ended")
		}
	})
	t.Run("pairwise order", func(t *testing.T) {
		var calls atomic.Int32
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			if calls.Add(1) == 1 {
				panic("provider exploded")
			}
			return &refine.Response{Text: "[[A]]"}, nil
		})
		c, err := refine.NewPairwiseJudge(p).Compare(ctx, "q", "a", "b")
		if err == nil || c != nil || !strings.Contains(err.Error(), "provider exploded") {
			t.Fatalf("got %v, %v; want the panic as an error", c, err)
		}
	})
	t.Run("weighted sample", func(t *testing.T) {
		var samples atomic.Int32
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			if req.TopLogprobs > 0 {
				return nil, fmt.Errorf("no logprobs: %w", errors.ErrUnsupported)
			}
			if samples.Add(1) == 2 {
				panic("provider exploded")
			}
			return &refine.Response{Text: `{"score": 6}`}, nil
		})
		v, err := refine.NewLLMJudge(p, refine.WithWeightedScore(3)).Evaluate(ctx, "q", "a")
		if err == nil || v != nil || !strings.Contains(err.Error(), "provider exploded") {
			t.Fatalf("got %v, %v; want the panic as an error", v, err)
		}
	})
	t.Run("in a run", func(t *testing.T) {
		panicking := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) { panic("judge exploded") })
		c := refine.NewCompositeJudge(refine.RuleMinimum, refine.JudgePart{Judge: panicking}, refine.JudgePart{Judge: fixedJudge(refine.Verdict{Score: 5})})
		_, err := refine.Run(ctx, "q", refine.WithProvider(refinetest.NewProvider("draft")), refine.WithJudge(c), refine.WithMaxIterations(0))
		if err == nil || !strings.Contains(err.Error(), "judge exploded") {
			t.Fatalf("Run: got %v; want the panic as an error", err)
		}
	})
}

// The criteria presets are functions returning copies: a caller changing
// what it got changes no one else's judge.
func TestCriteriaPresetsAreCopies(t *testing.T) {
	for name, preset := range map[string]func() []refine.Criterion{
		"GeneralCriteria": refine.GeneralCriteria, "CodeCriteria": refine.CodeCriteria, "SummaryCriteria": refine.SummaryCriteria,
	} {
		got := preset()
		got[0].Description = "HACKED"
		got[0].Weight = 100
		if again := preset(); again[0].Description == "HACKED" || again[0].Weight != 0 {
			t.Errorf("%s: a caller's change shows in the next call: %+v", name, again[0])
		}
	}
	p := refinetest.NewProvider(`{"score": 5}`)
	if _, err := refine.NewLLMJudge(p).Evaluate(context.Background(), "q", "a"); err != nil {
		t.Fatal(err)
	}
	if sys := p.Requests()[0].Messages[0].Content; strings.Contains(sys, "HACKED") || !strings.Contains(sys, "helpfulness") {
		t.Errorf("the default judge's rubric changed:\n%s", sys)
	}
}

// The logprob weighting reads the probabilities at the score the reader
// read — the verdict object's own score key — never at a "score" the
// judge quotes from the answer inside a string, even one with the same
// number.
func TestWeightedScoreIgnoresQuotedScore(t *testing.T) {
	tok := func(s string) refine.TokenLogprob { return refine.TokenLogprob{Token: s} }
	reply := []refine.TokenLogprob{
		tok(`{"score": `),
		{Token: "2", Logprob: math.Log(.5), Top: []refine.TokenLogprob{{Token: "2", Logprob: math.Log(.5)}, {Token: "3", Logprob: math.Log(.5)}}},
		tok(`, "issues": ["the answer writes 'score': `),
		{Token: "2", Logprob: 0, Top: []refine.TokenLogprob{{Token: "2", Logprob: 0}}},
		tok(` to look graded"]}`),
	}
	var text strings.Builder
	for _, t := range reply {
		text.WriteString(t.Token)
	}
	m := &logprobModel{resp: &refine.Response{Text: text.String(), Logprobs: reply}}
	v, err := refine.NewLLMJudge(m, refine.RequireLogprobs()).Evaluate(context.Background(), "q", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !near(v.Score, 2.5) {
		t.Errorf("Score: got %v, want 2.5 (the verdict's own score token: 2 and 3 at .5 each)", v.Score)
	}
}
