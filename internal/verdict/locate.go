package verdict

// A Location is where a reply writes the scores of its verdict object, so
// that a judge can weigh each score by the log-probabilities of the token
// that wrote it.
type Location struct {
	text     string
	obj, top jsonValue // the object holding the score, and the top-level one around it
}

// Locate finds the verdict object in text, a reply spelled out from its
// tokens, by structure, as Read reads it: the last top-level JSON object
// that has a score key (reasoning comes before it, and a reply with
// another after it is unreadable), never a "score" quoted in a string. It
// reports false when there is none or its score is not score, the one
// Read gave.
func Locate(text string, score float64) (Location, bool) {
	objs, _ := jsonObjects(text)
	for i := len(objs) - 1; i >= 0; i-- {
		if !hasScoreKey(objs[i]) {
			continue
		}
		obj, raw, err := verdictObject(objs[i])
		if err != nil || raw != score {
			return Location{}, false
		}
		return Location{text: text, obj: obj, top: objs[i]}, true
	}
	return Location{}, false
}

// Score returns where the overall score is written: text[start:end].
func (l Location) Score() (start, end int, ok bool) {
	v, _ := lookup(l.obj, scoreKeys...)
	return l.span(v)
}

// Criterion returns where criterion name's score is written, found where
// Read found it: in a criteria object, or at the top of the verdict
// object.
func (l Location) Criterion(name string) (start, end int, ok bool) {
	for _, src := range [2]jsonValue{l.obj, l.top} {
		if c, ok := lookup(src, criteriaKeys...); ok && c.kind == jsonObj {
			for _, f := range c.fields {
				if f.key == name {
					return l.span(f.val)
				}
			}
		}
	}
	v, ok := lookup(l.obj, normKey(name))
	if !ok {
		return 0, 0, false
	}
	return l.span(v)
}

// span returns the bytes of text that write v, an integer 0..10 written
// as a number or as a string of digits: "8/10", "8.5" and the like have no
// single score token, and ok is false for them.
func (l Location) span(v jsonValue) (start, end int, ok bool) {
	text := l.text
	start = v.pos
	switch v.kind {
	case jsonNum:
	case jsonStr:
		start++ // past the quote
		if start+len(v.str) > len(text) || text[start:start+len(v.str)] != v.str {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	end = start
	for end < len(text) && isDigit(text[end]) {
		end++
	}
	if end == start || end-start > 2 || (end < len(text) && (text[end] == '.' || text[end] == '/')) {
		return 0, 0, false
	}
	if v.kind == jsonStr && end-start != len(v.str) {
		return 0, 0, false
	}
	return start, end, true
}
