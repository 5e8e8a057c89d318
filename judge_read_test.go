package refine

import (
	"reflect"
	"testing"
)

// The reader's own cases are in internal/verdict; these check what the
// judges hand it and what they make of its reading.

// Every field of the reading reaches the Verdict, and an unreadable reply
// gives no Verdict at all.
func TestParseVerdictFields(t *testing.T) {
	reply := `{"score": 7, "criteria": {"accuracy": 6}, "issues": ["misses X"], "suggestions": ["add X"], "assessment": "Decent."}`
	got, err := parseVerdict(reply, GeneralCriteria())
	if err != nil {
		t.Fatalf("parseVerdict: %v", err)
	}
	want := &Verdict{
		Score:       7,
		Feedback:    "Issues:\n- misses X\n\nSuggestions:\n- add X\n\nAssessment: Decent.",
		Issues:      []string{"misses X"},
		Suggestions: []string{"add X"},
		Criteria:    map[string]float64{"accuracy": 6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if v, err := parseVerdict(`{"score": 11}`, GeneralCriteria()); v != nil || err == nil {
		t.Errorf("score 11: got %+v, %v; want nil and an error", v, err)
	}
}

// The judge's criteria are read from the top level only under their own
// names; other numbers stay out of Criteria.
func TestParseVerdictCriteriaNames(t *testing.T) {
	tests := []struct {
		name     string
		criteria []Criterion
		reply    string
		want     map[string]float64
	}{
		{"general criteria at top level", GeneralCriteria(),
			`{"score": 7, "accuracy": 6, "helpfulness": 8, "length": 300}`,
			map[string]float64{"accuracy": 6, "helpfulness": 8}},
		{"summary criteria with spaced keys", SummaryCriteria(),
			`{"score": 7, "Coherence": 6, "consistency": "9/10", "fluency": 11}`,
			map[string]float64{"coherence": 6, "consistency": 9}},
		{"code criteria at top level", CodeCriteria(),
			`{"score": 5, "correctness": 4, "context_consistency": 8}`,
			map[string]float64{"correctness": 4}},
		{"criteria of your own", []Criterion{{Name: "Tone", Weight: 1}},
			`{"score": 5, "tone": 3, "accuracy": 9}`,
			map[string]float64{"Tone": 3}},
		{"no criteria", GeneralCriteria(), `{"score": 5}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseVerdict(tc.reply, tc.criteria)
			if err != nil {
				t.Fatalf("parseVerdict: %v", err)
			}
			if !reflect.DeepEqual(v.Criteria, tc.want) {
				t.Errorf("criteria: got %v, want %v", v.Criteria, tc.want)
			}
		})
	}
}

// The pairwise reader's verdicts by position become WinnerA, WinnerB and
// Tie.
func TestParsePairwiseWinners(t *testing.T) {
	tests := []struct{ reply, want string }{
		{"A is better.\n[[A]]", WinnerA},
		{"B is better.\n[[B]]", WinnerB},
		{"Both are fine.\n[[C]]", Tie},
		{"Verdict: tie", Tie},
		{"no verdict here", ""},
	}
	for _, tc := range tests {
		got, err := parsePairwise(tc.reply)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("parsePairwise(%q) = %q, %v; want %q", tc.reply, got, err, tc.want)
		}
	}
}
