package refine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Simulate answers "what would this run have returned under other
// settings?" without model calls: it runs the loop again with opts, every
// draft, refinement and verdict served from recorded, and returns what Run
// would have returned — the best answer, the stop reason, and the usage and
// cost up to the stop. A batch of runs recorded once (saved as JSON) is
// enough to tune the threshold, the rounds and the stop rules.
//
// Options start from the defaults, as New's do; those that decide when to
// stop are the point (WithThreshold, WithMaxIterations, WithStop with
// NoImprovement, TokenBudget, CostBudget, Confident...), and WithObserver
// and WithLogger watch the replay (its calls name their model
// "refine.simulate/…"). Options that would change what a model
// answers have nothing to replay and are an error: WithProvider,
// WithJudgeProvider, WithJudge, WithRefiner, WithRegressionGuard, the
// sampling options, WithSystemPrompt, WithHistory, WithPrices (the
// recorded costs are replayed) and a WithCandidates other than the
// recorded number of drafts.
//
// The loop is the real one, so the rules are applied exactly as in a run:
// parts are validated, every stop condition is checked before the first
// replayed call (with Progress.Priced true exactly when the recording's
// cost is known, so CostBudget refuses a recording without one), and a
// condition's error ends the simulation as it would end a run.
// Each attempt keeps its recorded usage, cost and duration; the simulated
// Result.Duration is the recorded one when the simulation stops where the
// recording did, and otherwise the recorded time of the attempts it kept
// (parallel drafts counted once). Rules that read the elapsed time or the
// context's deadline see the simulation's own clock, and a regression
// guard is not replayed (Reverted is false).
//
// When the options would go further than the recording — a round it does
// not have, because the recorded run had stopped — Simulate returns the
// Result up to that point with an error saying so. To sweep settings,
// record with the loosest ones (WithThreshold(10) and the most rounds).
// A nil or empty recording, or one whose attempts are not in the order a
// run makes them, is an error.
func Simulate(recorded *Result, opts ...Option) (*Result, error) {
	rp, err := newReplay(recorded)
	if err != nil {
		return nil, err
	}
	if err := rp.check(opts); err != nil {
		return nil, err
	}
	loop, err := New(append(opts[:len(opts):len(opts)],
		WithRefiner(rp), WithJudge(rp), WithCandidates(rp.drafts), WithPrices(rp.prices))...)
	if err != nil {
		return nil, err
	}
	// Run makes the stop rules' check before the first call too; made here
	// first, its error can say why a replay has no prices.
	if err := loop.cfg.precheck(); err != nil {
		if rp.prices == nil {
			return nil, fmt.Errorf("refine: Simulate: the recording has no cost (record with WithPrices to replay a rule counting dollars): %w", err)
		}
		return nil, err
	}
	res, err := loop.Run(context.Background(), "simulated run")
	if res != nil {
		rp.durations(res)
	}
	return res, err
}

// replay serves a recorded run to the loop as its Refiner and Judge. It
// makes its "calls" through call, so the loop counts their usage and cost
// as it counts a real run's.
type replay struct {
	rec    *Result
	drafts int
	gen    []Usage // generation part of each attempt
	judged []Usage // judging part of each attempt
	// The model ids the generation and the judgement of each attempt
	// report: one of them carries the attempt's recorded cost.
	genModel, judgeModel []string
	// prices gives each replayed call its recorded cost; nil when the
	// recording's cost is unknown.
	prices map[string]Price
	// converged is the usage (and cost, in prices) of the refinement that
	// repeated the previous answer, when the recorded run stopped on it.
	converged Usage
}

// Model ids of replayed calls: each attempt's generation carries its
// recorded cost; judgements cost nothing of their own.
const (
	simModelFree      = "refine.simulate/free"
	simModelConverged = "refine.simulate/converged"
)

func simModel(i int) string { return "refine.simulate/" + strconv.Itoa(i) }

