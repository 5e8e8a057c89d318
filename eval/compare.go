package eval

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"unicode/utf8"

	"github.com/selfrefine/refine"
	"golang.org/x/sync/errgroup"
)

// Task is one question of an evaluation.
type Task struct {
	ID        string `json:"id"` // the CLI turns numeric ids into their decimal text
	Query     string `json:"query"`
	Reference string `json:"reference,omitempty"` // given to the comparison judge
}

// Arm is one way of answering: refine with Loop, or one call of Provider
// with System and Sampling (no judge, no refinement) — the baseline a user
// would pick instead. Exactly one of Loop and Provider is set; System and
// Sampling apply to a Provider arm only (a Loop has its own).
type Arm struct {
	Name     string
	Loop     *refine.Loop
	Provider refine.Provider
	System   string
	Sampling refine.Sampling
}

// CompareOption configures Compare. A bad value is an error of Compare,
// before any model call.
type CompareOption func(*compareConfig)

type compareConfig struct {
	repeat      int
	repeatSet   bool
	confidence  float64
	seed        uint64
	concurrency int
	prices      map[string]refine.Price
	err         error
}

func (c *compareConfig) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("eval: "+format+": %w", append(args, refine.ErrInvalidOption)...)
	}
}

// Repeat runs every task k times, independently (default 1). The trials
// of a task are not independent samples of the task set, so they are
// aggregated into one outcome per task (the majority of its decisive
// trials; a tie otherwise) before the interval and the test. With k > 1
// the report also shows how often the trials of a task agree, and how
// often the judge, shown the first trial's pair again, repeats its
// verdict. Trial t reaches a Provider arm as Request.Seed t (added to the
// arm's own Sampling.Seed when it has one), so recordings keep trials
// apart.
func Repeat(k int) CompareOption {
	return func(c *compareConfig) {
		if k < 1 || k > 1000 {
			c.fail("Repeat(%d): want 1 to 1000 trials per task", k)
		}
		c.repeat, c.repeatSet = k, true
	}
}

// Confidence sets the confidence level of every interval of the report
// (default 0.95). The significance level of Report.Significant is 1 - c.
func Confidence(level float64) CompareOption {
	return func(c *compareConfig) {
		if !(level > 0 && level < 1) {
			c.fail("Confidence(%v): want a level strictly between 0 and 1, such as 0.95", level)
		}
		c.confidence = level
	}
}

// Seed seeds the bootstrap intervals (default 0): the same tasks, answers
// and seed give the same report.
func Seed(s uint64) CompareOption { return func(c *compareConfig) { c.seed = s } }

// Concurrency sets how many trials run at once (default 4). Each trial
// runs its two arms one after the other, then the comparison.
func Concurrency(n int) CompareOption {
	return func(c *compareConfig) {
		if n < 1 {
			c.fail("Concurrency(%d): want at least 1", n)
		}
		c.concurrency = n
	}
}

// Prices prices a Provider arm's call by the model its response names, as
// refine.Cost does; without it (or when the model has no price) the arm's
// cost is unknown. A Loop arm's cost comes from the Loop's own
// refine.WithPrices. The map is not modified.
func Prices(prices map[string]refine.Price) CompareOption {
	return func(c *compareConfig) { c.prices = prices }
}

// Compare answers every task with both arms and has judge compare the two
// answers in both orders (a split decision is a tie). A task whose arm or
// comparison returned an error counts in Failed (even with a partial
// Result), never as a win, loss or tie; its tokens still count. With
// repeats, trials of a task are aggregated into one outcome per task
// before the interval and the test; the trial index reaches the providers
// as Request.Seed: a Provider arm's call, and a Loop arm's drafts and
// refinements (refine.WithSeed), so that recordings keep trials apart.
//
// Each task's Reference reaches the judge through
// (*refine.PairwiseJudge).WithReference. A judge that compares the arms'
// outputs should not be the judge a Loop arm optimised toward, nor the
// model that wrote the answers: both overstate the gain.
//
// A Provider arm makes exactly one Complete per task and trial (the
// built-in adapters retry transient failures inside it; wrap a provider
// of your own in refine.RetryProvider); a blank reply is a failure. A Loop
// arm calls Run. The arms of a trial run one after the other, then the
// comparison; Concurrency trials run at once.
//
// Bad input is an error wrapping refine.ErrInvalidOption before any model
// call: no tasks, a blank or repeated id, a blank query, an arm with both
// or neither of Loop and Provider (or System or Sampling on a Loop arm), a
// nil or misconfigured judge, a bad option. Task failures are not errors
// of Compare: they are counted and kept in Report.Results. When ctx ends,
// Compare returns the report of what was done, tasks left undone counted
// as failed, with ctx's error.
func Compare(ctx context.Context, tasks []Task, judge *refine.PairwiseJudge, a, b Arm, opts ...CompareOption) (*Report, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := validate(tasks, judge); err != nil {
		return nil, err
	}
	if err := checkArms(&a, &b); err != nil {
		return nil, err
	}
	trials := make([]int, len(tasks))
	for i := range trials {
		trials[i] = cfg.repeat
	}
	return run(ctx, cfg, tasks, trials, judge, a.Name, b.Name, func(ctx context.Context, i int, tr *Trial) {
		tr.A = answer(ctx, cfg, &a, tasks[i].Query, tr.Index)
		tr.B = answer(ctx, cfg, &b, tasks[i].Query, tr.Index)
	})
}

