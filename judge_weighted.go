package refine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/selfrefine/refine/internal/verdict"
)

// Probability-weighted scores, after G-Eval (Liu et al., 2023). A judge that
// writes "7" may have been torn between 6, 7 and 8; the integer it prints
// throws that away, so scores tie often and move in coarse steps. The
// expected score over the model's own probabilities of the score tokens is
// finer and steadier. Where the provider cannot return log-probabilities
// the same expectation is estimated by sampling several verdicts.

const (
	// weightedTopLogprobs is the number of alternatives asked for per token:
	// the most OpenAI and most OpenAI-compatible servers (vLLM's default
	// limit) accept, enough to hold all of 0..10 when they are plausible.
	weightedTopLogprobs = 20
	// weightedSampleTemperature is the temperature of the fallback samples:
	// high enough for the verdicts to differ, low enough to stay on task.
	weightedSampleTemperature = 0.7
)

// WithWeightedScore makes an LLMJudge report the expected score over the
// model's probabilities instead of the single integer it writes (G-Eval's
// probability-weighted scoring), for finer, steadier scores.
//
// The judge makes its usual one-call JSON verdict, asking the provider for
// the top log-probabilities of each token. At the position of the score
// value in the JSON, the integer tokens 0..10 among the alternatives are
// renormalised over themselves (a softmax over their logprobs): that
// distribution becomes Verdict.Dist and its expectation the Score
// (Method MethodLogprobs). Per-criterion scores are weighted the same way
// where they can be found. The critique comes from the same reply, so
// this costs no extra call.
//
// Where that is impossible, the judge samples instead: samples verdicts,
// concurrently, at temperature 0.7, whose scores (and criteria) are
// averaged and whose issues and suggestions are merged (duplicates
// dropped); Dist is the share of samples at each rounded score and Method
// MethodSamples; usage is the sum. This happens when the provider rejects
// log-probabilities (an error wrapping errors.ErrUnsupported, as Bedrock's
// Converse does) or returns none (the judge then remembers it and samples
// from the first call on), and when the score cannot be found among the
// tokens (a score written as "8/10" or outside the JSON, or one split
// across tokens). RequireLogprobs makes each of these an error instead.
// Cost: one call, or 1+samples the first time and samples after that on a
// provider without log-probabilities, plus repair calls for unreadable
// replies.
//
// With weighted criteria (WithCriteria) the Score is the weighted mean of
// the criterion expectations, and Dist is left nil for logprobs: it would
// describe the judge's overall score, not this one.
//
// Tokenizers that split numbers into digits (10 as "1", "0", as Qwen and
// Llama 2 do) make a "1" alternative ambiguous between 1 and 10; it is
// read as 1. OpenAI's and Llama 3's tokenizers write 0..10 as one token.
//
// samples must be >= 2. Applies to NewLLMJudge only: a PairwiseJudge
// reports it as an invalid option. Any failed sample fails the verdict: an
// average is never made from fewer verdicts than asked for (the error
// carries the usage of the samples that succeeded, and a run counts it).
// The judge stays safe for concurrent use; what it learns about the
// provider is kept in an atomic flag.
func WithWeightedScore(samples int) JudgeOption {
	return func(c *judgeConfig) {
		if samples < 2 {
			c.err = optionError("WithWeightedScore", samples, "need at least 2 samples for the sampling fallback")
			return
		}
		c.samples = samples
		c.logprobs = true
	}
}

// RequireLogprobs makes an LLMJudge score by the log-probabilities of its
// score token, as WithWeightedScore does, and return an error wrapping
// errors.ErrUnsupported where WithWeightedScore would fall back to
// sampling: the provider rejects or omits log-probabilities, or the score's
// token cannot be found among them. Every verdict then has Method
// MethodLogprobs. With RequireLogprobs, WithWeightedScore's samples are
// never drawn. Applies to NewLLMJudge only.
func RequireLogprobs() JudgeOption {
	return func(c *judgeConfig) {
		c.logprobs = true
		c.requireLogprobs = true
	}
}

