package eval

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/selfrefine/refine"
)

// summarize aggregates the trials into task outcomes and the report's
// numbers.
func summarize(cfg *compareConfig, nameA, nameB string, results []TaskResult) *Report {
	r := &Report{A: nameA, B: nameB, Tasks: len(results), Repeat: cfg.repeat, Confidence: cfg.confidence, Results: results, CostKnown: true}
	var (
		gainA, gainB           []float64 // per compared task, for Loop arms
		tokA, tokB, usdA, usdB []float64 // per task, every task
		orderAgree, orders     int
		rejudged, rejudgeSame  int
		agreement              float64
	)
	for i := range results {
		res := &results[i]
		res.CostKnown = true
		failed := false
		var wins [2]int
		var gA, gB []float64
		for k := range res.Trials {
			tr := &res.Trials[k]
			res.UsageA = res.UsageA.Add(tr.A.Usage)
			res.UsageB = res.UsageB.Add(tr.B.Usage)
			res.UsageJudge = res.UsageJudge.Add(tr.UsageJudge)
			res.CostA += tr.A.Cost
			res.CostB += tr.B.Cost
			res.CostKnown = res.CostKnown && tr.A.CostKnown && tr.B.CostKnown
			r.CostUpperBound = r.CostUpperBound || tr.A.CostUpperBound || tr.B.CostUpperBound
			if tr.err != nil {
				failed = true
				continue
			}
			orders++
			if tr.Orders[0] == tr.Orders[1] {
				orderAgree++
			}
			switch tr.Winner {
			case refine.WinnerA:
				wins[0]++
			case refine.WinnerB:
				wins[1]++
			}
			if g, ok := gain(tr.A); ok {
				gA = append(gA, g)
			}
			if g, ok := gain(tr.B); ok {
				gB = append(gB, g)
			}
		}
		r.UsageA = r.UsageA.Add(res.UsageA)
		r.UsageB = r.UsageB.Add(res.UsageB)
		r.UsageJudge = r.UsageJudge.Add(res.UsageJudge)
		r.CostA += res.CostA
		r.CostB += res.CostB
		r.CostKnown = r.CostKnown && res.CostKnown
		tokA = append(tokA, float64(res.UsageA.Total()))
		tokB = append(tokB, float64(res.UsageB.Total()))
		usdA = append(usdA, res.CostA)
		usdB = append(usdB, res.CostB)
		if res.Rejudge != "" {
			rejudged++
			if res.Rejudge == res.Trials[0].Winner {
				rejudgeSame++
			}
		}
		if failed {
			res.Outcome, res.Agreement = OutcomeFailed, 0
			r.Failed++
			continue
		}
		switch {
		case wins[0] > wins[1]:
			res.Outcome = refine.WinnerA
			r.WinsA++
		case wins[1] > wins[0]:
			res.Outcome = refine.WinnerB
			r.WinsB++
		default:
			res.Outcome = refine.Tie
			r.Ties++
		}
		same := 0
		for _, tr := range res.Trials {
			if tr.Winner == res.Outcome {
				same++
			}
		}
		res.Agreement = float64(same) / float64(len(res.Trials))
		agreement += res.Agreement
		r.Compared++
		if len(gA) == len(res.Trials) {
			gainA = append(gainA, mean(gA))
		}
		if len(gB) == len(res.Trials) {
			gainB = append(gainB, mean(gB))
		}
	}
	r.WinRateA = Wilson(r.WinsA, r.WinsA+r.WinsB, cfg.confidence)
	r.P = SignTest(r.WinsA, r.WinsB)
	r.OrderAgreement = Wilson(orderAgree, orders, cfg.confidence)
	r.TrialAgreement = 1
	if r.Compared > 0 {
		r.TrialAgreement = agreement / float64(r.Compared)
	}
	if cfg.repeat > 1 {
		ja := Wilson(rejudgeSame, rejudged, cfg.confidence)
		r.JudgeAgreement = &ja
	}
	// Each statistic draws from its own stream, so that adding one does
	// not move the others.
	r.GainA = bootstrapPtr(len(gainA), cfg.confidence, cfg.seed, meanOf(gainA))
	r.GainB = bootstrapPtr(len(gainB), cfg.confidence, cfg.seed+1, meanOf(gainB))
	if sum(tokB) > 0 {
		r.TokenRatio = bootstrapPtr(len(tokA), cfg.confidence, cfg.seed+2, ratioOf(tokA, tokB))
	}
	if r.CostKnown && r.CostB > 0 {
		r.CostRatio = bootstrapPtr(len(usdA), cfg.confidence, cfg.seed+3, ratioOf(usdA, usdB))
	}
	return r
}

