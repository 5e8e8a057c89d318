package eval

import (
	"encoding/json"
	"errors"

	"github.com/selfrefine/refine"
)

// OutcomeFailed is TaskResult.Outcome for a task that has no outcome: one
// of its trials failed. The other outcomes are refine.WinnerA,
// refine.WinnerB and refine.Tie.
const OutcomeFailed = "failed"

// ArmAnswer is what one arm returned in one trial. Compare fills it in;
// for CompareAnswers the caller does, from runs already made.
type ArmAnswer struct {
	Answer string `json:"answer"` // the final answer; a failed Loop run's partial answer too
	// DraftAnswer is a Loop run's first draft (Attempts[0]), so that the
	// final answer can be compared with it afterwards at no extra call.
	DraftAnswer string `json:"draft_answer,omitempty"`
	// Score and DraftScore are a Loop arm's final score and its first
	// draft's, as the Loop's own judge gave them (nil for a Provider arm,
	// or when the run returned no Result).
	Score      *float64     `json:"score,omitempty"`
	DraftScore *float64     `json:"draft_score,omitempty"`
	Model      string       `json:"model,omitempty"` // the model that answered a Provider arm's call
	Usage      refine.Usage `json:"-"`
	Cost       float64      `json:"cost"`
	CostKnown  bool         `json:"cost_known"`
	// CostUpperBound: a reply came from a batch API for a model with no
	// batch price and was priced on demand (see refine.ReplyCost).
	CostUpperBound bool `json:"cost_upper_bound,omitempty"`
	// Err is why the run or call failed (its answer may be partial), or
	// nil. A trial with an Err is failed and never judged. In JSON it is
	// its text, under "error".
	Err error `json:"-"`
}

// Trial is one run of a task: both arms' answers and the comparison.
type Trial struct {
	Index int       `json:"index"` // 0.., the Request.Seed of a Provider arm under Repeat
	A     ArmAnswer `json:"a"`
	B     ArmAnswer `json:"b"`
	// Winner is refine.WinnerA, refine.WinnerB or refine.Tie; empty when
	// the trial failed. Orders holds the verdict of each presentation (see
	// refine.Comparison).
	Winner     string       `json:"winner,omitempty"`
	Orders     [2]string    `json:"orders"`
	UsageJudge refine.Usage `json:"-"`
	Error      string       `json:"error,omitempty"` // why the trial failed
	err        error
}

// Err returns why the trial failed, or nil.
func (t *Trial) Err() error { return t.err }

func (t *Trial) fail(err error) {
	t.err, t.Error, t.Winner = err, err.Error(), ""
}

// TaskResult is the outcome of one task over its trials.
type TaskResult struct {
	ID string `json:"id"`
	// Outcome is refine.WinnerA or refine.WinnerB when that arm won the
	// majority of the task's decisive trials, refine.Tie otherwise, and
	// OutcomeFailed when any trial failed.
	Outcome string  `json:"outcome"`
	Trials  []Trial `json:"trials"`
	// Agreement is the share of the trials whose winner is Outcome (1 with
	// one trial; 0 for a failed task).
	Agreement float64 `json:"agreement"`
	// Rejudge is the winner when the judge compared the first trial's
	// pair a second time (under Repeat), or empty.
	Rejudge      string `json:"rejudge,omitempty"`
	RejudgeError string `json:"rejudge_error,omitempty"`
	// Usage of the task's trials, failed calls included; UsageJudge
	// includes the second judgement.
	UsageA, UsageB, UsageJudge refine.Usage `json:"-"`
	CostA, CostB               float64      `json:"-"`
	CostKnown                  bool         `json:"-"`
}

// Report is the outcome of Compare. Its JSON form (what `refine eval
// --json` prints) names every field in snake_case: wins_a, win_rate_a
// {estimate, low, high}, p, failed, usage_a {input_tokens, ...}, ...
type Report struct {
	A string `json:"a"`
	B string `json:"b"`
	// Tasks is the number of tasks, Compared those with an outcome (not
	// failed): WinsA + WinsB + Ties.
	Tasks      int     `json:"tasks"`
	Compared   int     `json:"compared"`
	WinsA      int     `json:"wins_a"`
	WinsB      int     `json:"wins_b"`
	Ties       int     `json:"ties"`
	Failed     int     `json:"failed"`
	Repeat     int     `json:"repeat"`
	Confidence float64 `json:"confidence"`
	// WinRateA is the Wilson interval of A's share of the decisive
	// comparisons (ties left out).
	WinRateA Interval `json:"win_rate_a"`
	// P is the two-sided exact sign test on the decisive comparisons: how
	// likely a split this lopsided is if the arms are equally good.
	P          float64      `json:"p"`
	UsageA     refine.Usage `json:"-"`
	UsageB     refine.Usage `json:"-"`
	UsageJudge refine.Usage `json:"-"` // the comparisons' own calls, failed ones included
	// CostA and CostB are the arms' dollars, failed tasks included;
	// CostKnown is false when some call had no price (then they count
	// only the calls that had one).
	CostA     float64 `json:"cost_a"`
	CostB     float64 `json:"cost_b"`
	CostKnown bool    `json:"cost_known"`
	// CostUpperBound is true when some batched reply was priced on demand
	// for want of a batch price: CostA and CostB are then upper bounds.
	CostUpperBound bool `json:"cost_upper_bound"`
	// GainA and GainB are, for a Loop arm, the mean over compared tasks of
	// its final score minus its first draft's score (by the Loop's own
	// judge, so an upper bound on the real gain), with a seeded bootstrap
	// interval; nil for a Provider arm.
	GainA *Interval `json:"gain_a,omitempty"`
	GainB *Interval `json:"gain_b,omitempty"`
	// TokenRatio and CostRatio are A's tokens (dollars) over B's, every
	// task included, with a seeded bootstrap interval over tasks; nil when
	// B spent none or, for CostRatio, when the cost is unknown.
	TokenRatio *Interval `json:"token_ratio,omitempty"`
	CostRatio  *Interval `json:"cost_ratio,omitempty"`
	// OrderAgreement is the share of successful comparisons in which the
	// judge picked the same answer in both orders (a judge that follows
	// position, not content, scores low).
	OrderAgreement Interval `json:"order_agreement"`
	// TrialAgreement is the mean over compared tasks of their Agreement
	// (1 without repeats). JudgeAgreement, under Repeat, is the share of
	// tasks where the judge shown the first trial's pair again gave the
	// same winner.
	TrialAgreement float64      `json:"trial_agreement"`
	JudgeAgreement *Interval    `json:"judge_agreement,omitempty"`
	Results        []TaskResult `json:"results"`
}

