package calibrate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/calibrate"
)

// scripted is a judge that grades "answer i" with scores[i] (one list per
// example: the k-th call on an example gets its k-th score, the last one
// repeating). A NaN score makes that call fail.
type scripted struct {
	scores [][]float64
	mu     sync.Mutex
	calls  map[int]int
	total  atomic.Int32
}

func newScripted(scores ...[]float64) *scripted {
	return &scripted{scores: scores, calls: map[int]int{}}
}

func (s *scripted) Evaluate(ctx context.Context, query, answer string) (*refine.Verdict, error) {
	s.total.Add(1)
	var i int
	if _, err := fmt.Sscanf(answer, "answer %d", &i); err != nil {
		return nil, fmt.Errorf("unexpected answer %q", answer)
	}
	s.mu.Lock()
	k := s.calls[i]
	s.calls[i]++
	s.mu.Unlock()
	score := s.scores[i][min(k, len(s.scores[i])-1)]
	if math.IsNaN(score) {
		return nil, fmt.Errorf("judge down on answer %d", i)
	}
	return &refine.Verdict{Score: score, Usage: refine.Usage{InputTokens: 10, OutputTokens: 2}}, nil
}

func examples(human ...float64) []calibrate.Example {
	out := make([]calibrate.Example, len(human))
	for i, h := range human {
		out[i] = calibrate.Example{Query: fmt.Sprintf("question %d", i), Answer: fmt.Sprintf("answer %d", i), Human: h}
	}
	return out
}

func single(scores ...float64) [][]float64 {
	out := make([][]float64, len(scores))
	for i, s := range scores {
		out[i] = []float64{s}
	}
	return out
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12 }

func TestJudgeLenientByOne(t *testing.T) {
	human := []float64{0, 2, 2, 3, 5, 5, 5, 7, 8, 9}
	judged := make([]float64, len(human))
	for i, h := range human {
		judged[i] = h + 1
	}
	r, err := calibrate.Judge(context.Background(), newScripted(single(judged...)...), examples(human...))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Bias", r.Bias, 1}, {"MAE", r.MAE, 1}, {"Spearman", r.Spearman, 1}, {"Pearson", r.Pearson, 1}, {"WithinOne", r.WithinOne, 1},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.N != len(human) {
		t.Errorf("N = %d, want %d", r.N, len(human))
	}
	if want := (refine.Usage{InputTokens: 100, OutputTokens: 20}); r.Usage != want {
		t.Errorf("Usage = %+v, want %+v", r.Usage, want)
	}
	if r.Confusion[5][6] != 3 || r.Confusion[0][1] != 1 || r.Confusion[5][5] != 0 {
		t.Errorf("Confusion[5][6], [0][1], [5][5] = %d, %d, %d; want 3, 1, 0", r.Confusion[5][6], r.Confusion[0][1], r.Confusion[5][5])
	}
}