func newConfig(opts []CompareOption) (*compareConfig, error) {
	cfg := &compareConfig{repeat: 1, confidence: 0.95, concurrency: 4}
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	return cfg, cfg.err
}

// run is the engine of Compare and CompareAnswers: for each trial k of
// task i (trials[i] of them) answer fills in both answers, then the judge
// compares them; the trials are then summed up into the report.
func run(ctx context.Context, cfg *compareConfig, tasks []Task, trials []int, judge *refine.PairwiseJudge, nameA, nameB string,
	answer func(ctx context.Context, i int, tr *Trial)) (*Report, error) {
	results := make([]TaskResult, len(tasks))
	for i, t := range tasks {
		results[i] = TaskResult{ID: t.ID, Trials: make([]Trial, trials[i])}
		for k := range results[i].Trials {
			results[i].Trials[k].Index = k
		}
	}
	// Trials record their own errors: none stops the others, so the group
	// needs no context of its own.
	var g errgroup.Group
	g.SetLimit(cfg.concurrency)
	for i, t := range tasks {
		j := judge.WithReference(t.Reference)
		for k := range trials[i] {
			g.Go(func() error {
				tr := &results[i].Trials[k]
				if ctx.Err() != nil {
					tr.fail(fmt.Errorf("not run: %w", context.Cause(ctx)))
					return nil
				}
				if err := safely(func() { answer(ctx, i, tr) }); err != nil {
					tr.fail(err)
					return nil
				}
				if err := safely(func() { judgeTrial(ctx, t, j, nameA, nameB, tr) }); err != nil {
					tr.fail(err)
				}
				if k == 0 && trials[i] > 1 && tr.Winner != "" {
					if err := safely(func() { rejudge(ctx, t, j, &results[i], tr) }); err != nil {
						results[i].RejudgeError = err.Error()
					}
				}
				return nil
			})
		}
	}
	_ = g.Wait()
	r := summarize(cfg, nameA, nameB, results)
	if err := ctx.Err(); err != nil {
		return r, context.Cause(ctx)
	}
	return r, nil
}

func validate(tasks []Task, judge *refine.PairwiseJudge) error {
	if len(tasks) == 0 {
		return fmt.Errorf("eval: no tasks to compare: %w", refine.ErrInvalidOption)
	}
	seen := make(map[string]int, len(tasks))
	for i, t := range tasks {
		if refine.IsBlank(t.ID) {
			return fmt.Errorf("eval: task %d has a blank id %q: %w", i+1, t.ID, refine.ErrInvalidOption)
		}
		if j, ok := seen[t.ID]; ok {
			return fmt.Errorf("eval: tasks %d and %d have the same id %q: %w", j+1, i+1, t.ID, refine.ErrInvalidOption)
		}
		seen[t.ID] = i
		if !utf8.ValidString(t.Query) {
			return fmt.Errorf("eval: task %q: the query is not valid UTF-8: %w", t.ID, refine.ErrInvalidOption)
		}
		if refine.IsBlank(t.Query) {
			return fmt.Errorf("eval: task %q: blank query %q: %w", t.ID, t.Query, refine.ErrInvalidOption)
		}
	}
	if judge == nil {
		return fmt.Errorf("eval: the comparison judge is nil: %w", refine.ErrInvalidOption)
	}
	if err := judge.Validate(); err != nil {
		return fmt.Errorf("eval: the comparison judge: %w", err)
	}
	return nil
}

func checkArms(a, b *Arm) error {
	for _, arm := range []struct {
		label string
		arm   *Arm
	}{{"A", a}, {"B", b}} {
		if arm.arm.Name == "" {
			arm.arm.Name = arm.label
		}
		if err := arm.arm.check(); err != nil {
			return fmt.Errorf("eval: arm %s (%q): %w: %w", arm.label, arm.arm.Name, err, refine.ErrInvalidOption)
		}
	}
	return nil
}

func (a *Arm) check() error {
	switch {
	case a.Loop != nil && a.Provider != nil:
		return errors.New("both Loop and Provider are set; set exactly one")
	case a.Loop == nil && a.Provider == nil:
		return errors.New("neither Loop nor Provider is set; set exactly one")
	case a.Loop != nil && a.System != "":
		return errors.New("System applies to a Provider arm only (a Loop takes refine.WithSystemPrompt)")
	case a.Loop != nil && !isZeroSampling(a.Sampling):
		return errors.New("Sampling applies to a Provider arm only (a Loop takes its own sampling options)")
	}
	var part any = a.Provider
	if a.Loop != nil {
		part = a.Loop
	}
	if v, ok := part.(refine.Validator); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	// The same ranges as the Loop's sampling options.
	s := a.Sampling
	switch {
	case s.Temperature != nil && !(*s.Temperature >= 0 && *s.Temperature <= 2):
		return fmt.Errorf("Sampling.Temperature %v must be within [0, 2]", *s.Temperature)
	case s.TopP != nil && !(*s.TopP >= 0 && *s.TopP <= 1):
		return fmt.Errorf("Sampling.TopP %v must be within [0, 1]", *s.TopP)
	case s.MaxTokens < 0:
		return fmt.Errorf("Sampling.MaxTokens %d must be >= 0 (0 means the provider's default)", s.MaxTokens)
	}
	return nil
}

