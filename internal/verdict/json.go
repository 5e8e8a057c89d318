package verdict

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A jsonValue is one value of a reply's JSON, held without interfaces or
// reflection: reading a verdict allocates little more than its objects'
// and arrays' backing slices (strings are slices of the reply).
type jsonValue struct {
	kind   jsonKind
	b      bool
	pos    int // where the value starts in the text read
	num    float64
	str    string      // jsonStr; the token of a jsonBadNum
	fields []jsonField // jsonObj, in the order written
	arr    []jsonValue // jsonArr
}

type jsonField struct {
	key string
	val jsonValue
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNum
	jsonBadNum // a number token that is no float64 (1e400)
	jsonStr
	jsonObj
	jsonArr
)

// jsonParser reads lenient JSON: single-quoted strings, trailing commas,
// comments, bare keys and words, Python's True/False/None, "8/10" and
// "4 out of 5" as strings, and values cut off by the end of the text
// (closed where they stop; a key without a value is dropped).
type jsonParser struct {
	s     string
	i     int
	depth int
	// Members and items of the objects and arrays being read; each is
	// copied out, at its exact size, when it closes.
	fields []jsonField
	items  []jsonValue
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '/':
			if k := strings.IndexByte(p.s[p.i:], '\n'); k >= 0 {
				p.i += k
			} else {
				p.i = len(p.s)
			}
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '*':
			if k := strings.Index(p.s[p.i+2:], "*/"); k >= 0 {
				p.i += k + 4
			} else {
				p.i = len(p.s)
			}
		default:
			return
		}
	}
}

// value reads the value at p.i; false means none can be read there (p.i is
// where reading failed).
func (p *jsonParser) value() (jsonValue, bool) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return jsonValue{}, false
	}
	start := p.i
	var v jsonValue
	ok := true
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"' || c == '\'':
		s, _ := p.str()
		v = jsonValue{kind: jsonStr, str: s}
	case c == '-' || isDigit(c):
		v, ok = p.number()
	case isWordStart(c):
		switch w := p.word(); w {
		case "true", "True":
			v = jsonValue{kind: jsonBool, b: true}
		case "false", "False":
			v = jsonValue{kind: jsonBool}
		case "null", "None", "nil":
		default:
			v = jsonValue{kind: jsonStr, str: w} // a bare word: its reader judges it
		}
	default:
		return jsonValue{}, false
	}
	v.pos = start
	return v, ok
}

// takeFrom moves the scratch entries above mark into a slice of their
// exact size (nil when there are none) and pops them off the scratch stack.
func takeFrom[T any](scratch *[]T, mark int) []T {
	n := len(*scratch) - mark
	if n <= 0 {
		return nil
	}
	out := make([]T, n)
	copy(out, (*scratch)[mark:])
	clear((*scratch)[mark:])
	*scratch = (*scratch)[:mark]
	return out
}

// object reads the object at p.i. On failure it returns the members read
// before the text stopped making sense, with false.
func (p *jsonParser) object() (jsonValue, bool) {
	start := p.i
	p.i++ // '{'
	if p.depth++; p.depth > maxJSONDepth {
		return jsonValue{kind: jsonObj, pos: start}, false
	}
	mark := len(p.fields)
	done := func(ok bool) (jsonValue, bool) {
		p.depth--
		return jsonValue{kind: jsonObj, pos: start, fields: takeFrom(&p.fields, mark)}, ok
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true) // cut off: closed here
		}
		var key string
		switch c := p.s[p.i]; {
		case c == '}':
			p.i++
			return done(true)
		case c == '"' || c == '\'':
			k, closed := p.str()
			if !closed {
				return done(true) // a key cut off: dropped
			}
			key = k
		case isWordStart(c):
			key = p.word()
		default:
			return done(false)
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true)
		}
		if p.s[p.i] != ':' {
			return done(false)
		}
		p.i++
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true)
		}
		v, ok := p.value()
		if !ok {
			return done(false)
		}
		if p.fields == nil {
			p.fields = make([]jsonField, 0, 16)
		}
		p.fields = append(p.fields, jsonField{key, v})
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return done(true)
		default:
			return done(false)
		}
	}
}

func (p *jsonParser) array() (jsonValue, bool) {
	start := p.i
	p.i++ // '['
	if p.depth++; p.depth > maxJSONDepth {
		return jsonValue{kind: jsonArr, pos: start}, false
	}
	mark := len(p.items)
	done := func(ok bool) (jsonValue, bool) {
		p.depth--
		return jsonValue{kind: jsonArr, pos: start, arr: takeFrom(&p.items, mark)}, ok
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true)
		}
		if p.s[p.i] == ']' {
			p.i++
			return done(true)
		}
		v, ok := p.value()
		if !ok {
			return done(false)
		}
		if p.items == nil {
			p.items = make([]jsonValue, 0, 16)
		}
		p.items = append(p.items, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return done(true)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return done(true)
		default:
			return done(false)
		}
	}
}

