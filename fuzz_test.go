package refine

import (
	"math"
	"testing"
)

// Fuzz target of the judge's weighing of scores by their log-probabilities
// (the targets of the reply reader are in internal/verdict). Run it with
//
//	go test -run '^$' -fuzz FuzzWeigh -fuzztime 1m
//
// Without -fuzz the seeds run as ordinary tests.

func inScale(s float64) bool { return s >= 0 && s <= 10 }

// checkVerdict10 fails t unless every score of v is within 0..10.
func checkVerdict10(t *testing.T, v *Verdict, input string) {
	t.Helper()
	if v == nil {
		t.Fatalf("nil verdict and no error for %q", input)
	}
	if !inScale(v.Score) {
		t.Fatalf("score %v outside 0..10 for %q", v.Score, input)
	}
	for k, s := range v.Criteria {
		if !inScale(s) {
			t.Fatalf("criterion %q = %v outside 0..10 for %q", k, s, input)
		}
	}
}

// FuzzWeigh splits a reply into tokens at fuzzed places and gives each
// token fuzzed alternatives, then checks that the probability-weighted
// score stays within 0..10 whatever the logprobs say.
func FuzzWeigh(f *testing.F) {
	f.Add(`{"score": 8, "criteria": {"accuracy": 7}, "issues": []}`, []byte{1, 2, 3, 9, 9, 2, 1, 5}, []byte{0, 10, 50, 200, 255})
	f.Add(`{"score": 10}`, []byte{2, 5, 2, 1, 1}, []byte{1, 2, 3})
	f.Add(`{"score": "7", "accuracy": 3}`, []byte{10}, []byte{255, 255, 0})
	f.Add(`<think>{"score": 2}</think>{"score": 2}`, []byte{3, 3, 3, 3, 3}, []byte{7})
	alts := []string{"0", "1", " 2", "3", "4", "5", "6", "7", "8", "9", "10", "\"8", "x", "08", "-1", "11", "1"}
	f.Fuzz(func(t *testing.T, reply string, cuts, probs []byte) {
		var lps []TokenLogprob
		rest := reply
		for i := 0; rest != ""; i++ {
			n := 1
			if len(cuts) > 0 {
				n = int(cuts[i%len(cuts)])%6 + 1
			}
			n = min(n, len(rest))
			tok := TokenLogprob{Token: rest[:n], Logprob: -0.1}
			for k := 0; k < len(probs) && k < 20; k++ {
				lp := -float64(probs[(i+k)%len(probs)]) / 16
				if probs[k]%37 == 0 {
					lp = math.Inf(-1)
				}
				if probs[k]%41 == 0 {
					lp = math.NaN()
				}
				tok.Top = append(tok.Top, TokenLogprob{Token: alts[(i+k+int(probs[k]))%len(alts)], Logprob: lp})
			}
			lps = append(lps, tok)
			rest = rest[n:]
		}
		for _, criteria := range [][]Criterion{GeneralCriteria(), {{Name: "accuracy", Weight: 2}, {Name: "depth", Weight: 1}}} {
			j := NewLLMJudge(ProviderFunc(nil), WithWeightedScore(3), WithCriteria(criteria...))
			v, err := parseVerdict(reply, j.cfg.criteria)
			if err != nil {
				return
			}
			j.weigh(v, &Response{Text: reply, Logprobs: lps})
			checkVerdict10(t, v, reply)
		}
	})
}
