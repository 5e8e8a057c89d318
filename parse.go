package refine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Reading judges' replies. Models do not write clean JSON: they wrap it in
// code fences and prose, think aloud in <think> blocks, leave trailing
// commas, quote with ', give scores as "8/10", nest the score one level
// down, or get cut off by the token limit. The reader below accepts all of
// that, and still refuses to guess: a reply without a readable score in
// 0..10 is an error.

// Keys the reader looks for, in order of preference; compared
// case-insensitively, with spaces and dashes read as underscores.
var (
	scoreKeys      = []string{"score", "overall_score", "final_score", "total_score", "overall", "rating", "overall_rating", "grade", "점수", "총점"}
	criteriaKeys   = []string{"criteria", "criteria_scores", "criterion_scores", "scores", "dimensions"}
	issueKeys      = []string{"issues", "overall_issues", "problems", "weaknesses", "errors", "문제점"}
	suggestionKeys = []string{"suggestions", "improvement_suggestions", "improvements", "recommendations", "개선_제안"}
	assessKeys     = []string{"assessment", "overall_assessment", "summary", "explanation", "feedback", "reasoning", "rationale", "comment", "평가"}
)

// parseVerdict reads a judge's reply. criteria name the per-criterion
// scores that may stand at the top level of the JSON (seed 001's shape).
func parseVerdict(text string, criteria []Criterion) (*Verdict, error) {
	text = cleanReply(text)
	if text == "" {
		return nil, errors.New("empty reply")
	}
	var firstErr error
	objs := jsonObjects(text)
	for i := len(objs) - 1; i >= 0; i-- { // the verdict usually comes last
		v, err := verdictFromObject(objs[i], criteria)
		if err == nil {
			return v, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if v, ok := verdictFromProse(text); ok {
		return v, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errors.New("no JSON object and no score found")
}

// cleanReply normalises line ends and removes reasoning blocks. A closing
// tag removes back to the nearest opening tag before it (blocks may nest),
// or to the start of the text when there is none (some servers drop the
// opening tag); an opening tag never closed cuts the text off there.
func cleanReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimPrefix(text, "\uFEFF")
	for _, tag := range []string{"think", "thinking", "reasoning"} {
		text = removeBlocks(text, "<"+tag+">", "</"+tag+">")
	}
	return strings.TrimSpace(text)
}

// removeBlocks removes open…closing blocks, case-insensitively, in one pass:
// out holds the text kept so far (it may end inside a block still open).
func removeBlocks(text, open, closing string) string {
	// asciiLower keeps byte offsets, which strings.ToLower does not
	// (invalid UTF-8 becomes U+FFFD, "İ" grows a byte).
	lower := asciiLower(text)
	var out, outLower []byte
	pos := 0
	for {
		end := strings.Index(lower[pos:], closing)
		if end < 0 {
			break
		}
		end += pos
		if k := strings.LastIndex(lower[pos:end], open); k >= 0 {
			out = append(out, text[pos:pos+k]...)
			outLower = append(outLower, lower[pos:pos+k]...)
		} else if k := bytes.LastIndex(outLower, []byte(open)); k >= 0 {
			out, outLower = out[:k], outLower[:k] // closes a block opened earlier
		} else {
			out, outLower = out[:0], outLower[:0] // no opening tag at all
		}
		pos = end + len(closing)
	}
	out = append(out, text[pos:]...)
	outLower = append(outLower, lower[pos:]...)
	if k := bytes.Index(outLower, []byte(open)); k >= 0 {
		out = out[:k] // a block never closed: cut off mid-thought
	}
	return string(out)
}

// asciiLower lower-cases ASCII letters only, so that every byte stays where
// it was.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// jsonObjects returns the top-level {...} objects of text, decoded
// leniently, in order. An object cut off at the end of the text is closed.
//
// A failed attempt moves on to the next '{', so a reply full of unclosed
// braces would cost time quadratic in its length. The bytes read are
// budgeted (a generous multiple of the length); when the budget is spent,
// only the last few braces are still tried, as the verdict comes last.
func jsonObjects(text string) []map[string]any {
	out, stopped := scanObjects(text, 0, 8*len(text)+1<<16)
	if stopped < len(text) {
		from := len(text)
		for range 16 {
			k := strings.LastIndexByte(text[stopped:from], '{')
			if k < 0 {
				break
			}
			from = stopped + k
		}
		tail, _ := scanObjects(text, from, 16*(len(text)-from)+1<<16)
		out = append(out, tail...)
	}
	return out
}

// scanObjects decodes the objects of text from byte i on, reading at most
// about budget bytes. It returns them and where it stopped (len(text) when
// it read to the end).
func scanObjects(text string, i, budget int) ([]map[string]any, int) {
	var out []map[string]any
	for i < len(text) {
		if budget <= 0 {
			return out, i
		}
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			break
		}
		start := i + j
		strict, end := lenientJSON(text[start:])
		budget -= end
		var m map[string]any
		if err := json.Unmarshal([]byte(strict), &m); err == nil {
			out = append(out, m)
			i = start + end
		} else {
			i = start + 1
		}
	}
	return out, len(text)
}

// lenientJSON reads the object starting at s[0] == '{' and rewrites it as
// strict JSON: single-quoted strings become double-quoted, trailing commas
// and comments go, bare keys are quoted, Python's True/False/None become
// JSON's, and an object cut off by the end of s is closed. It returns the
// rewritten text and how many bytes of s it consumed.
func lenientJSON(s string) (string, int) {
	var b []byte     // the strict JSON written so far
	var stack []byte // expected closers
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			str, n, closed := readString(s[i:])
			b = strconv.AppendQuote(b, str)
			i += n
			if !closed {
				return closeJSON(string(b), stack), i
			}
		case c == '{' || c == '[':
			b = append(b, c)
			if c == '{' {
				stack = append(stack, '}')
			} else {
				stack = append(stack, ']')
			}
			i++
		case c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return string(b), i // mismatched: let the decoder reject it
			}
			b = trimTrailingComma(b)
			b = append(b, c)
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return string(b), i
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			if m := exponent.FindString(s[j:]); m != "" {
				j += len(m)
			}
			// A bare "8/10" or "4 out of 5" is no JSON; as a string the
			// score reader scales it.
			if m := fractionTail.FindString(s[j:]); m != "" {
				j += len(m)
				b = strconv.AppendQuote(b, s[i:j])
			} else {
				b = append(b, s[i:j]...)
			}
			i = j
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '-' || s[j] >= 0x80 || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			word := s[i:j]
			switch word {
			case "true", "True":
				b = append(b, "true"...)
			case "false", "False":
				b = append(b, "false"...)
			case "null", "None", "nil":
				b = append(b, "null"...)
			default:
				b = strconv.AppendQuote(b, word) // a bare key, or a bare word the decoder will judge
			}
			i = j
		default:
			b = append(b, c)
			i++
		}
	}
	return closeJSON(string(b), stack), i
}

