package verdict

import "testing"

// Locate finds the scores where Read read them, by structure: the last
// verdict object, never a score quoted in a string or in reasoning.
func TestLocate(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		score float64
		found bool
		want  string            // text of the score's span; "" for none
		crit  map[string]string // criterion → text of its span; "" for none
	}{
		{name: "plain", text: `{"score": 7, "criteria": {"accuracy": "6"}, "depth": 5}`, score: 7, found: true,
			want: "7", crit: map[string]string{"accuracy": "6", "depth": "5", "helpfulness": ""}},
		{name: "after reasoning", text: `<think>{"score": 2}</think>{"score": 10}`, score: 10, found: true, want: "10"},
		{name: "score quoted in a string", text: `{"issues": ["\"score\": 3"], "score": 8}`, score: 8, found: true, want: "8"},
		{name: "not the score read", text: `{"score": 7}`, score: 6},
		{name: "no verdict object", text: `Rating: [[7]]`, score: 7},
		{name: "fraction: no single token", text: `{"score": "8/10"}`, score: 8, found: true},
		{name: "decimal: no single token", text: `{"score": 8.5}`, score: 8.5, found: true},
		{name: "nested verdict", text: `{"verdict": {"score": "4", "tone": 3}}`, score: 4, found: true,
			want: "4", crit: map[string]string{"tone": "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc, found := Locate(tc.text, tc.score)
			if found != tc.found {
				t.Fatalf("Locate(%q, %v): found %v, want %v", tc.text, tc.score, found, tc.found)
			}
			if !found {
				return
			}
			span := func(start, end int, ok bool) string {
				if !ok {
					return ""
				}
				return tc.text[start:end]
			}
			if got := span(loc.Score()); got != tc.want {
				t.Errorf("score span: got %q, want %q", got, tc.want)
			}
			for name, want := range tc.crit {
				if got := span(loc.Criterion(name)); got != want {
					t.Errorf("criterion %q span: got %q, want %q", name, got, want)
				}
			}
		})
	}
}
