package calibrate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/selfrefine/refine"
)

// Pair is two answers to one query with the people's preference.
type Pair struct {
	Query, A, B string
	// Human is "A" (A is better), "B" or "tie": the values of
	// refine.WinnerA, refine.WinnerB and refine.Tie.
	Human string
}

// PairReport is how far a pairwise judge agrees with people, and how much
// the order the answers are shown in sways it. A *refine.PairwiseJudge
// judges each pair in both orders; a pair whose two orders disagree is a
// tie (a split decision).
type PairReport struct {
	N int // pairs compared

	// Agreement is the share of pairs where the judge's winner (A, B or
	// tie) is the people's. Kappa is Cohen's kappa of the same: agreement
	// beyond what chance gives (1 perfect, 0 chance). As with Report's
	// QWK, Kappa is NaN when there is no agreement to measure: fewer than
	// two pairs, or a constant side (ConstantJudge, ConstantHuman).
	Agreement, Kappa float64

	// ConstantJudge and ConstantHuman report a side that gave every pair
	// the same winner, with two pairs or more.
	ConstantJudge, ConstantHuman bool

	// OrderConsistency is the share of pairs whose two orders gave the same
	// winner. FirstPositionWins is the share of the 2·N one-order
	// judgements won by the answer shown first: 0.5 or less for an
	// unbiased judge (ties count as no win), 1 for one that always picks
	// the first.
	OrderConsistency, FirstPositionWins float64

	// Ties is the share of pairs the judge called a tie, split decisions
	// included; HumanTies the share the people did.
	Ties, HumanTies float64

	// Confusion[h][j] counts the pairs with human winner h and judge winner
	// j, in the order A, B, tie.
	Confusion [3][3]int

	Results  []PairResult // one per compared pair, in data order
	Failures []Failure    // comparisons that failed (Repeat is always 0)
	Usage    refine.Usage // tokens of every comparison, failed ones included where known
}

// PairResult is one pair's outcome.
type PairResult struct {
	Index  int       // the pair's index in the data
	Human  string    // the people's winner
	Winner string    // the judge's: Comparison.Winner
	Orders [2]string // the judge's winner in each order: Comparison.Orders
}

var outcomes = []string{refine.WinnerA, refine.WinnerB, refine.Tie}

// Pairwise runs j over data and reports how far its preferences agree with
// the human ones, and its position bias. Pairs are compared concurrently
// (WithConcurrency; each comparison makes two calls), with progress through
// WithProgress. WithRepeats, WithGoodScore and WithReferenceJudge apply to
// Judge only and are an error here.
//
// Bad data (an empty set, a blank query, a human winner other than "A", "B"
// or "tie") is reported before any model call as an error wrapping
// ErrInvalidData that names the pair. A failed comparison, a judge that
// fails on every pair, a panic and a ctx that ends are handled as by Judge.
func Pairwise(ctx context.Context, j *refine.PairwiseJudge, data []Pair, opts ...Option) (*PairReport, error) {
	cfg := newConfig(opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if len(cfg.judgeOnly) > 0 {
		return nil, fmt.Errorf("calibrate: %s applies to Judge only, not to Pairwise: %w", cfg.judgeOnly[0], refine.ErrInvalidOption)
	}
	if j == nil {
		return nil, fmt.Errorf("calibrate: Pairwise: the judge is nil: %w", refine.ErrInvalidOption)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no pairs", ErrInvalidData)
	}
	for i, p := range data {
		if err := checkPair(p); err != nil {
			return nil, fmt.Errorf("%w: pair %d: %v", ErrInvalidData, i, err)
		}
	}

	results := make([]*PairResult, len(data))
	var (
		mu       sync.Mutex
		failures []Failure
		usage    refine.Usage
		done     int
		complete int
	)
	progress, progressErr := cfg.reporter()
	work(ctx, len(data), cfg.concurrency, func(i int) {
		c, u, err := compare(ctx, j, data[i])
		mu.Lock()
		defer mu.Unlock()
		usage = usage.Add(u)
		switch {
		case err == nil:
			results[i] = &PairResult{Index: i, Human: data[i].Human, Winner: c.Winner, Orders: c.Orders}
			complete++
		case ctx.Err() == nil:
			failures = append(failures, Failure{Index: i, Err: err})
			complete++
		}
		done++
		progress(done, len(data))
	})

	slices.SortFunc(failures, func(a, b Failure) int { return a.Index - b.Index })
	r := newPairReport(results)
	r.Failures, r.Usage = failures, usage
	if *progressErr != nil {
		return r, *progressErr
	}
	if complete < len(data) {
		return r, fmt.Errorf("calibrate: stopped after %d of %d comparisons: %w", complete, len(data), context.Cause(ctx))
	}
	if r.N == 0 {
		f := failures[0]
		return r, fmt.Errorf("calibrate: the judge failed on every pair (%d failures); pair %d: %w", len(failures), f.Index, f.Err)
	}
	return r, nil
}

func checkPair(p Pair) error {
	if refine.IsBlank(p.Query) {
		return fmt.Errorf("the query is empty: %s has no visible character", quoteShort(p.Query))
	}
	if !slices.Contains(outcomes, p.Human) {
		return fmt.Errorf("human winner %q: want %q, %q or %q", p.Human, refine.WinnerA, refine.WinnerB, refine.Tie)
	}
	return nil
}

// compare makes one comparison; a panic comes back as an error.
func compare(ctx context.Context, j *refine.PairwiseJudge, p Pair) (c *refine.Comparison, u refine.Usage, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("calibrate: the pairwise judge panicked: %v\n%s", r, debug.Stack())
		}
	}()
	c, err = j.Compare(ctx, p.Query, p.A, p.B)
	if c != nil {
		u = c.Usage
	}
	if err != nil {
		if u == (refine.Usage{}) {
			u = refine.UsageOf(err) // a failed call's tokens, where its error carries them
		}
		return nil, u, err
	}
	if c == nil {
		return nil, u, errors.New("the judge returned no comparison")
	}
	if !slices.Contains(outcomes, c.Winner) {
		return nil, u, fmt.Errorf("the judge returned winner %q", c.Winner)
	}
	return c, u, nil
}

