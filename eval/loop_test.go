package eval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

// loopArm returns a Loop that drafts "alpha draft task-N", refines it to
// "alpha refined task-N", and judges the draft N%5 and the refinement
// N%5 + N%4 (so the gain of task N is N%4). The judge fails on the
// refinement of tasks in failRefined, after the draft was judged.
func loopArm(t *testing.T, failRefined map[int]bool) *refine.Loop {
	t.Helper()
	writer := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		var all strings.Builder
		for _, m := range req.Messages {
			all.WriteString(m.Content)
		}
		task := taskPattern.FindStringSubmatch(all.String())[1]
		text := "alpha draft task-" + task
		if strings.Contains(all.String(), "alpha draft") {
			text = "alpha refined task-" + task
		}
		return &refine.Response{Text: text, Model: "writer", FinishReason: refine.FinishStop,
			Usage: refine.Usage{InputTokens: 7, OutputTokens: 3}}, nil
	})
	judge := refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		var n int
		fmt.Sscan(taskPattern.FindStringSubmatch(answer)[1], &n)
		if strings.Contains(answer, "refined") {
			if failRefined[n] {
				return nil, errors.New("judge: scripted failure")
			}
			return &refine.Verdict{Score: float64(n%5 + n%4), Feedback: "ok"}, nil
		}
		return &refine.Verdict{Score: float64(n % 5), Feedback: "be better"}, nil
	})
	l, err := refine.New(refine.WithProvider(writer), refine.WithJudge(judge), refine.WithMaxIterations(1),
		refine.WithPrices(map[string]refine.Price{"writer": {Input: 1, Output: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A Loop arm's gain over its first draft carries a bootstrap interval that
// the seed reproduces; a run that failed after its draft (a partial
// Result) counts as failed, its partial answer and tokens kept.
func TestCompareLoopArm(t *testing.T) {
	const n = 40
	failRefined := map[int]bool{0: true, 10: true, 20: true}
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	judge := refine.NewPairwiseJudge(jm)
	run := func(seed uint64) *eval.Report {
		r, err := eval.Compare(context.Background(), makeTasks(n), judge,
			eval.Arm{Name: "refined", Loop: loopArm(t, failRefined)},
			eval.Arm{Name: "one call", Provider: &armModel{word: "beta"}},
			eval.Seed(seed), eval.Concurrency(3))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := run(7)
	if r.Failed != len(failRefined) || r.WinsA != n-len(failRefined) {
		t.Errorf("Failed, WinsA: got %d, %d, want %d, %d", r.Failed, r.WinsA, len(failRefined), n-len(failRefined))
	}
	var sum float64
	for i := range n {
		if !failRefined[i] {
			sum += float64(i % 4)
		}
	}
	mean := sum / float64(n-len(failRefined))
	if r.GainA == nil || r.GainA.Estimate != mean || !r.GainA.Contains(mean) || r.GainA.Low == r.GainA.High {
		t.Errorf("GainA: got %+v, want an interval around %v", r.GainA, mean)
	}
	if r.GainB != nil {
		t.Errorf("GainB: got %+v, want nil for a one-call arm", r.GainB)
	}
	// The writer's two calls (draft, refinement) at 10 tokens each; the
	// failed runs spent as much.
	if w := 2 * 10 * n; r.UsageA.Total() != w {
		t.Errorf("UsageA: got %d tokens, want %d (failed runs included)", r.UsageA.Total(), w)
	}
	if r.TokenRatio == nil || r.TokenRatio.Estimate != 4 {
		t.Errorf("TokenRatio: got %+v, want 4 (20 tokens a task against 5)", r.TokenRatio)
	}
	if r.CostKnown {
		t.Errorf("CostKnown: got true, but the one-call arm has no price")
	}
	res := r.Results[10]
	if res.Outcome != eval.OutcomeFailed || res.Trials[0].A.Answer != "alpha draft task-10" || res.Trials[0].A.Err == nil {
		t.Errorf("task 10: outcome %q, answer %q, err %v; want failed with the draft kept", res.Outcome, res.Trials[0].A.Answer, res.Trials[0].A.Err)
	}

	// The same seed gives the same intervals; another seed other bounds.
	again := run(7)
	if *again.GainA != *r.GainA || *again.TokenRatio != *r.TokenRatio {
		t.Errorf("seed 7 twice: got %+v then %+v", *r.GainA, *again.GainA)
	}
	if other := run(8); *other.GainA == *r.GainA {
		t.Errorf("seeds 7 and 8 gave the same bootstrap interval %+v", *r.GainA)
	}
}
