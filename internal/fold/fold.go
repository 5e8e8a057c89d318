// Package fold finds ASCII text without regard to case, in time linear in
// the text searched for the short needles it is used with (at most
// len(s) × len(needle) steps, whatever s holds: no backtracking blow-up).
//
// Only ASCII letters fold: the needles are markup the SDK writes itself
// ("</think>", a fence tag of hex digits), and Unicode folding would let
// other characters stand in for them ("\u212a", the Kelvin sign, folds to
// "k").
package fold

import "strings"

// Index is strings.Index for an ASCII needle, ignoring ASCII case. It
// takes time linear in len(s) times len(needle), whatever s holds.
func Index(s, needle string) int {
	n := len(needle)
	if n == 0 {
		return 0
	}
	lower, upper := needle[0], needle[0]
	if 'a' <= lower && lower <= 'z' {
		upper = lower - 'a' + 'A'
	} else if 'A' <= upper && upper <= 'Z' {
		lower = upper - 'A' + 'a'
	}
	// The next position of each case of the first byte, -1 when there is
	// none: each is searched for again only once passed.
	nextLower, nextUpper := -1, -1
	if k := strings.IndexByte(s, lower); k >= 0 {
		nextLower = k
	}
	if upper != lower {
		if k := strings.IndexByte(s, upper); k >= 0 {
			nextUpper = k
		}
	}
	for {
		k := nextLower
		if k < 0 || (nextUpper >= 0 && nextUpper < k) {
			k = nextUpper
		}
		if k < 0 || k+n > len(s) {
			return -1
		}
		if Equal(s[k:k+n], needle) {
			return k
		}
		if k == nextLower {
			nextLower = -1
			if j := strings.IndexByte(s[k+1:], lower); j >= 0 {
				nextLower = k + 1 + j
			}
		} else {
			nextUpper = -1
			if j := strings.IndexByte(s[k+1:], upper); j >= 0 {
				nextUpper = k + 1 + j
			}
		}
	}
}

// Equal reports whether a and b are equal, ignoring the case of ASCII
// letters only.
func Equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
