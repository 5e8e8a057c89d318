package refine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
)

// Attempt is one answer of a run and how it was judged.
type Attempt struct {
	Answer   string
	Verdict  *Verdict
	Usage    Usage         // generation + judging of this attempt
	Duration time.Duration // generation + judging of this attempt
	Round    int           // 0 for drafts, 1.. for refinement rounds
	// FinishReason is the generation's, as the provider normalised it:
	// "length" means the answer was cut off by the token limit.
	FinishReason string
	// Cost is the dollars this attempt's calls cost (see WithPrices). When
	// some call's model had no price it counts only the calls that had one:
	// Result.CostKnown tells.
	Cost float64
}

// Result is what a run produced.
type Result struct {
	// Answer is the best attempt's answer: the highest score, a tie going to
	// the later attempt. It is not necessarily the last one: refinement can
	// make an answer worse, and the loop keeps the best.
	Answer     string
	Score      float64
	Best       int       // index into Attempts
	Attempts   []Attempt // Attempts[0] is the first draft (Attempts[:n] the n candidates)
	StopReason StopReason
	Usage      Usage // every call of the run, judge, repairs and discarded candidates included
	Duration   time.Duration
	// Reverted is true when WithRegressionGuard judged the refined answer
	// no better than the first draft and Answer is the draft's.
	Reverted bool
	// Cost is the dollars every call of the run cost (see WithPrices).
	// CostKnown is false when some call's model had no price (or no prices
	// were given): Cost then counts only the calls that had one.
	Cost      float64
	CostKnown bool
	// CostUpperBound is true when some call came from a batch API
	// (Response.Batch) for a model with no batch price (Price.BatchInput,
	// BatchOutput): it was counted at the on-demand price, so Cost is an
	// upper bound of what was paid.
	CostUpperBound bool
}

// Loop runs the draft → judge → refine cycle. It is configured once by New
// and never changes afterwards, so a Loop is safe for concurrent use by
// many goroutines; per-call options passed to Run apply to that call only.
// The zero Loop is not usable: build one with New.
type Loop struct {
	cfg config
	// judge and refiner are built once from cfg; nil when cfg has no
	// provider for them (a per-call one may come).
	judge   Judge
	refiner Refiner
}

// Limits that keep a mistaken option from starting an unbounded run:
// Self-Refine's gains are spent after a few rounds, so a thousand rounds
// or candidates is far more likely a bug (1e9 in place of 9) than intent.
const (
	maxIterationsLimit = 100
	maxCandidatesLimit = 64
)

// New returns a Loop configured by opts, or an error wrapping
// ErrInvalidOption when an option's value is out of range. A Loop needs no
// provider: one may be given per call to Run.
//
// New calls Validate on every part that implements Validator (providers,
// judge, refiner, stop conditions, regression guard) and returns the
// first error, wrapped so that errors.Is finds it, before any model call.
//
// The Loop calls its providers as they are given: it never wraps them.
// Retries belong to the provider (the built-in adapters retry transient
// failures by default; RetryProvider adds retries to a provider of your
// own), so a call is retried by the same rule whichever way its provider
// reached the run.
func New(opts ...Option) (*Loop, error) {
	c := defaultConfig()
	c.apply(opts)
	if err := c.validate(); err != nil {
		return nil, err
	}
	l := &Loop{cfg: c}
	l.judge, l.refiner = c.parts()
	return l, nil
}

// Validate reports whether Run, called with no per-call options, can
// start: ErrNoProvider when the Loop has no provider for its judge or
// refiner (one may still come per call), or the error of a stop
// condition's check before the first call (CostBudget without prices).
// Everything else New already checked. It makes no model call; tools that
// run a Loop they were handed (eval.Compare) call it before spending
// anything.
func (l *Loop) Validate() error {
	if l == nil {
		l = Default()
	}
	if l.judge == nil || l.refiner == nil {
		return ErrNoProvider
	}
	return l.cfg.precheck()
}

var (
	defaultLoop  atomic.Pointer[Loop]
	emptyDefault = sync.OnceValue(func() *Loop {
		l, _ := New() // the default configuration is valid
		return l
	})
	runIDs atomic.Uint64
)