// gain is a Loop arm's final score over its first draft's.
func gain(a ArmAnswer) (float64, bool) {
	if a.Score == nil || a.DraftScore == nil {
		return 0, false
	}
	return *a.Score - *a.DraftScore, true
}

func bootstrapPtr(n int, confidence float64, seed uint64, stat func([]int) float64) *Interval {
	if n == 0 {
		return nil
	}
	i := bootstrap(n, confidence, seed, stat)
	if math.IsNaN(i.Low) || math.IsNaN(i.High) {
		return nil
	}
	return &i
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func mean(xs []float64) float64 { return sum(xs) / float64(len(xs)) }

// Significance is the level at which Worse calls a candidate worse, and
// at which `refine compare --fail-if-worse` exits 3.
const Significance = 0.05

// Significant reports whether the sign test rejects "both arms are
// equally good" at the report's level, 1 - Confidence.
func (r *Report) Significant() bool { return r.P < 1-r.Confidence }

// Worse reports whether B — the candidate, when A is the baseline — loses
// significantly: more decisive comparisons go to A and the sign test's p
// is below Significance (0.05), whatever the report's Confidence. It is
// the check of `refine compare --fail-if-worse`.
func (r *Report) Worse() bool { return r.WinsA > r.WinsB && r.P < Significance }

// ErrWorse is returned by CheckNotWorse when the candidate loses
// significantly.
var ErrWorse = errors.New("eval: the candidate is significantly worse than the baseline")

// CheckNotWorse compares candidate against baseline on tasks (as
// Compare(ctx, tasks, judge, baseline, candidate, opts...)) and returns
// the report with an error wrapping ErrWorse when the candidate loses
// significantly (Report.Worse), naming the numbers; it is the one call a
// Go test needs to gate a prompt or model change. Failed tasks do not
// make it fail: check Report.Failed for that.
func CheckNotWorse(ctx context.Context, tasks []Task, judge *refine.PairwiseJudge, baseline, candidate Arm, opts ...CompareOption) (*Report, error) {
	r, err := Compare(ctx, tasks, judge, baseline, candidate, opts...)
	if err != nil {
		return r, err
	}
	if r.Worse() {
		return r, fmt.Errorf("%w: %s", ErrWorse, r.Verdict())
	}
	return r, nil
}

// Verdict says in words what the report's numbers mean, for the first line
// of a report: who wins and whether that is significant, or that the
// tasks are too few to tell, then how many tasks failed.
func (r *Report) Verdict() string {
	conf := pct(r.Confidence)
	decisive := r.WinsA + r.WinsB
	var s string
	switch {
	case r.Compared == 0:
		s = "nothing to compare: no task has an outcome"
	case decisive == 0:
		s = fmt.Sprintf("no difference found: all %d compared tasks are ties", r.Compared)
	case r.Significant():
		w, l, rate := r.A, r.B, r.WinRateA
		if r.WinsB > r.WinsA {
			w, l, rate = r.B, r.A, Interval{1 - r.WinRateA.Estimate, 1 - r.WinRateA.High, 1 - r.WinRateA.Low}
		}
		s = fmt.Sprintf("%s wins significantly: it beats %s in %s of decisive comparisons (%s interval %s–%s, p %s)",
			w, l, pct(rate.Estimate), conf, pct(rate.Low), pct(rate.High), fmtP(r.P))
	case r.WinRateA.Contains(0.5):
		s = fmt.Sprintf("not enough tasks to tell: the %s interval of %s's win rate (%s–%s) spans 50%% (p %s)",
			conf, r.A, pct(r.WinRateA.Low), pct(r.WinRateA.High), fmtP(r.P))
	default:
		s = fmt.Sprintf("leaning %s, but not significant: %s's win rate %s (%s interval %s–%s), p %s",
			lead(r), r.A, pct(r.WinRateA.Estimate), conf, pct(r.WinRateA.Low), pct(r.WinRateA.High), fmtP(r.P))
	}
	s += fmt.Sprintf("; %d of %d tasks compared, %d ties", r.Compared, r.Tasks, r.Ties)
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d failed (not counted)", r.Failed)
	}
	return s
}

func lead(r *Report) string {
	if r.WinsB > r.WinsA {
		return r.B
	}
	return r.A
}

func pct(x float64) string {
	s := fmt.Sprintf("%.1f", 100*x)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}

func fmtP(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return "= " + fmt.Sprintf("%.3g", p)
}
