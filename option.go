package refine

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
)

// Defaults of a Loop configured with no options.
const (
	DefaultMaxIterations = 3
	DefaultThreshold     = 8.0
)

// An Option configures a Loop (in New) or a single call (in Run). Options are
// applied in order, so the last one wins; the resulting configuration is
// validated once, and a bad value is reported as an error wrapping
// ErrInvalidOption that names the option and the value. A nil Option is
// ignored.
type Option func(*config)

// config is everything the options set. A Loop holds one, never changed
// after New; Run copies it before applying per-call options.
type config struct {
	provider      Provider
	judgeProvider Provider
	judge         Judge
	refiner       Refiner
	maxIter       int
	threshold     float64
	stops         []StopCondition
	sampling      Sampling
	systemPrompt  *string
	candidates    int
	history       int
	prices        map[string]Price
	observer      func(context.Context, Event)
	logger        *slog.Logger
	guard         *PairwiseJudge
	guardSet      bool

	// Typed answers (RunTyped): the schema the refiner's requests carry,
	// and a wrapper that validates answers before the judge sees them.
	schema    *Schema
	judgeWrap func(Judge) Judge
	checks    []typedCheck // Check options, for RunTyped

	// Explicit nils, so that WithProvider(nil) is an error rather than
	// silently "no provider".
	nilProvider, nilJudgeProvider, nilJudge, nilRefiner bool
}

func defaultConfig() config {
	return config{
		maxIter:    DefaultMaxIterations,
		threshold:  DefaultThreshold,
		candidates: 1,
		history:    1,
	}
}

func (c *config) apply(opts []Option) {
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
}

// validate checks the final configuration.
func (c *config) validate() error {
	switch {
	case c.nilProvider:
		return optionError("WithProvider", "nil", "provider must not be nil")
	case c.nilJudgeProvider:
		return optionError("WithJudgeProvider", "nil", "provider must not be nil")
	case c.nilJudge:
		return optionError("WithJudge", "nil", "judge must not be nil")
	case c.nilRefiner:
		return optionError("WithRefiner", "nil", "refiner must not be nil")
	case c.maxIter < 0 || c.maxIter > maxIterationsLimit:
		return optionError("WithMaxIterations", c.maxIter, fmt.Sprintf("must be within [0, %d]", maxIterationsLimit))
	case !(c.threshold >= 0 && c.threshold <= 10):
		return optionError("WithThreshold", c.threshold, "must be within [0, 10]")
	case c.candidates < 1 || c.candidates > maxCandidatesLimit:
		return optionError("WithCandidates", c.candidates, fmt.Sprintf("must be within [1, %d]", maxCandidatesLimit))
	case c.history < 1:
		return optionError("WithHistory", c.history, "must be >= 1")
	case c.guardSet && c.guard == nil:
		return optionError("WithRegressionGuard", "nil", "pairwise judge must not be nil")
	}
	if err := validateSampling(c.sampling, "With"); err != nil {
		return err
	}
	if err := validateChecks(c.checks, true); err != nil { // RunTyped or not: see start
		return err
	}
	if err := validatePrices(c.prices); err != nil {
		return err
	}
	for i, s := range c.stops {
		if s == nil {
			return optionError("WithStop", "nil", fmt.Sprintf("stop condition %d is nil", i))
		}
		if err := validatePart("WithStop", s); err != nil {
			return err
		}
	}
	parts := [...]struct {
		option string
		part   any
	}{
		{"WithProvider", c.provider}, {"WithJudgeProvider", c.judgeProvider},
		{"WithJudge", c.judge}, {"WithRefiner", c.refiner},
	}
	for _, p := range parts {
		if err := validatePart(p.option, p.part); err != nil {
			return err
		}
	}
	if c.guard != nil {
		return validatePart("WithRegressionGuard", c.guard)
	}
	return nil
}

