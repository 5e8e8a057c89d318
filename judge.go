package refine

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/selfrefine/refine/internal/verdict"
)

// Judge scores and critiques one answer to a query, on a 0–10 scale.
// Judges are called concurrently (candidates, concurrent runs) and must be
// safe for that. A judge that cannot score must return an error, never a
// made-up score: the loop keeps the best-scored answer, so an invented
// score can throw a good answer away. A judge that implements Validator is
// validated by New and Run before any model call; one whose failure spent
// tokens reports them with WithUsage (refinetest.TestJudgeOn checks both).
type Judge interface {
	Evaluate(ctx context.Context, query, answer string) (*Verdict, error)
}

// JudgeFunc adapts a function to the Judge interface; it is how code checks
// (does it compile, do the tests pass) and domain rules plug into the loop.
type JudgeFunc func(ctx context.Context, query, answer string) (*Verdict, error)

// Evaluate calls f(ctx, query, answer).
func (f JudgeFunc) Evaluate(ctx context.Context, query, answer string) (*Verdict, error) {
	return f(ctx, query, answer)
}

// Verdict is a judge's assessment of one answer.
type Verdict struct {
	Score float64 // 0..10
	// Feedback is the actionable critique handed to the Refiner. When it is
	// empty the refiner is shown Issues and Suggestions instead.
	Feedback    string
	Issues      []string
	Suggestions []string
	Criteria    map[string]float64 // per-criterion scores, when the judge has them
	Usage       Usage              // tokens the judge spent
	// Method says how Score was made: MethodSingle (one reply read),
	// MethodLogprobs (expected score under the score token's
	// probabilities) or MethodSamples (mean of several sampled replies).
	// Empty for judges that do not say.
	Method string
	// Dist, when the method yields one, holds P(score = k) for k = 0..10
	// (11 entries summing to 1).
	Dist []float64
}

// The scoring methods of Verdict.Method.
const (
	MethodSingle   = "single"
	MethodLogprobs = "logprobs"
	MethodSamples  = "samples"
)

// Criterion is one axis an LLM judge grades on. When any criterion of a
// judge has a Weight, the overall score is the weighted mean of the
// criterion scores and a criterion without a weight counts 0; when none
// has, the judge's own overall score counts (see WithCriteria).
type Criterion struct {
	Name        string
	Description string
	Weight      float64
}

// generalCriteria backs GeneralCriteria; the default judge uses it as is
// and nothing writes it.
var generalCriteria = [...]Criterion{
	{Name: "helpfulness", Description: "does it do what the user asked, in a form they can use?"},
	{Name: "relevance", Description: "does it stay on the question, without padding?"},
	{Name: "accuracy", Description: "is every statement, number and line of code correct?"},
	{Name: "depth", Description: "does it cover what matters, with the detail the question needs?"},
}

// GeneralCriteria returns the default criteria of NewLLMJudge, after
// MT-Bench's single-answer grading: helpfulness, relevance, accuracy and
// depth, without weights. The slice is a fresh copy, free to modify.
func GeneralCriteria() []Criterion { return append([]Criterion(nil), generalCriteria[:]...) }

// JudgeOption configures NewLLMJudge and NewPairwiseJudge. Options are
// applied in order (the last one wins); a bad value is reported by the
// judge's first Evaluate (or by New and Run when the judge is given to a
// Loop) as an error wrapping ErrInvalidOption.
//
// Judge options shape how a judge grades. They are not Loop options
// (Option): a Loop takes a judge whole, through WithJudge.
type JudgeOption func(*judgeConfig)

type judgeConfig struct {
	criteria        []Criterion
	weighted        bool // criteria carry weights: the score is their weighted mean
	reference       string
	sampling        Sampling
	samples         int  // WithWeightedScore: the sampling fallback's size
	logprobs        bool // WithWeightedScore or RequireLogprobs: weigh by logprobs
	requireLogprobs bool // RequireLogprobs: no sampling fallback
	err             error
}

func newJudgeConfig(opts []JudgeOption) judgeConfig {
	zero := 0.0
	c := judgeConfig{criteria: generalCriteria[:], sampling: Sampling{Temperature: &zero}}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.err == nil {
		c.err = validateSampling(c.sampling, "JudgeSampling")
	}
	return c
}

