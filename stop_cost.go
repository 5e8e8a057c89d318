package refine

import (
	"errors"
	"fmt"
)

// CostBudget stops the loop before a refinement round that would take the
// run's cost past usd dollars. The next round is estimated to cost what the
// last attempt cost (generation, judging and repairs), so the loop stops
// when cost so far + that estimate > usd; a round that costs more than the
// last one can still end the run somewhat past the budget. usd must be
// finite and > 0.
//
// Dollars need prices: a run with a CostBudget and no WithPrices is
// refused before any model call (its Check fails when Progress.Priced is
// false, in the check the loop makes before the first call), and a run in
// which a call's model has no price (see WithPrices for how ids match)
// ends with an error after that step, with the Result so far: a budget
// that cannot be counted fails closed rather than letting the run go on
// unlimited. It uses nothing a condition of your own cannot.
func CostBudget(usd float64) StopCondition { return costBudget{usd} }

type costBudget struct{ usd float64 }

// errCostUnknown is why a CostBudget run ends when it cannot count.
var errCostUnknown = errors.New("the cost is unknown: a model used by the run has no price (see WithPrices)")

// Check fails when the cost cannot be counted, and fires when the next
// round, costing what the last attempt did, would pass the budget.
func (b costBudget) Check(p Progress) (StopReason, error) {
	if !p.Priced {
		return "", optionError(b.String(), "no prices", "counting dollars needs WithPrices (see LoadPrices)")
	}
	if !p.CostKnown {
		return "", fmt.Errorf("refine: %v: %w", b, errCostUnknown)
	}
	var next float64
	if n := len(p.Attempts); n > 0 {
		next = p.Attempts[n-1].Cost
	}
	if p.Cost+next > b.usd {
		return StopBudget, nil
	}
	return "", nil
}

// Validate rejects a budget that is not a finite number of dollars > 0.
func (b costBudget) Validate() error {
	if !(b.usd > 0) || !isFinite(b.usd) {
		return optionError("CostBudget", b.usd, "must be a finite number of dollars > 0")
	}
	return nil
}

func (b costBudget) String() string { return fmt.Sprintf("CostBudget(%g)", b.usd) }