// evaluateWeighted is Evaluate under WithWeightedScore or RequireLogprobs.
func (j *LLMJudge) evaluateWeighted(ctx context.Context, query, answer string) (*Verdict, error) {
	msgs := j.messages(query, answer)
	var spent Usage // calls whose verdict could not be weighted
	if j.cfg.requireLogprobs || !j.noLogprobs.Load() {
		req := &Request{Messages: msgs, Sampling: j.cfg.sampling, JSON: true, TopLogprobs: weightedTopLogprobs}
		resp, err := call(ctx, j.p, req, "")
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			if j.cfg.requireLogprobs {
				return nil, fmt.Errorf("refine: RequireLogprobs: the judge's provider rejects log-probabilities: %w", err)
			}
			j.noLogprobs.Store(true)
		case err != nil:
			return nil, err
		case len(resp.Logprobs) == 0:
			if j.cfg.requireLogprobs {
				return nil, WithUsage(fmt.Errorf("refine: RequireLogprobs: the judge's provider returned no log-probabilities: %w", errors.ErrUnsupported), resp.Usage)
			}
			j.noLogprobs.Store(true)
			spent = resp.Usage
		default:
			v, parsed, usage, err := j.read(ctx, req, resp)
			if err != nil {
				return nil, err
			}
			if j.weigh(v, parsed) {
				v.Usage, v.Method = usage, MethodLogprobs
				return v, nil
			}
			if j.cfg.requireLogprobs {
				return nil, WithUsage(fmt.Errorf("refine: RequireLogprobs: the score %s is not one token among the log-probabilities: %w",
					formatScore(v.Score), errors.ErrUnsupported), usage)
			}
			spent = usage
		}
	}
	return j.sample(ctx, msgs, spent)
}

// weigh replaces v's score and criteria (the judge's own, as read from
// resp) by their expectations over the logprobs of resp, and applies the
// criterion weights. It reports false, leaving v as it is, when the
// score's token cannot be found.
//
// The tokens are located by structure, as the reader read them
// (verdict.Locate): never a "score" quoted in a string.
func (j *LLMJudge) weigh(v *Verdict, resp *Response) bool {
	if resp == nil || len(resp.Logprobs) == 0 {
		return false
	}
	text, starts := joinTokens(resp.Logprobs)
	loc, ok := verdict.Locate(text, v.Score)
	if !ok {
		return false
	}
	start, end, ok := loc.Score()
	if !ok {
		return false
	}
	score, dist, ok := expectationAt(starts, resp.Logprobs, start, end)
	if !ok {
		return false
	}
	v.Score, v.Dist = score, dist
	for name := range v.Criteria {
		if start, end, ok := loc.Criterion(name); ok {
			if e, _, ok := expectationAt(starts, resp.Logprobs, start, end); ok {
				v.Criteria[name] = e
			}
		}
	}
	if j.cfg.score(v) {
		v.Dist = nil // the weights made the score; dist was the overall's
	}
	return true
}

// joinTokens returns the text the tokens spell and the byte offset at which
// each token starts.
func joinTokens(lps []TokenLogprob) (string, []int) {
	var b strings.Builder
	starts := make([]int, len(lps))
	for i, lp := range lps {
		starts[i] = b.Len()
		b.WriteString(lp.Token)
	}
	return b.String(), starts
}

// expectationAt returns the expected score at the token holding the number
// text[numStart:numEnd], and P(score = k) for k = 0..10: a softmax over
// the logprobs of the alternatives that write 0..10 (the others are not
// scores). The token must hold the whole number.
func expectationAt(starts []int, lps []TokenLogprob, numStart, numEnd int) (float64, []float64, bool) {
	k := -1
	for i := range lps {
		if starts[i] <= numStart && numStart < starts[i]+len(lps[i].Token) {
			k = i
			break
		}
	}
	if k < 0 || starts[k]+len(lps[k].Token) < numEnd {
		return 0, nil, false
	}
	chosen := lps[k]
	if _, ok := scoreToken(chosen.Token); !ok {
		return 0, nil, false
	}
	seen := map[string]bool{}
	dist := make([]float64, 11)
	var mass float64
	for _, alt := range append([]TokenLogprob{{Token: chosen.Token, Logprob: chosen.Logprob}}, chosen.Top...) {
		if seen[alt.Token] {
			continue
		}
		seen[alt.Token] = true
		s, ok := scoreToken(alt.Token)
		if !ok || math.IsNaN(alt.Logprob) {
			continue
		}
		p := math.Exp(min(alt.Logprob, 0))
		mass += p
		dist[s] += p
	}
	if !(mass > 0) {
		return 0, nil, false
	}
	var sum float64
	for s := range dist {
		dist[s] /= mass
		sum += dist[s] * float64(s)
	}
	// Rounding can step a hair outside the scale.
	return math.Max(0, math.Min(10, sum)), dist, true
}

