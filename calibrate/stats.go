package calibrate

import (
	"math"
	"slices"
)

// The statistics, written out with the standard library: each is a few
// lines, and a statistics dependency would be the package's only one.

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// stddev is the sample standard deviation (n − 1 in the denominator): the
// repeats are a sample of what the judge might say.
func stddev(xs []float64) float64 {
	m := mean(xs)
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// constant reports whether every x is the same score: their spread is
// within a relative 1e-9. A score that is the mean of repeats (9.3 three
// times, summed and divided) can differ from the same score judged once in
// its last bits; an exact comparison, or a sum of squares tested against
// 0, would call such a side varied and give a correlation made of rounding
// error.
func constant(xs []float64) bool {
	if len(xs) == 0 {
		return true
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	return hi-lo <= 1e-9*max(1, math.Abs(lo), math.Abs(hi))
}

// pearson is the Pearson correlation of x and y; NaN when fewer than two
// points or either side is constant.
func pearson(x, y []float64) float64 {
	if len(x) < 2 || constant(x) || constant(y) {
		return math.NaN()
	}
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// spearman is the Pearson correlation of the ranks, ties sharing their
// average rank (SciPy's spearmanr does the same); NaN when fewer than two
// points or either side is constant (judged on the scores, not the ranks,
// which rounding error could split).
func spearman(x, y []float64) float64 {
	if len(x) < 2 || constant(x) || constant(y) {
		return math.NaN()
	}
	return pearson(ranks(x), ranks(y))
}

// ranks gives each value its rank from 1; equal values get the mean of the
// ranks they span.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1 // ranks i+1 .. j+1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// quadraticKappa is Cohen's kappa with quadratic weights over the
// categories 0..k-1: 1 − Σ w·O / Σ w·E, with w = (i − j)², O the observed
// counts and E the counts expected from the marginals. NaN when E puts all
// its weight on agreement (both raters used one and the same category).
func quadraticKappa(a, b []int, k int) float64 {
	return weightedKappa(a, b, k, func(i, j int) float64 { return float64((i - j) * (i - j)) })
}

// cohenKappa is the unweighted kappa over the categories 0..k-1.
func cohenKappa(a, b []int, k int) float64 {
	return weightedKappa(a, b, k, func(i, j int) float64 {
		if i == j {
			return 0
		}
		return 1
	})
}

func weightedKappa(a, b []int, k int, w func(i, j int) float64) float64 {
	n := float64(len(a))
	if n == 0 {
		return math.NaN()
	}
	obs := make([][]float64, k)
	for i := range obs {
		obs[i] = make([]float64, k)
	}
	rowSum, colSum := make([]float64, k), make([]float64, k)
	for i := range a {
		obs[a[i]][b[i]]++
		rowSum[a[i]]++
		colSum[b[i]]++
	}
	var wObs, wExp float64
	for i := range k {
		for j := range k {
			wObs += w(i, j) * obs[i][j]
			wExp += w(i, j) * rowSum[i] * colSum[j] / n
		}
	}
	if wExp == 0 {
		return math.NaN()
	}
	return 1 - wObs/wExp
}
