package refine

// WithReference returns a copy of j that grades against the reference
// answer ref (as the JudgeOption WithReference does), leaving j as it was.
// One judge built once then serves an evaluation whose tasks each have
// their own reference; an empty ref grades without one. The copy shares
// j's provider and every other option, is immutable and safe for
// concurrent use; building it makes no model call.
func (j *PairwiseJudge) WithReference(ref string) *PairwiseJudge {
	if j == nil {
		// Compare on the copy then reports the missing provider, as a
		// judge built with a nil provider would.
		return NewPairwiseJudge(nil, WithReference(ref))
	}
	c := &PairwiseJudge{p: j.p, cfg: j.cfg}
	c.cfg.reference = ref
	if c.cfg.err == nil {
		c.prompts = newPairwisePrompts(c.cfg.criteria, ref)
	}
	return c
}

// WithReference returns a copy of j that grades against the reference
// answer ref (as the JudgeOption WithReference does), leaving j as it was.
// One judge built once then serves tasks that each have their own
// reference; an empty ref grades without one. The copy shares j's
// provider and every other option (and what j learned about the
// provider's log-probabilities), is safe for concurrent use, and is built
// without a model call.
func (j *LLMJudge) WithReference(ref string) *LLMJudge {
	if j == nil {
		return NewLLMJudge(nil, WithReference(ref))
	}
	c := &LLMJudge{p: j.p, cfg: j.cfg, noLogprobs: j.noLogprobs}
	c.cfg.reference = ref
	if c.cfg.err == nil {
		c.prompts = judgePromptsFor(c.cfg.criteria, ref)
	}
	return c
}