// Default returns the Loop used by the package-level Run. It is never nil:
// until SetDefault is called it is a Loop with no provider, on which Run
// returns ErrNoProvider.
func Default() *Loop {
	if l := defaultLoop.Load(); l != nil {
		return l
	}
	return emptyDefault()
}

// SetDefault makes l the Loop used by the package-level Run. It panics if l
// is nil. It is safe to call concurrently with Run.
func SetDefault(l *Loop) {
	if l == nil {
		panic("refine: SetDefault(nil)")
	}
	defaultLoop.Store(l)
}

// Run refines an answer to query on the Default Loop. See (*Loop).Run.
func Run(ctx context.Context, query string, opts ...Option) (*Result, error) {
	return Default().Run(ctx, query, opts...)
}

// Run drafts an answer to query, judges it, and refines it until a stop
// rule fires. opts override the Loop's options for this call only, and
// are validated as New validates them (parts given in opts included).
//
// Bad input is rejected before any model call: an invalid option
// (ErrInvalidOption), a part whose Validate fails, a stop condition whose
// check before the first call fails (CostBudget without prices), a query
// with no visible characters (ErrEmptyQuery: see IsBlank) or that is not
// valid UTF-8 (ErrInvalidOption), no provider where one is needed
// (ErrNoProvider).
//
// Reaching the iteration limit is not an error; Result.StopReason tells why
// the run ended. When a step fails after at least one attempt was judged,
// Run returns the Result so far (its best answer included) together with
// the error, as io.Reader returns n > 0 with an error. The error is a
// *StepError naming the round and stage, wrapping the cause: errors.Is
// works with the provider error kinds and with context.Canceled. When no
// attempt was judged the Result is nil and the StepError's Usage holds the
// tokens spent. A panic in a judge, refiner, provider or observer on a
// goroutine the run started comes back as an error with the stack.
func (l *Loop) Run(ctx context.Context, query string, opts ...Option) (*Result, error) {
	r, err := l.start(ctx, query, opts, nil)
	if err != nil {
		return nil, err
	}
	return r.do(ctx)
}

// start validates a call and prepares its run. extra, when not nil,
// listens to the run's events after the configured observer.
func (l *Loop) start(ctx context.Context, query string, opts []Option, extra func(context.Context, Event)) (*run, error) {
	if l == nil {
		l = Default()
	}
	c, judge, refiner := &l.cfg, l.judge, l.refiner
	if len(opts) > 0 {
		cc := l.cfg
		cc.apply(opts)
		if err := cc.validate(); err != nil {
			return nil, err
		}
		c = &cc
		judge, refiner = c.parts()
	}
	if err := validateChecks(c.checks, c.schema != nil); err != nil {
		return nil, err
	}
	if err := c.precheck(); err != nil {
		return nil, err
	}
	if err := checkQuery(query); err != nil {
		return nil, err
	}
	if judge == nil || refiner == nil {
		return nil, ErrNoProvider
	}
	if c.judgeWrap != nil {
		judge = c.judgeWrap(judge)
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	obs := &observer{runID: runIDs.Add(1), fn: c.observer, logger: c.logger, prices: c.prices, ctx: ctx}
	if extra != nil {
		if user := c.observer; user != nil {
			obs.fn = func(ctx context.Context, e Event) { user(ctx, e); extra(ctx, e) }
		} else {
			obs.fn = extra
		}
	}
	return &run{cfg: c, obs: obs, query: query, judge: judge, refiner: refiner, start: time.Now(), costKnown: c.prices != nil}, nil
}

// checkQuery rejects a query the model should never see.
func checkQuery(q string) error {
	if !utf8.ValidString(q) {
		for i := 0; i < len(q); {
			r, n := utf8.DecodeRuneInString(q[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("refine: the query is not valid UTF-8 (byte %d is %#x): %w", i, q[i], ErrInvalidOption)
			}
			i += n
		}
	}
	if IsBlank(q) {
		return ErrEmptyQuery
	}
	return nil
}

// IsBlank reports whether s has no visible character: only white space,
// control characters (NUL included), format characters (zero-width
// spaces and joiners, BOM, bidi marks), combining marks on nothing, and
// the Hangul and Braille fillers that render as nothing. It is the check
// Run applies to queries (ErrEmptyQuery) and to answers; use it to reject
// the same input before it reaches a Loop.
func IsBlank(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r):
		case r == '\u115F', r == '\u1160', r == '\u3164', r == '\uFFA0', r == '\u2800':
		default:
			return false
		}
	}
	return true
}

