package refine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// dist builds a score distribution over 0..10 from score: probability pairs.
func confDist(mass map[int]float64) []float64 {
	d := make([]float64, 11)
	for k, p := range mass {
		d[k] = p
	}
	return d
}

// mean is the expected score of d, the Score a logprob judge reports.
func confMean(d []float64) float64 {
	m := 0.0
	for k, p := range d {
		m += float64(k) * p
	}
	return m
}

// distJudge grades "answer i" with the i-th verdict: the real loop (default
// refiner on a scripted provider) calls it once per attempt.
func confJudge(verdicts []*refine.Verdict) refine.Judge {
	return refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		var i int
		if _, err := fmt.Sscanf(answer, "answer %d", &i); err != nil || i >= len(verdicts) {
			return nil, fmt.Errorf("unexpected answer %q", answer)
		}
		v := *verdicts[i]
		v.Feedback = "be more certain"
		return &v, nil
	})
}

func confAnswers(n int) *refinetest.Provider {
	replies := make([]string, n)
	for i := range replies {
		replies[i] = fmt.Sprintf("answer %d", i)
	}
	return refinetest.NewProvider(replies...)
}

func confVerdict(mass map[int]float64) *refine.Verdict {
	d := confDist(mass)
	return &refine.Verdict{Score: confMean(d), Dist: d, Method: refine.MethodLogprobs}
}

func TestConfidentStopsWhenProbabilityCrossesP(t *testing.T) {
	// Threshold 8. P(score >= 8), by hand, for each attempt:
	//   answer 0: 0.2 + 0.1        = 0.30   (mean 7.4)
	//   answer 1: 0.7              = 0.70   (mean 8.1: past the threshold, unsure)
	//   answer 2: 0.35 + 0.5       = 0.85   (mean 8.35)
	//   answer 3: 0.7 + 0.2 + 0.1  = 1.00   (mean 8.4; summed in floating
	//             point it is 0.9999999999999999, which must still count as 1)
	// Means rise, so the best attempt is always the latest.
	verdicts := []*refine.Verdict{
		confVerdict(map[int]float64{7: 0.7, 8: 0.2, 9: 0.1}),
		confVerdict(map[int]float64{6: 0.3, 9: 0.7}),
		confVerdict(map[int]float64{7: 0.15, 8: 0.35, 9: 0.5}),
		confVerdict(map[int]float64{8: 0.7, 9: 0.2, 10: 0.1}),
	}
	tests := []struct {
		p            float64
		wantAttempts int
		wantReason   refine.StopReason
	}{
		{0.3, 1, refine.StopThreshold},  // the draft already reaches 0.30
		{0.31, 2, refine.StopThreshold}, // answer 1's 0.70 does
		{0.7, 2, refine.StopThreshold},  // exactly 0.70: reached
		{0.71, 3, refine.StopThreshold}, // answer 1 is past the threshold by mean, not by confidence
		{0.85, 3, refine.StopThreshold},
		{0.86, 4, refine.StopThreshold},
		{1, 4, refine.StopThreshold},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.p), func(t *testing.T) {
			p := confAnswers(len(verdicts))
			res, err := refine.Run(context.Background(), "question",
				refine.WithProvider(p), refine.WithJudge(confJudge(verdicts)),
				refine.WithThreshold(8), refine.WithMaxIterations(len(verdicts)-1),
				refine.WithStop(refine.Confident(tt.p)))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(res.Attempts) != tt.wantAttempts || res.StopReason != tt.wantReason {
				t.Errorf("Confident(%v): %d attempts, stop %q; want %d, %q",
					tt.p, len(res.Attempts), res.StopReason, tt.wantAttempts, tt.wantReason)
			}
		})
	}

	// Without Confident the plain threshold stops at answer 1 (mean 8.1).
	res, err := refine.Run(context.Background(), "question",
		refine.WithProvider(confAnswers(len(verdicts))), refine.WithJudge(confJudge(verdicts)),
		refine.WithThreshold(8), refine.WithMaxIterations(len(verdicts)-1))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Attempts) != 2 {
		t.Errorf("plain threshold: %d attempts, want 2", len(res.Attempts))
	}
}

