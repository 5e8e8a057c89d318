package refine

import (
	"context"
	"strings"
)

// guard implements WithRegressionGuard. A judge scores each attempt on its
// own, and scores drift: Self-Refine's own tables show rounds that got
// worse (11 → 17 → 12 → 17), and a lenient round can rank a worse answer
// higher. So before returning, the chosen answer is compared head to head
// with the draft the refinement chain started from, in both orders; unless
// the refined answer wins both, the draft is returned. A tie keeps the
// draft: refining is only worth its cost when it is clearly better.
//
// It costs two model calls (plus repairs), none when the draft is already
// the best attempt or the chosen answer is the draft's text again. Its
// usage counts in Result.Usage. An error leaves the chosen answer in place
// and is returned with the Result.
func (r *run) guard(ctx context.Context) error {
	if r.best == r.chainStart {
		return nil
	}
	draft, best := r.attempts[r.chainStart], r.attempts[r.best]
	if strings.TrimSpace(draft.Answer) == strings.TrimSpace(best.Answer) {
		return nil
	}
	gs := r.newStep("guard", best.Round, 0)
	c, usage, err := r.cfg.guard.compare(withStep(ctx, gs), r.query, best.Answer, draft.Answer)
	r.finish(gs, usage)
	if err != nil {
		return &StepError{Round: best.Round, Stage: "guard", Err: err}
	}
	kept := c.Winner == WinnerA
	if !kept {
		r.best, r.bestScore, r.reverted = r.chainStart, draft.Verdict.Score, true
	}
	if l := r.obs.logger; l != nil {
		l.DebugContext(ctx, "refine: regression guard", "winner", c.Winner,
			"orders", c.Orders[:], "reverted", !kept, "tokens", c.Usage.Total())
	}
	return nil
}

// Validate reports, without a model call, what would make Compare fail: a
// nil provider, a bad JudgeOption or one that applies to NewLLMJudge only,
// or a provider whose own Validate fails. New and Run call it on the judge
// given to WithRegressionGuard.
func (j *PairwiseJudge) Validate() error {
	if err := j.validate(); err != nil {
		return err
	}
	return validateJudgeProvider("NewPairwiseJudge", j.p)
}