// exponent is the "e+3" of a number.
var exponent = regexp.MustCompile(`^[eE][+-]?[0-9]+`)

// fractionTail is the "/10" or " out of 5" after a bare number.
var fractionTail = regexp.MustCompile(`^[ \t]*(?:/|out of)[ \t]*[0-9]+(?:\.[0-9]+)?`)

// readString reads a quoted string at s[0] and returns its value, the bytes
// consumed and whether it was closed.
func readString(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if i+4 < len(s) {
					if r, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
						b.WriteRune(rune(r))
						i += 4
						continue
					}
				}
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		case c == q:
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), len(s), false
}

// trimTrailingComma drops a comma (and the space after it) that ends b.
func trimTrailingComma(b []byte) []byte {
	t := bytes.TrimRightFunc(b, unicode.IsSpace)
	if len(t) > 0 && t[len(t)-1] == ',' {
		return t[:len(t)-1]
	}
	return b
}

// closeJSON ends a cut-off object: a dangling key or comma is dropped, and
// the open brackets are closed.
func closeJSON(s string, stack []byte) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	for {
		switch {
		case strings.HasSuffix(s, ","):
			s = strings.TrimRightFunc(s[:len(s)-1], unicode.IsSpace)
			continue
		case strings.HasSuffix(s, ":"):
			// drop the key that has no value: `"key":`
			s = strings.TrimRightFunc(s[:len(s)-1], unicode.IsSpace)
			if strings.HasSuffix(s, `"`) {
				if k := lastStringStart(s); k >= 0 {
					s = strings.TrimRightFunc(s[:k], unicode.IsSpace)
				}
			}
			continue
		}
		break
	}
	// A string value cut off inside an array or object is kept, but a key
	// without its colon is not: `{"a": 1, "b"` → `{"a": 1}`.
	if len(stack) > 0 && stack[len(stack)-1] == '}' && strings.HasSuffix(s, `"`) {
		if k := lastStringStart(s); k >= 0 {
			before := strings.TrimRightFunc(s[:k], unicode.IsSpace)
			if strings.HasSuffix(before, ",") || strings.HasSuffix(before, "{") {
				s = strings.TrimSuffix(before, ",")
			}
		}
	}
	s = strings.TrimSuffix(strings.TrimRightFunc(s, unicode.IsSpace), ",")
	closers := make([]byte, len(stack))
	for i, c := range stack {
		closers[len(stack)-1-i] = c
	}
	return s + string(closers)
}

