package refine

import (
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

// cleanReply normalises line ends and removes reasoning blocks.
func cleanReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimPrefix(text, "\uFEFF")
	for _, tag := range []string{"think", "thinking", "reasoning"} {
		open, closing := "<"+tag+">", "</"+tag+">"
		for {
			lower := strings.ToLower(text)
			end := strings.Index(lower, closing)
			if end < 0 {
				break
			}
			start := strings.LastIndex(lower[:end], open)
			if start < 0 {
				start = 0 // some servers drop the opening tag
			}
			text = text[:start] + text[end+len(closing):]
		}
		if i := strings.Index(strings.ToLower(text), open); i >= 0 {
			text = text[:i] // a reasoning block never closed: cut off mid-thought
		}
	}
	return strings.TrimSpace(text)
}

// jsonObjects returns the top-level {...} objects of text, decoded
// leniently, in order. An object cut off at the end of the text is closed.
func jsonObjects(text string) []map[string]any {
	var out []map[string]any
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			break
		}
		start := i + j
		strict, end := lenientJSON(text[start:])
		var m map[string]any
		if err := json.Unmarshal([]byte(strict), &m); err == nil {
			out = append(out, m)
			i = start + end
		} else {
			i = start + 1
		}
	}
	return out
}

// lenientJSON reads the object starting at s[0] == '{' and rewrites it as
// strict JSON: single-quoted strings become double-quoted, trailing commas
// and comments go, bare keys are quoted, Python's True/False/None become
// JSON's, and an object cut off by the end of s is closed. It returns the
// rewritten text and how many bytes of s it consumed.
func lenientJSON(s string) (string, int) {
	var b strings.Builder
	var stack []byte // expected closers
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			str, n, closed := readString(s[i:])
			b.WriteString(strconv.Quote(str))
			i += n
			if !closed {
				return closeJSON(b.String(), stack), i
			}
		case c == '{' || c == '[':
			b.WriteByte(c)
			if c == '{' {
				stack = append(stack, '}')
			} else {
				stack = append(stack, ']')
			}
			i++
		case c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return b.String(), i // mismatched: let the decoder reject it
			}
			trimTrailingComma(&b)
			b.WriteByte(c)
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return b.String(), i
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
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '-' || s[j] >= 0x80 || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			word := s[i:j]
			switch word {
			case "true", "True":
				b.WriteString("true")
			case "false", "False":
				b.WriteString("false")
			case "null", "None", "nil":
				b.WriteString("null")
			default:
				b.WriteString(strconv.Quote(word)) // a bare key, or a bare word the decoder will judge
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return closeJSON(b.String(), stack), i
}

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

func trimTrailingComma(b *strings.Builder) {
	t := strings.TrimRightFunc(b.String(), unicode.IsSpace)
	if strings.HasSuffix(t, ",") {
		t = t[:len(t)-1]
		b.Reset()
		b.WriteString(t)
	}
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
	for i := len(stack) - 1; i >= 0; i-- {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
		s = strings.TrimSuffix(s, ",")
		s += string(stack[i])
	}
	return s
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
	return strings.NewReplacer(" ", "_", "-", "_").Replace(k)
}

// lookup returns the value of the first of keys present in m.
func lookup(m map[string]any, keys []string) (any, bool) {
	norm := make(map[string]any, len(m))
	for k, v := range m {
		norm[normKey(k)] = v
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
		if m == nil {
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
	// "Score: 9/10", "**Score:** 7/10", "Overall rating = 8", "점수: 8".
	labelledScore = regexp.MustCompile(`(?i)(overall|final|total|종합|최종)?[ \t*_]*(?:score|rating|grade|점수|평점)[ \t*_]*[:：=][ \t*_]*([0-9]+(?:\.[0-9]+)?)(?:[ \t]*(?:/|out of)[ \t]*([0-9]+(?:\.[0-9]+)?))?`)
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
		ms := labelledScore.FindAllStringSubmatch(text, -1)
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
