package refine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
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
}

// Loop runs the draft → judge → refine cycle. It is configured once by New
// and never changes afterwards, so a Loop is safe for concurrent use by
// many goroutines; per-call options passed to Run apply to that call only.
// The zero Loop is not usable: build one with New.
type Loop struct {
	cfg  config
	gate *gate
	sem  *semaphore.Weighted
}

// New returns a Loop configured by opts, or an error wrapping
// ErrInvalidOption when an option's value is out of range. A Loop needs no
// provider: one may be given per call to Run.
func New(opts ...Option) (*Loop, error) {
	c := defaultConfig()
	c.apply(opts)
	if err := c.validate(false); err != nil {
		return nil, err
	}
	l := &Loop{cfg: c, gate: &gate{}}
	if c.maxCalls > 0 {
		l.sem = semaphore.NewWeighted(int64(c.maxCalls))
	}
	return l, nil
}

var (
	defaultLoop  atomic.Pointer[Loop]
	emptyDefault = sync.OnceValue(func() *Loop {
		l, _ := New() // the default configuration is valid
		return l
	})
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
// rule fires. opts override the Loop's options for this call only.
//
// Bad input is rejected before any model call: an invalid option
// (ErrInvalidOption), a blank query (ErrEmptyQuery), no provider where one
// is needed (ErrNoProvider).
//
// Reaching the iteration limit is not an error; Result.StopReason tells why
// the run ended. When a model call fails after at least one attempt was
// judged, Run returns the Result so far (its best answer included) together
// with the error, as io.Reader returns n > 0 with an error. The error is a
// *StepError naming the round and stage, wrapping the cause: errors.Is
// works with the provider error kinds and with context.Canceled.
func (l *Loop) Run(ctx context.Context, query string, opts ...Option) (*Result, error) {
	if l == nil {
		l = Default()
	}
	c := l.cfg
	c.maxCallsSet = false // set in New; a per-call one is an error
	if len(opts) > 0 {
		c.apply(opts)
		if err := c.validate(true); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(query) == "" {
		return nil, ErrEmptyQuery
	}
	judge, refiner, err := c.parts()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	env := &callEnv{
		retries: c.retries, backoff: c.backoff, backoffMax: c.backoffMax,
		sem: l.sem, gate: l.gate, observe: c.observer, logger: c.logger,
	}
	r := &run{cfg: &c, env: env, query: query, judge: judge, refiner: refiner, start: time.Now()}
	return r.do(withEnv(ctx, env))
}

// parts returns the judge and refiner of a run, building the LLM defaults
// where none was given.
func (c *config) parts() (Judge, Refiner, error) {
	judge, refiner := c.judge, c.refiner
	if judge == nil {
		p := c.judgeProvider
		if p == nil {
			p = c.provider
		}
		if p == nil {
			return nil, nil, ErrNoProvider
		}
		judge = NewLLMJudge(p)
	}
	if refiner == nil {
		if c.provider == nil {
			return nil, nil, ErrNoProvider
		}
		system := DefaultSystemPrompt
		if c.systemPrompt != nil {
			system = *c.systemPrompt
		}
		refiner = &llmRefiner{p: c.provider, sampling: c.sampling, system: system, history: c.history}
	}
	return judge, refiner, nil
}

// run is the state of one call to Run. Only the drafts stage touches it
// from several goroutines, through mu.
type run struct {
	cfg     *config
	env     *callEnv
	query   string
	judge   Judge
	refiner Refiner
	start   time.Time

	mu    sync.Mutex
	usage Usage // every call, including failed steps

	attempts         []Attempt
	chain            []Attempt // the attempts being refined: the best draft, then each refinement
	chainStart       int       // index in attempts of the draft the chain started from
	reverted         bool      // WithRegressionGuard restored the draft
	best             int
	bestScore        float64
	sinceImprovement int
	lastRound        time.Duration
}

func (r *run) addUsage(u Usage) {
	r.mu.Lock()
	r.usage = r.usage.Add(u)
	r.mu.Unlock()
}

func (r *run) do(ctx context.Context) (*Result, error) {
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
	r.emit(ctx, Event{Kind: EventStopped, StopReason: reason, Usage: res.Usage, Duration: res.Duration, Err: err, Score: res.Score})
	if r.env.logger != nil {
		r.env.logger.DebugContext(ctx, "refine: stopped", "reason", reason, "score", res.Score,
			"attempts", len(res.Attempts), "tokens", res.Usage.Total(), "duration", res.Duration, "error", err)
	}
	if len(r.attempts) == 0 {
		return nil, err
	}
	return res, err
}

func (r *run) loop(ctx context.Context) (StopReason, error) {
	if err := r.drafts(ctx); err != nil {
		return "", err
	}
	for round := 1; ; round++ {
		if reason := r.shouldStop(ctx, round-1); reason != "" {
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
				a, _, err := r.attempt(gctx, 0, i, nil)
				drafts[i] = a
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

// shouldStop applies the stop rules before refinement round done+1.
func (r *run) shouldStop(ctx context.Context, done int) StopReason {
	if r.bestScore >= r.cfg.threshold {
		return StopThreshold
	}
	p := Progress{
		Round: done, Attempts: r.attempts[:len(r.attempts):len(r.attempts)], Best: r.best,
		SinceImprovement: r.sinceImprovement, Usage: r.usage, Elapsed: time.Since(r.start),
	}
	for _, s := range r.cfg.stops {
		if reason := s.Check(p); reason != "" {
			return reason
		}
	}
	if done >= r.cfg.maxIter {
		return StopMaxIterations
	}
	// A time budget set through the context: do not start a round that the
	// last one's duration says cannot finish before the deadline.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < r.lastRound {
		return StopDeadline
	}
	return ""
}

// attempt generates one answer (a draft when history is empty) and judges
// it. converged reports a refinement identical to the previous answer; it is
// not judged again.
func (r *run) attempt(ctx context.Context, round, candidate int, history []Attempt) (a *Attempt, converged bool, err error) {
	stage := "refine"
	if round == 0 {
		stage = "draft"
	}
	fail := func(stage string, err error) (*Attempt, bool, error) {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		return nil, false, &StepError{Round: round, Candidate: candidate, Stage: stage, Err: err}
	}
	start := time.Now()
	resp, err := r.refiner.Refine(ctx, r.query, history)
	if err == nil && resp == nil {
		err = errors.New("refiner returned a nil response and no error")
	}
	if err != nil {
		return fail(stage, err)
	}
	r.addUsage(resp.Usage)
	if strings.TrimSpace(resp.Text) == "" {
		return fail(stage, fmt.Errorf("the model returned an empty answer (finish reason %q)", resp.FinishReason))
	}
	kind := EventRefined
	if round == 0 {
		kind = EventDraft
	}
	r.emit(ctx, Event{Kind: kind, Round: round, Candidate: candidate, Usage: resp.Usage, Duration: time.Since(start)})
	if len(history) > 0 && strings.TrimSpace(resp.Text) == strings.TrimSpace(history[len(history)-1].Answer) {
		return nil, true, nil
	}

	judgeStart := time.Now()
	v, err := r.judge.Evaluate(ctx, r.query, resp.Text)
	if err == nil {
		err = checkVerdict(v)
	}
	if err != nil {
		var ve *VerdictError
		if errors.As(err, &ve) {
			r.addUsage(ve.Usage)
		}
		return fail("judge", err)
	}
	r.addUsage(v.Usage)
	a = &Attempt{Answer: resp.Text, Verdict: v, Usage: resp.Usage.Add(v.Usage), Duration: time.Since(start), Round: round, FinishReason: resp.FinishReason}
	r.emit(ctx, Event{Kind: EventJudged, Round: round, Candidate: candidate, Score: v.Score, Verdict: v, Usage: v.Usage, Duration: time.Since(judgeStart)})
	if r.env.logger != nil {
		r.env.logger.DebugContext(ctx, "refine: judged", "round", round, "candidate", candidate,
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
	return nil
}

func (r *run) emit(ctx context.Context, e Event) {
	if r.env.observe != nil {
		r.env.observe(ctx, e)
	}
}

func (r *run) result(reason StopReason) *Result {
	res := &Result{Attempts: r.attempts, StopReason: reason, Usage: r.usage, Duration: time.Since(r.start), Reverted: r.reverted}
	if len(r.attempts) > 0 {
		res.Best = r.best
		res.Answer = r.attempts[r.best].Answer
		res.Score = r.attempts[r.best].Verdict.Score
	}
	return res
}