// parts returns the judge and refiner of a configuration, building the LLM
// defaults where none was given; nil where a provider is missing.
func (c *config) parts() (Judge, Refiner) {
	judge, refiner := c.judge, c.refiner
	if judge == nil {
		p := c.judgeProvider
		if p == nil {
			p = c.provider
		}
		if p != nil {
			judge = NewLLMJudge(p)
		}
	}
	if refiner == nil && c.provider != nil {
		system := defaultSystemPrompt
		if c.systemPrompt != nil {
			system = *c.systemPrompt
		}
		refiner = &llmRefiner{p: c.provider, sampling: c.sampling, system: system, history: c.history, schema: c.schema}
	}
	return judge, refiner
}

// run is the state of one call to Run. Only the drafts stage touches it
// from several goroutines, through mu.
type run struct {
	cfg     *config
	obs     *observer
	query   string
	judge   Judge
	refiner Refiner
	start   time.Time

	mu        sync.Mutex
	usage     Usage // every call, including failed steps
	cost      float64
	costKnown bool
	costUpper bool // see Result.CostUpperBound

	attempts         []Attempt
	chain            []Attempt // the attempts being refined: the best draft, then each refinement
	chainStart       int       // index in attempts of the draft the chain started from
	reverted         bool      // WithRegressionGuard restored the draft
	best             int
	bestScore        float64
	sinceImprovement int
	lastRound        time.Duration
}

// newStep starts counting a step of the run.
func (r *run) newStep(stage string, round, candidate int) *step {
	return &step{obs: r.obs, stage: stage, round: round, candidate: candidate,
		stream: stage == "draft" || stage == "refine"}
}

// finish adds a step's spending to the run and returns it. Calls counted
// through the step are exact; a part that made none through it (a custom
// judge or refiner) is taken at its word, reported, and its cost is
// unknown. When a part reports more than was counted (a composite judge
// with a custom part beside an LLM one), the report wins: it holds the
// counted calls and the others, whose cost is unknown.
func (r *run) finish(s *step, reported Usage) (Usage, float64) {
	u, cost, known, counted := s.counted()
	switch {
	case !counted:
		u, cost, known = reported, 0, reported == Usage{}
	case reported.Total() > u.Total():
		u, known = reported, false
	}
	r.mu.Lock()
	r.usage = r.usage.Add(u)
	r.cost += cost
	r.costKnown = r.costKnown && known
	r.costUpper = r.costUpper || s.upperBound()
	r.mu.Unlock()
	return u, cost
}

func (r *run) do(ctx context.Context) (*Result, error) {
	// A panic in a part on the caller's goroutine goes on to the caller,
	// as any panic would; observers still hear that the run ended.
	defer func() {
		if v := recover(); v != nil {
			r.obs.emit(Event{Kind: EventStopped, StopReason: StopError, Usage: r.usage, Duration: time.Since(r.start),
				Err: &panicError{where: "run", value: v, stack: debug.Stack()}})
			panic(v)
		}
	}()
	reason, err := r.loop(ctx)
	if err == nil && r.cfg.guard != nil && len(r.attempts) > 0 {
		err = r.guard(ctx)
	}
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			reason = StopCanceled
		case errors.Is(err, context.DeadlineExceeded):
			reason = StopDeadline
		default:
			reason = StopError
		}
	}
	res := r.result(reason)
	if se := (*StepError)(nil); errors.As(err, &se) {
		se.Usage = res.Usage
	}
	if len(r.attempts) == 0 {
		res = nil
	}
	stopped := Event{Kind: EventStopped, StopReason: reason, Usage: r.usage, Duration: time.Since(r.start), Err: err, Result: res}
	if res != nil {
		stopped.Score = res.Score
	}
	r.obs.emit(stopped)
	if l := r.obs.logger; l != nil {
		l.DebugContext(ctx, "refine: stopped", "reason", reason, "score", stopped.Score,
			"attempts", len(r.attempts), "tokens", r.usage.Total(), "duration", stopped.Duration, "error", err)
	}
	return res, err
}

