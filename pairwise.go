package refine

import (
	"context"
	"errors"
)

// Comparison is the outcome of a pairwise judgement.
type Comparison struct {
	Winner string // "A", "B" or "tie"
	Usage  Usage
}

// PairwiseJudge compares two answers to the same question (MT-Bench
// pairwise grading).
type PairwiseJudge struct {
	p   Provider
	cfg judgeConfig
}

// NewPairwiseJudge returns a pairwise judge that compares with p.
func NewPairwiseJudge(p Provider, opts ...JudgeOption) *PairwiseJudge {
	return &PairwiseJudge{p: p, cfg: newJudgeConfig(opts)}
}

func (j *PairwiseJudge) validate() error {
	if j.p == nil {
		return optionError("NewPairwiseJudge", "nil", "provider must not be nil")
	}
	return j.cfg.err
}

// Compare says which of a and b answers query better.
func (j *PairwiseJudge) Compare(ctx context.Context, query, a, b string) (*Comparison, error) {
	return nil, errors.New("not yet")
}