func newReplay(rec *Result) (*replay, error) {
	if rec == nil {
		return nil, errors.New("refine: Simulate: the recorded Result is nil")
	}
	if len(rec.Attempts) == 0 {
		return nil, errors.New("refine: Simulate: the recorded Result has no attempts")
	}
	rp := &replay{rec: rec}
	if rec.CostKnown {
		rp.prices = map[string]Price{simModelFree: {}}
	}
	var total Usage
	var totalCost float64
	for i, a := range rec.Attempts {
		switch {
		case a.Verdict == nil:
			return nil, fmt.Errorf("refine: Simulate: recorded attempt %d has no verdict", i)
		case !(a.Verdict.Score >= 0 && a.Verdict.Score <= 10):
			return nil, fmt.Errorf("refine: Simulate: recorded attempt %d has score %v, outside 0..10", i, a.Verdict.Score)
		case negative(a.Usage) || negative(a.Verdict.Usage):
			return nil, fmt.Errorf("refine: Simulate: recorded attempt %d has negative token counts (%+v)", i, a.Usage)
		case !(a.Cost >= 0) || !isFinite(a.Cost):
			return nil, fmt.Errorf("refine: Simulate: recorded attempt %d has cost %v", i, a.Cost)
		case a.Round == 0 && rp.drafts == i:
			rp.drafts++
		case a.Round != i-rp.drafts+1 || rp.drafts == 0:
			return nil, fmt.Errorf("refine: Simulate: recorded attempt %d is from round %d; a run records its drafts (round 0) first, then rounds 1, 2, ... in order", i, a.Round)
		}
		// The judge's own count is the judging part; what is left is the
		// generation's. A judge that reported more than was counted
		// (possible for custom judges) leaves the generation at zero.
		g := clampSub(a.Usage, a.Verdict.Usage)
		rp.gen = append(rp.gen, g)
		rp.judged = append(rp.judged, sub(a.Usage, g))
		total = total.Add(a.Usage)
		totalCost += a.Cost
		rp.genModel = append(rp.genModel, simModel(i))
		rp.judgeModel = append(rp.judgeModel, simModelFree)
		if g.Total() == 0 {
			// Nothing counted for the generation (a custom refiner):
			// the judgement carries the cost.
			rp.genModel[i], rp.judgeModel[i] = simModelFree, simModel(i)
		}
		if rp.prices != nil {
			tokens := g.Total()
			if tokens == 0 {
				tokens = a.Usage.Total()
			}
			p, err := carrying(a.Cost, tokens)
			if err != nil {
				return nil, fmt.Errorf("refine: Simulate: recorded attempt %d %w", i, err)
			}
			rp.prices[simModel(i)] = p
		}
	}
	if rec.StopReason == StopConverged {
		rp.converged = clampSub(rec.Usage, total)
		if rp.prices != nil {
			p, _ := carrying(max(rec.Cost-totalCost, 0), rp.converged.Total())
			rp.prices[simModelConverged] = p
		}
	}
	return rp, nil
}

// carrying returns the per-million price at which tokens cost usd (to the
// float rounding of Cost).
func carrying(usd float64, tokens int) (Price, error) {
	if tokens == 0 {
		if usd > 0 {
			return Price{}, fmt.Errorf("costs $%v but has no tokens", usd)
		}
		return Price{}, nil
	}
	p := usd * 1e6 / float64(tokens)
	return Price{Input: p, CachedInput: p, Output: p}, nil
}

// check rejects options that need a model.
func (rp *replay) check(opts []Option) error {
	c := defaultConfig()
	c.candidates = 0
	c.apply(opts)
	bad := func(option string) error {
		return fmt.Errorf("refine: Simulate: %s changes what a model would answer, and a recording has no such answers: %w", option, ErrInvalidOption)
	}
	switch {
	case c.provider != nil || c.nilProvider:
		return bad("WithProvider")
	case c.judgeProvider != nil || c.nilJudgeProvider:
		return bad("WithJudgeProvider")
	case c.judge != nil || c.nilJudge:
		return bad("WithJudge")
	case c.refiner != nil || c.nilRefiner:
		return bad("WithRefiner")
	case c.guardSet:
		return bad("WithRegressionGuard")
	case c.sampling.Temperature != nil:
		return bad("WithTemperature")
	case c.sampling.TopP != nil:
		return bad("WithTopP")
	case c.sampling.MaxTokens != 0:
		return bad("WithMaxTokens")
	case c.systemPrompt != nil:
		return bad("WithSystemPrompt")
	case c.history != defaultConfig().history:
		return bad("WithHistory")
	case c.candidates != 0 && c.candidates != rp.drafts:
		return fmt.Errorf("refine: Simulate: WithCandidates(%d), but the recording has %d drafts: %w", c.candidates, rp.drafts, ErrInvalidOption)
	case c.prices != nil:
		return fmt.Errorf("refine: Simulate: WithPrices: the recorded costs are replayed; prices cannot be changed afterwards: %w", ErrInvalidOption)
	}
	return nil
}