// TestJudgeStatistics checks every statistic against reference values
// computed independently with SciPy 1.10.1 and scikit-learn 1.2.1:
//
//	h = [2,3,3,5,6,6,7,8,8,9,10,4.5]; j = [3,2,4,5,7,6,8,9,7,10,9.5,6]
//	scipy.stats.spearmanr(j, h).correlation   0.943564077720873
//	scipy.stats.pearsonr(j, h)[0]             0.941058881603643
//	numpy.mean(abs(j - h)), mean(j - h)       0.833333333333333, 0.416666666666667
//	sklearn.metrics.cohen_kappa_score(floor(h+.5), floor(j+.5),
//	    weights="quadratic", labels=range(11))  0.938775510204082
//	numpy.mean(abs(j - h) <= 1)               0.916666666666667
//
// The data has ties on both sides (Spearman's average ranks), a human 4.5
// (rounded up to 5 for QWK) and a judge 9.5 (rounded to 10).
func TestJudgeStatistics(t *testing.T) {
	human := []float64{2, 3, 3, 5, 6, 6, 7, 8, 8, 9, 10, 4.5}
	judged := []float64{3, 2, 4, 5, 7, 6, 8, 9, 7, 10, 9.5, 6}
	r, err := calibrate.Judge(context.Background(), newScripted(single(judged...)...), examples(human...), calibrate.WithConcurrency(3))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"Spearman", r.Spearman, 0.943564077720873},
		{"Pearson", r.Pearson, 0.941058881603643},
		{"MAE", r.MAE, 0.833333333333333},
		{"Bias", r.Bias, 0.416666666666667},
		{"QWK", r.QWK, 0.938775510204082},
		{"WithinOne", r.WithinOne, 0.916666666666667},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-12 {
			t.Errorf("%s = %.15g, want %.15g", tt.name, tt.got, tt.want)
		}
	}
	// Rounded pairs (human, judge) by hand: (2,3) (3,2) (3,4) (5,5) (6,7)
	// (6,6) (7,8) (8,9) (8,7) (9,10) (10,10) (5,6).
	want := [][3]int{{2, 3, 1}, {3, 2, 1}, {3, 4, 1}, {5, 5, 1}, {5, 6, 1}, {6, 7, 1}, {6, 6, 1}, {7, 8, 1}, {8, 9, 1}, {8, 7, 1}, {9, 10, 1}, {10, 10, 1}}
	sum := 0
	for _, w := range want {
		if got := r.Confusion[w[0]][w[1]]; got != w[2] {
			t.Errorf("Confusion[%d][%d] = %d, want %d", w[0], w[1], got, w[2])
		}
	}
	for h := range r.Confusion {
		for j := range r.Confusion[h] {
			sum += r.Confusion[h][j]
		}
	}
	if sum != len(human) {
		t.Errorf("confusion table holds %d examples, want %d", sum, len(human))
	}
}

func TestJudgeUndefinedStatistics(t *testing.T) {
	// A judge that gives everything 5: correlations and QWK are undefined
	// (SciPy and scikit-learn give nan too), the rest is not.
	r, err := calibrate.Judge(context.Background(), newScripted(single(5, 5, 5)...), examples(3, 5, 8))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if !math.IsNaN(r.Spearman) || !math.IsNaN(r.Pearson) {
		t.Errorf("Spearman, Pearson = %v, %v; want NaN, NaN", r.Spearman, r.Pearson)
	}
	if !math.IsNaN(r.QWK) || !r.ConstantJudge || r.ConstantHuman { // a constant side: no agreement to measure
		t.Errorf("QWK = %v, ConstantJudge %v, ConstantHuman %v; want NaN, true, false", r.QWK, r.ConstantJudge, r.ConstantHuman)
	}
	// Differences 2, 0, −3.
	if !near(r.MAE, 5.0/3) || !near(r.Bias, -1.0/3) {
		t.Errorf("MAE, Bias = %v, %v; want %v, %v", r.MAE, r.Bias, 5.0/3, -1.0/3)
	}
}

// TestJudgeRepeats: per-example sample standard deviations by hand (and
// numpy.std(ddof=1)): [3,4,5] → 1, [6,6,6] → 0, [2,3] → √0.5 =
// 0.7071067811865476; mean 0.5690355937288492. Only [6,6,6] rounds the same
// every time. Example 2's third call fails: a partial failure, reported.
func TestJudgeRepeats(t *testing.T) {
	j := newScripted([]float64{3, 4, 5}, []float64{6, 6, 6}, []float64{2, 3, math.NaN()})
	r, err := calibrate.Judge(context.Background(), j, examples(4, 6, 2), calibrate.WithRepeats(3))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if !near(r.RepeatSD, 0.5690355937288492) {
		t.Errorf("RepeatSD = %.16g, want 0.5690355937288492", r.RepeatSD)
	}
	if !near(r.RepeatAgreement, 1.0/3) {
		t.Errorf("RepeatAgreement = %v, want 1/3", r.RepeatAgreement)
	}
	if len(r.Failures) != 1 || r.Failures[0].Index != 2 || !strings.Contains(r.Failures[0].Err.Error(), "judge down on answer 2") {
		t.Errorf("Failures = %v, want one for example 2", r.Failures)
	}
	if r.N != 3 || r.Repeats != 3 {
		t.Errorf("N, Repeats = %d, %d; want 3, 3", r.N, r.Repeats)
	}
	if got := r.Scores[2]; !near(got.Judge, 2.5) || len(got.Runs) != 2 {
		t.Errorf("example 2: judge %v from %v, want 2.5 from two runs", got.Judge, got.Runs)
	}
	if r.Usage.InputTokens != 80 {
		t.Errorf("Usage.InputTokens = %d, want 80 (8 successful judgements)", r.Usage.InputTokens)
	}
}

