package eval_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

func report(winsA, winsB, ties, failed int) *eval.Report {
	return &eval.Report{A: "baseline", B: "candidate", Tasks: winsA + winsB + ties + failed, Compared: winsA + winsB + ties,
		WinsA: winsA, WinsB: winsB, Ties: ties, Failed: failed, Confidence: 0.95,
		WinRateA: eval.Wilson(winsA, winsA+winsB, 0.95), P: eval.SignTest(winsA, winsB)}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		r     *eval.Report
		want  []string
		worse bool
	}{
		{report(27, 3, 0, 0), []string{"baseline wins significantly", "beats candidate in 90% of decisive", "p < 0.001", "30 of 30 tasks compared"}, true},
		{report(3, 27, 0, 2), []string{"candidate wins significantly", "beats baseline in 90%", "(95% interval 74.4%–96.5%", "2 failed (not counted)"}, false},
		{report(6, 4, 5, 0), []string{"not enough tasks to tell", "spans 50%", "p = 0.754", "5 ties"}, false},
		{report(0, 0, 4, 1), []string{"no difference found: all 4 compared tasks are ties", "1 failed"}, false},
		{report(0, 0, 0, 3), []string{"nothing to compare", "3 failed"}, false},
	} {
		got := tc.r.Verdict()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("Verdict() of %d/%d/%d/%d: got %q, want it to say %q", tc.r.WinsA, tc.r.WinsB, tc.r.Ties, tc.r.Failed, got, w)
			}
		}
		if tc.r.Worse() != tc.worse {
			t.Errorf("Worse() with A (the baseline) %d to B %d: got %v, want %v", tc.r.WinsA, tc.r.WinsB, !tc.worse, tc.worse)
		}
	}
	// A win rate whose interval leaves out 50% while the exact test is not
	// significant is called a lean, not a win: 15 to 5 has p = 0.041, but
	// at 99% confidence neither says A wins.
	r := report(15, 5, 0, 0)
	r.Confidence = 0.99
	r.WinRateA = eval.Wilson(15, 20, 0.8)
	if got := r.Verdict(); !strings.HasPrefix(got, "leaning baseline, but not significant") {
		t.Errorf("Verdict(): got %q, want a lean", got)
	}
}

// CheckNotWorse gates a change in one call: an error wrapping ErrWorse on
// a clearly worse candidate, nil on an equal one.
func TestCheckNotWorse(t *testing.T) {
	tasks := makeTasks(20)
	for _, tc := range []struct {
		name   string
		decide string
		worse  bool
	}{{"worse", "A", true}, {"equal", "tie", false}, {"better", "B", false}} {
		t.Run(tc.name, func(t *testing.T) {
			jm := &judgeModel{decide: func(int, int) string { return tc.decide }}
			r, err := eval.CheckNotWorse(context.Background(), tasks, refine.NewPairwiseJudge(jm),
				eval.Arm{Name: "baseline", Provider: &armModel{word: "alpha"}}, eval.Arm{Name: "candidate", Provider: &armModel{word: "beta"}})
			if errors.Is(err, eval.ErrWorse) != tc.worse || r == nil {
				t.Fatalf("got %v, want ErrWorse: %v", err, tc.worse)
			}
			if tc.worse && !strings.Contains(err.Error(), "baseline wins significantly") {
				t.Errorf("error %q does not say why", err)
			}
			if !tc.worse && err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}