func TestConfidentFallsBackWithoutDist(t *testing.T) {
	plain := func(scores ...float64) []*refine.Verdict {
		vs := make([]*refine.Verdict, len(scores))
		for i, s := range scores {
			vs[i] = &refine.Verdict{Score: s}
		}
		return vs
	}
	tests := []struct {
		name         string
		verdicts     []*refine.Verdict
		threshold    float64
		wantAttempts int
		wantReason   refine.StopReason
	}{
		{"score reaches threshold", plain(6, 7.5, 8, 9), 8, 3, refine.StopThreshold},
		{"threshold is inclusive", plain(7.5), 7.5, 1, refine.StopThreshold},
		{"never reached", plain(6, 7, 7.9), 8, 3, refine.StopMaxIterations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := refine.Run(context.Background(), "question",
				refine.WithProvider(confAnswers(len(tt.verdicts))), refine.WithJudge(confJudge(tt.verdicts)),
				refine.WithThreshold(tt.threshold), refine.WithMaxIterations(len(tt.verdicts)-1),
				refine.WithStop(refine.Confident(0.99)))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(res.Attempts) != tt.wantAttempts || res.StopReason != tt.wantReason {
				t.Errorf("%d attempts, stop %q; want %d, %q", len(res.Attempts), res.StopReason, tt.wantAttempts, tt.wantReason)
			}
		})
	}
}

// A judge whose distribution is not one (wrong length, out of range, not
// summing to 1) fails the run: a stop rule that trusted it could never
// fire, or fire at random.
func TestMalformedDistIsAJudgeError(t *testing.T) {
	for _, dist := range [][]float64{
		{0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5},         // 10 entries
		{0, 0, 0, 0, 0, 0, 0, 0, 0.25, 0.25, 0},    // sums to 0.5
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, math.NaN()}, // NaN
		{0, 0, 0, 0, 0, 0, 0, 0, -0.5, 0.5, 1},     // negative
	} {
		v := &refine.Verdict{Score: 9, Dist: dist}
		res, err := refine.Run(context.Background(), "question",
			refine.WithProvider(confAnswers(1)), refine.WithJudge(confJudge([]*refine.Verdict{v})),
			refine.WithStop(refine.Confident(0.9)))
		if err == nil || !strings.Contains(err.Error(), "distribution") && !strings.Contains(err.Error(), "P(score") {
			t.Errorf("Dist %v: Run = %+v, %v; want a judge error about the distribution", dist, res, err)
		}
	}
}

func TestNoSignificantImprovement(t *testing.T) {
	// P(new > incumbent) by hand, scores independent:
	//   draft:  {6: .5, 7: .5}                       incumbent
	//   round 1 {6: .4, 7: .6}  vs draft:  .6×.5       = 0.30
	//   round 2 {7: .2, 8: .8}  vs draft:  .2×.5 + .8  = 0.90
	//   round 3 {7: .1, 8: .9}  vs round 2: .9×.2      = 0.18
	//   round 4 {7: .1, 8: .9}  vs round 2             = 0.18
	// Each mean is higher than the last, so NoImprovement never fires.
	verdicts := []*refine.Verdict{
		confVerdict(map[int]float64{6: 0.5, 7: 0.5}),
		confVerdict(map[int]float64{6: 0.4, 7: 0.6}),
		confVerdict(map[int]float64{7: 0.2, 8: 0.8}),
		confVerdict(map[int]float64{7: 0.1, 8: 0.9}),
		confVerdict(map[int]float64{7: 0.05, 8: 0.95}),
		confVerdict(map[int]float64{9: 1}),
	}
	plain := []*refine.Verdict{{Score: 5}, {Score: 6}, {Score: 6}, {Score: 5.5}, {Score: 9}, {Score: 9}}
	tests := []struct {
		name         string
		verdicts     []*refine.Verdict
		stop         refine.StopCondition
		wantAttempts int
		wantReason   refine.StopReason
	}{
		// Round 2 is significant at 0.9; rounds 3 and 4 are not.
		{"p 0.9, patience 2", verdicts, refine.NoSignificantImprovement(2, 0.9), 5, refine.StopNoImprovement},
		// At 0.91 round 2 is not significant either: rounds 1 and 2 use up the patience.
		{"p 0.91, patience 2", verdicts, refine.NoSignificantImprovement(2, 0.91), 3, refine.StopNoImprovement},
		{"p 0.3, patience 1", verdicts, refine.NoSignificantImprovement(1, 0.3), 4, refine.StopNoImprovement},
		{"plain NoImprovement goes on", verdicts, refine.NoImprovement(2), 6, refine.StopMaxIterations},
		// Without Dist: 6 > 5 improves, then two rounds that do not.
		{"no Dist: plain comparison", plain, refine.NoSignificantImprovement(2, 0.9), 4, refine.StopNoImprovement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := refine.Run(context.Background(), "question",
				refine.WithProvider(confAnswers(len(tt.verdicts))), refine.WithJudge(confJudge(tt.verdicts)),
				refine.WithThreshold(10), refine.WithMaxIterations(len(tt.verdicts)-1),
				refine.WithStop(tt.stop))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(res.Attempts) != tt.wantAttempts || res.StopReason != tt.wantReason {
				t.Errorf("%d attempts, stop %q; want %d, %q", len(res.Attempts), res.StopReason, tt.wantAttempts, tt.wantReason)
			}
		})
	}
}

