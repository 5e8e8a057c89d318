package eval_test

import (
	"math"
	"testing"

	"github.com/selfrefine/refine/eval"
)

// near reports whether got is within a relative tolerance of want (or an
// absolute one near 0).
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1e-300, math.Abs(want)) || math.Abs(got-want) < 1e-13
}

// The references are statsmodels 0.13.5 (Debian python3-statsmodels, over
// SciPy 1.10.1):
//
//	from statsmodels.stats.proportion import proportion_confint
//	proportion_confint(k, n, alpha=1-c, method='wilson')
//
// which agree to the last digit with the formula over
// scipy.stats.norm.ppf(1-(1-c)/2).
func TestWilsonSciPy(t *testing.T) {
	for _, tc := range []struct {
		k, n          int
		c             float64
		lowWant, high float64
	}{
		{0, 10, 0.95, 0.0, 0.2775327998628892},
		{10, 10, 0.95, 0.7224672001371107, 0.9999999999999999},
		{7, 10, 0.95, 0.39677814746114537, 0.8922087325936989},
		{27, 30, 0.95, 0.7437891742081593, 0.9654001112526658},
		{1, 1, 0.95, 0.20654931437723745, 1.0},
		{50, 100, 0.95, 0.4038315303659956, 0.5961684696340044},
		{15, 40, 0.90, 0.26080784681859226, 0.5050305153427723},
		{3, 200, 0.99, 0.0037973972749195638, 0.0573485989186332},
		{120, 200, 0.95, 0.53083672039262, 0.6653942143319266},
	} {
		got := eval.Wilson(tc.k, tc.n, tc.c)
		if !near(got.Low, tc.lowWant) || !near(got.High, tc.high) || got.Estimate != float64(tc.k)/float64(tc.n) {
			t.Errorf("Wilson(%d, %d, %v): got %+v, want [%v, %v] around %v", tc.k, tc.n, tc.c, got, tc.lowWant, tc.high, float64(tc.k)/float64(tc.n))
		}
	}
}

func TestWilsonEdges(t *testing.T) {
	if got, want := eval.Wilson(0, 0, 0.95), (eval.Interval{Estimate: 0, Low: 0, High: 1}); got != want {
		t.Errorf("Wilson(0, 0): got %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		k, n int
		c    float64
	}{{3, 2, 0.95}, {-1, 2, 0.95}, {1, 2, 1}, {1, 2, 0}, {1, 2, math.NaN()}} {
		if got := eval.Wilson(tc.k, tc.n, tc.c); !math.IsNaN(got.Low) || !math.IsNaN(got.High) {
			t.Errorf("Wilson(%d, %d, %v): got %+v, want NaN bounds", tc.k, tc.n, tc.c, got)
		}
	}
}

// The references are SciPy 1.10.1 (Debian python3-scipy):
//
//	scipy.stats.binomtest(w, w + l).pvalue
func TestSignTestSciPy(t *testing.T) {
	for _, tc := range []struct {
		w, l int
		want float64
	}{
		{0, 0, 1}, // no decisive comparison: no evidence (binomtest refuses n = 0)
		{1, 0, 1.0},
		{5, 0, 0.0625},
		{9, 1, 0.021484375},
		{7, 3, 0.34375},
		{6, 4, 0.75390625},
		{20, 10, 0.09873714670538905},
		{10, 20, 0.09873714670538905},
		{60, 40, 0.05688793364098088},
		{15, 5, 0.04138946533203125},
		{0, 12, 0.00048828125},
		{123, 100, 0.14051587041843802},
		{500, 480, 0.5439172374909202},
		{300, 200, 8.940066542253288e-06},
		{5000, 4800, 0.04440414879984629},
		{0, 1000, 1.8665272370064378e-301},
		{40, 1, 3.8198777474462986e-11},
		{2, 1, 1.0},
		{3, 3, 1.0},
	} {
		if got := eval.SignTest(tc.w, tc.l); !near(got, tc.want) {
			t.Errorf("SignTest(%d, %d): got %v, want %v", tc.w, tc.l, got, tc.want)
		}
	}
	if got := eval.SignTest(-1, 3); !math.IsNaN(got) {
		t.Errorf("SignTest(-1, 3): got %v, want NaN", got)
	}
}