func isZeroSampling(s refine.Sampling) bool {
	return s.Temperature == nil && s.TopP == nil && s.MaxTokens == 0 && len(s.Stop) == 0 && s.Seed == nil
}

// safely runs f, turning a panic into an error with the stack, so that a
// panicking provider fails its trial, not the process.
func safely(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("eval: panic: %v\n%s", v, debug.Stack())
		}
	}()
	f()
	return nil
}

// judgeTrial compares the trial's two answers; every outcome, failures
// included, lands in tr. A trial with a failed arm is not judged.
func judgeTrial(ctx context.Context, t Task, j *refine.PairwiseJudge, nameA, nameB string, tr *Trial) {
	if tr.A.Err != nil || tr.B.Err != nil {
		tr.fail(errors.Join(armError(nameA, tr.A.Err), armError(nameB, tr.B.Err)))
		return
	}
	c, err := j.Compare(ctx, t.Query, tr.A.Answer, tr.B.Answer)
	if err != nil {
		tr.UsageJudge = refine.UsageOf(err)
		tr.fail(fmt.Errorf("comparison: %w", err))
		return
	}
	tr.UsageJudge = c.Usage
	tr.Winner, tr.Orders = c.Winner, c.Orders
}

// rejudge has the judge compare trial 0's pair again, to measure how
// often it repeats its own verdict.
func rejudge(ctx context.Context, t Task, j *refine.PairwiseJudge, res *TaskResult, tr *Trial) {
	c, err := j.Compare(ctx, t.Query, tr.A.Answer, tr.B.Answer)
	if err != nil {
		res.UsageJudge = res.UsageJudge.Add(refine.UsageOf(err))
		res.RejudgeError = err.Error()
		return
	}
	res.UsageJudge = res.UsageJudge.Add(c.Usage)
	res.Rejudge = c.Winner
}

func armError(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("arm %s: %w", name, err)
}

// answer runs one arm on query for trial k; a panic in it is the arm's
// error, so that the other arm still runs and its tokens count.
func answer(ctx context.Context, cfg *compareConfig, arm *Arm, query string, k int) (out ArmAnswer) {
	if err := safely(func() { out = answerUnsafe(ctx, cfg, arm, query, k) }); err != nil {
		out.Err = err
	}
	return out
}

func answerUnsafe(ctx context.Context, cfg *compareConfig, arm *Arm, query string, k int) ArmAnswer {
	if arm.Loop != nil {
		var opts []refine.Option
		if cfg.repeat > 1 {
			opts = append(opts, refine.WithSeed(int64(k)))
		}
		res, err := arm.Loop.Run(ctx, query, opts...)
		out := ArmAnswer{Err: err}
		if res == nil {
			out.Usage = refine.UsageOf(err)
			out.CostKnown = out.Usage == (refine.Usage{})
			return out
		}
		out.Answer, out.Usage, out.Cost, out.CostKnown, out.CostUpperBound = res.Answer, res.Usage, res.Cost, res.CostKnown, res.CostUpperBound
		if len(res.Attempts) > 0 {
			out.DraftAnswer = res.Attempts[0].Answer
		}
		score := res.Score
		out.Score = &score
		if len(res.Attempts) > 0 && res.Attempts[0].Verdict != nil {
			d := res.Attempts[0].Verdict.Score
			out.DraftScore = &d
		}
		return out
	}
	req := &refine.Request{Sampling: arm.Sampling}
	if arm.System != "" {
		req.Messages = append(req.Messages, refine.Message{Role: refine.RoleSystem, Content: arm.System})
	}
	req.Messages = append(req.Messages, refine.Message{Role: refine.RoleUser, Content: query})
	if cfg.repeat > 1 {
		seed := int64(k)
		if arm.Sampling.Seed != nil {
			seed += *arm.Sampling.Seed
		}
		req.Seed = &seed
	}
	resp, err := arm.Provider.Complete(ctx, req)
	if err != nil {
		u := refine.UsageOf(err)
		return ArmAnswer{Usage: u, CostKnown: u == (refine.Usage{}), Err: err}
	}
	if resp == nil {
		return ArmAnswer{Err: errors.New("the provider returned neither a response nor an error")}
	}
	out := ArmAnswer{Answer: resp.Text, Usage: resp.Usage, Model: resp.Model}
	out.Cost, out.CostKnown, out.CostUpperBound = refine.ReplyCost(cfg.prices, resp)
	if refine.IsBlank(resp.Text) {
		out.Err = fmt.Errorf("blank answer %q (finish reason %q)", truncate(resp.Text), resp.FinishReason)
	}
	return out
}

func truncate(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
