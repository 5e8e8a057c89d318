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
//	p, err := openai.FromEnv() // or bedrock.FromEnv(ctx), or any refine.Provider
//	if err != nil {
//		return err
//	}
//	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
//	if res == nil {
//		return err // no attempt was judged
//	}
//	fmt.Println(res.Answer, res.Score, res.StopReason) // the best so far, even when err != nil
//
// Services build a Loop once with New and share it: a Loop is immutable and
// safe for concurrent use, and options passed to Run apply to that call
// only. Loop.Events yields the same run as a sequence of events, with the
// answers' text as it is written; RunTyped refines a Go value instead of
// text; RunBatch runs many queries.
//
// # Each round
//
// A round is two model calls with the defaults: the refiner writes the next
// answer, and the LLM judge returns score and critique from one call
// (JSON mode, temperature 0). The refinement prompt shows the previous
// answer with the judge's issues, suggestions and assessment (WithHistory
// shows more rounds); answers and critiques stay in the language of the
// query. The answer under judgement is fenced by tags whose marker is
// derived from the text it fences, so that an answer cannot pose as
// instructions or as a score (it cannot contain its own marker).
//
// The loop stops at the first of: a score >= the threshold (WithThreshold,
// default 8), the iteration limit (WithMaxIterations, default 3 rounds
// after the draft), a refinement identical to the previous answer, a stop
// rule (NoImprovement, TokenBudget, CostBudget, Confident, or your own
// StopCondition), a context deadline that the next round would not meet,
// or the context's end.
//
// The Result holds the best attempt, not the last: later rounds can be
// worse, and a tie goes to the later attempt. WithRegressionGuard goes
// further and keeps the first draft unless a pairwise comparison says the
// refinement is better.
//
// # Judges
//
// Judge is one method; JudgeFunc plugs code checks and domain rules in.
// NewLLMJudge grades with a model on criteria; a model grading its own
// answers is lenient, so WithJudgeProvider puts a different model in the
// judge's seat. NewPairwiseJudge compares two answers in both orders. A
// judge reply that cannot be read is re-requested once and then reported as
// a *VerdictError: no score is ever made up.
//
// # Calls: retries, limits, pauses
//
// Retries belong to the provider. The built-in adapters retry transient
// failures (rate limits, unavailability, timeouts) by default, waiting out
// the server's Retry-After (openai.WithRetry and bedrock.WithRetry set the
// policy; RetryPolicy{MaxRetries: -1} turns it off). A Loop never wraps a
// provider, so a call is retried by the same rule whichever way its
// provider reached the run: WithProvider, WithJudgeProvider, a judge you
// built, a part of a composite judge, the regression guard.
//
// For providers of your own, call policy is middleware, visible in the
// call graph: RetryProvider retries with backoff (and adds no second layer
// around a provider that already retries), and LimitProvider caps the
// calls in flight. Wrap a provider once and share it: a pause belongs to
// the provider that received it, and the runs calling through it wait, no
// others. The context carries only observation (the run's events); never
// behaviour.
//
// # Your own parts
//
// Nothing a built-in part does is closed to yours. A Provider, Judge,
// Refiner or StopCondition that implements Validator is validated by New
// and Run before any model call; a judge whose failure spent tokens
// reports them with WithUsage (read back by UsageOf); a stop condition can
// fail the run, or refuse it before the first call (Progress.Priced is how
// CostBudget refuses a run without prices); a ThresholdRule takes the
// threshold over, as Confident does; a wrapper exposes Unwrap() Provider
// so that retries and models are found through it. refinetest checks
// these contracts (TestJudgeOn, TestStop).
//
// # Errors
//
// Bad input is rejected before any model call: ErrEmptyQuery,
// ErrNoProvider, and ErrInvalidOption naming the option and the value.
// Provider adapters classify failures (ErrRateLimited, ErrAuth,
// ErrContextLength, ErrUnavailable, ErrInvalidRequest) in a
// *ProviderError that also unwraps to the SDK's error. When a later round
// fails, Run returns the result so far together with a *StepError that
// names the round and stage; the tokens spent are never lost (Result.Usage,
// or StepError.Usage when no attempt was judged). A panic in a part on a
// goroutine the loop started comes back as an error.
//
// # Observing
//
// WithObserver receives an Event for every step (drafts, verdicts, model
// calls, retries, deltas, the stop); WithLogger logs steps at Debug level.
// Neither the logger nor the built-in adapters' errors carry credentials:
// the adapters redact URL credentials and keys from what they report. The
// logger never records prompts or answers; events carry them (Event.Request,
// Event.Response, Event.Delta) for observers that opt in to exporting them.
//
// # Testing
//
// Package refinetest has scripted providers and judges with fault
// injection, cassettes that record and replay a real model, and
// conformance checks for your own Provider, Judge and StopCondition.
package refine
