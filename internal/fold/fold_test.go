package fold

import (
	"strings"
	"testing"
	"time"
)

func TestIndex(t *testing.T) {
	tests := []struct {
		s, needle string
		want      int
	}{
		{"abc", "", 0},
		{"", "a", -1},
		{"xx</THINK>", "</think>", 2},
		{"aAbB", "ab", 1},
		{"AB", "ab", 0},
		{"zzzab", "AB", 3},
		{"a", "ab", -1},
		{"\u212a", "k", -1}, // the Kelvin sign folds to k only under Unicode rules
		{"12ab34", "ab34", 2},
	}
	for _, tc := range tests {
		if got := Index(tc.s, tc.needle); got != tc.want {
			t.Errorf("Index(%q, %q) = %d, want %d", tc.s, tc.needle, got, tc.want)
		}
	}
}

// Fencing a long answer made of the tag's first letter takes linear time:
// the clash check is not quadratic in the answer.
func TestIndexLinear(t *testing.T) {
	s := strings.Repeat("a", 1<<20) + "B"
	start := time.Now()
	if got := Index(s, "ab"); got != 1<<20-1 {
		t.Fatalf("got %d", got)
	}
	for _, needle := range []string{"a1b2c3d4e5f6", "A1B2C3D4E5F6"} {
		if got := Index(s, needle); got != -1 {
			t.Fatalf("Index(%q) = %d, want -1", needle, got)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("searching 1 MiB took %v", d)
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"</THINK>", "</think>", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"İ", "i", false},
	}
	for _, tc := range tests {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
