// Package calibrate measures how far a judge agrees with people.
//
// A refine loop is only as good as its judge: a lenient judge stops too
// early, a noisy one keeps a worse answer, a pairwise judge with a position
// bias prefers whatever it reads first. Before trusting a judge (and a
// threshold) with real work, run it over answers your team has labelled:
//
//	report, err := calibrate.Judge(ctx, judge, examples)
//	fmt.Print(report)
//	threshold, err := report.Threshold(0.9) // passes are good 90% of the time
//	loop, err := refine.New(refine.WithJudge(judge), refine.WithThreshold(threshold))
//
// Judge scores answers on the 0–10 scale and reports correlation (Spearman,
// Pearson), error (MAE, Bias), agreement on rounded scores (QWK, WithinOne,
// a confusion table) and, with WithRepeats, how consistent the judge is with
// itself. Pairwise does the same for a *refine.PairwiseJudge against human
// preferences, including its position bias. ReadExamples and ReadMTBench
// load labelled data.
//
// Every statistic is computed here with the standard library; the tests
// check each against values computed independently with SciPy and
// scikit-learn.
package calibrate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/selfrefine/refine"
)

// ErrInvalidData is wrapped by errors about the labelled data: a human score
// outside 0..10, an unknown winner, an empty data set, a line that is not
// valid JSON. The message names the example (its index in the slice) or the
// line of the file.
var ErrInvalidData = errors.New("calibrate: invalid data")

// Example is one answer with a human score.
type Example struct {
	Query  string `json:"query"`
	Answer string `json:"answer"`
	// Reference is a reference answer for the judge to grade against. An
	// example with one needs WithReferenceJudge.
	Reference string `json:"reference,omitempty"`
	// Human is the people's score, 0..10 like the judge's. Fractions are
	// fine (the mean of several raters); QWK and the confusion table round
	// it.
	Human float64 `json:"human"`
}

// Option configures Judge and Pairwise.
type Option func(*config)

type config struct {
	concurrency int
	repeats     int
	good        float64
	progress    func(done, total int)
	refJudge    func(reference string) refine.Judge
	judgeOnly   []string // options given that apply to Judge only
	err         error
}

func newConfig(opts []Option) *config {
	c := &config{concurrency: 4, repeats: 1, good: 7}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

func (c *config) fail(option string, value any, why string) {
	if c.err == nil {
		c.err = fmt.Errorf("calibrate: %s(%v): %s: %w", option, value, why, refine.ErrInvalidOption)
	}
}

// WithConcurrency sets how many examples (or pairs) are judged at once;
// default 4. A PairwiseJudge makes two calls per pair, so Pairwise has up
// to 2n calls in flight. n must be between 1 and 64.
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n < 1 || n > 64 {
			c.fail("WithConcurrency", n, "must be between 1 and 64")
		}
		c.concurrency = n
	}
}

// WithRepeats judges every example k times (default 1), to measure how
// consistent the judge is with itself (Report.RepeatSD, RepeatAgreement).
// The example's judge score is then the mean of its repeats. k must be
// between 1 and 100. Judge only.
func WithRepeats(k int) Option {
	return func(c *config) {
		if k < 1 || k > 100 {
			c.fail("WithRepeats", k, "must be between 1 and 100")
		}
		c.repeats = k
		c.judgeOnly = append(c.judgeOnly, "WithRepeats")
	}
}

// WithGoodScore sets the human score at and above which an answer counts as
// good for Report.Threshold; default 7. It must be within (0, 10]. Judge
// only.
func WithGoodScore(score float64) Option {
	return func(c *config) {
		if !(score > 0 && score <= 10) {
			c.fail("WithGoodScore", score, "must be within (0, 10]")
		}
		c.good = score
		c.judgeOnly = append(c.judgeOnly, "WithGoodScore")
	}
}

// WithProgress calls fn after each judgement with the number done (failed
// ones included) and the total: examples × repeats for Judge, pairs for
// Pairwise. Calls come one at a time, from the goroutines doing the work;
// fn should return quickly.
func WithProgress(fn func(done, total int)) Option {
	return func(c *config) { c.progress = fn }
}

// reporter returns the function that reports progress, and where a panic
// in the user's callback ends up: it stops reporting, and the caller returns
// it as an error once the work is done.
func (c *config) reporter() (func(done, total int), *error) {
	var err error
	return func(done, total int) {
		if c.progress == nil || err != nil {
			return
		}
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("calibrate: the WithProgress callback panicked: %v\n%s", p, debug.Stack())
			}
		}()
		c.progress(done, total)
	}, &err
}