// lastStringStart returns the index of the opening quote of the JSON string
// that ends s, or -1.
func lastStringStart(s string) int {
	for k := len(s) - 2; k >= 0; k-- {
		if s[k] == '"' {
			n := 0
			for m := k - 1; m >= 0 && s[m] == '\\'; m-- {
				n++
			}
			if n%2 == 0 {
				return k
			}
		}
	}
	return -1
}

func normKey(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	return keyReplacer.Replace(k)
}

var keyReplacer = strings.NewReplacer(" ", "_", "-", "_")

// lookup returns the value of the first of keys present in m. When several
// keys of m normalise alike ("score", "Score"), the one already in normal
// form wins, then the first in sorted order: the result never depends on
// map order.
func lookup(m map[string]any, keys []string) (any, bool) {
	type key struct{ raw, norm string }
	names := make([]key, 0, len(m))
	for k := range m {
		names = append(names, key{k, normKey(k)})
	}
	sort.Slice(names, func(i, j int) bool {
		ni, nj := names[i].norm == names[i].raw, names[j].norm == names[j].raw
		if ni != nj {
			return ni
		}
		return names[i].raw < names[j].raw
	})
	norm := make(map[string]any, len(m))
	for _, k := range names {
		if _, dup := norm[k.norm]; !dup {
			norm[k.norm] = m[k.raw]
		}
	}
	for _, k := range keys {
		if v, ok := norm[k]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// verdictObject finds the object that holds the score: m itself, or an
// object nested in it (breadth first, three levels at most).
func verdictObject(m map[string]any) (map[string]any, float64, error) {
	level := []map[string]any{m}
	var firstErr error
	for depth := 0; depth < 3 && len(level) > 0; depth++ {
		var next []map[string]any
		for _, obj := range level {
			if v, ok := lookup(obj, scoreKeys); ok {
				s, err := scoreValue(v)
				if err == nil {
					return obj, s, nil
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys) // deterministic order
			for _, k := range keys {
				if sub, ok := obj[k].(map[string]any); ok {
					next = append(next, sub)
				}
			}
		}
		level = next
	}
	if firstErr != nil {
		return nil, 0, firstErr
	}
	return nil, 0, errors.New("JSON object has no score")
}

func verdictFromObject(m map[string]any, criteria []Criterion) (*Verdict, error) {
	obj, score, err := verdictObject(m)
	if err != nil {
		return nil, err
	}
	v := &Verdict{Score: score}
	field := func(keys []string) (any, bool) {
		if x, ok := lookup(obj, keys); ok {
			return x, true
		}
		return lookup(m, keys)
	}
	if x, ok := field(issueKeys); ok {
		v.Issues = stringList(x)
	}
	if x, ok := field(suggestionKeys); ok {
		v.Suggestions = stringList(x)
	}
	var assessment string
	if x, ok := field(assessKeys); ok {
		assessment = strings.Join(stringList(x), "\n")
	}
	v.Criteria = criteriaScores(obj, m, criteria)
	v.Feedback = buildFeedback(v.Issues, v.Suggestions, assessment)
	return v, nil
}

// criteriaScores reads per-criterion scores from a criteria object, or from
// top-level keys named like the configured criteria. Unreadable ones are
// left out.
func criteriaScores(obj, top map[string]any, criteria []Criterion) map[string]float64 {
	out := map[string]float64{}
	for _, src := range []map[string]any{obj, top} {
		if x, ok := lookup(src, criteriaKeys); ok {
			if cm, ok := x.(map[string]any); ok {
				for k, val := range cm {
					if s, err := scoreValue(val); err == nil {
						out[k] = s
					}
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, cr := range criteria {
		if x, ok := lookup(obj, []string{normKey(cr.Name)}); ok {
			if s, err := scoreValue(x); err == nil {
				out[cr.Name] = s
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

var scoreText = regexp.MustCompile(`^\s*\[*\s*([0-9]+(?:\.[0-9]+)?)\s*\]*\s*(?:(?:/|out of)\s*([0-9]+(?:\.[0-9]+)?))?`)

// scoreValue reads a score: a number, a numeric string ("8", "8.5/10",
// "4 out of 5", "[[7]]"), or an object holding one. "x/N" is scaled to
// 0..10. Anything outside 0..10 is an error, not clamped.
func scoreValue(v any) (float64, error) {
	var s float64
	switch x := v.(type) {
	case float64:
		s = x
	case string:
		m := scoreText.FindStringSubmatch(x)
		if m == nil || !numberEnds(x[len(m[0]):]) {
			return 0, fmt.Errorf("score %q is not a number", x)
		}
		s, _ = strconv.ParseFloat(m[1], 64)
		if m[2] != "" {
			den, _ := strconv.ParseFloat(m[2], 64)
			if den <= 0 {
				return 0, fmt.Errorf("score %q has a zero scale", x)
			}
			s = s * 10 / den
		}
	case map[string]any:
		inner, ok := lookup(x, append([]string{"value"}, scoreKeys...))
		if !ok {
			return 0, errors.New("score object holds no number")
		}
		return scoreValue(inner)
	default:
		return 0, fmt.Errorf("score %v is not a number", v)
	}
	if !(s >= 0 && s <= 10) {
		return 0, fmt.Errorf("score %v outside 0..10", s)
	}
	return s, nil
}

// stringList turns a JSON value into lines: strings as they are, objects as
// "key: value" pairs, lists item by item.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if s := strings.TrimSpace(x); s != "" {
			return []string{s}
		}
	case []any:
		var out []string
		for _, it := range x {
			out = append(out, stringList(it)...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+strings.Join(stringList(x[k]), "; "))
		}
		if len(parts) > 0 {
			return []string{strings.Join(parts, ", ")}
		}
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	case bool:
		return []string{strconv.FormatBool(x)}
	}
	return nil
}

var (
	// MT-Bench single grading: "Rating: [[7]]". The last one counts.
	bracketScore = regexp.MustCompile(`\[\[\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*([0-9]+))?\s*\]\]`)
	// "Score: 9/10", "**Score:** 7/10", "Overall rating = 8", "점수: 8", and
	// `"score": 7` in JSON too broken to decode.
	labelledScore = regexp.MustCompile(`(?i)(overall|final|total|종합|최종)?[ \t*_]*(?:score|rating|grade|점수|평점)[ \t*_"']*[:：=][ \t*_]*([0-9]+(?:\.[0-9]+)?)(?:[ \t]*(?:/|out of)[ \t]*([0-9]+(?:\.[0-9]+)?))?`)
)

// verdictFromProse reads a score written in prose; the whole text becomes
// the feedback.
func verdictFromProse(text string) (*Verdict, bool) {
	pick := func(num, den string) (float64, bool) {
		if den != "" {
			num = num + "/" + den
		}
		s, err := scoreValue(num)
		return s, err == nil
	}
	var score float64
	found := false
	if ms := bracketScore.FindAllStringSubmatch(text, -1); ms != nil {
		m := ms[len(ms)-1]
		score, found = pick(m[1], m[2])
	}
	if !found {
		var ms [][]string
		for _, ix := range labelledScore.FindAllStringSubmatchIndex(text, -1) {
			if !numberEnds(text[ix[1]:]) {
				continue // "Score: 1e400", "Score: 85%": not what it seems
			}
			m := make([]string, len(ix)/2)
			for g := range m {
				if ix[2*g] >= 0 {
					m[g] = text[ix[2*g]:ix[2*g+1]]
				}
			}
			ms = append(ms, m)
		}
		// An "overall"/"final" score wins over per-criterion lines; else the last.
		for i := len(ms) - 1; i >= 0 && !found; i-- {
			if ms[i][1] != "" {
				score, found = pick(ms[i][2], ms[i][3])
			}
		}
		if !found && len(ms) > 0 {
			m := ms[len(ms)-1]
			score, found = pick(m[2], m[3])
		}
	}
	if !found {
		return nil, false
	}
	return &Verdict{Score: score, Feedback: text}, true
}

// numberEnds reports whether rest, the text after a number, does not carry
// the number on: no exponent, percent sign or further digits.
func numberEnds(rest string) bool {
	if rest == "" {
		return true
	}
	switch c := rest[0]; {
	case c >= '0' && c <= '9', c == '%':
		return false
	case c == 'e' || c == 'E':
		r := strings.TrimLeft(rest[1:], "+-")
		return r == "" || r[0] < '0' || r[0] > '9'
	case c == '.':
		return len(rest) == 1 || rest[1] < '0' || rest[1] > '9'
	}
	return true
}
