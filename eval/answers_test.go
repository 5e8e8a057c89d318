package eval_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

// Two results files compared after the fact: an id in one only is failed
// and named; a failed run is failed; the rest is judged.
func TestCompareAnswers(t *testing.T) {
	ans := func(text string, tokens int) []eval.ArmAnswer {
		return []eval.ArmAnswer{{Answer: text, Usage: refine.Usage{OutputTokens: tokens}, CostKnown: true}}
	}
	pairs := []eval.Pair{
		{Task: eval.Task{ID: "1", Query: "task-1"}, A: ans("alpha task-1", 10), B: ans("beta task-1", 20)},
		{Task: eval.Task{ID: "2", Query: "task-2"}, A: ans("alpha task-2", 10), B: ans("beta task-2", 20)},
		{Task: eval.Task{ID: "3", Query: "task-3"}, A: ans("alpha task-3", 10)}, // not in the candidate file
		{Task: eval.Task{ID: "4", Query: "task-4"}, A: ans("alpha task-4", 10),
			B: []eval.ArmAnswer{{Answer: "beta task-4", Err: errors.New("step 2: rate limited"), CostKnown: true}}},
	}
	jm := &judgeModel{decide: func(task, _ int) string { return map[int]string{1: "B", 2: "tie"}[task] }}
	r, err := eval.CompareAnswers(context.Background(), pairs, refine.NewPairwiseJudge(jm), "baseline", "candidate")
	if err != nil {
		t.Fatal(err)
	}
	if r.WinsB != 1 || r.Ties != 1 || r.Failed != 2 || r.A != "baseline" || r.B != "candidate" {
		t.Errorf("got wins B %d, ties %d, failed %d, names %q %q; want 1, 1, 2, baseline, candidate", r.WinsB, r.Ties, r.Failed, r.A, r.B)
	}
	if got := r.Results[2].Trials[0].Error; !strings.Contains(got, "no answer from candidate") {
		t.Errorf("id 3: error %q, want it to say the candidate has no answer", got)
	}
	if got := r.Results[3].Trials[0].Error; !strings.Contains(got, "rate limited") {
		t.Errorf("id 4: error %q, want the run's error", got)
	}
	if jm.Calls() != 4 {
		t.Errorf("judge calls: got %d, want 4 (two pairs, two orders)", jm.Calls())
	}
	if r.TokenRatio == nil || r.TokenRatio.Estimate != 40.0/40 {
		t.Errorf("TokenRatio: got %+v, want 1 (40 tokens each side)", r.TokenRatio)
	}
}

// `refine eval` compares the final answers with their first drafts at no
// extra call: the drafts come back in ArmAnswer.DraftAnswer.
func TestCompareAnswersDrafts(t *testing.T) {
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	judge := refine.NewPairwiseJudge(jm)
	r, err := eval.Compare(context.Background(), makeTasks(6), judge,
		eval.Arm{Loop: loopArm(t, nil)}, eval.Arm{Provider: &armModel{word: "beta"}})
	if err != nil {
		t.Fatal(err)
	}
	var pairs []eval.Pair
	tasks := makeTasks(6)
	for i, res := range r.Results {
		a := res.Trials[0].A
		draft := eval.ArmAnswer{Answer: a.DraftAnswer, Score: a.DraftScore}
		// The judge model prefers whatever answer says "alpha"; make the
		// draft a "beta" so that it loses.
		draft.Answer = strings.Replace(draft.Answer, "alpha", "beta", 1)
		pairs = append(pairs, eval.Pair{Task: tasks[i], A: []eval.ArmAnswer{a}, B: []eval.ArmAnswer{draft}})
	}
	before := jm.Calls()
	d, err := eval.CompareAnswers(context.Background(), pairs, judge, "refined", "draft")
	if err != nil {
		t.Fatal(err)
	}
	if d.WinsA != 6 || jm.Calls()-before != 12 {
		t.Errorf("got %d wins with %d judge calls, want 6 and 12", d.WinsA, jm.Calls()-before)
	}
	if pairs[0].B[0].Answer != "beta draft task-0" {
		t.Errorf("draft of task 0: got %q", pairs[0].B[0].Answer)
	}
}

func TestCompareAnswersBadInput(t *testing.T) {
	one := []eval.ArmAnswer{{Answer: "x"}}
	two := []eval.ArmAnswer{{Answer: "x"}, {Answer: "y"}}
	for _, tc := range []struct {
		name  string
		pairs []eval.Pair
		opts  []eval.CompareOption
		want  string
	}{
		{"no pairs", nil, nil, "no tasks"},
		{"repeated id", []eval.Pair{{Task: eval.Task{ID: "1", Query: "q"}, A: one, B: one}, {Task: eval.Task{ID: "1", Query: "r"}, A: one, B: one}}, nil, `same id "1"`},
		{"trials differ", []eval.Pair{{Task: eval.Task{ID: "1", Query: "q"}, A: one, B: two}}, nil, "1 answers from A and 2 from B"},
		{"repeat", []eval.Pair{{Task: eval.Task{ID: "1", Query: "q"}, A: one, B: one}}, []eval.CompareOption{eval.Repeat(2)}, "Repeat applies to Compare only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jm := &judgeModel{decide: func(int, int) string { return "A" }}
			_, err := eval.CompareAnswers(context.Background(), tc.pairs, refine.NewPairwiseJudge(jm), "", "", tc.opts...)
			if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an ErrInvalidOption naming %q", err, tc.want)
			}
			if jm.Calls() != 0 {
				t.Errorf("%d judge calls, want none", jm.Calls())
			}
		})
	}
}
