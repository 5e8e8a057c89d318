// Package refine makes a language model improve its own answers: it drafts
// an answer, has a judge score and critique it, and refines it with the
// critique, round after round, until the answer is good enough. This is
// Self-Refine (Madaan et al., 2023), which improved results by about 20% on
// average over seven tasks, with the judge of "reflection with a score":
// a 0–10 rubric, per-criterion scores, issues and suggestions in JSON, and a
// threshold that ends the loop.
//
// # Running
//
// The package-level Run delegates to a default Loop, as log/slog does:
//
//	p, _ := openai.FromEnv() // or bedrock.FromEnv(ctx), or any refine.Provider
//	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
//	fmt.Println(res.Answer, res.Score, res.StopReason)
//
// Services build a Loop once with New and share it: a Loop is immutable and
// safe for concurrent use, and options passed to Run apply to that call
// only.
//
// # Each round
//
// A round is two model calls with the defaults: the refiner writes the next
// answer, and the LLM judge returns score and critique from one call
// (JSON mode, temperature 0). The refinement prompt shows the previous
// answer with the judge's issues, suggestions and assessment (WithHistory
// shows more rounds); answers and critiques stay in the language of the
// query. The answer under judgement is fenced by tags with a per-call random
// marker, so that an answer cannot pose as instructions or as a score.
//
// The loop stops at the first of: a score >= the threshold (WithThreshold,
// default 8), the iteration limit (WithMaxIterations, default 3 rounds after
// the draft), a refinement identical to the previous answer, a stop rule
// (NoImprovement, TokenBudget, or your own StopCondition), a context
// deadline that the next round would not meet, or the context's end.
//
// The Result holds the best attempt, not the last: later rounds can be
// worse, and a tie goes to the later attempt. WithRegressionGuard goes
// further and keeps the first draft unless a pairwise comparison says the
// refinement is better.
//
// # Judges
//
// Judge is one method; JudgeFunc plugs code checks and domain rules in.
// NewLLMJudge grades with a model on criteria (GeneralCriteria by default);
// a model grading its own answers is lenient, so WithJudgeProvider puts a
// different model in the judge's seat. NewPairwiseJudge compares two answers
// in both orders. A judge reply that cannot be read is re-requested once and
// then reported as a *VerdictError: no score is ever made up.
//
// # Errors
//
// Bad input is rejected before any model call: ErrEmptyQuery,
// ErrNoProvider, and ErrInvalidOption naming the option and the value.
// Provider adapters classify failures (ErrRateLimited, ErrAuth,
// ErrContextLength, ErrUnavailable, ErrInvalidRequest) in a *ProviderError
// that also unwraps to the SDK's error. Transient ones are retried with
// backoff and the provider's Retry-After (WithRetries, WithBackoff); this is
// the only retry layer. When a later round fails, Run returns the result so
// far together with a *StepError that names the round and stage.
//
// # Concurrency
//
// Candidates (WithCandidates) are drafted and judged in parallel;
// WithMaxConcurrentCalls caps the model calls in flight across all runs of a
// Loop, and a Retry-After from the provider holds back every call of the
// Loop until it has passed. Every goroutine a run starts ends before Run
// returns.
//
// # Testing
//
// Package refinetest has scripted providers and judges, with fault
// injection, for testing code that uses refine without a model.
package refine
