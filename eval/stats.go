package eval

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Interval is an estimate with the bounds of its confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Contains reports whether x lies within the interval, bounds included.
func (i Interval) Contains(x float64) bool { return i.Low <= x && x <= i.High }

// Wilson returns the Wilson score interval of the proportion successes/n at
// the given confidence (0.95 for 95%). Unlike the textbook p ± z·se it
// stays within [0, 1] and does not collapse to a point at 0 or n
// successes, which is what small evaluations hit. n == 0 gives the
// estimate 0 in [0, 1]: nothing is known. A confidence outside (0, 1), or
// counts with successes outside [0, n], give NaN bounds.
func Wilson(successes, n int, confidence float64) Interval {
	if n == 0 {
		return Interval{Estimate: 0, Low: 0, High: 1}
	}
	if n < 0 || successes < 0 || successes > n || !(confidence > 0 && confidence < 1) {
		return Interval{Estimate: math.NaN(), Low: math.NaN(), High: math.NaN()}
	}
	z := math.Sqrt2 * math.Erfinv(confidence) // two-sided normal quantile
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	d := 1 + z2/nf
	center := (p + z2/(2*nf)) / d
	half := z / d * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return Interval{Estimate: p, Low: math.Max(0, center-half), High: math.Min(1, center+half)}
}

// SignTest returns the two-sided p-value of the exact sign test: the
// probability, were both arms equally good, of a split of the decisive
// comparisons at least as lopsided as wins to losses (ties are dropped
// before calling it). It is the exact binomial test with p = 1/2, which
// is right for the few dozen tasks an evaluation has, where the normal
// approximation is not. SignTest(0, 0) is 1: no evidence either way.
func SignTest(wins, losses int) float64 {
	if wins < 0 || losses < 0 {
		return math.NaN()
	}
	n := wins + losses
	k := min(wins, losses)
	if n == 0 || 2*k == n {
		return 1
	}
	// P(X <= k) for X ~ Binomial(n, 1/2), summed from the largest term
	// (at k, as k < n/2) down by the ratio of successive terms, so that
	// nothing underflows for large n.
	logTop := lchoose(n, k) - float64(n)*math.Ln2
	sum, t := 1.0, 1.0
	for i := k; i > 0; i-- {
		t *= float64(i) / float64(n-i+1)
		sum += t
		if t < 1e-17*sum {
			break
		}
	}
	return math.Min(1, 2*math.Exp(logTop)*sum)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// bootstrapResamples is the number of resamples of a bootstrap interval:
// enough that the percentiles of a 95% interval move by well under the
// interval's own width from one seed to another.
const bootstrapResamples = 4000

// bootstrap returns the percentile bootstrap interval of stat over
// resamples (with replacement) of the n tasks, around stat of all of
// them. Resamples where stat is NaN (a ratio over zero) are skipped. The
// random source is seeded, so the same data and seed give the same
// interval.
func bootstrap(n int, confidence float64, seed uint64, stat func(idx []int) float64) Interval {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	est := stat(all)
	if n == 0 || math.IsNaN(est) {
		return Interval{Estimate: est, Low: math.NaN(), High: math.NaN()}
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, 0, bootstrapResamples)
	idx := make([]int, n)
	for range bootstrapResamples {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		if s := stat(idx); !math.IsNaN(s) {
			stats = append(stats, s)
		}
	}
	if len(stats) == 0 {
		return Interval{Estimate: est, Low: math.NaN(), High: math.NaN()}
	}
	slices.Sort(stats)
	alpha := (1 - confidence) / 2
	return Interval{Estimate: est, Low: quantile(stats, alpha), High: quantile(stats, 1-alpha)}
}

// quantile interpolates linearly between the order statistics of sorted.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// meanOf is the bootstrap statistic of a mean.
func meanOf(xs []float64) func(idx []int) float64 {
	return func(idx []int) float64 {
		if len(idx) == 0 {
			return math.NaN()
		}
		var s float64
		for _, i := range idx {
			s += xs[i]
		}
		return s / float64(len(idx))
	}
}

// ratioOf is the bootstrap statistic of a ratio of sums: the tasks'
// total of num over their total of den (NaN when that is 0).
func ratioOf(num, den []float64) func(idx []int) float64 {
	return func(idx []int) float64 {
		var a, b float64
		for _, i := range idx {
			a += num[i]
			b += den[i]
		}
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
}