// validatePart calls Validate on a part that has it. The error names the
// option the part came through and wraps the part's own.
func validatePart(option string, part any) error {
	var err error
	switch v := part.(type) {
	case Validator:
		err = v.Validate()
	case Provider: // a wrapper of your own: the first Validator it wraps
		err = validateProvider(v)
	}
	if err != nil {
		return &partError{option: option, err: err}
	}
	return nil
}

// partError is the error of a part that refused a run before any model
// call: a Validator that failed, or a stop condition's check before the
// first call.
type partError struct {
	option string
	err    error
}

func (e *partError) Error() string {
	return "refine: " + e.option + ": " + strings.TrimPrefix(e.err.Error(), "refine: ")
}

func (e *partError) Unwrap() error { return e.err }

// precheck calls every stop condition once before the first model call,
// with no attempts and Priced set, so that a condition can refuse a run it
// cannot count (CostBudget without prices). It is per run, not in New,
// because prices may come per call. A reason returned is ignored: a run
// always makes its drafts.
func (c *config) precheck() error {
	if len(c.stops) == 0 {
		return nil
	}
	p := Progress{Best: -1, Threshold: c.threshold, Priced: c.prices != nil, CostKnown: c.prices != nil}
	for _, s := range c.stops {
		if _, err := s.Check(p); err != nil {
			return &partError{option: "WithStop", err: err}
		}
	}
	return nil
}

// thresholdDecided reports whether a stop rule (a ThresholdRule such as
// Confident) decides on the threshold in place of the plain comparison.
func (c *config) thresholdDecided() bool {
	for _, s := range c.stops {
		if t, ok := s.(ThresholdRule); ok && t.DecidesThreshold() {
			return true
		}
	}
	return false
}

// validateSampling checks sampling values; prefix is "With" for the loop's
// options and "WithJudge" for a judge's.
func validateSampling(s Sampling, prefix string) error {
	if t := s.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
		return optionError(prefix+"Temperature", *t, "must be within [0, 2]")
	}
	if p := s.TopP; p != nil && !(*p >= 0 && *p <= 1) {
		return optionError(prefix+"TopP", *p, "must be within [0, 1]")
	}
	if s.MaxTokens < 0 {
		return optionError(prefix+"MaxTokens", s.MaxTokens, "must be >= 0 (0 means the provider's default)")
	}
	return nil
}

// WithProvider sets the model used to draft, refine and (unless WithJudge
// or WithJudgeProvider says otherwise) judge. A nil provider is an error.
func WithProvider(p Provider) Option {
	return func(c *config) { c.provider, c.nilProvider = p, p == nil }
}

// WithJudgeProvider makes the default LLM judge use p instead of the loop's
// provider. A model grading its own answers is lenient; a different (often
// stronger) model as judge is the cheapest way to a stricter loop.
// Ignored when WithJudge sets a judge.
func WithJudgeProvider(p Provider) Option {
	return func(c *config) { c.judgeProvider, c.nilJudgeProvider = p, p == nil }
}

// WithJudge sets the judge that scores every attempt. Default: an LLM judge
// (NewLLMJudge) on the loop's provider, or on WithJudgeProvider's.
func WithJudge(j Judge) Option {
	return func(c *config) { c.judge, c.nilJudge = j, j == nil }
}

// WithRefiner sets what produces the drafts and refinements. Default: an LLM
// refiner on the loop's provider using the prompts in this package.
func WithRefiner(r Refiner) Option {
	return func(c *config) { c.refiner, c.nilRefiner = r, r == nil }
}

// WithMaxIterations sets the number of refinement rounds after the draft:
// 0 judges the draft only. Default 3, at most 100: the gains of refinement
// are spent after a few rounds, so a larger value is taken for a mistake.
// Reaching it is a StopReason, not an error.
func WithMaxIterations(n int) Option { return func(c *config) { c.maxIter = n } }

// WithThreshold stops the loop once an attempt scores >= score (0..10).
// Default 8. A threshold of 10 effectively disables early stopping on score.
// With the Confident stop rule the threshold is still the bar, but the
// loop stops only once the judge is sure enough the best attempt clears it.
func WithThreshold(score float64) Option { return func(c *config) { c.threshold = score } }