func TestJudgeFailures(t *testing.T) {
	t.Run("every example fails", func(t *testing.T) {
		down := errors.New("judge down")
		j := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) { return nil, down })
		r, err := calibrate.Judge(context.Background(), j, examples(1, 2, 3))
		if !errors.Is(err, down) {
			t.Fatalf("err = %v, want it to wrap the judge's error", err)
		}
		if r == nil || len(r.Failures) != 3 || r.N != 0 {
			t.Fatalf("report = %+v, want 3 failures and N 0", r)
		}
	})
	t.Run("bad verdicts and panics are failures", func(t *testing.T) {
		j := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
			switch a {
			case "answer 0":
				return nil, nil
			case "answer 1":
				return &refine.Verdict{Score: 11}, nil
			case "answer 2":
				panic("boom")
			}
			return &refine.Verdict{Score: 5}, nil
		})
		r, err := calibrate.Judge(context.Background(), j, examples(1, 2, 3, 4))
		if err != nil {
			t.Fatalf("Judge: %v", err)
		}
		wants := []string{"no verdict", "judge score 11 is outside 0..10", "panicked: boom"}
		if len(r.Failures) != len(wants) {
			t.Fatalf("Failures = %v, want %d", r.Failures, len(wants))
		}
		for i, w := range wants {
			if f := r.Failures[i]; f.Index != i || !strings.Contains(f.Err.Error(), w) {
				t.Errorf("Failures[%d] = %v, want example %d: %q", i, f, i, w)
			}
		}
		if r.N != 1 || r.Scores[0].Index != 3 {
			t.Errorf("scored %d examples (%v), want only example 3", r.N, r.Scores)
		}
	})
	t.Run("unreadable verdict usage is counted", func(t *testing.T) {
		j := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
			if a == "answer 0" {
				return nil, &refine.VerdictError{Raw: "?", Reason: "no score", Usage: refine.Usage{InputTokens: 7}}
			}
			return &refine.Verdict{Score: 5, Usage: refine.Usage{InputTokens: 3}}, nil
		})
		r, err := calibrate.Judge(context.Background(), j, examples(1, 2))
		if err != nil {
			t.Fatalf("Judge: %v", err)
		}
		if r.Usage.InputTokens != 10 {
			t.Errorf("Usage.InputTokens = %d, want 10", r.Usage.InputTokens)
		}
	})
}