func newPairReport(results []*PairResult) *PairReport {
	r := &PairReport{}
	var human, judge []int
	var agree, consistent, firstWins, ties, humanTies int
	for _, res := range results {
		if res == nil {
			continue
		}
		r.Results = append(r.Results, *res)
		h, w := slices.Index(outcomes, res.Human), slices.Index(outcomes, res.Winner)
		human, judge = append(human, h), append(judge, w)
		r.Confusion[h][w]++
		if h == w {
			agree++
		}
		if res.Orders[0] == res.Orders[1] {
			consistent++
		}
		// Orders[0] was judged with A shown first, Orders[1] with B first.
		if res.Orders[0] == refine.WinnerA {
			firstWins++
		}
		if res.Orders[1] == refine.WinnerB {
			firstWins++
		}
		if res.Winner == refine.Tie {
			ties++
		}
		if res.Human == refine.Tie {
			humanTies++
		}
	}
	r.N = len(r.Results)
	n := float64(r.N)
	r.Agreement = float64(agree) / n
	sameInt := func(xs []int) bool { return !slices.ContainsFunc(xs, func(x int) bool { return x != xs[0] }) }
	r.ConstantJudge = r.N >= 2 && sameInt(judge)
	r.ConstantHuman = r.N >= 2 && sameInt(human)
	if r.N < 2 || r.ConstantJudge || r.ConstantHuman {
		r.Kappa = math.NaN()
	} else {
		r.Kappa = cohenKappa(human, judge, len(outcomes))
	}
	r.OrderConsistency = float64(consistent) / n
	r.FirstPositionWins = float64(firstWins) / (2 * n)
	r.Ties, r.HumanTies = float64(ties)/n, float64(humanTies)/n
	return r
}

// String formats the report for people.
func (r *PairReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pairs               %d compared", r.N)
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, ", %d failed", len(r.Failures))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "agreement           %.0f%%\n", 100*r.Agreement)
	fmt.Fprintf(&b, "kappa               %.3f\n", r.Kappa)
	fmt.Fprintf(&b, "order consistency   %.0f%%\n", 100*r.OrderConsistency)
	fmt.Fprintf(&b, "first position wins %.0f%%\n", 100*r.FirstPositionWins)
	fmt.Fprintf(&b, "ties                %.0f%% (people %.0f%%)\n", 100*r.Ties, 100*r.HumanTies)
	b.WriteString("confusion (rows human, columns judge)\n          A    B  tie\n")
	for h, name := range outcomes {
		fmt.Fprintf(&b, "  %-4s %4d %4d %4d\n", name, r.Confusion[h][0], r.Confusion[h][1], r.Confusion[h][2])
	}
	return b.String()
}
