package refine

import (
	"encoding/json"
	"math"
	"time"
)

// Results are saved to be examined later, compared across versions and
// replayed by Simulate, so their JSON form is part of the contract: field
// names are snake_case and stable, and a value survives a round trip
// through encoding/json unchanged. Durations are written as
// "duration_ms", a number of milliseconds with a fraction (exact to the
// nanosecond for durations under a few weeks), because people and tools
// read milliseconds. Unknown fields are ignored when reading, so files
// written by a later version still load.
//
// The encoding lives here, in shadow structs, rather than in struct tags,
// so that the Go field names and the wire names can change independently.

type usageJSON struct {
	InputTokens       int `json:"input_tokens"`
	OutputTokens      int `json:"output_tokens"`
	CachedInputTokens int `json:"cached_input_tokens,omitempty"`
	ReasoningTokens   int `json:"reasoning_tokens,omitempty"`
}

// MarshalJSON encodes u as {"input_tokens", "output_tokens",
// "cached_input_tokens", "reasoning_tokens"}, the last two left out when 0.
func (u Usage) MarshalJSON() ([]byte, error) { return json.Marshal(usageJSON(u)) }

// UnmarshalJSON decodes what MarshalJSON encodes.
func (u *Usage) UnmarshalJSON(b []byte) error {
	var j usageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*u = Usage(j)
	return nil
}

type verdictJSON struct {
	Score       float64            `json:"score"`
	Feedback    string             `json:"feedback"`
	Issues      []string           `json:"issues"`
	Suggestions []string           `json:"suggestions"`
	Criteria    map[string]float64 `json:"criteria,omitempty"`
	Usage       Usage              `json:"usage"`
	Method      string             `json:"method,omitempty"`
	Dist        []float64          `json:"dist,omitempty"`
}

// MarshalJSON encodes v with the snake_case names of its fields ("score",
// "feedback", "issues", "suggestions", "criteria", "usage", "method",
// "dist"); criteria, method and dist are left out when empty.
func (v Verdict) MarshalJSON() ([]byte, error) {
	return json.Marshal(verdictJSON{
		Score: v.Score, Feedback: v.Feedback, Issues: v.Issues, Suggestions: v.Suggestions,
		Criteria: v.Criteria, Usage: v.Usage, Method: v.Method, Dist: v.Dist,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var j verdictJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*v = Verdict{
		Score: j.Score, Feedback: j.Feedback, Issues: j.Issues, Suggestions: j.Suggestions,
		Criteria: j.Criteria, Usage: j.Usage, Method: j.Method, Dist: j.Dist,
	}
	return nil
}

type attemptJSON struct {
	Answer       string   `json:"answer"`
	Verdict      *Verdict `json:"verdict"`
	Usage        Usage    `json:"usage"`
	DurationMS   float64  `json:"duration_ms"`
	Round        int      `json:"round"`
	FinishReason string   `json:"finish_reason,omitempty"`
	Cost         float64  `json:"cost"`
}

// MarshalJSON encodes a with the snake_case names of its fields; Duration
// becomes "duration_ms" in milliseconds, and finish_reason is left out
// when empty.
func (a Attempt) MarshalJSON() ([]byte, error) {
	return json.Marshal(attemptJSON{
		Answer: a.Answer, Verdict: a.Verdict, Usage: a.Usage, DurationMS: millis(a.Duration),
		Round: a.Round, FinishReason: a.FinishReason, Cost: a.Cost,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	var j attemptJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Attempt{
		Answer: j.Answer, Verdict: j.Verdict, Usage: j.Usage, Duration: fromMillis(j.DurationMS),
		Round: j.Round, FinishReason: j.FinishReason, Cost: j.Cost,
	}
	return nil
}

type resultJSON struct {
	Answer     string     `json:"answer"`
	Score      float64    `json:"score"`
	Best       int        `json:"best"`
	Attempts   []Attempt  `json:"attempts"`
	StopReason StopReason `json:"stop_reason"`
	Usage      Usage      `json:"usage"`
	DurationMS float64    `json:"duration_ms"`
	Reverted   bool       `json:"reverted,omitempty"`
	Cost       float64    `json:"cost"`
	CostKnown  bool       `json:"cost_known"`
	CostUpper  bool       `json:"cost_upper_bound,omitempty"`
}

// MarshalJSON encodes r with the snake_case names of its fields; Duration
// becomes "duration_ms" in milliseconds, and reverted is left out when
// false. Simulate reads such a Result back.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{
		Answer: r.Answer, Score: r.Score, Best: r.Best, Attempts: r.Attempts, StopReason: r.StopReason,
		Usage: r.Usage, DurationMS: millis(r.Duration), Reverted: r.Reverted, Cost: r.Cost, CostKnown: r.CostKnown,
		CostUpper: r.CostUpperBound,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{
		Answer: j.Answer, Score: j.Score, Best: j.Best, Attempts: j.Attempts, StopReason: j.StopReason,
		Usage: j.Usage, Duration: fromMillis(j.DurationMS), Reverted: j.Reverted, Cost: j.Cost, CostKnown: j.CostKnown,
		CostUpperBound: j.CostUpper,
	}
	return nil
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMillis(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}
