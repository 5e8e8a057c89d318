package refinetest

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/selfrefine/refine"
)

// TestStop checks that s behaves as the loop needs a stop condition to:
//
//   - it does not panic, on the zero Progress or on the one the loop gives
//     in its check before the first call (no attempts, Best -1), priced
//     or not;
//   - in that first check, with prices, it does not fail: a condition that
//     does would refuse every run (failing without prices is allowed; that
//     is how CostBudget refuses an unpriced run);
//   - it is deterministic and keeps no state: each Progress of a scripted
//     run gets the same answer (reason, and whether it failed) in order,
//     in reverse order, and from 8 goroutines at once (run under -race);
//   - it does not modify the Progress it is given (Attempts included);
//   - it never returns a reason together with an error (the loop could
//     not tell which one holds);
//   - when it implements refine.Validator, Validate returns nil: TestStop
//     is for a condition ready to use.
//
// It returns nil or an error joining every violation found (errors.Join).
func TestStop(s refine.StopCondition) error {
	if s == nil {
		return errors.New("refinetest.TestStop: the condition is nil")
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("refinetest.TestStop: "+format, args...))
	}
	if v, ok := s.(refine.Validator); ok {
		if err := v.Validate(); err != nil {
			fail("Validate: %v", err)
		}
	}
	type answer struct {
		reason refine.StopReason
		err    error
	}
	check := func(p refine.Progress) (a answer, panicked bool) {
		defer func() {
			if v := recover(); v != nil {
				a, panicked = answer{err: fmt.Errorf("panic: %v\n%s", v, debug.Stack())}, true
			}
		}()
		a.reason, a.err = s.Check(p)
		return a, false
	}

	// The check before the first call, and the zero Progress.
	first := refine.Progress{Best: -1, Threshold: 8, Priced: true, CostKnown: true}
	if a, panicked := check(first); panicked {
		fail("check before the first call, priced: %v", a.err)
	} else if a.err != nil {
		fail("check before the first call, priced: failed (%v); such a condition refuses every run", a.err)
	}
	unpriced := refine.Progress{Best: -1, Threshold: 8}
	if a, panicked := check(unpriced); panicked {
		fail("check before the first call, unpriced: %v", a.err)
	}
	if a, panicked := check(refine.Progress{}); panicked {
		fail("zero Progress: %v", a.err)
	}

	// A scripted run: answers in order, then again in reverse, then all at
	// once, must agree.
	progress := scriptedProgress()
	same := func(a, b answer) bool { return a.reason == b.reason && (a.err == nil) == (b.err == nil) }
	want := make([]answer, len(progress))
	for i, p := range progress {
		before := cloneProgress(p)
		a, panicked := check(p)
		want[i] = a
		what := describeProgress(i, p)
		switch {
		case panicked:
			fail("%s: %v", what, a.err)
			continue
		case a.err != nil && a.reason != "":
			fail("%s: returned reason %q and error %v; return one or the other", what, a.reason, a.err)
		}
		if !reflect.DeepEqual(cloneProgress(p), before) {
			fail("%s: modified the Progress it was given", what)
		}
	}
	for i := len(progress) - 1; i >= 0; i-- {
		if a, _ := check(progress[i]); !same(a, want[i]) {
			fail("%s, asked again after later ones: got (%q, %v), first time (%q, %v); a condition must keep no state",
				describeProgress(i, progress[i]), a.reason, a.err, want[i].reason, want[i].err)
		}
	}
	if len(errs) > 0 {
		// A condition already broken in order is not run concurrently: a
		// race it would cause there says nothing new.
		return errors.Join(errs...)
	}
	got := make([][]answer, concurrency)
	var wg sync.WaitGroup
	for g := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range progress {
				a, _ := check(p)
				got[g] = append(got[g], a)
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i, a := range got[g] {
			if !same(a, want[i]) {
				fail("%s, asked from %d goroutines at once: got (%q, %v), alone (%q, %v)",
					describeProgress(i, progress[i]), concurrency, a.reason, a.err, want[i].reason, want[i].err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// scriptedProgress returns what stop conditions see between the rounds of
// runs: one priced run with score distributions, one unpriced run, and one
// with two drafts; each Progress from after the drafts to the last round.
func scriptedProgress() []refine.Progress {
	dist := func(k int) []float64 { // most of the mass on k, the rest on k-1
		d := make([]float64, 11)
		d[k], d[k-1] = 0.7, 0.3
		return d
	}
	type run struct {
		drafts int
		scores []float64
		dists  bool
		priced bool
	}
	var out []refine.Progress
	for _, r := range []run{
		{1, []float64{3, 5, 5, 4, 7, 9}, true, true},
		{1, []float64{6, 6, 6, 6}, false, false},
		{2, []float64{4, 7, 6, 8, 8}, false, true},
	} {
		var attempts []refine.Attempt
		var usage refine.Usage
		var cost float64
		best, bestScore, since := 0, -1.0, 0
		for i, s := range r.scores {
			round := max(0, i-r.drafts+1)
			v := &refine.Verdict{Score: s, Usage: refine.Usage{InputTokens: 300, OutputTokens: 40}, Issues: []string{"an issue"}}
			if r.dists {
				v.Dist, v.Method = dist(int(s)), refine.MethodLogprobs
			}
			a := refine.Attempt{Answer: fmt.Sprintf("answer %d", i), Verdict: v, Round: round,
				Usage: refine.Usage{InputTokens: 500, OutputTokens: 140}, Duration: time.Second, FinishReason: refine.FinishStop}
			if r.priced {
				a.Cost = 0.002
			}
			attempts = append(attempts, a)
			usage = usage.Add(a.Usage)
			cost += a.Cost
			switch {
			case s > bestScore:
				best, bestScore = i, s
				if round > 0 {
					since = 0
				}
			case s == bestScore:
				best = i
				if round > 0 {
					since++
				}
			case round > 0:
				since++
			}
			if i+1 < r.drafts {
				continue // the loop asks only once the drafts are judged
			}
			out = append(out, refine.Progress{
				Round: round, Attempts: attempts[:len(attempts):len(attempts)], Best: best,
				SinceImprovement: since, Usage: usage, Elapsed: time.Duration(i+1) * time.Second,
				Threshold: 8, Cost: cost, CostKnown: r.priced, Priced: r.priced,
			})
		}
	}
	return out
}

func describeProgress(i int, p refine.Progress) string {
	return fmt.Sprintf("Progress %d (round %d, %d attempts, best score %v, priced %v)",
		i+1, p.Round, len(p.Attempts), p.Attempts[p.Best].Verdict.Score, p.Priced)
}

// cloneProgress copies p deeply enough to see a change a condition makes.
func cloneProgress(p refine.Progress) refine.Progress {
	c := p
	c.Attempts = make([]refine.Attempt, len(p.Attempts))
	for i, a := range p.Attempts {
		c.Attempts[i] = a
		if a.Verdict != nil {
			v := *a.Verdict
			v.Issues = append([]string(nil), v.Issues...)
			v.Suggestions = append([]string(nil), v.Suggestions...)
			v.Dist = append([]float64(nil), v.Dist...)
			if v.Criteria != nil {
				v.Criteria = make(map[string]float64, len(a.Verdict.Criteria))
				for k, x := range a.Verdict.Criteria {
					v.Criteria[k] = x
				}
			}
			c.Attempts[i].Verdict = &v
		}
	}
	return c
}