func TestJudgeBadInput(t *testing.T) {
	withRef := examples(5, 5)
	withRef[1].Reference = "Paris"
	blank := examples(5, 5, 5)
	blank[2].Query = "  "
	tests := []struct {
		name string
		data []calibrate.Example
		opts []calibrate.Option
		want string
		is   error
	}{
		{"empty", nil, nil, "no examples", calibrate.ErrInvalidData},
		{"above 10", examples(5, 5, 5, 11), nil, "example 3: human score 11 is outside 0..10", calibrate.ErrInvalidData},
		{"negative", examples(-1), nil, "example 0: human score -1", calibrate.ErrInvalidData},
		{"NaN", examples(5, math.NaN()), nil, "example 1: human score NaN", calibrate.ErrInvalidData},
		{"blank query", blank, nil, "example 2: the query is empty", calibrate.ErrInvalidData},
		{"reference without judge", withRef, nil, "example 1 has a reference", calibrate.ErrInvalidData},
		{"repeats 0", examples(5), []calibrate.Option{calibrate.WithRepeats(0)}, "WithRepeats(0)", refine.ErrInvalidOption},
		{"concurrency 0", examples(5), []calibrate.Option{calibrate.WithConcurrency(0)}, "WithConcurrency(0)", refine.ErrInvalidOption},
		{"good 0", examples(5), []calibrate.Option{calibrate.WithGoodScore(0)}, "WithGoodScore(0)", refine.ErrInvalidOption},
		{"nil reference judge", withRef, []calibrate.Option{calibrate.WithReferenceJudge(func(string) refine.Judge { return nil })}, "nil judge for example 1", refine.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newScripted(single(5, 5, 5, 5)...)
			r, err := calibrate.Judge(context.Background(), j, tt.data, tt.opts...)
			if !errors.Is(err, tt.is) || !strings.Contains(fmt.Sprint(err), tt.want) {
				t.Fatalf("err = %v, want %v naming %q", err, tt.is, tt.want)
			}
			if r != nil {
				t.Errorf("report = %+v, want nil", r)
			}
			if n := j.total.Load(); n != 0 {
				t.Errorf("judge called %d times, want 0", n)
			}
		})
	}
}

func TestJudgeReferenceJudge(t *testing.T) {
	data := examples(8, 3)
	data[1].Reference = "서울"
	var refs []string
	plain := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: 8}, nil
	})
	r, err := calibrate.Judge(context.Background(), plain, data, calibrate.WithReferenceJudge(func(ref string) refine.Judge {
		refs = append(refs, ref) // called before any judgement, on Judge's goroutine
		return refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
			return &refine.Verdict{Score: 2}, nil
		})
	}))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if fmt.Sprint(refs) != "[서울]" {
		t.Errorf("reference judges built for %v, want [서울]", refs)
	}
	if r.Scores[0].Judge != 8 || r.Scores[1].Judge != 2 {
		t.Errorf("scores = %v, %v; want 8 from the plain judge, 2 from the reference judge", r.Scores[0].Judge, r.Scores[1].Judge)
	}
}