// WithCriteria replaces the criteria the judge grades on (default
// GeneralCriteria()). When any criterion has a Weight, the verdict's Score
// is the weighted mean of the criterion scores the judge gave (weights are
// relative; criteria without a weight count 0), and the judge's own overall
// score is used only when it gave no criterion scores. Weights must be
// finite and >= 0; any such weights give a score within 0..10, however
// large they are. The criteria are copied.
func WithCriteria(criteria ...Criterion) JudgeOption {
	return func(c *judgeConfig) {
		if len(criteria) == 0 {
			c.err = optionError("WithCriteria", "none", "give at least one criterion")
			return
		}
		c.weighted = false
		for _, cr := range criteria {
			if strings.TrimSpace(cr.Name) == "" {
				c.err = optionError("WithCriteria", fmt.Sprintf("%+v", cr), "criterion has no name")
				return
			}
			if !(cr.Weight >= 0) || !isFinite(cr.Weight) {
				c.err = optionError("WithCriteria", cr.Weight, fmt.Sprintf("weight of %q must be finite and >= 0", cr.Name))
				return
			}
			if cr.Weight > 0 {
				c.weighted = true
			}
		}
		c.criteria = append([]Criterion(nil), criteria...)
	}
}

// WithReference gives the judge a reference answer to grade against
// (MT-Bench's reference-guided grading, for math and code).
func WithReference(answer string) JudgeOption {
	return func(c *judgeConfig) { c.reference = answer }
}

// JudgeSampling sets the sampling of the judge's model calls. Default:
// temperature 0 (a judge should give the same answer the same score) and
// the provider's other defaults; a nil Temperature in s keeps that 0. A
// MaxTokens cap that cuts a reply off is harmless when the score made it.
// Under WithWeightedScore the sampling fallback raises the temperature to
// 0.7; the rest of s applies.
//
// It is named apart from the Loop's With… options on purpose:
// refine.New(refine.JudgeSampling(…)) reads as wrong as it is. A Loop's
// own sampling (WithTemperature, WithMaxTokens) is the writer's.
func JudgeSampling(s Sampling) JudgeOption {
	return func(c *judgeConfig) {
		t := c.sampling.Temperature
		c.sampling = s
		if s.Temperature == nil {
			c.sampling.Temperature = t
		}
	}
}

// LLMJudge grades an answer with a model, in one call: a rubric with score
// bands and criteria, a JSON reply with score, per-criterion scores, issues,
// suggestions and an assessment. The reply is read leniently (code fences,
// prose around the JSON, leading reasoning blocks, trailing commas,
// "Rating: [[7]]", "Score: 9/10" ...) but never guessed at: a reply with no
// score, or with two that disagree, is followed by one request to restate
// the verdict as JSON, and if that fails too Evaluate returns a
// *VerdictError with the raw replies. Text the judge quotes from the answer
// (a forged "{"score": 10}" inside a JSON string) is never read as its
// verdict.
//
// Verdict.Method is MethodSingle, or as WithWeightedScore and
// RequireLogprobs say.
//
// Cost: one model call per Evaluate, two when the reply needs the repair
// request. WithWeightedScore changes that (see there).
//
// An LLMJudge is configured once and safe for concurrent use.
type LLMJudge struct {
	p       Provider
	cfg     judgeConfig
	prompts *judgePrompts
	// noLogprobs remembers that p cannot return log-probabilities, so that
	// WithWeightedScore goes straight to sampling. The only state that
	// changes after NewLLMJudge.
	noLogprobs *atomic.Bool
}

// NewLLMJudge returns a judge that grades with p; it makes no model call.
// Use a different (ideally stronger) model than the one that writes the
// answers: a model grading its own work is lenient. In a Loop,
// WithJudgeProvider does this for the default judge (NewLLMJudge with no
// options on that provider); give WithJudge a judge built here to set
// options too.
//
// p is called as is: its retries are its own. The built-in adapters retry
// transient failures by default, and the Loop never wraps a provider, so
// a judge built here is retried exactly as WithJudgeProvider's would be;
// wrap a provider of your own in RetryProvider.
func NewLLMJudge(p Provider, opts ...JudgeOption) *LLMJudge {
	j := &LLMJudge{p: p, cfg: newJudgeConfig(opts), noLogprobs: new(atomic.Bool)}
	if j.cfg.err == nil {
		j.prompts = judgePromptsFor(j.cfg.criteria, j.cfg.reference)
	}
	return j
}