// attempt finds the recorded attempt of a step.
func (rp *replay) attempt(s *step) (int, error) {
	if s == nil {
		return 0, errors.New("refine: Simulate: replay called outside its run")
	}
	i := s.candidate
	if s.round > 0 {
		i = rp.drafts + s.round - 1
	}
	if s.round == 0 && s.candidate >= rp.drafts || i >= len(rp.rec.Attempts) {
		last := rp.rec.Attempts[len(rp.rec.Attempts)-1].Round
		return 0, fmt.Errorf("refine: Simulate: the options go on to round %d, but the recorded run stopped after round %d (%s); record with looser settings to simulate this",
			s.round, last, rp.rec.StopReason)
	}
	return i, nil
}

// Refine hands back the recorded answer of the step's round and candidate.
func (rp *replay) Refine(ctx context.Context, _ string, history []Attempt) (*Response, error) {
	s := stepFrom(ctx)
	i, err := rp.attempt(s)
	var resp *Response
	switch {
	case s == nil:
		return nil, err
	case err == nil:
		a := rp.rec.Attempts[i]
		resp = &Response{Text: a.Answer, Usage: rp.gen[i], Model: rp.genModel[i], FinishReason: a.FinishReason}
	case rp.rec.StopReason == StopConverged && s.round == rp.rec.Attempts[len(rp.rec.Attempts)-1].Round+1 && len(history) > 0:
		// The recorded run ended on a refinement that repeated the last
		// answer; so does this one.
		resp = &Response{Text: history[len(history)-1].Answer, Usage: rp.converged, Model: simModelConverged, FinishReason: FinishStop}
	default:
		return nil, err
	}
	return call(ctx, replayed(resp), &Request{}, "")
}

// Evaluate hands back a copy of the recorded verdict of the step's attempt.
func (rp *replay) Evaluate(ctx context.Context, _, _ string) (*Verdict, error) {
	i, err := rp.attempt(stepFrom(ctx))
	if err != nil {
		return nil, err
	}
	if _, err := call(ctx, replayed(&Response{Usage: rp.judged[i], Model: rp.judgeModel[i]}), &Request{}, ""); err != nil {
		return nil, err
	}
	return cloneVerdict(rp.rec.Attempts[i].Verdict), nil
}

// replayed is a Provider that returns resp.
func replayed(resp *Response) Provider {
	return ProviderFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := *resp
		return &c, nil
	})
}

// durations puts the recorded times on a simulated Result.
func (rp *replay) durations(res *Result) {
	var drafts, rounds time.Duration
	for i := range res.Attempts {
		d := rp.rec.Attempts[i].Duration
		res.Attempts[i].Duration = d
		if res.Attempts[i].Round == 0 {
			drafts = max(drafts, d)
		} else {
			rounds += d
		}
	}
	res.Duration = drafts + rounds
	if len(res.Attempts) == len(rp.rec.Attempts) && res.StopReason == rp.rec.StopReason {
		res.Duration = rp.rec.Duration
	}
}

func cloneVerdict(v *Verdict) *Verdict {
	c := *v
	if v.Issues != nil {
		c.Issues = append([]string{}, v.Issues...)
	}
	if v.Suggestions != nil {
		c.Suggestions = append([]string{}, v.Suggestions...)
	}
	if v.Criteria != nil {
		c.Criteria = make(map[string]float64, len(v.Criteria))
		for k, x := range v.Criteria {
			c.Criteria[k] = x
		}
	}
	if v.Dist != nil {
		c.Dist = append([]float64{}, v.Dist...)
	}
	return &c
}

func negative(u Usage) bool {
	return u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0
}

// clampSub returns u - v, each count at least 0.
func clampSub(u, v Usage) Usage {
	return Usage{
		InputTokens:       max(u.InputTokens-v.InputTokens, 0),
		OutputTokens:      max(u.OutputTokens-v.OutputTokens, 0),
		CachedInputTokens: max(u.CachedInputTokens-v.CachedInputTokens, 0),
		ReasoningTokens:   max(u.ReasoningTokens-v.ReasoningTokens, 0),
	}
}

func sub(u, v Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens - v.InputTokens,
		OutputTokens:      u.OutputTokens - v.OutputTokens,
		CachedInputTokens: u.CachedInputTokens - v.CachedInputTokens,
		ReasoningTokens:   u.ReasoningTokens - v.ReasoningTokens,
	}
}