// WithReferenceJudge gives Judge the judge for examples that have a
// Reference: fn(reference) is called once per such example, before any
// model call, and must return a judge (typically
// refine.NewLLMJudge(p, refine.WithReference(reference))). Examples without
// a reference use the judge given to Judge. Without this option an example
// with a reference is an error, so that a reference is never silently
// ignored. Judge only.
func WithReferenceJudge(fn func(reference string) refine.Judge) Option {
	return func(c *config) {
		if fn == nil {
			c.fail("WithReferenceJudge", "nil", "must not be nil")
		}
		c.refJudge = fn
		c.judgeOnly = append(c.judgeOnly, "WithReferenceJudge")
	}
}

// Report is how far a judge agrees with the human scores. The statistics
// compare each example's judge score (the mean of its repeats) with its
// human score, over the N examples that were scored at least once.
//
// Spearman, Pearson and QWK are NaN when there is no agreement to
// measure: fewer than two examples, or a constant side — the judge (or
// the people) giving every example the same score, whatever that score
// is (equal within a relative 1e-9, so that means of repeats compare
// alike). ConstantJudge and ConstantHuman say which side was constant.
// For QWK this differs from scikit-learn, which gives 0 when one rater
// is constant and the other not: a judge that does not discriminate is
// reported as such, not as chance-level.
type Report struct {
	N int // examples scored

	// ConstantJudge and ConstantHuman report a side that gave every
	// scored example the same score, with two examples or more (see
	// above): Spearman, Pearson and QWK are then NaN.
	ConstantJudge, ConstantHuman bool

	// Spearman is the rank correlation (ties get their average rank):
	// whether the judge orders answers as people do. Pearson is the linear
	// correlation of the scores themselves.
	Spearman, Pearson float64

	// MAE is the mean |judge − human|; Bias the mean (judge − human): > 0
	// means a lenient judge, one whose threshold should be set higher.
	MAE, Bias float64

	// QWK is the quadratic weighted kappa of the scores rounded to 0..10:
	// 1 is perfect agreement, 0 what chance gives, and a disagreement costs
	// the square of its distance.
	QWK float64

	// WithinOne is the share of examples whose judge score is within one
	// point of the human score.
	WithinOne float64

	// Confusion[h][j] counts the examples whose human score rounds to h and
	// whose judge score rounds to j.
	Confusion [11][11]int

	// Repeats is the number of times each example was judged (WithRepeats).
	Repeats int

	// Self-consistency, over the examples scored at least twice (both 0
	// when Repeats is 1). RepeatSD is the mean of their scores' sample
	// standard deviation: the judge's noise, in score points.
	// RepeatAgreement is the share of them that got the same rounded score
	// every time.
	RepeatSD, RepeatAgreement float64

	// GoodScore is the human score at and above which an answer is good
	// (WithGoodScore), as Threshold uses it.
	GoodScore float64

	Scores   []Score      // one per scored example, in data order
	Failures []Failure    // judgements that failed, in data order
	Usage    refine.Usage // tokens of every judgement, failed ones included where known
}

// Score is one example's outcome.
type Score struct {
	Index int       // the example's index in the data
	Human float64   // its human score
	Judge float64   // the mean of Runs
	Runs  []float64 // the judge's score in each successful repeat
}

// Failure is a judgement that failed: the judge returned an error, no
// verdict, or a score outside 0..10. Failures are reported, not fatal; an
// example whose every repeat failed is left out of the statistics.
type Failure struct {
	Index  int // the example's (or pair's) index in the data
	Repeat int // which repeat, from 0
	Err    error
}

// String says which item failed and why: "data[3]: …", or "data[3],
// repeat 2: …" for a repeat after the first.
func (f Failure) String() string {
	if f.Repeat > 0 {
		return fmt.Sprintf("data[%d], repeat %d: %v", f.Index, f.Repeat, f.Err)
	}
	return fmt.Sprintf("data[%d]: %v", f.Index, f.Err)
}

