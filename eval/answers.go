package eval

import (
	"context"
	"fmt"

	"github.com/selfrefine/refine"
)

// Pair holds a task's answers from runs already made, one per trial, for
// CompareAnswers.
type Pair struct {
	Task Task
	// A and B hold each side's answers, one per trial, in trial order.
	// Both have the same length, or one is empty: that side has no answer
	// (an id in one results file only), and the task counts as failed.
	A, B []ArmAnswer
}

// CompareAnswers is Compare on answers already given: it has judge compare
// each pair (in both orders) and reports as Compare does, from what the
// answers say of their scores, tokens and dollars. It is how `refine
// compare BASELINE.jsonl CANDIDATE.jsonl` judges two results files, and how
// `refine eval` compares a Loop's final answers with their own first drafts
// (ArmAnswer.DraftAnswer) at no extra call. A pair whose answer has an Err,
// or a side with no answer, counts as failed; several answers per side are
// trials of the task, aggregated as under Repeat.
//
// Bad input is an error wrapping refine.ErrInvalidOption before any model
// call: no pairs, a blank or repeated id, a blank query, sides with
// different numbers of trials, a nil or misconfigured judge, Repeat or
// Prices (the answers carry their trials and costs).
func CompareAnswers(ctx context.Context, pairs []Pair, judge *refine.PairwiseJudge, nameA, nameB string, opts ...CompareOption) (*Report, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.repeatSet {
		return nil, fmt.Errorf("eval: Repeat applies to Compare only (CompareAnswers takes the trials it is given): %w", refine.ErrInvalidOption)
	}
	if cfg.prices != nil {
		return nil, fmt.Errorf("eval: Prices applies to Compare only (CompareAnswers takes the costs its answers carry): %w", refine.ErrInvalidOption)
	}
	if nameA == "" {
		nameA = "A"
	}
	if nameB == "" {
		nameB = "B"
	}
	tasks := make([]Task, len(pairs))
	trials := make([]int, len(pairs))
	for i, p := range pairs {
		tasks[i] = p.Task
		la, lb := len(p.A), len(p.B)
		if la != lb && la != 0 && lb != 0 {
			return nil, fmt.Errorf("eval: task %q has %d answers from %s and %d from %s; want as many, or none from one side: %w",
				p.Task.ID, la, nameA, lb, nameB, refine.ErrInvalidOption)
		}
		trials[i] = max(la, lb, 1)
	}
	if err := validate(tasks, judge); err != nil {
		return nil, err
	}
	cfg.repeat = max(1, maxOf(trials))
	return run(ctx, cfg, tasks, trials, judge, nameA, nameB, func(_ context.Context, i int, tr *Trial) {
		tr.A = side(pairs[i].A, tr.Index, nameA)
		tr.B = side(pairs[i].B, tr.Index, nameB)
	})
}

// side returns trial k's answer of one side, or a failed one when the side
// has none.
func side(answers []ArmAnswer, k int, name string) ArmAnswer {
	if len(answers) == 0 {
		return ArmAnswer{Err: fmt.Errorf("no answer from %s", name), CostKnown: true}
	}
	return answers[k]
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