// str reads the string at p.i, quoted with " or ', and reports whether it
// was closed before the end of the text.
func (p *jsonParser) str() (string, bool) {
	q := p.s[p.i]
	start := p.i + 1
	// Most strings have no escapes: return a slice of the text.
	if k := strings.IndexByte(p.s[start:], q); k >= 0 && strings.IndexByte(p.s[start:start+k], '\\') < 0 {
		p.i = start + k + 1
		return p.s[start : start+k], true
	}
	var b strings.Builder
	for i := start; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '\\' && i+1 < len(p.s):
			i++
			switch e := p.s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				r, n := unicodeEscape(p.s[i+1:])
				if n == 0 {
					b.WriteByte(e)
					continue
				}
				b.WriteRune(r)
				i += n
			default: // \" \' \\ \/, and unknown escapes as the character
				b.WriteByte(e)
			}
		case c == q:
			p.i = i + 1
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	p.i = len(p.s)
	return b.String(), false
}

// unicodeEscape reads the XXXX of a \uXXXX escape (and a low surrogate's
// \uXXXX after a high one) and returns the rune and the bytes read; 0 bytes
// when there is no escape.
func unicodeEscape(s string) (rune, int) {
	hex4 := func(s string) (rune, bool) {
		if len(s) < 4 {
			return 0, false
		}
		v, err := strconv.ParseUint(s[:4], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex4(s)
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
			if r2, ok := hex4(s[6:]); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 10
				}
			}
		}
		return utf8.RuneError, 4
	}
	return r, 4
}

// number reads a number. A bare "8/10" or "4 out of 5" is no JSON; as a
// string the score reader scales it. A number running into letters or
// digits ("0x9", "7abc", "1.2.3") is no number at all.
func (p *jsonParser) number() (jsonValue, bool) {
	s, start := p.s, p.i
	i := start
	if s[i] == '-' {
		i++
	}
	digits := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == digits {
		return jsonValue{}, false
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	if n := fractionTail(s[i:]); n > 0 {
		i += n
		p.i = i
		return jsonValue{kind: jsonStr, str: s[start:i]}, true
	}
	if i < len(s) && (isWordStart(s[i]) || isDigit(s[i]) || s[i] == '.') {
		p.i = i
		return jsonValue{}, false
	}
	p.i = i
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return jsonValue{kind: jsonBadNum, str: s[start:i]}, true
	}
	return jsonValue{kind: jsonNum, num: f}, true
}

// fractionTail returns the length of the "/10" or " out of 5" that s
// starts with, or 0.
func fractionTail(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	switch {
	case strings.HasPrefix(s[i:], "/"):
		i++
	case strings.HasPrefix(s[i:], "out of"):
		i += len("out of")
	default:
		return 0
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	d := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == d {
		return 0
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i
}

// word reads a bare word: letters, digits, '_', '-' and any non-ASCII byte.
func (p *jsonParser) word() string {
	j := p.i
	for j < len(p.s) && (isWordStart(p.s[j]) || isDigit(p.s[j]) || p.s[j] == '-') {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWordStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// normKey lower-cases a key and reads spaces and dashes as underscores. It
// allocates only for keys not already in that form.
func normKey(k string) string {
	clean := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' || c == ' ' || c == '-' || c == '\t' || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return k
	}
	k = strings.ToLower(strings.TrimSpace(k))
	return keyReplacer.Replace(k)
}

var keyReplacer = strings.NewReplacer(" ", "_", "-", "_")

// keyIs reports whether key k, normalised, is want (already normal).
func keyIs(k, want string) bool {
	return k == want || normKey(k) == want
}

// lookup returns the value of the first of keys present (and not null) in
// object o. When several keys of o normalise alike ("score", "Score"), the
// one already in normal form wins, then the first written: the result
// never depends on anything but the text.
func lookup(o jsonValue, keys ...string) (jsonValue, bool) {
	for _, want := range keys {
		found, exact := -1, false
		for i, f := range o.fields {
			if f.val.kind == jsonNull {
				continue
			}
			if f.key == want {
				if !exact {
					found, exact = i, true
				}
			} else if !exact && found < 0 && keyIs(f.key, want) {
				found = i
			}
		}
		if found >= 0 {
			return o.fields[found].val, true
		}
	}
	return jsonValue{}, false
}
