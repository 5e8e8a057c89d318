package refine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// CompositeRule is how a CompositeJudge turns its parts' scores into one.
// The rules cost nothing beyond the parts' own calls.
type CompositeRule int

const (
	// RuleMinimum scores an answer by its weakest part: every judge must
	// be satisfied for the answer to score well. Weights are ignored.
	RuleMinimum CompositeRule = iota + 1
	// RuleWeightedMean scores an answer by the weighted mean of its parts'
	// scores. Weights are relative; when no part has one, all count
	// equally, otherwise a part without a weight counts 0 (it still runs,
	// and its critique is passed on).
	RuleWeightedMean
)

// String returns the rule's name: "minimum" or "weighted mean".
func (r CompositeRule) String() string {
	switch r {
	case RuleMinimum:
		return "minimum"
	case RuleWeightedMean:
		return "weighted mean"
	}
	return fmt.Sprintf("CompositeRule(%d)", int(r))
}

// JudgePart is one judge of a CompositeJudge, with its role in the
// combined verdict. NewCompositeJudge copies the parts; the Judge itself is
// shared, so it must be safe for concurrent use.
type JudgePart struct {
	// Name labels the part's score, criteria, issues and feedback in the
	// combined verdict. Default "judge1", "judge2", ... by position; names
	// must be unique.
	Name  string
	Judge Judge
	// Weight is the part's weight under RuleWeightedMean (>= 0).
	Weight float64
	// Pass > 0 makes the part a gate: a check the answer must pass, such as
	// a JudgeFunc that compiles the code and runs its tests. A gate takes
	// no part in the rule; when it scores below Pass, the combined score is
	// capped at Cap (0 by default: the answer fails) and the gate's
	// critique comes first in the feedback. Pass and Cap are within 0..10.
	Pass float64
	Cap  float64
}

// CompositeJudge combines several judges into one verdict by a stated rule
// (RuleMinimum or RuleWeightedMean), with optional gates that cap the score
// when a required check fails. It makes a loop answer to several masters at
// once: an LLM rubric and a test suite, a code rubric and a style linter,
// two different models.
//
// All parts judge the answer concurrently. The combined verdict holds:
//   - Score: the rule over the parts that are not gates, capped by every
//     failed gate;
//   - Criteria: each part's score under its name, and each part's criteria
//     (prefixed "name." when a criterion name is used by more than one part
//     or is a part's name);
//   - Issues and Suggestions: every part's, prefixed "name: ", failed gates
//     first;
//   - Feedback: a line per failed gate, then each part's score and
//     critique;
//   - Usage: the sum of the parts';
//   - Method: the parts' Method when they all share one, else empty.
//
// Any part's error (or nil or out-of-range verdict, or a panic) fails the
// whole verdict, wrapped with the part's name: a combined score is never
// made up from the parts that answered. The other parts are then cancelled
// through ctx, and Evaluate returns once all have returned; the error
// carries the usage of the parts that answered, so a run counts it.
//
// Cost: the sum of the parts' model calls, in the time of the slowest.
//
// A CompositeJudge is immutable and safe for concurrent use if its parts
// are.
type CompositeJudge struct {
	rule  CompositeRule
	parts []JudgePart
	err   error
}

// NewCompositeJudge returns a judge that combines parts by rule; it makes
// no model call. A bad rule
// or part (no scoring part, a nil judge, a repeated name, a weight, Pass or
// Cap out of range) is reported by Evaluate, and by New and Run when the
// judge is given to WithJudge, as an error wrapping ErrInvalidOption. The
// parts are copied.
func NewCompositeJudge(rule CompositeRule, parts ...JudgePart) *CompositeJudge {
	c := &CompositeJudge{rule: rule, parts: make([]JudgePart, len(parts))}
	copy(c.parts, parts)
	for i := range c.parts {
		if c.parts[i].Name == "" {
			c.parts[i].Name = fmt.Sprintf("judge%d", i+1)
		}
	}
	c.err = c.check()
	return c
}

func (c *CompositeJudge) check() error {
	const opt = "NewCompositeJudge"
	if c.rule != RuleMinimum && c.rule != RuleWeightedMean {
		return optionError(opt, c.rule, "unknown rule: use RuleMinimum or RuleWeightedMean")
	}
	names := map[string]bool{}
	scorers := 0
	for i, p := range c.parts {
		switch {
		case p.Judge == nil:
			return optionError(opt, p.Name, fmt.Sprintf("part %d has no judge", i+1))
		case names[p.Name]:
			return optionError(opt, p.Name, "part names must be unique")
		case !(p.Weight >= 0) || !isFinite(p.Weight):
			return optionError(opt, p.Weight, fmt.Sprintf("weight of %q must be >= 0", p.Name))
		case !(p.Pass >= 0 && p.Pass <= 10):
			return optionError(opt, p.Pass, fmt.Sprintf("pass mark of %q must be within [0, 10]", p.Name))
		case !(p.Cap >= 0 && p.Cap <= 10):
			return optionError(opt, p.Cap, fmt.Sprintf("cap of %q must be within [0, 10]", p.Name))
		}
		names[p.Name] = true
		if p.Pass == 0 {
			scorers++
		}
	}
	if scorers == 0 {
		return optionError(opt, len(c.parts), "needs at least one part that is not a gate (Pass 0)")
	}
	return nil
}