// usageJSON is refine.Usage in the report's snake_case.
type usageJSON struct {
	InputTokens       int `json:"input_tokens"`
	OutputTokens      int `json:"output_tokens"`
	CachedInputTokens int `json:"cached_input_tokens"`
	ReasoningTokens   int `json:"reasoning_tokens"`
	TotalTokens       int `json:"total_tokens"`
}

func toJSON(u refine.Usage) usageJSON {
	return usageJSON{u.InputTokens, u.OutputTokens, u.CachedInputTokens, u.ReasoningTokens, u.Total()}
}

func (u usageJSON) usage() refine.Usage {
	return refine.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.CachedInputTokens, ReasoningTokens: u.ReasoningTokens}
}

type (
	reportFields    Report
	taskFields      TaskResult
	trialFields     Trial
	armAnswerFields ArmAnswer
)

type reportJSON struct {
	*reportFields
	UsageA     usageJSON `json:"usage_a"`
	UsageB     usageJSON `json:"usage_b"`
	UsageJudge usageJSON `json:"usage_judge"`
}

// MarshalJSON writes the report with every name in snake_case, its usages
// included.
func (r *Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(reportJSON{(*reportFields)(r), toJSON(r.UsageA), toJSON(r.UsageB), toJSON(r.UsageJudge)})
}

// UnmarshalJSON reads what MarshalJSON wrote (errors come back as text
// only: Trial.Error).
func (r *Report) UnmarshalJSON(b []byte) error {
	v := reportJSON{reportFields: (*reportFields)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.UsageA, r.UsageB, r.UsageJudge = v.UsageA.usage(), v.UsageB.usage(), v.UsageJudge.usage()
	return nil
}

type taskJSON struct {
	*taskFields
	UsageA     usageJSON `json:"usage_a"`
	UsageB     usageJSON `json:"usage_b"`
	UsageJudge usageJSON `json:"usage_judge"`
	CostA      float64   `json:"cost_a"`
	CostB      float64   `json:"cost_b"`
	CostKnown  bool      `json:"cost_known"`
}

// MarshalJSON writes the task's result in snake_case.
func (t TaskResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(taskJSON{(*taskFields)(&t), toJSON(t.UsageA), toJSON(t.UsageB), toJSON(t.UsageJudge), t.CostA, t.CostB, t.CostKnown})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (t *TaskResult) UnmarshalJSON(b []byte) error {
	v := taskJSON{taskFields: (*taskFields)(t)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.UsageA, t.UsageB, t.UsageJudge = v.UsageA.usage(), v.UsageB.usage(), v.UsageJudge.usage()
	t.CostA, t.CostB, t.CostKnown = v.CostA, v.CostB, v.CostKnown
	return nil
}

type trialJSON struct {
	*trialFields
	UsageJudge usageJSON `json:"usage_judge"`
}

// MarshalJSON writes the trial in snake_case.
func (t Trial) MarshalJSON() ([]byte, error) {
	return json.Marshal(trialJSON{(*trialFields)(&t), toJSON(t.UsageJudge)})
}

// UnmarshalJSON reads what MarshalJSON wrote; Err stays nil (Error holds
// the text).
func (t *Trial) UnmarshalJSON(b []byte) error {
	v := trialJSON{trialFields: (*trialFields)(t)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.UsageJudge = v.UsageJudge.usage()
	return nil
}

type armAnswerJSON struct {
	*armAnswerFields
	Usage usageJSON `json:"usage"`
	Error string    `json:"error,omitempty"`
}

// MarshalJSON writes the answer in snake_case, with its error's text.
func (a ArmAnswer) MarshalJSON() ([]byte, error) {
	v := armAnswerJSON{armAnswerFields: (*armAnswerFields)(&a), Usage: toJSON(a.Usage)}
	if a.Err != nil {
		v.Error = a.Err.Error()
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON wrote; an error comes back as an
// error with the same text.
func (a *ArmAnswer) UnmarshalJSON(b []byte) error {
	v := armAnswerJSON{armAnswerFields: (*armAnswerFields)(a)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	a.Usage = v.Usage.usage()
	if v.Error != "" {
		a.Err = errors.New(v.Error)
	}
	return nil
}