// scoreToken reads a token that writes an integer 0..10, possibly with the
// space, quote or punctuation a tokenizer glues to it (" 8", "\"7", "9,").
func scoreToken(tok string) (int, bool) {
	t := strings.Trim(tok, " \t\r\n\"':,}")
	if t == "" || len(t) > 2 || (len(t) == 2 && t[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > 10 || strings.ContainsAny(t, "+-") {
		return 0, false
	}
	return n, true
}

// sample is the fallback: samples verdicts at a higher temperature, merged.
// spent is the usage of earlier calls of this evaluation. A failed sample
// fails the verdict, with the usage of every call made (a panic in the
// provider included, as an error).
func (j *LLMJudge) sample(ctx context.Context, msgs []Message, spent Usage) (*Verdict, error) {
	n := j.cfg.samples
	s := j.cfg.sampling
	temp := weightedSampleTemperature
	s.Temperature = &temp
	verdicts := make([]*Verdict, n)
	usages := make([]Usage, n)
	g, gctx := errgroup.WithContext(ctx)
	for i := range n {
		g.Go(func() error {
			return protect(fmt.Sprintf("weighted score sample %d", i+1), func() error {
				req := &Request{Messages: msgs, Sampling: s, JSON: true}
				resp, err := call(gctx, j.p, req, "")
				if err != nil {
					usages[i] = UsageOf(err) // what the failed call says it spent
					return err
				}
				v, _, u, err := j.read(gctx, req, resp)
				usages[i] = u
				if err != nil {
					return err
				}
				j.cfg.score(v)
				verdicts[i] = v
				return nil
			})
		})
	}
	err := g.Wait()
	total := spent
	for _, u := range usages {
		total = total.Add(u)
	}
	if err != nil {
		// The error carries the usage of the whole evaluation, so that
		// the loop counts every call.
		var ve *VerdictError
		if errors.As(err, &ve) {
			ve.Usage = total
		}
		return nil, WithUsage(err, total)
	}
	v := mergeSamples(verdicts)
	v.Usage, v.Method = total, MethodSamples
	v.Dist = make([]float64, 11)
	for _, sv := range verdicts {
		v.Dist[int(math.Round(sv.Score))]++
	}
	for k := range v.Dist {
		v.Dist[k] /= float64(n)
	}
	return v, nil
}

// mergeSamples averages scores and criteria and merges issues and
// suggestions. The feedback lists the merged issues and suggestions; when
// the samples gave none, it is that of the sample closest to the mean.
func mergeSamples(vs []*Verdict) *Verdict {
	out := &Verdict{}
	crit := map[string][]float64{}
	var sum float64
	for _, v := range vs {
		sum += v.Score
		for k, s := range v.Criteria {
			crit[k] = append(crit[k], s)
		}
	}
	out.Score = math.Max(0, math.Min(10, sum/float64(len(vs))))
	if len(crit) > 0 {
		out.Criteria = make(map[string]float64, len(crit))
		for k, ss := range crit {
			var sum float64
			for _, s := range ss {
				sum += s
			}
			out.Criteria[k] = math.Max(0, math.Min(10, sum/float64(len(ss))))
		}
	}
	var issues, suggestions [][]string
	closest := vs[0]
	for _, v := range vs {
		issues = append(issues, v.Issues)
		suggestions = append(suggestions, v.Suggestions)
		if math.Abs(v.Score-out.Score) < math.Abs(closest.Score-out.Score) {
			closest = v
		}
	}
	out.Issues, out.Suggestions = mergeLists(issues...), mergeLists(suggestions...)
	out.Feedback = verdict.Feedback(out.Issues, out.Suggestions, "")
	if out.Feedback == "" {
		out.Feedback = closest.Feedback
	}
	return out
}

// mergeLists concatenates lists, dropping blank items and repeats (compared
// after trimming space, case-insensitively), keeping the first spelling.
func mergeLists(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, it := range l {
			key := strings.ToLower(strings.TrimSpace(it))
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, strings.TrimSpace(it))
		}
	}
	return out
}
