package refine

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/selfrefine/refine/internal/verdict"
)

// The outcomes of a Comparison.
const (
	WinnerA = "A"   // the first answer given to Compare is better
	WinnerB = "B"   // the second answer is better
	Tie     = "tie" // neither is better, or the judge contradicted itself
)

// Comparison is the outcome of a pairwise judgement.
type Comparison struct {
	// Winner is "A" when the first answer given to Compare is better, "B"
	// when the second is, and "tie" when neither is, or when the two orders
	// disagree (the judge preferred a position, not an answer).
	Winner string
	Usage  Usage // tokens of every call of the comparison, repairs included
	// Orders holds the verdict of each presentation, already mapped back to
	// Compare's a and b ("A" means a): Orders[0] with a shown first,
	// Orders[1] with b shown first. Winner is Orders[0] when they agree.
	Orders [2]string
	// Explanations holds the judge's reply in each order, reasoning blocks
	// removed. In Explanations[1] the judge calls b "A" and a "B".
	Explanations [2]string
}

// PairwiseJudge compares two answers to the same question, after MT-Bench's
// pairwise grading: the judge reads both, explains, and ends with [[A]],
// [[B]] or [[C]] (tie). It is told to ignore order, length and labels, and
// the answers are fenced by a marker neither contains, so that neither can speak to
// the judge.
//
// Judges prefer a position (most often the first) regardless of content, so
// every comparison is judged in both orders, concurrently, and only a winner
// that wins both ways wins; a split decision is a tie.
//
// Cost: two model calls per Compare (plus one repair call for each order
// whose reply has no readable verdict); none when the answers are identical.
//
// The criteria (WithCriteria; weights are ignored) and a reference answer
// (WithReference) shape the prompt; JudgeSampling sets the sampling.
// WithWeightedScore and RequireLogprobs do not apply and are reported as
// invalid options.
//
// A PairwiseJudge is immutable and safe for concurrent use. Give it to
// WithRegressionGuard to make a run unable to return a refinement that is
// worse than its first draft.
type PairwiseJudge struct {
	p       Provider
	cfg     judgeConfig
	prompts *pairwisePrompts
}

// NewPairwiseJudge returns a pairwise judge that compares with p; it makes
// no model call. As with NewLLMJudge, a model other than the one that
// wrote the answers judges more fairly. An invalid option or a nil p is
// reported by Compare (and by New and Run when the judge is given to
// WithRegressionGuard) as an error wrapping ErrInvalidOption.
//
// p is called as is: its retries are its own (the adapters retry by
// default; wrap a provider of your own in RetryProvider).
func NewPairwiseJudge(p Provider, opts ...JudgeOption) *PairwiseJudge {
	j := &PairwiseJudge{p: p, cfg: newJudgeConfig(opts)}
	if j.cfg.err == nil {
		j.prompts = newPairwisePrompts(j.cfg.criteria, j.cfg.reference)
	}
	return j
}

func (j *PairwiseJudge) validate() error {
	if j.p == nil {
		return optionError("NewPairwiseJudge", "nil", "provider must not be nil")
	}
	if j.cfg.samples > 0 {
		return optionError("WithWeightedScore", j.cfg.samples, "applies to NewLLMJudge only, not to a PairwiseJudge")
	}
	if j.cfg.requireLogprobs {
		return optionError("RequireLogprobs", "", "applies to NewLLMJudge only, not to a PairwiseJudge")
	}
	return j.cfg.err
}

// Compare says which of a and b answers query better. It judges both
// orders concurrently (two model calls) and returns "tie" unless the same
// answer wins in both. Identical answers are a tie without a model call.
// Compare may be called concurrently.
//
// The verdict is read from the last line of the judge's reply (after any
// leading reasoning block), as the prompt asks: "[[A]]", "[[B]]" or
// "[[C]]", or a labelled "Verdict: A". Markers the judge quotes from the
// answers earlier in its reply are not read. A reply without a readable
// verdict is followed by one request to restate it; if that fails too,
// Compare returns a *VerdictError (wrapping ErrUnreadableVerdict) with the
// raw replies. On any error the Comparison is nil: a verdict is never
// guessed, but the tokens both orders spent are not lost: UsageOf(err)
// gives them (the *VerdictError's own Usage counts its order only). A
// panic in the provider comes back as an error.
func (j *PairwiseJudge) Compare(ctx context.Context, query, a, b string) (*Comparison, error) {
	c, _, err := j.compare(ctx, query, a, b)
	return c, err
}

// compare is Compare that also reports the usage of a failed comparison,
// so that the loop can count it.
func (j *PairwiseJudge) compare(ctx context.Context, query, a, b string) (*Comparison, Usage, error) {
	if err := j.validate(); err != nil {
		return nil, Usage{}, err
	}
	if strings.TrimSpace(a) == strings.TrimSpace(b) {
		return &Comparison{Winner: Tie, Orders: [2]string{Tie, Tie}}, Usage{}, nil
	}
	var (
		winners [2]string
		replies [2]string
		usages  [2]Usage
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, pair := range [2][2]string{{a, b}, {b, a}} {
		g.Go(func() error {
			return protect(fmt.Sprintf("pairwise judge, order %d", i+1), func() error {
				w, reply, u, err := j.judgeOrder(gctx, query, pair[0], pair[1])
				usages[i], replies[i] = u, reply
				if i == 1 {
					w = swapWinner(w)
				}
				winners[i] = w
				return err
			})
		})
	}
	err := g.Wait()
	usage := usages[0].Add(usages[1])
	if err != nil {
		// The error is one order's; the tokens are both orders'.
		return nil, usage, WithUsage(err, usage)
	}
	c := &Comparison{Winner: winners[0], Usage: usage, Orders: winners, Explanations: replies}
	if winners[0] != winners[1] {
		c.Winner = Tie
	}
	return c, usage, nil
}

// judgeOrder asks for one verdict with first shown as A. It returns the
// winner by position, the reply without its reasoning and the usage of its
// calls.
func (j *PairwiseJudge) judgeOrder(ctx context.Context, query, first, second string) (string, string, Usage, error) {
	req := &Request{Messages: j.prompts.messages(query, first, second), Sampling: j.cfg.sampling}
	resp, err := call(ctx, j.p, req, "")
	if err != nil {
		return "", "", UsageOf(err), err // what the failed call says it spent
	}
	w, read, usage, err := readWithRepair(ctx, j.p, req, resp, pairwiseRepair, parsePairwise)
	if err != nil {
		return "", "", usage, err
	}
	// The first reply holds the reasoning; a repair only the verdict.
	explanation := verdict.StripReasoning(resp.Text)
	if explanation == "" {
		explanation = verdict.StripReasoning(read.Text)
	}
	return w, explanation, usage, nil
}

func swapWinner(w string) string {
	switch w {
	case WinnerA:
		return WinnerB
	case WinnerB:
		return WinnerA
	}
	return w
}

// parsePairwise reads a pairwise verdict (package verdict): WinnerA,
// WinnerB or Tie, by position.
func parsePairwise(text string) (string, error) {
	w, err := verdict.ReadPairwise(text)
	if err != nil {
		return "", err
	}
	switch w {
	case verdict.A:
		return WinnerA, nil
	case verdict.B:
		return WinnerB, nil
	}
	return Tie, nil
}
