package refine

import "fmt"

// Stop rules that read a verdict's score distribution (Verdict.Dist) rather
// than its point score. A judge's score is an estimate: a logprob judge that
// puts 55% on 8 and 45% on 6 reports 7.1, and the plain rules cannot tell it
// from a judge that is sure of 7. These rules ask how likely the statement
// they act on is.

// distTolerance absorbs the rounding of probabilities that were summed or
// renormalised, so that a probability which is p on paper counts as p.
const distTolerance = 1e-9

// Confident stops the loop once the best attempt is probably good enough:
// when P(score >= threshold) >= p under the best attempt's Verdict.Dist,
// where threshold is the run's WithThreshold. It replaces the plain
// "best score >= threshold" check (it is a ThresholdRule), so a run with
// Confident does not stop on an expected score that crosses the threshold
// while the judge is unsure; it fires with StopThreshold.
//
// When the best attempt has no distribution (its judge gives none, or Dist
// does not hold the 11 entries for 0..10), Confident falls back to the plain
// rule: it fires when the best score >= threshold. Judges that fill Dist
// are NewLLMJudge with WithWeightedScore (logprobs, or sampling).
//
// p must be in (0, 1]; p = 1 waits for a judge that gives no chance at all
// to a score under the threshold.
func Confident(p float64) StopCondition { return confident{p} }

type confident struct{ p float64 }

// Check fires with StopThreshold once the best attempt probably clears
// the threshold.
func (c confident) Check(pr Progress) (StopReason, error) {
	if pr.Best < 0 || pr.Best >= len(pr.Attempts) {
		return "", nil
	}
	v := pr.Attempts[pr.Best].Verdict
	if v == nil {
		return "", nil
	}
	if validDist(v.Dist) {
		if probAtLeast(v.Dist, pr.Threshold) >= c.p-distTolerance {
			return StopThreshold, nil
		}
		return "", nil
	}
	if v.Score >= pr.Threshold {
		return StopThreshold, nil
	}
	return "", nil
}

// DecidesThreshold reports true: Confident replaces the loop's plain
// threshold check (see ThresholdRule).
func (confident) DecidesThreshold() bool { return true }

// Validate rejects a p outside (0, 1].
func (c confident) Validate() error {
	if !(c.p > 0 && c.p <= 1) {
		return optionError("Confident", c.p, "must be in (0, 1]")
	}
	return nil
}

func (c confident) String() string { return fmt.Sprintf("Confident(%g)", c.p) }

// NoSignificantImprovement is NoImprovement for noisy judges: it stops the
// loop after patience refinement rounds in which no attempt was
// significantly better than the incumbent. A new attempt is significantly
// better when P(new score > incumbent's score) >= p, with the two scores
// drawn independently from their verdicts' Dist; it then becomes the
// incumbent. The first incumbent is the best draft. Comparing with the
// incumbent rather than with the previous attempt means small gains that add
// up to a significant one count, once they do.
//
// When either verdict has no distribution (see Confident), the comparison
// falls back to the plain one: the new score is strictly higher. It fires
// with StopNoImprovement.
//
// patience must be >= 1 and p in (0, 1]; p around 0.75–0.9 is a useful
// range (P(new > best) is 0.5 or less for two identical distributions).
func NoSignificantImprovement(patience int, p float64) StopCondition {
	return noSignificantImprovement{patience, p}
}

type noSignificantImprovement struct {
	patience int
	p        float64
}

// Check walks the attempts in order each time rather than keeping a count,
// because a StopCondition is shared by concurrent runs and keeps no state.
func (n noSignificantImprovement) Check(pr Progress) (StopReason, error) {
	incumbent := -1
	since := 0
	for i, a := range pr.Attempts {
		if a.Verdict == nil {
			continue
		}
		if a.Round == 0 {
			// Drafts: the best one (a tie going to the later, as the loop
			// chooses) is where refinement starts.
			if incumbent < 0 || a.Verdict.Score >= pr.Attempts[incumbent].Verdict.Score {
				incumbent = i
			}
			continue
		}
		if incumbent < 0 || n.better(a.Verdict, pr.Attempts[incumbent].Verdict) {
			incumbent, since = i, 0
			continue
		}
		since++
	}
	if since >= n.patience {
		return StopNoImprovement, nil
	}
	return "", nil
}

func (n noSignificantImprovement) better(v, old *Verdict) bool {
	if validDist(v.Dist) && validDist(old.Dist) {
		return probGreater(v.Dist, old.Dist) >= n.p-distTolerance
	}
	return v.Score > old.Score
}

// Validate rejects a patience below 1 and a p outside (0, 1].
func (n noSignificantImprovement) Validate() error {
	if n.patience < 1 {
		return optionError("NoSignificantImprovement", n.patience, "patience must be >= 1")
	}
	if !(n.p > 0 && n.p <= 1) {
		return optionError("NoSignificantImprovement", n.p, "p must be in (0, 1]")
	}
	return nil
}

func (n noSignificantImprovement) String() string {
	return fmt.Sprintf("NoSignificantImprovement(%d, %g)", n.patience, n.p)
}

// validDist reports whether d is a score distribution over 0..10.
func validDist(d []float64) bool {
	return len(d) == 11
}

// probAtLeast is P(score >= t) for a distribution over the integer scores
// 0..10.
func probAtLeast(d []float64, t float64) float64 {
	sum := 0.0
	for k, pk := range d {
		if float64(k) >= t {
			sum += pk
		}
	}
	return sum
}

// probGreater is P(X > Y) for independent X ~ x and Y ~ y over 0..10.
func probGreater(x, y []float64) float64 {
	sum, below := 0.0, 0.0 // below = P(Y < k)
	for k := range x {
		sum += x[k] * below
		below += y[k]
	}
	return sum
}