// Validate reports, without a model call, what would make the judge fail:
// a nil provider, a bad JudgeOption, or a provider whose own Validate
// fails. New and Run call it on a judge given to WithJudge, and a
// CompositeJudge on its parts, so a provider inside a judge you built is
// checked as one given to WithJudgeProvider is.
func (j *LLMJudge) Validate() error {
	if err := j.check(); err != nil {
		return err
	}
	return validateJudgeProvider("NewLLMJudge", j.p)
}

// check is what Evaluate refuses on every call: the judge's own
// configuration (the provider's is for Validate, before a run).
func (j *LLMJudge) check() error {
	if j.p == nil {
		return optionError("NewLLMJudge", "nil", "provider must not be nil")
	}
	return j.cfg.err
}

// validateJudgeProvider validates a judge's provider, when it can.
func validateJudgeProvider(judge string, p Provider) error {
	if err := validateProvider(p); err != nil {
		return fmt.Errorf("refine: %s: provider: %w", judge, err)
	}
	return nil
}

// Evaluate grades answer as a reply to query.
func (j *LLMJudge) Evaluate(ctx context.Context, query, answer string) (*Verdict, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	if j.cfg.logprobs {
		return j.evaluateWeighted(ctx, query, answer)
	}
	req := &Request{Messages: j.messages(query, answer), Sampling: j.cfg.sampling, JSON: true}
	resp, err := call(ctx, j.p, req, "")
	if err != nil {
		return nil, err
	}
	v, _, usage, err := j.read(ctx, req, resp)
	if err != nil {
		return nil, err
	}
	j.cfg.score(v)
	v.Usage, v.Method = usage, MethodSingle
	return v, nil
}

// read parses a judge's reply through the shared repair path. The verdict
// holds the judge's own scores: criterion weights are applied after.
func (j *LLMJudge) read(ctx context.Context, req *Request, resp *Response) (*Verdict, *Response, Usage, error) {
	return readWithRepair(ctx, j.p, req, resp, judgeRepairPrompt, func(text string) (*Verdict, error) {
		return parseVerdict(text, j.cfg.criteria)
	})
}

// parseVerdict reads a judge's reply (package verdict). Score is the
// judge's own overall score (criterion weights are applied after);
// criteria name the per-criterion scores that may stand at the top level
// of the JSON.
func parseVerdict(text string, criteria []Criterion) (*Verdict, error) {
	r, err := verdict.Read(text, criteria, criterionName)
	if err != nil {
		return nil, err
	}
	return &Verdict{Score: r.Score, Feedback: r.Feedback, Issues: r.Issues, Suggestions: r.Suggestions, Criteria: r.Criteria}, nil
}

func criterionName(c Criterion) string { return c.Name }

// score applies the weights of the criteria, when there are any, and
// reports whether it did. Weights are divided by the largest first, so
// that no sum overflows: any finite weights give a weighted mean within
// 0..10.
func (c *judgeConfig) score(v *Verdict) bool {
	if !c.weighted || len(v.Criteria) == 0 {
		return false
	}
	var top float64
	for _, cr := range c.criteria {
		if _, ok := v.Criteria[cr.Name]; ok {
			top = math.Max(top, cr.Weight)
		}
	}
	if !(top > 0) {
		return false
	}
	var sum, weights float64
	for _, cr := range c.criteria {
		s, ok := v.Criteria[cr.Name]
		if !ok || cr.Weight == 0 {
			continue
		}
		w := cr.Weight / top
		sum += s * w
		weights += w
	}
	if !(weights > 0) {
		return false
	}
	v.Score = math.Max(0, math.Min(10, sum/weights))
	return true
}

func (j *LLMJudge) messages(query, answer string) []Message {
	return j.prompts.messages(query, answer)
}
