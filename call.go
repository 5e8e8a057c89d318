package refine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The context of a run carries observation only: who listens to the run's
// events and where the tokens and dollars of each step are counted. It
// never carries behaviour (retries, limits, pauses): those belong to the
// provider (the adapters retry by default; RetryProvider and LimitProvider
// are middleware for providers of your own). The Loop never wraps one.

// observer is a run's listeners, shared by all its steps.
type observer struct {
	runID  uint64
	fn     func(context.Context, Event) // nil: nobody listens
	logger *slog.Logger                 // nil: no logging
	prices map[string]Price             // nil: costs unknown
	ctx    context.Context              // the run's context, handed to fn
}

// step counts the calls of one step of a run (one draft, one judgement...)
// and says where their events belong.
type step struct {
	obs       *observer
	stage     string // "draft", "refine", "judge", "guard"
	round     int
	candidate int
	stream    bool // the step's answer is streamed to listeners

	mu          sync.Mutex
	calls       int
	usage       Usage
	cost        float64
	costUnknown bool
	costUpper   bool // a batched call was priced on demand (see replyCost)
}

type stepKey struct{}

func withStep(ctx context.Context, s *step) context.Context {
	return context.WithValue(ctx, stepKey{}, s)
}

func stepFrom(ctx context.Context) *step {
	s, _ := ctx.Value(stepKey{}).(*step)
	return s
}

// counted returns what the step's calls cost, and whether any was made
// through call (custom judges and refiners report their own usage).
func (s *step) counted() (u Usage, cost float64, costKnown bool, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage, s.cost, !s.costUnknown, s.calls > 0
}

func (s *step) add(resp *Response) {
	cost, known, upper := s.obs.price(resp)
	s.mu.Lock()
	s.costUpper = s.costUpper || upper
	s.calls++
	s.usage = s.usage.Add(resp.Usage)
	s.cost += cost
	s.costUnknown = s.costUnknown || !known
	s.mu.Unlock()
}

func (o *observer) price(resp *Response) (usd float64, known, upper bool) {
	if o == nil || o.prices == nil {
		return 0, false, false
	}
	return ReplyCost(o.prices, resp)
}

// upperBound reports a step whose cost counts a batched call at the
// on-demand price.
func (s *step) upperBound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.costUpper
}

func (o *observer) emit(e Event) {
	if o == nil || o.fn == nil {
		return
	}
	e.RunID = o.runID
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	o.fn(o.ctx, e)
}

// call makes one model call for a built-in judge or refiner: it streams the
// answer to the run's listeners when the step asks for it and p can, rejects
// a nil response and negative token counts, and reports the call to the run
// (usage, cost, EventCall). stage names the call when it is not the step's
// own ("repair"); "" means the step's. Outside a run it is p.Complete with
// those checks.
func call(ctx context.Context, p Provider, req *Request, stage string) (*Response, error) {
	s := stepFrom(ctx)
	start := time.Now()
	var resp *Response
	var err error
	if sp, ok := p.(StreamProvider); ok && s != nil && s.stream && stage == "" && s.obs.fn != nil {
		resp, err = sp.Stream(ctx, req, func(text string) {
			s.obs.emit(Event{Kind: EventDelta, Round: s.round, Candidate: s.candidate, Stage: s.stage, Delta: text})
		})
	} else {
		resp, err = p.Complete(ctx, req)
	}
	if err == nil {
		if err = checkResponse(resp); err != nil && resp != nil {
			// The call was made and billed: its tokens, clamped to what
			// Usage's rules allow, still count.
			err = WithUsage(err, clampUsage(resp.Usage))
		}
	}
	if s == nil {
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
	if stage == "" {
		stage = s.stage
	}
	if err != nil {
		resp = nil
	} else {
		s.add(resp)
	}
	if s.obs.fn != nil { // the event's fields cost something to gather
		s.obs.emit(Event{Kind: EventCall, Round: s.round, Candidate: s.candidate, Stage: stage,
			Request: req, Response: resp, Err: err, Duration: time.Since(start), Model: modelOf(p)})
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// modelOf returns the model p names: the first Model() string method of p
// or of a provider it wraps (found through Unwrap() Provider).
func modelOf(p Provider) string {
	var model string
	inChain(p, func(p Provider) bool {
		m, ok := p.(interface{ Model() string })
		if ok {
			model = m.Model()
		}
		return ok
	})
	return model
}

// checkResponse rejects what a provider must never return: no response,
// or token counts that break Usage's rules. Such counts are rejected, not
// clamped: cached tokens above the prompt's made dollars negative and
// budgets fail open, and a server that miscounts one field cannot be
// trusted on the others.
func checkResponse(resp *Response) error {
	if resp == nil {
		return errors.New("refine: provider returned a nil response and no error")
	}
	return checkUsage(resp.Usage)
}

// checkUsage says what is wrong with u, if anything, naming the counts.
func checkUsage(u Usage) error {
	switch {
	case u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0:
		return fmt.Errorf("refine: provider reported negative token counts (%+v)", u)
	case u.CachedInputTokens > u.InputTokens:
		return fmt.Errorf("refine: provider reported %d cached input tokens out of %d input tokens: the cached ones are part of the input", u.CachedInputTokens, u.InputTokens)
	case u.ReasoningTokens > u.OutputTokens:
		return fmt.Errorf("refine: provider reported %d reasoning tokens out of %d output tokens: reasoning is part of the output", u.ReasoningTokens, u.OutputTokens)
	}
	return nil
}

// observeRetry tells the run (if ctx belongs to one) that a call is retried.
func observeRetry(ctx context.Context, attempt int, delay time.Duration, err error) {
	s := stepFrom(ctx)
	if s == nil {
		return
	}
	s.obs.emit(Event{Kind: EventRetry, Round: s.round, Candidate: s.candidate, Stage: s.stage, Attempt: attempt, Delay: delay, Err: err})
	if s.obs.logger != nil {
		s.obs.logger.DebugContext(ctx, "refine: retrying model call", "stage", s.stage, "attempt", attempt, "delay", delay, "error", err)
	}
}

// clampUsage makes u obey Usage's rules: no negative count, cached tokens
// within the input, reasoning tokens within the output.
func clampUsage(u Usage) Usage {
	u.InputTokens, u.OutputTokens = max(u.InputTokens, 0), max(u.OutputTokens, 0)
	u.CachedInputTokens = min(max(u.CachedInputTokens, 0), u.InputTokens)
	u.ReasoningTokens = min(max(u.ReasoningTokens, 0), u.OutputTokens)
	return u
}