// Validate checks the rule and the parts, and calls Validate on every part
// that implements Validator (LLM judges, nested composites, judges of your
// own), so that New and Run report a bad part before any model call. The
// error names the part and wraps its own.
func (c *CompositeJudge) Validate() error {
	if c.err != nil {
		return c.err
	}
	for _, p := range c.parts {
		if v, ok := p.Judge.(Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("refine: composite judge part %q: %w", p.Name, err)
			}
		}
	}
	return nil
}

// Evaluate runs every part on answer concurrently and combines their
// verdicts: the parts' model calls, in the time of the slowest part. See
// CompositeJudge. Evaluate may be called concurrently if the parts allow it.
func (c *CompositeJudge) Evaluate(ctx context.Context, query, answer string) (*Verdict, error) {
	if c.err != nil { // the parts check themselves as they evaluate
		return nil, c.err
	}
	verdicts := make([]*Verdict, len(c.parts))
	spentBy := make([]Usage, len(c.parts)) // what failed parts report
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range c.parts {
		g.Go(func() error {
			err := protect(fmt.Sprintf("composite judge part %q", p.Name), func() error {
				v, err := p.Judge.Evaluate(gctx, query, answer)
				if err == nil {
					err = checkVerdict(v)
				}
				if err != nil {
					if v != nil {
						spentBy[i] = v.Usage
					}
					return err
				}
				verdicts[i] = v
				return nil
			})
			if err != nil {
				// A part that failed tells its tokens with its error
				// (UsageOf) or, failing that, in the verdict it returned
				// with it: one or the other, never both added.
				if u := UsageOf(err); u != (Usage{}) {
					spentBy[i] = u
				}
				return fmt.Errorf("refine: composite judge part %q: %w", p.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		var total Usage
		for i, v := range verdicts {
			if v != nil {
				total = total.Add(v.Usage)
			}
			total = total.Add(spentBy[i])
		}
		return nil, WithUsage(err, total)
	}
	return c.combine(verdicts), nil
}

func (c *CompositeJudge) combine(vs []*Verdict) *Verdict {
	out := &Verdict{}
	// The rule over the scoring parts. Weights are divided by the largest,
	// so that no sum overflows (two parts weighing math.MaxFloat64 still
	// give a mean within 0..10).
	var sum, weights, top float64
	for _, p := range c.parts {
		if p.Pass == 0 {
			top = math.Max(top, p.Weight)
		}
	}
	anyWeight := top > 0
	out.Score = math.Inf(1)
	for i, p := range c.parts {
		if p.Pass > 0 {
			continue
		}
		s := vs[i].Score
		switch c.rule {
		case RuleMinimum:
			out.Score = math.Min(out.Score, s)
		case RuleWeightedMean:
			w := 1.0
			if anyWeight {
				w = p.Weight / top
			}
			sum += w * s
			weights += w
		}
	}
	if c.rule == RuleWeightedMean {
		out.Score = 0
		if weights > 0 {
			out.Score = sum / weights
		}
	}
	// Gates, and the order the critique is shown in: failed gates first.
	var failed, order []int
	for i, p := range c.parts {
		if p.Pass > 0 && vs[i].Score < p.Pass {
			failed = append(failed, i)
			out.Score = math.Min(out.Score, p.Cap)
		}
	}
	order = append(order, failed...)
	for i := range c.parts {
		if !slices.Contains(failed, i) {
			order = append(order, i)
		}
	}
	out.Score = math.Max(0, math.Min(10, out.Score))

	// Criteria: part scores by name, criteria prefixed where they clash.
	owners := map[string]int{}
	for _, p := range c.parts {
		owners[p.Name]++
	}
	for i := range c.parts {
		for k := range vs[i].Criteria {
			owners[k]++
		}
	}
	out.Criteria = make(map[string]float64)
	for i, p := range c.parts {
		out.Criteria[p.Name] = vs[i].Score
	}
	for i, p := range c.parts {
		for k, s := range vs[i].Criteria {
			if owners[k] > 1 {
				k = p.Name + "." + k
			}
			out.Criteria[k] = s
		}
	}

	var fb strings.Builder
	for _, i := range failed {
		p := c.parts[i]
		fmt.Fprintf(&fb, "Failed the required check %q: it scored %s and needs %s, so the score is capped at %s.\n",
			p.Name, formatScore(vs[i].Score), formatScore(p.Pass), formatScore(p.Cap))
	}
	label := len(c.parts) > 1
	for _, i := range order {
		p, v := c.parts[i], vs[i]
		out.Usage = out.Usage.Add(v.Usage)
		for _, it := range v.Issues {
			out.Issues = append(out.Issues, prefixed(label, p.Name, it))
		}
		for _, it := range v.Suggestions {
			out.Suggestions = append(out.Suggestions, prefixed(label, p.Name, it))
		}
		if fb.Len() > 0 {
			fb.WriteString("\n")
		}
		fmt.Fprintf(&fb, "%s (%s/10):", p.Name, formatScore(v.Score))
		if cr := critique(v); cr != "" {
			fb.WriteString("\n")
			fb.WriteString(cr)
		}
		fb.WriteString("\n")
	}
	out.Feedback = strings.TrimSpace(fb.String())
	out.Method = vs[0].Method
	for _, v := range vs[1:] {
		if v.Method != out.Method {
			out.Method = ""
		}
	}
	return out
}

func prefixed(label bool, name, s string) string {
	if !label {
		return s
	}
	return name + ": " + s
}