// Judge runs j over data and reports how far its scores agree with the
// human ones. Examples are judged concurrently (WithConcurrency), each
// WithRepeats times.
//
// Bad data (an empty set, a blank query, a human score outside 0..10, a
// reference without WithReferenceJudge) is reported before any model call
// as an error wrapping ErrInvalidData that names the example. A judgement
// that fails is recorded in Report.Failures and the run goes on; if every
// one fails, Judge returns the Report (with the failures and the usage) and
// an error wrapping the first failure. If ctx ends, Judge stops starting
// judgements and returns the Report of those done with ctx's error. A
// panic in the judge is that judgement's failure; one in the WithProgress
// callback ends the progress reports and comes back, after the work, as the
// error returned with the Report.
func Judge(ctx context.Context, j refine.Judge, data []Example, opts ...Option) (*Report, error) {
	cfg := newConfig(opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if j == nil {
		return nil, fmt.Errorf("calibrate: Judge: the judge is nil: %w", refine.ErrInvalidOption)
	}
	judges, err := checkExamples(data, j, cfg)
	if err != nil {
		return nil, err
	}

	runs := make([][]float64, len(data))
	var (
		mu       sync.Mutex
		failures []Failure
		usage    refine.Usage
		done     int // judgements returned, cut off ones included
		complete int // judgements that got a verdict or a failure of their own
	)
	total := len(data) * cfg.repeats
	progress, progressErr := cfg.reporter()
	work(ctx, total, cfg.concurrency, func(job int) {
		i, rep := job/cfg.repeats, job%cfg.repeats
		v, u, err := evaluate(ctx, judges[i], data[i].Query, data[i].Answer)
		mu.Lock()
		defer mu.Unlock()
		usage = usage.Add(u)
		switch {
		case err == nil:
			runs[i] = append(runs[i], v.Score)
			complete++
		case ctx.Err() == nil: // a judgement cut off by ctx is not the judge's failure
			failures = append(failures, Failure{Index: i, Repeat: rep, Err: err})
			complete++
		}
		done++
		progress(done, total)
	})

	slices.SortFunc(failures, func(a, b Failure) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return a.Repeat - b.Repeat
	})
	r := newReport(data, runs, cfg)
	r.Failures, r.Usage = failures, usage
	if *progressErr != nil {
		return r, *progressErr
	}
	if complete < total {
		return r, fmt.Errorf("calibrate: stopped after %d of %d judgements: %w", complete, total, context.Cause(ctx))
	}
	if r.N == 0 {
		f := failures[0]
		return r, fmt.Errorf("calibrate: the judge failed on every example (%d failures); example %d: %w", len(failures), f.Index, f.Err)
	}
	return r, nil
}

// checkExamples validates data before any model call and picks each
// example's judge.
func checkExamples(data []Example, j refine.Judge, cfg *config) ([]refine.Judge, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no examples", ErrInvalidData)
	}
	judges := make([]refine.Judge, len(data))
	for i, ex := range data {
		if err := checkExample(ex); err != nil {
			return nil, fmt.Errorf("%w: example %d: %v", ErrInvalidData, i, err)
		}
		judges[i] = j
		if ex.Reference == "" {
			continue
		}
		if cfg.refJudge == nil {
			return nil, fmt.Errorf("%w: example %d has a reference answer, but no WithReferenceJudge was given to judge with it", ErrInvalidData, i)
		}
		if judges[i] = cfg.refJudge(ex.Reference); judges[i] == nil {
			return nil, fmt.Errorf("calibrate: WithReferenceJudge returned a nil judge for example %d: %w", i, refine.ErrInvalidOption)
		}
	}
	return judges, nil
}

func checkExample(ex Example) error {
	if refine.IsBlank(ex.Query) {
		return fmt.Errorf("the query is empty: %s has no visible character", quoteShort(ex.Query))
	}
	return checkScore("human score", ex.Human)
}

func checkScore(what string, s float64) error {
	if !(s >= 0 && s <= 10) {
		return fmt.Errorf("%s %v is outside 0..10", what, s)
	}
	return nil
}

// evaluate makes one judgement. A panic in the judge comes back as an
// error, and the usage of a failed judgement is kept where the error
// carries it.
func evaluate(ctx context.Context, j refine.Judge, query, answer string) (v *refine.Verdict, u refine.Usage, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("calibrate: the judge panicked: %v\n%s", p, debug.Stack())
		}
	}()
	v, err = j.Evaluate(ctx, query, answer)
	if v != nil {
		u = v.Usage
	}
	if err != nil {
		if u == (refine.Usage{}) {
			u = refine.UsageOf(err) // a failed call's tokens, where its error carries them
		}
		return nil, u, err
	}
	if v == nil {
		return nil, u, errors.New("the judge returned no verdict")
	}
	if err := checkScore("judge score", v.Score); err != nil {
		return nil, u, err
	}
	return v, u, nil
}

// work calls fn(job) for job = 0..total-1 on at most n goroutines, and
// returns when every started call has returned. Once ctx is done no new job
// starts.
func work(ctx context.Context, total, n int, fn func(job int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(n, total) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if ctx.Err() != nil { // the send may have won the race with ctx.Done
					continue
				}
				fn(job)
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)
	for job := range total {
		if ctx.Err() != nil {
			return
		}
		select {
		case jobs <- job:
		case <-ctx.Done():
			return
		}
	}
}