// WithStop adds stop rules; any one that fires ends the loop. Repeated
// WithStop options accumulate.
func WithStop(conds ...StopCondition) Option {
	return func(c *config) { c.stops = append(c.stops[:len(c.stops):len(c.stops)], conds...) }
}

// WithTemperature sets the sampling temperature (0..2) of drafts and
// refinements. 0 is sent as 0. Judges keep their own (0 by default).
func WithTemperature(t float64) Option {
	return func(c *config) { c.sampling.Temperature = &t }
}

// WithTopP sets nucleus sampling (0..1) for drafts and refinements.
func WithTopP(p float64) Option { return func(c *config) { c.sampling.TopP = &p } }

// WithSeed asks the provider to sample drafts and refinements
// reproducibly from seed (Request.Seed), where it supports seeds (OpenAI
// and most OpenAI-compatible servers do; Bedrock Converse does not and
// ignores it). Judges keep their own sampling. eval.Compare uses it to
// tell repeated trials apart, so that recordings keep them apart too.
func WithSeed(seed int64) Option { return func(c *config) { c.sampling.Seed = &seed } }

// WithMaxTokens caps the tokens of each draft and refinement; 0 restores
// the provider's default.
func WithMaxTokens(n int) Option { return func(c *config) { c.sampling.MaxTokens = n } }

// WithSystemPrompt replaces the default system prompt of drafts and
// refinements (which asks for a direct, correct answer in the language of
// the question); "" sends none. The judge has its own.
func WithSystemPrompt(s string) Option { return func(c *config) { c.systemPrompt = &s } }

// WithCandidates drafts n answers in parallel, judges each, and refines the
// best. Default 1, at most 64. Drafts are sampled at the configured temperature: with
// temperature 0 they are likely to be the same.
func WithCandidates(n int) Option { return func(c *config) { c.candidates = n } }

// WithHistory sets how many of the latest attempts (with their critiques) the
// default refiner shows the model. Default 1, the last attempt only, so
// prompts do not grow round after round; a larger n follows the Self-Refine
// paper, which feeds the whole history back.
func WithHistory(n int) Option { return func(c *config) { c.history = n } }

// WithObserver registers fn to receive an Event for every step of a run:
// drafts, verdicts, refinements, retries and the stop. fn is called
// synchronously on the goroutine doing the step, concurrently when
// candidates or batches run in parallel, so it must be quick and safe for
// concurrent use. ctx is the run's context (carrying trace spans).
func WithObserver(fn func(ctx context.Context, e Event)) Option {
	return func(c *config) { c.observer = fn }
}

// WithLogger logs each step at Debug level: scores, issue counts, tokens,
// durations, retries and the stop, with the text of any error.
//
// The rule, for logs and for traces alike (see package otelrefine): the
// text of prompts, answers, critiques and judges' replies never leaves
// through them unless asked for (otelrefine.WithContent(true)); only
// WithObserver's events carry it. The package's own errors hold to it: a
// reply no judge could read is a *VerdictError whose message says why in
// the package's words, with the reply itself in its Raw field only, and
// RunTyped's ErrInvalidAnswer counts the problems without quoting the
// answer. Errors that come from outside are logged as their text: the
// built-in adapters scrub keys, tokens and URL credentials from theirs (a
// server's own message is kept otherwise), and a custom Provider's, Judge's
// or Refiner's errors are logged as it wrote them.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRegressionGuard makes the loop unable to regress: before returning,
// the chosen answer is compared with the first draft by j (judged in both
// orders), and the draft is returned unless the refined answer wins.
// Result.StopReason is kept; Result.Reverted tells that the draft was
// restored. It costs two model calls (one per order) when the loop did
// refine the draft.
func WithRegressionGuard(j *PairwiseJudge) Option {
	return func(c *config) { c.guard, c.guardSet = j, true }
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