func TestJudgeConcurrencyAndProgress(t *testing.T) {
	const limit = 3
	var inFlight, peak atomic.Int32
	entered := make(chan struct{}, 20)
	release := make(chan struct{})
	j := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		return &refine.Verdict{Score: 5}, nil
	})
	var seen []int
	done := make(chan error)
	go func() {
		_, err := calibrate.Judge(context.Background(), j, examples(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
			calibrate.WithConcurrency(limit), calibrate.WithRepeats(2),
			calibrate.WithProgress(func(done, total int) {
				if total != 20 {
					t.Errorf("progress total = %d, want 20", total)
				}
				seen = append(seen, done) // calls come one at a time
			}))
		done <- err
	}()
	for range limit {
		<-entered
	}
	// With limit judgements held, no other may start. Waiting a little
	// gives a broken limit the chance to show; a correct one passes anyway.
	select {
	case <-entered:
		t.Errorf("judgement %d started while %d were in flight", limit+1, limit)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if p := peak.Load(); p > limit {
		t.Errorf("%d judgements in flight, want at most %d", p, limit)
	}
	if len(seen) != 20 || seen[0] != 1 || seen[19] != 20 {
		t.Errorf("progress = %v, want 1..20", seen)
	}
}

func TestJudgeProgressPanics(t *testing.T) {
	calls := 0
	r, err := calibrate.Judge(context.Background(), newScripted(single(1, 2, 3)...), examples(1, 2, 3),
		calibrate.WithConcurrency(1),
		calibrate.WithProgress(func(done, total int) {
			calls++
			panic("progress bar broke")
		}))
	if err == nil || !strings.Contains(err.Error(), "WithProgress callback panicked: progress bar broke") {
		t.Fatalf("err = %v, want the callback's panic", err)
	}
	if r == nil || r.N != 3 || calls != 1 {
		t.Errorf("report %v after %d callback calls; want all 3 examples judged and 1 call", r, calls)
	}
}

func TestJudgeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	j := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		if calls.Add(1) == 3 {
			cancel()
			return nil, ctx.Err()
		}
		return &refine.Verdict{Score: 5}, nil
	})
	r, err := calibrate.Judge(ctx, j, examples(1, 2, 3, 4, 5, 6, 7, 8), calibrate.WithConcurrency(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if r == nil || r.N != 2 || len(r.Failures) != 0 {
		t.Fatalf("report = %+v, want the 2 examples judged before the cancel and no failures", r)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("judge called %d times, want 3 (none after the cancel)", n)
	}
}

func TestThreshold(t *testing.T) {
	// (judge, human) pairs; good means human >= 7. Walking down the judge
	// scores, the share of passed answers that are good, by hand:
	//   t=9.5 1/1  t=9 2/3  t=8.5 3/4  t=8 4/6  t=7 5/7  t=6 5/8  t=5 6/9  t=3 6/10
	pairs := [][2]float64{{9.5, 9}, {9, 8}, {9, 5}, {8.5, 8}, {8, 7}, {8, 6}, {7, 7}, {6, 4}, {5, 8}, {3, 2}}
	human, judged := make([]float64, len(pairs)), make([]float64, len(pairs))
	for i, p := range pairs {
		judged[i], human[i] = p[0], p[1]
	}
	r, err := calibrate.Judge(context.Background(), newScripted(single(judged...)...), examples(human...))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	tests := []struct {
		precision float64
		want      float64
	}{
		{0.6, 3},  // every threshold reaches 0.6
		{0.65, 7}, // 5/8 at 6 falls short; 6/9 at 5 does not count below it
		{2.0 / 3, 7},
		{0.7, 9.5}, // 2/3 at 9 falls short
		{1, 9.5},
	}
	for _, tt := range tests {
		got, err := r.Threshold(tt.precision)
		if err != nil || got != tt.want {
			t.Errorf("Threshold(%v) = %v, %v; want %v", tt.precision, got, err, tt.want)
		}
	}
	for _, p := range []float64{0, -1, 1.5, math.NaN()} {
		if _, err := r.Threshold(p); !errors.Is(err, refine.ErrInvalidOption) {
			t.Errorf("Threshold(%v): err = %v, want ErrInvalidOption", p, err)
		}
	}

	// A stricter good cut, 8: t=9.5 1/1, t=9 2/3, t=8.5 3/4, t=8 3/6, t=7 3/7.
	r8, err := calibrate.Judge(context.Background(), newScripted(single(judged...)...), examples(human...), calibrate.WithGoodScore(8))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if got, err := r8.Threshold(0.5); err != nil || got != 8 {
		t.Errorf("good at 8: Threshold(0.5) = %v, %v; want 8", got, err)
	}

	// When the judge's favourite answer is bad, no threshold works.
	bad, err := calibrate.Judge(context.Background(), newScripted(single(10, 5)...), examples(3, 9))
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if _, err := bad.Threshold(0.5); err == nil || !strings.Contains(err.Error(), "no threshold reaches precision 0.5") {
		t.Errorf("Threshold on a backwards judge: err = %v, want no threshold", err)
	}
}

// A constant side is reported the same way whatever its score: Spearman,
// Pearson and QWK NaN, and the side flagged. 9.3 and 8.7 summed gave a
// tiny spread that read as Pearson 0 (issue 20, item 19); means of repeats
// (one repeat failing) differ from the score in their last bits.
func TestJudgeConstantSide(t *testing.T) {
	varied := []float64{1, 3, 4, 6, 8, 9} // six: 9.3 summed six times, over six, is 9.299999999999999
	tests := []struct {
		name       string
		judge      [][]float64
		human      []float64
		opts       []calibrate.Option
		constJudge bool
		constHuman bool
	}{
		{"judge 9.3", single(9.3, 9.3, 9.3, 9.3, 9.3, 9.3), varied, nil, true, false},
		{"judge 0.1", single(0.1, 0.1, 0.1, 0.1, 0.1, 0.1), varied, nil, true, false},
		{"judge 8.7", single(8.7, 8.7, 8.7, 8.7, 8.7, 8.7), varied, nil, true, false},
		{"judge 7", single(7, 7, 7, 7, 7, 7), varied, nil, true, false},
		{"judge 10", single(10, 10, 10, 10, 10, 10), varied, nil, true, false},
		{"judge 9.3 as means of repeats, one failed", [][]float64{{9.3}, {9.3}, {9.3, 9.3, math.NaN()}, {9.3}, {9.3}, {9.3}}, varied,
			[]calibrate.Option{calibrate.WithRepeats(3)}, true, false},
		{"judge 0.7 as means of repeats", [][]float64{{0.7}, {0.7, 0.7, 0.7}, {0.7, 0.7, math.NaN()}, {0.7, 0.7, 0.7}, {0.7}, {0.7}}, varied,
			[]calibrate.Option{calibrate.WithRepeats(3)}, true, false},
		{"people 9.3", single(varied...), []float64{9.3, 9.3, 9.3, 9.3, 9.3, 9.3}, nil, false, true},
		{"people 0.1", single(varied...), []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, nil, false, true},
		{"both 8.7", single(8.7, 8.7, 8.7, 8.7, 8.7, 8.7), []float64{8.7, 8.7, 8.7, 8.7, 8.7, 8.7}, nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := calibrate.Judge(context.Background(), newScripted(tt.judge...), examples(tt.human...), tt.opts...)
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			if !math.IsNaN(r.Spearman) || !math.IsNaN(r.Pearson) || !math.IsNaN(r.QWK) {
				t.Errorf("Spearman, Pearson, QWK = %v, %v, %v; want NaN for each", r.Spearman, r.Pearson, r.QWK)
			}
			if r.ConstantJudge != tt.constJudge || r.ConstantHuman != tt.constHuman {
				t.Errorf("ConstantJudge, ConstantHuman = %v, %v; want %v, %v", r.ConstantJudge, r.ConstantHuman, tt.constJudge, tt.constHuman)
			}
		})
	}
	// Scores that differ, however little, are not constant.
	r, err := calibrate.Judge(context.Background(), newScripted(single(9.3, 9.4, 9.3, 9.4, 9.3, 9.4)...), examples(varied...))
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(r.Pearson) || r.ConstantJudge {
		t.Errorf("judge 9.3/9.4: Pearson %v, ConstantJudge %v; want a number, false", r.Pearson, r.ConstantJudge)
	}
}

// A query with no visible character is bad data, found before any
// judgement (issue 20, item 20), as refine.Run would refuse it.
func TestJudgeBlankQuery(t *testing.T) {
	for _, q := range []string{"", "   ", "\u200b", "\u200b\u200d\ufeff", "\u3164", "\x00"} {
		data := examples(3, 5)
		data[1].Query = q
		j := newScripted(single(3, 5)...)
		_, err := calibrate.Judge(context.Background(), j, data)
		if !errors.Is(err, calibrate.ErrInvalidData) || !strings.Contains(err.Error(), "example 1") {
			t.Errorf("query %q: err = %v, want ErrInvalidData naming example 1", q, err)
		}
		if n := j.total.Load(); n != 0 {
			t.Errorf("query %q: %d judge calls, want 0", q, n)
		}
	}
}