func newReport(data []Example, runs [][]float64, cfg *config) *Report {
	r := &Report{Repeats: cfg.repeats, GoodScore: cfg.good}
	var human, judge []float64
	var sdSum float64
	var repeated, agreed int
	for i, rs := range runs {
		if len(rs) == 0 {
			continue
		}
		m := mean(rs)
		r.Scores = append(r.Scores, Score{Index: i, Human: data[i].Human, Judge: m, Runs: rs})
		human = append(human, data[i].Human)
		judge = append(judge, m)
		if len(rs) >= 2 {
			repeated++
			sdSum += stddev(rs)
			if allSame(rs) {
				agreed++
			}
		}
	}
	r.N = len(r.Scores)
	if r.N == 0 {
		r.Spearman, r.Pearson, r.QWK = math.NaN(), math.NaN(), math.NaN()
		return r
	}
	var absSum, diffSum float64
	within := 0
	hr, jr := make([]int, r.N), make([]int, r.N)
	for k := range r.N {
		d := judge[k] - human[k]
		diffSum += d
		absSum += math.Abs(d)
		if math.Abs(d) <= 1+1e-9 {
			within++
		}
		hr[k], jr[k] = roundScore(human[k]), roundScore(judge[k])
		r.Confusion[hr[k]][jr[k]]++
	}
	n := float64(r.N)
	r.MAE, r.Bias, r.WithinOne = absSum/n, diffSum/n, float64(within)/n
	r.ConstantJudge, r.ConstantHuman = r.N >= 2 && constant(judge), r.N >= 2 && constant(human)
	r.Pearson = pearson(judge, human)
	r.Spearman = spearman(judge, human)
	if r.N < 2 || r.ConstantJudge || r.ConstantHuman {
		r.QWK = math.NaN()
	} else {
		r.QWK = quadraticKappa(hr, jr, 11)
	}
	if repeated > 0 {
		r.RepeatSD = sdSum / float64(repeated)
		r.RepeatAgreement = float64(agreed) / float64(repeated)
	}
	return r
}

func allSame(xs []float64) bool {
	for _, x := range xs[1:] {
		if roundScore(x) != roundScore(xs[0]) {
			return false
		}
	}
	return true
}

// roundScore rounds a 0..10 score to the nearest integer, halves up.
func roundScore(s float64) int {
	return int(math.Floor(s + 0.5))
}

// String formats the report for people: the statistics, then the confusion
// table over the scores that occur.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "examples      %d scored", r.N)
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, ", %d judgements failed", len(r.Failures))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "spearman      %.3f\n", r.Spearman)
	fmt.Fprintf(&b, "pearson       %.3f\n", r.Pearson)
	fmt.Fprintf(&b, "MAE           %.2f\n", r.MAE)
	switch {
	case r.Bias >= 0.005:
		fmt.Fprintf(&b, "bias          %+.2f (lenient)\n", r.Bias)
	case r.Bias <= -0.005:
		fmt.Fprintf(&b, "bias          %+.2f (strict)\n", r.Bias)
	default:
		fmt.Fprintf(&b, "bias          %.2f\n", math.Abs(r.Bias))
	}
	fmt.Fprintf(&b, "QWK           %.3f\n", r.QWK)
	if r.ConstantJudge {
		b.WriteString("              (the judge gave every example the same score: no correlation or kappa)\n")
	}
	if r.ConstantHuman {
		b.WriteString("              (the people gave every example the same score: no correlation or kappa)\n")
	}
	fmt.Fprintf(&b, "within one    %.0f%%\n", 100*r.WithinOne)
	if r.Repeats > 1 {
		fmt.Fprintf(&b, "repeats       %d: sd %.2f, same rounded score %.0f%%\n", r.Repeats, r.RepeatSD, 100*r.RepeatAgreement)
	}
	lo, hi := 10, 0
	for h := range 11 {
		for j := range 11 {
			if r.Confusion[h][j] > 0 {
				lo, hi = min(lo, h, j), max(hi, h, j)
			}
		}
	}
	if lo > hi {
		return b.String()
	}
	b.WriteString("confusion (rows human, columns judge)\n     ")
	for j := lo; j <= hi; j++ {
		fmt.Fprintf(&b, "%3d", j)
	}
	b.WriteString("\n")
	for h := lo; h <= hi; h++ {
		fmt.Fprintf(&b, "  %2d ", h)
		for j := lo; j <= hi; j++ {
			if c := r.Confusion[h][j]; c > 0 {
				fmt.Fprintf(&b, "%3d", c)
			} else {
				b.WriteString("  .")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// quoteShort quotes s for an error, cut to its first 20 characters: a
// blank query of a megabyte of spaces says enough in 20.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 20 {
		return strconv.Quote(string(r[:20])) + "…"
	}
	return strconv.Quote(s)
}