func (r *run) loop(ctx context.Context) (StopReason, error) {
	if err := r.drafts(ctx); err != nil {
		return "", err
	}
	for round := 1; ; round++ {
		reason, err := r.shouldStop(ctx, round-1)
		if err != nil {
			return "", &StepError{Round: round, Stage: "stop", Err: err}
		}
		if reason != "" {
			return reason, nil
		}
		started := time.Now()
		a, converged, err := r.attempt(ctx, round, 0, r.chain[:len(r.chain):len(r.chain)])
		if err != nil {
			return "", err
		}
		r.lastRound = time.Since(started)
		if converged {
			return StopConverged, nil
		}
		r.chain = append(r.chain, *a)
		r.add(*a)
	}
}

// drafts makes the first drafts, concurrently when there are several, and
// starts the chain from the best one.
func (r *run) drafts(ctx context.Context) error {
	n := r.cfg.candidates
	started := time.Now()
	drafts := make([]*Attempt, n)
	var err error
	if n == 1 {
		drafts[0], _, err = r.attempt(ctx, 0, 0, nil)
	} else {
		g, gctx := errgroup.WithContext(ctx)
		for i := range n {
			g.Go(func() error {
				err := protect("candidate", func() error {
					a, _, err := r.attempt(gctx, 0, i, nil)
					drafts[i] = a
					return err
				})
				if pe := (*panicError)(nil); errors.As(err, &pe) {
					// A StepError, so that the tokens spent come with it.
					err = &StepError{Round: 0, Candidate: i, Stage: "draft", Err: err}
				}
				return err
			})
		}
		err = g.Wait()
	}
	// Candidates that were judged before a failure are kept: nothing is lost.
	for _, a := range drafts {
		if a != nil {
			r.add(*a)
		}
	}
	if err != nil {
		return err
	}
	r.lastRound = time.Since(started)
	r.chainStart = r.best
	r.chain = []Attempt{r.attempts[r.best]}
	return nil
}

// add records a judged attempt and updates the best one.
func (r *run) add(a Attempt) {
	r.attempts = append(r.attempts, a)
	i := len(r.attempts) - 1
	switch {
	case i == 0 || a.Verdict.Score > r.bestScore:
		r.best, r.bestScore = i, a.Verdict.Score
		if a.Round > 0 {
			r.sinceImprovement = 0
		}
	case a.Verdict.Score == r.bestScore:
		r.best = i // a tie goes to the later attempt
		if a.Round > 0 {
			r.sinceImprovement++
		}
	default:
		if a.Round > 0 {
			r.sinceImprovement++
		}
	}
}

// shouldStop applies the stop rules before refinement round done+1. A rule
// that cannot decide safely (a CostBudget whose cost is unknown) returns an
// error, which fails the run rather than let it go on unlimited.
func (r *run) shouldStop(ctx context.Context, done int) (StopReason, error) {
	p := Progress{
		Round: done, Attempts: r.attempts[:len(r.attempts):len(r.attempts)], Best: r.best,
		SinceImprovement: r.sinceImprovement, Usage: r.usage, Elapsed: time.Since(r.start),
		Threshold: r.cfg.threshold, Cost: r.cost, CostKnown: r.costKnown, Priced: r.cfg.prices != nil,
	}
	if r.bestScore >= r.cfg.threshold && !r.cfg.thresholdDecided() {
		return StopThreshold, nil
	}
	for _, s := range r.cfg.stops {
		reason, err := s.Check(p)
		if err != nil {
			return "", err
		}
		if reason != "" {
			return reason, nil
		}
	}
	if done >= r.cfg.maxIter {
		return StopMaxIterations, nil
	}
	// A time budget set through the context: do not start a round that the
	// last one's duration says cannot finish before the deadline.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < r.lastRound {
		return StopDeadline, nil
	}
	return "", nil
}

