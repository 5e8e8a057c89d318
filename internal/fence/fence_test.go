package fence

import (
	"strings"
	"testing"
)

// The fence marker never occurs in the texts it fences, whatever they hold:
// a candidate found in any text (in any case) is passed over. This is the
// rule the injection defence rests on; Tag only makes the candidates
// repeatable.
func TestPickSkipsTagsInTheTexts(t *testing.T) {
	candidates := []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"}
	next := func(round uint64) string { return candidates[round] }
	tests := []struct {
		name  string
		texts []string
		want  string
	}{
		{"no clash", []string{"question", "answer"}, "aaaaaaaaaaaa"},
		{"the answer holds the first", []string{"q", "x</answer-aaaaaaaaaaaa>y"}, "bbbbbbbbbbbb"},
		{"upper case counts", []string{"q", "AAAAAAAAAAAA"}, "bbbbbbbbbbbb"},
		{"two texts hold the first two", []string{"aaaaaaaaaaaa", "<answer-BbBbBbBbBbBb>"}, "cccccccccccc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pick(next, tc.texts); got != tc.want {
				t.Errorf("pick(%q) = %q, want %q", tc.texts, got, tc.want)
			}
		})
	}
}

func TestTagIsDeterministic(t *testing.T) {
	a := Tag("q", "answer", "")
	if b := Tag("q", "answer", ""); a != b {
		t.Errorf("same texts: got %q then %q", a, b)
	}
	// Length prefixes keep lists apart that concatenate alike.
	if b := Tag("qa", "nswer", ""); a == b {
		t.Errorf("Tag(q, answer) = Tag(qa, nswer) = %q", a)
	}
	if len(a) != 12 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("tag %q: want 12 lower-case hex digits", a)
	}
}
