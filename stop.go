package refine

import (
	"fmt"
	"time"
)

// StopReason says why a run ended.
type StopReason string

// The reasons a run ends. The first five end a successful run;
// StopCanceled and StopError come with an error; StopDeadline comes with
// one only when the deadline passed mid-call (see there).
const (
	StopThreshold     StopReason = "threshold"      // an attempt scored >= the threshold
	StopMaxIterations StopReason = "max_iterations" // the configured rounds were done
	StopNoImprovement StopReason = "no_improvement" // NoImprovement's patience ran out
	StopConverged     StopReason = "converged"      // the refiner returned the previous answer again
	StopBudget        StopReason = "budget"         // TokenBudget or CostBudget was spent
	// StopDeadline: the context's deadline is near or past. A run that
	// stops because the next round would not finish in time returns no
	// error; one cut off mid-call returns the context's error.
	StopDeadline StopReason = "deadline"
	StopCanceled StopReason = "canceled" // the context was canceled (error returned)
	StopError    StopReason = "error"    // a model call or judge failed (error returned)
)

// A StopCondition decides, before each refinement round, whether the loop
// should stop. Check returns the reason to stop, or "" to go on; an error
// means the condition cannot decide safely (a dollar budget whose cost is
// unknown): the run then ends with the Result so far and a *StepError of
// stage "stop" wrapping that error, rather than go on unchecked.
//
// Before the first model call the loop calls Check once with no Attempts
// (Round 0, Best -1, zero Usage) and Priced set: an error there refuses
// the run with no model call (New's and Run's checks for bad input), and a
// reason is ignored, since a run always makes its drafts. That is how
// CostBudget refuses a run without prices; a condition of your own does it
// the same way. So Check must not panic on a Progress with no attempts.
//
// Conditions are called from the run's goroutine, one run at a time each,
// but the same condition value is shared by concurrent runs of a Loop: it
// must keep no state of its own (Progress carries what it needs), and give
// the same answer for the same Progress. A condition that implements
// Validator is validated by New and Run; one that implements ThresholdRule
// can take over the threshold. refinetest.TestStop checks these rules.
type StopCondition interface {
	Check(p Progress) (StopReason, error)
}

// StopFunc adapts a function to the StopCondition interface.
type StopFunc func(p Progress) (StopReason, error)

// Check returns f(p).
func (f StopFunc) Check(p Progress) (StopReason, error) { return f(p) }

// A ThresholdRule is a stop condition that decides on the threshold itself.
// When a run has one whose DecidesThreshold reports true, the loop drops
// its own "best score >= threshold" check, and stopping on score is left
// to the conditions (which read Progress.Threshold). Confident is one: it
// stops on the threshold only once the judge is sure enough.
type ThresholdRule interface {
	StopCondition
	DecidesThreshold() bool
}

// Progress is the state of a run as stop conditions see it, between rounds.
type Progress struct {
	Round    int       // refinement rounds done so far (0 after the drafts)
	Attempts []Attempt // every attempt so far; read only
	// Best is the index of the best attempt in Attempts; -1 in the check
	// before the first call, when there are no attempts yet.
	Best             int
	SinceImprovement int   // rounds since the best score last rose strictly
	Usage            Usage // tokens spent so far, judge included
	Elapsed          time.Duration
	Threshold        float64 // the run's WithThreshold
	// Cost is the dollars spent so far (see WithPrices); CostKnown is false
	// when a call's model has no price, or no prices were given.
	Cost      float64
	CostKnown bool
	// Priced is true when the run has prices (WithPrices), so that a
	// condition counting dollars can refuse, in the check before the first
	// call, a run that has none.
	Priced bool
}

// NoImprovement stops the loop after patience consecutive rounds in which
// no attempt beat the best score so far (an equal score is no improvement).
// patience must be >= 1.
func NoImprovement(patience int) StopCondition { return noImprovement{patience} }

type noImprovement struct{ patience int }

// Check fires once the run has gone patience rounds without improving.
func (n noImprovement) Check(p Progress) (StopReason, error) {
	if p.SinceImprovement >= n.patience {
		return StopNoImprovement, nil
	}
	return "", nil
}

// Validate rejects a patience below 1.
func (n noImprovement) Validate() error {
	if n.patience < 1 {
		return optionError("NoImprovement", n.patience, "patience must be >= 1")
	}
	return nil
}

func (n noImprovement) String() string { return fmt.Sprintf("NoImprovement(%d)", n.patience) }

// TokenBudget stops the loop before a round would start with this many
// tokens (input + output, judge included) already spent. The round in
// flight always finishes, so a run can end somewhat past the budget: one
// round's worth at most. tokens must be >= 1.
func TokenBudget(tokens int) StopCondition { return tokenBudget{tokens} }

type tokenBudget struct{ tokens int }

// Check fires once the tokens spent reach the budget.
func (b tokenBudget) Check(p Progress) (StopReason, error) {
	if p.Usage.Total() >= b.tokens {
		return StopBudget, nil
	}
	return "", nil
}

// Validate rejects a budget below 1 token.
func (b tokenBudget) Validate() error {
	if b.tokens < 1 {
		return optionError("TokenBudget", b.tokens, "must be >= 1")
	}
	return nil
}

func (b tokenBudget) String() string { return fmt.Sprintf("TokenBudget(%d)", b.tokens) }
