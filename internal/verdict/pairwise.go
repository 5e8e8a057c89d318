package verdict

import (
	"errors"
	"regexp"
	"strings"
)

// A Winner is a pairwise verdict, by position: the answer shown first
// (A), the one shown second (B), or neither.
type Winner uint8

// The verdicts; the zero Winner is none (an unreadable reply).
const (
	A Winner = iota + 1
	B
	Tie
)

// String returns "A", "B" or "tie".
func (w Winner) String() string {
	switch w {
	case A:
		return "A"
	case B:
		return "B"
	case Tie:
		return "tie"
	}
	return ""
}

var (
	// The format the prompt asks for: "[[A]]", "[[B]]", "[[C]]"; tolerated:
	// "[[ a ]]", "[[Assistant B]]", "[[tie]]". The last one counts: a reply
	// may quote the format before giving its verdict.
	pairBracket = regexp.MustCompile(`(?i)\[\[[ \t]*(?:(?:assistant|answer)[ \t]+)?(a|b|c|tie)[ \t]*\]\]`)
	// A labelled verdict without brackets: "Verdict: A", "Final verdict:
	// **Assistant B**", "verdict is [C]", `"winner": "A"`, "Verdict: tie".
	// The letter must be a capital (so that "verdict: a close call" is not
	// read as A), and "Verdict: A tie" is a tie.
	pairLabelled = regexp.MustCompile(`(?i:verdict|winner)[ \t*_"']*(?:[:：=]|(?i:is))[ \t*_"'\[]*(?:(?i:assistant|answer)[ \t]+)?(A|B|C|(?i:tie|draw))\b(?:[ \t]+((?i:tie|draw))\b)?`)
)

// ReadPairwise reads a pairwise verdict. It reads the last non-blank line
// of the reply, after leading reasoning blocks are removed, where the
// prompt asks for the verdict; the last marker on that line counts.
// Markers earlier in the reply (the judge quoting an answer, or the
// format) are not read: it never guesses.
func ReadPairwise(text string) (Winner, error) {
	text = StripReasoning(text)
	if text == "" {
		return 0, errors.New("empty reply (or reasoning only)")
	}
	line := text[strings.LastIndexByte(text, '\n')+1:]
	if ms := pairBracket.FindAllStringSubmatch(line, -1); ms != nil {
		return pairWinner(ms[len(ms)-1][1]), nil
	}
	if ms := pairLabelled.FindAllStringSubmatch(line, -1); ms != nil {
		m := ms[len(ms)-1]
		if m[2] != "" {
			return Tie, nil
		}
		return pairWinner(m[1]), nil
	}
	return 0, errors.New("the reply's last line holds no [[A]], [[B]] or [[C]] verdict")
}

func pairWinner(s string) Winner {
	switch strings.ToLower(s) {
	case "a":
		return A
	case "b":
		return B
	}
	return Tie // "c", "tie", "draw"
}
