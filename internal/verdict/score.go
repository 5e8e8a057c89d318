package verdict

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var scoreText = regexp.MustCompile(`^\s*\[*\s*([0-9]+(?:\.[0-9]+)?)\s*\]*\s*(?:(?:/|out of)\s*([0-9]+(?:\.[0-9]+)?))?`)

// scoreValue reads a score: a number, a numeric string (see scoreString),
// or an object holding one under "value" or a score key. Anything outside
// 0..10 is an error, not clamped.
func scoreValue(v jsonValue) (float64, error) {
	switch v.kind {
	case jsonNum:
		if !(v.num >= 0 && v.num <= 10) {
			return 0, fmt.Errorf("score %v outside 0..10", v.num)
		}
		return v.num, nil
	case jsonStr:
		return scoreString(v.str)
	case jsonObj:
		inner, ok := lookup(v, append([]string{"value"}, scoreKeys...)...)
		if !ok {
			return 0, errors.New("score object holds no number")
		}
		return scoreValue(inner)
	case jsonBadNum:
		return 0, errors.New("score is not a number in range")
	case jsonNull:
		return 0, errors.New("score is null")
	case jsonBool:
		return 0, fmt.Errorf("score %v is not a number", v.b)
	}
	return 0, errors.New("score is a list, not a number")
}

// scoreString reads a score written as text: "8", "8.5/10", "4 out of 5",
// "[[7]]"; "x/N" is scaled to 0..10.
func scoreString(x string) (float64, error) {
	m := scoreText.FindStringSubmatch(x)
	if m == nil || !numberEnds(x[len(m[0]):]) {
		return 0, errors.New("score is text that is not a number")
	}
	s, _ := strconv.ParseFloat(m[1], 64)
	if m[2] != "" {
		den, _ := strconv.ParseFloat(m[2], 64)
		if den <= 0 {
			return 0, errors.New("score has a zero scale (x/0)")
		}
		s = s * 10 / den
	}
	if !(s >= 0 && s <= 10) {
		return 0, fmt.Errorf("score %v outside 0..10", s)
	}
	return s, nil
}

var (
	// MT-Bench single grading: "Rating: [[7]]".
	bracketScore = regexp.MustCompile(`\[\[\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*([0-9]+))?\s*\]\]`)
	// "Score: 9/10", "**Score:** 7/10", "Overall rating = 8", "점수: 8", and
	// `"score": 7` in JSON too broken to read.
	labelledScore = regexp.MustCompile(`(?i)(?:score|rating|grade|점수|평점)[ \t*_"']*[:：=][ \t*_]*([0-9]+(?:\.[0-9]+)?)(?:[ \t]*(?:/|out of)[ \t]*([0-9]+(?:\.[0-9]+)?))?`)
)

// proseScores returns every score written in text ("[[7]]", "Score: 7/10")
// when they all agree, and an error when they do not (rule 4) or one is
// outside 0..10.
func proseScores(text string) ([]float64, error) {
	if !strings.Contains(text, "[[") && strings.IndexAny(text, ":：=") < 0 {
		return nil, nil
	}
	var out []float64
	add := func(num, den string) error {
		if den != "" {
			num = num + "/" + den
		}
		s, err := scoreString(num)
		if err != nil {
			return err
		}
		if len(out) > 0 && s != out[0] {
			return fmt.Errorf("reply gives different scores (%s and %s)", formatScore(out[0]), formatScore(s))
		}
		out = append(out, s)
		return nil
	}
	for _, m := range bracketScore.FindAllStringSubmatch(text, -1) {
		if err := add(m[1], m[2]); err != nil {
			return nil, err
		}
	}
	for _, ix := range labelledScore.FindAllStringSubmatchIndex(text, -1) {
		if !numberEnds(text[ix[1]:]) {
			continue // "Score: 1e400", "Score: 85%", "score: 0x9": not what it seems
		}
		den := ""
		if ix[4] >= 0 {
			den = text[ix[4]:ix[5]]
		}
		if err := add(text[ix[2]:ix[3]], den); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// numberEnds reports whether rest, the text after a number, does not carry
// the number on: no exponent, percent sign, further digits or letters.
func numberEnds(rest string) bool {
	if rest == "" {
		return true
	}
	switch c := rest[0]; {
	case isDigit(c), c == '%', c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return false
	case c == '.':
		return len(rest) == 1 || !isDigit(rest[1])
	}
	return true
}

// formatScore prints a score without trailing zeros: 7, 7.5, 8.25.
func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