// TestNoSignificantImprovementCandidates: with several drafts the best one
// is the first incumbent, and draft rounds use no patience.
func TestNoSignificantImprovementCandidates(t *testing.T) {
	stop := refine.NoSignificantImprovement(1, 0.9)
	v := func(s float64) *refine.Verdict { return &refine.Verdict{Score: s} }
	p := refine.Progress{Attempts: []refine.Attempt{
		{Verdict: v(3)}, {Verdict: v(7)}, {Verdict: v(5)}, // drafts
	}}
	if got, err := stop.Check(p); got != "" || err != nil {
		t.Errorf("after drafts: %q, want no stop", got)
	}
	p.Attempts = append(p.Attempts, refine.Attempt{Round: 1, Verdict: v(6)}) // worse than the best draft
	if got, err := stop.Check(p); got != refine.StopNoImprovement || err != nil {
		t.Errorf("after a worse round: %q, want %q", got, refine.StopNoImprovement)
	}
}

func TestConfidentOptionErrors(t *testing.T) {
	tests := []struct {
		stop refine.StopCondition
		want string
	}{
		{refine.Confident(0), "Confident(0)"},
		{refine.Confident(-0.5), "Confident(-0.5)"},
		{refine.Confident(1.01), "Confident(1.01)"},
		{refine.Confident(math.NaN()), "Confident(NaN)"},
		{refine.NoSignificantImprovement(0, 0.9), "NoSignificantImprovement(0)"},
		{refine.NoSignificantImprovement(2, 0), "NoSignificantImprovement(0)"},
		{refine.NoSignificantImprovement(2, 2), "NoSignificantImprovement(2)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			p := refinetest.NewProvider("never")
			_, err := refine.Run(context.Background(), "question", refine.WithProvider(p), refine.WithStop(tt.stop))
			if !errors.Is(err, refine.ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
			if got := err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("err = %q, want it to name %q", got, tt.want)
			}
			if p.Calls() != 0 {
				t.Errorf("%d model calls, want none", p.Calls())
			}
		})
	}
}

func ExampleConfident() {
	// A judge whose scores come with a distribution (as NewLLMJudge with
	// WithWeightedScore gives): the draft's mean is 8.1, past the
	// threshold, but P(score >= 8) is only 0.7; the refinement's is 0.95.
	judge := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		d := make([]float64, 11)
		if answer == "draft" {
			d[6], d[9] = 0.3, 0.7
		} else {
			d[7], d[8], d[9] = 0.05, 0.45, 0.5
		}
		m := 0.0
		for k, p := range d {
			m += float64(k) * p
		}
		return &refine.Verdict{Score: m, Dist: d, Feedback: "check the figures"}, nil
	})
	res, err := refine.Run(context.Background(), "How many moons has Mars?",
		refine.WithProvider(refinetest.NewProvider("draft", "refined")),
		refine.WithJudge(judge),
		refine.WithThreshold(8),
		refine.WithStop(refine.Confident(0.9)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d attempts, %s, best %q\n", len(res.Attempts), res.StopReason, res.Answer)
	// Output: 2 attempts, threshold, best "refined"
}

func ExampleNoSignificantImprovement() {
	// Scores creep up by 0.1 a round, well within the judge's own noise
	// (each verdict spreads over two neighbouring scores).
	round := 0
	judge := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		d := make([]float64, 11)
		d[6], d[7] = 0.5-0.1*float64(round), 0.5+0.1*float64(round)
		round++
		return &refine.Verdict{Score: 6*d[6] + 7*d[7], Dist: d, Feedback: "tighten it"}, nil
	})
	res, err := refine.Run(context.Background(), "Summarise the report.",
		refine.WithProvider(refinetest.NewProvider("v0", "v1", "v2", "v3", "v4", "v5")),
		refine.WithJudge(judge),
		refine.WithMaxIterations(5),
		refine.WithStop(refine.NoSignificantImprovement(2, 0.8)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d attempts, %s\n", len(res.Attempts), res.StopReason)
	// Output: 3 attempts, no_improvement
}