// attempt generates one answer (a draft when history is empty) and judges
// it. converged reports a refinement identical to the previous answer; it is
// not judged again.
func (r *run) attempt(ctx context.Context, round, candidate int, history []Attempt) (a *Attempt, converged bool, err error) {
	stage := "refine"
	kind := EventRefined
	if round == 0 {
		stage, kind = "draft", EventDraft
	}
	fail := func(stage string, err error) (*Attempt, bool, error) {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
		return nil, false, &StepError{Round: round, Candidate: candidate, Stage: stage, Err: err}
	}
	start := time.Now()
	gen := r.newStep(stage, round, candidate)
	resp, err := r.refiner.Refine(withStep(ctx, gen), r.query, history)
	if err == nil {
		err = checkResponse(resp)
	}
	reported := UsageOf(err)
	if err == nil {
		reported = resp.Usage
	}
	genUsage, genCost := r.finish(gen, reported)
	if err != nil {
		return fail(stage, err)
	}
	if IsBlank(resp.Text) {
		return fail(stage, fmt.Errorf("the model returned an empty answer (finish reason %q)", resp.FinishReason))
	}
	r.obs.emit(Event{Kind: kind, Round: round, Candidate: candidate, Usage: genUsage, Duration: time.Since(start)})
	if len(history) > 0 && strings.TrimSpace(resp.Text) == strings.TrimSpace(history[len(history)-1].Answer) {
		return nil, true, nil
	}

	judgeStart := time.Now()
	js := r.newStep("judge", round, candidate)
	v, err := r.judge.Evaluate(withStep(ctx, js), r.query, resp.Text)
	if err == nil {
		err = checkVerdict(v)
	}
	reported = UsageOf(err)
	if err == nil {
		reported = v.Usage
	}
	judgeUsage, judgeCost := r.finish(js, reported)
	if err != nil {
		return fail("judge", err)
	}
	a = &Attempt{Answer: resp.Text, Verdict: v, Usage: genUsage.Add(judgeUsage), Duration: time.Since(start),
		Round: round, FinishReason: resp.FinishReason, Cost: genCost + judgeCost}
	r.obs.emit(Event{Kind: EventJudged, Round: round, Candidate: candidate, Score: v.Score, Verdict: v, Usage: judgeUsage, Duration: time.Since(judgeStart)})
	if l := r.obs.logger; l != nil {
		l.DebugContext(ctx, "refine: judged", "round", round, "candidate", candidate,
			"score", v.Score, "issues", len(v.Issues), "tokens", a.Usage.Total(), "duration", a.Duration)
	}
	return a, false, nil
}

// checkVerdict rejects what a custom judge may get wrong.
func checkVerdict(v *Verdict) error {
	if v == nil {
		return errors.New("judge returned a nil verdict and no error")
	}
	if !(v.Score >= 0 && v.Score <= 10) {
		return fmt.Errorf("judge returned score %v, outside 0..10", v.Score)
	}
	if u := v.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
		return fmt.Errorf("judge reported negative token counts (%+v)", v.Usage)
	}
	return checkDist(v.Dist)
}

// checkDist rejects a score distribution stop rules cannot trust: it must
// hold P(score = k) for k = 0..10, each within [0, 1], summing to 1.
func checkDist(d []float64) error {
	if d == nil {
		return nil
	}
	if len(d) != 11 {
		return fmt.Errorf("judge returned a score distribution of %d entries, want 11 (scores 0..10)", len(d))
	}
	sum := 0.0
	for k, p := range d {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("judge returned P(score = %d) = %v, outside [0, 1]", k, p)
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("judge returned a score distribution summing to %v, want 1", sum)
	}
	return nil
}

func (r *run) result(reason StopReason) *Result {
	res := &Result{Attempts: r.attempts, StopReason: reason, Usage: r.usage, Duration: time.Since(r.start),
		Reverted: r.reverted, Cost: r.cost, CostKnown: r.costKnown, CostUpperBound: r.costUpper}
	if len(r.attempts) > 0 {
		res.Best = r.best
		res.Answer = r.attempts[r.best].Answer
		res.Score = r.attempts[r.best].Verdict.Score
	}
	return res
}
