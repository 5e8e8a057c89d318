package refine

import (
	"cmp"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/jsonschema-go/jsonschema"
)

// ErrInvalidAnswer is wrapped by the error of RunTyped when no attempt of
// the run was a valid value of the requested type: none decoded, met the
// schema and passed the checks. The Result still comes back, with every
// attempt and the problems found in each (Attempt.Verdict.Issues).
var ErrInvalidAnswer = errors.New("no valid answer")

// TypedResult is the outcome of RunTyped: the run's Result, whose Answer is
// the JSON text of the best valid attempt, and that attempt decoded.
type TypedResult[T any] struct {
	*Result
	Value T // the best valid attempt, decoded
}

// RunTyped refines a value of type T on l (nil means Default()): the
// answers are JSON objects following a JSON Schema inferred from T, and
// Value is the best of them decoded.
//
// The schema is inferred from T once per type, by
// github.com/google/jsonschema-go: exported fields become properties named
// as encoding/json names them, fields without omitempty or omitzero are
// required, and a `jsonschema:"..."` tag becomes the property's
// description, which the model reads. The default refiner sends it as
// Request.Schema, so providers that support structured output (OpenAI
// json_schema, Bedrock outputConfig) constrain the model to it.
//
// Every answer is checked before it is judged: a ```json fence is
// stripped, the text must be JSON, valid against the schema, decodable into
// T, and pass every Check. An answer that fails is not judged: it becomes
// an attempt with score 0 whose Verdict.Issues list each problem with its
// place in the JSON ("$.lines[1].amount: minimum: -5 is less than 0"), and
// the refiner is asked to fix exactly those. A round therefore costs two
// model calls when the answer is valid and one when it is not. The judge
// (the default LLM judge or WithJudge's) is given the JSON text as the
// answer.
//
// Result.Answer, Score and Best describe the best valid attempt (a tie
// goes to the later one), so Result.Answer is JSON that decodes into
// Value. When no attempt was valid, RunTyped returns the Result so far and
// an error wrapping ErrInvalidAnswer; Value is then the zero T and must not
// be used.
//
// The schema says what encoding/json reads into T, not what T's Go kinds
// suggest: a field with the ,string option is a string holding the number
// or boolean ("42"), a type with UnmarshalText (an enum, netip.Addr,
// big.Float) is a string, a []byte is base64 text, *big.Int is an
// integer, time.Time a string and json.RawMessage any JSON value.
//
// T must describe a JSON object: a struct, or a map with string keys. A T
// with no JSON Schema (a channel, func or complex field, a map with
// non-string keys, a recursive type), one whose JSON no schema can state
// (a field whose type has an UnmarshalJSON of its own, other than those
// above; ,string on a string or on a type with UnmarshalText), or of
// another kind is rejected before any model call with an error naming the
// type and the field.
// Otherwise errors are those of Loop.Run, and the Result so far comes with
// them as there.
func RunTyped[T any](ctx context.Context, l *Loop, query string, opts ...Option) (*TypedResult[T], error) {
	if l == nil {
		l = Default()
	}
	ts, err := typeSchemaFor[T]()
	if err != nil {
		return nil, err
	}
	// The checks travel as options; read them from the configuration this
	// call will run with.
	cc := l.cfg
	cc.apply(opts)
	checks, err := collectChecks[T](cc.checks)
	if err != nil {
		return nil, err
	}

	// Each run gets its own copy of the schema text: a provider that
	// edits the request cannot change the cached one.
	schema := &Schema{Name: ts.name, Schema: slices.Clone(ts.raw)}
	tj := &typedJudge[T]{ts: ts, checks: checks, valid: map[string]T{}}
	typed := func(c *config) {
		c.schema = schema
		// The checks were collected above and run inside tj.
		c.judgeWrap = func(j Judge) Judge {
			tj.inner = j
			return tj
		}
	}
	ran, err := l.Run(ctx, query, append(opts[:len(opts):len(opts)], typed)...)
	if ran == nil {
		if errors.Is(err, ErrInvalidRequest) {
			// Most likely the provider refused the schema itself (a strict
			// mode that cannot express a map or an any field): name the type.
			err = fmt.Errorf("refine: RunTyped[%s]: the provider refused the request; its schema may use what the provider cannot express: %w", ts.goType, err)
		}
		return nil, err
	}
	// Observers were handed ran in EventStopped: the typed result is a copy.
	res := &Result{}
	*res = *ran
	res.Attempts = slices.Clone(ran.Attempts)
	out := &TypedResult[T]{Result: res}
	for i := range res.Attempts {
		res.Attempts[i].Answer = stripFence(res.Attempts[i].Answer)
	}
	best, ok := tj.best(res)
	if !ok {
		res.Answer = res.Attempts[res.Best].Answer
		invalid := fmt.Errorf("refine: RunTyped[%s]: none of the %d attempts was valid (%s; each attempt's Verdict.Issues says what was wrong): %w",
			ts.goType, len(res.Attempts), issuesSummary(res.Attempts[len(res.Attempts)-1].Verdict.Issues), ErrInvalidAnswer)
		if err != nil {
			return out, errors.Join(err, invalid)
		}
		return out, invalid
	}
	res.Best = best
	res.Answer = res.Attempts[best].Answer
	res.Score = res.Attempts[best].Verdict.Score
	out.Value = tj.valid[res.Answer]
	return out, err
}

// issuesSummary says how the last attempt went wrong without quoting
// it: the issues quote the answer's values and keys (and a Check's
// messages may too), and an error travels to logs and traces, where
// answer text must not go. It counts the problems and names the first's
// kind.
func issuesSummary(issues []string) string {
	if len(issues) == 0 {
		return "the last had no problem listed"
	}
	kind := "failed a Check"
	switch first := issues[0]; {
	case strings.HasPrefix(first, issueNotJSON):
		kind = "was not JSON"
	case strings.HasPrefix(first, issueNoDecode):
		kind = "did not decode"
	case strings.HasPrefix(first, "$"):
		kind = "broke the schema"
	}
	if len(issues) == 1 {
		return "the last " + kind
	}
	return fmt.Sprintf("the last %s, among %d problems", kind, len(issues))
}

// Check adds a domain rule to RunTyped[T]: fn is called with every answer
// that met the schema and decoded, and returns the problems it finds (nil
// or none when the value is fine), written for the model that will fix
// them — "total is 12000 but the lines add up to 11000". An answer with
// problems is treated like one that broke the schema: score 0, not judged,
// the messages among its Verdict.Issues for the refiner. fn must be safe
// for concurrent use (candidates are checked in parallel).
//
// Checks accumulate, given to New or to RunTyped, and run in order. They
// apply to RunTyped with the same T only: RunTyped with another type and
// Loop.Run, which decodes nothing, reject them before any model call with
// an error wrapping ErrInvalidOption.
func Check[T any](fn func(T) []string) Option {
	return func(c *config) {
		c.checks = append(c.checks[:len(c.checks):len(c.checks)], typedCheck{typ: reflect.TypeFor[T](), fn: fn, isNil: fn == nil})
	}
}

// typedCheck is a Check as the configuration holds it, before RunTyped
// knows its T.
type typedCheck struct {
	typ   reflect.Type
	fn    any // func(T) []string
	isNil bool
}

// validateChecks rejects checks a run cannot use: on a plain Run (no
// schema: nothing is decoded), or a nil function.
func validateChecks(checks []typedCheck, typed bool) error {
	for _, ch := range checks {
		if !typed {
			return optionError("Check", checkName(ch.typ), "applies to RunTyped only: Run does not decode answers")
		}
		if ch.isNil {
			return optionError("Check", "nil", "the check function must not be nil")
		}
	}
	return nil
}

func checkName(t reflect.Type) string { return "func(" + t.String() + ") []string" }

// collectChecks returns the Check functions for T of a configuration.
func collectChecks[T any](checks []typedCheck) ([]func(T) []string, error) {
	if err := validateChecks(checks, true); err != nil {
		return nil, err
	}
	want := reflect.TypeFor[T]()
	fns := make([]func(T) []string, 0, len(checks))
	for _, ch := range checks {
		if ch.typ != want {
			return nil, optionError("Check", checkName(ch.typ), "RunTyped["+want.String()+"] needs a "+checkName(want))
		}
		fns = append(fns, ch.fn.(func(T) []string))
	}
	return fns, nil
}

// typedJudge checks each answer before the run's judge sees it, and
// remembers the valid ones decoded. One per run.
type typedJudge[T any] struct {
	inner  Judge
	ts     *typeSchema
	checks []func(T) []string

	mu    sync.Mutex
	valid map[string]T // JSON text (fence stripped) → value
}

func (j *typedJudge[T]) Evaluate(ctx context.Context, query, answer string) (*Verdict, error) {
	text := stripFence(answer)
	var v T
	issues := j.ts.check(text, &v)
	if len(issues) == 0 {
		for _, check := range j.checks {
			issues = append(issues, check(v)...)
		}
	}
	if len(issues) > 0 {
		return &Verdict{Score: 0, Issues: issues, Feedback: invalidFeedback(j.ts, issues)}, nil
	}
	j.mu.Lock()
	j.valid[text] = v
	j.mu.Unlock()
	return j.inner.Evaluate(ctx, query, text)
}

// best returns the attempt RunTyped reports: the loop's choice when it is
// valid (it honours ties and WithRegressionGuard), else the best-scored
// valid attempt, the later on a tie. ok is false when none is valid.
func (j *typedJudge[T]) best(res *Result) (int, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	isValid := func(i int) bool { _, ok := j.valid[res.Attempts[i].Answer]; return ok }
	if isValid(res.Best) {
		return res.Best, true
	}
	best := -1
	for i, a := range res.Attempts {
		if isValid(i) && (best < 0 || a.Verdict.Score >= res.Attempts[best].Verdict.Score) {
			best = i
		}
	}
	return best, best >= 0
}

// invalidFeedback is the critique of an answer that failed its checks. It
// says what the answer must be, so that a refiner reading Feedback only
// has all it needs.
func invalidFeedback(ts *typeSchema, issues []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The answer must be one JSON object that follows the %q schema, with nothing around it. It was not scored because of these problems; fix each of them and keep everything else:\n", ts.name)
	for _, is := range issues {
		b.WriteString("- ")
		b.WriteString(is)
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}

// stripFence removes a Markdown code fence (```json ... ```) around a
// reply, which models add even when asked for bare JSON.
func stripFence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") || !strings.HasSuffix(t, "```") || len(t) < 6 {
		return s
	}
	body := strings.TrimSuffix(t[3:], "```")
	nl := strings.IndexByte(body, '\n')
	if nl < 0 {
		return s
	}
	if lang := strings.TrimSpace(body[:nl]); lang != "" && !strings.EqualFold(lang, "json") {
		return s
	}
	return strings.TrimSpace(body[nl+1:])
}

// typeSchema is what RunTyped knows about a type: inferred once, kept for
// the life of the process (as encoding/json keeps its field lists).
type typeSchema struct {
	goType string          // T as Go prints it
	name   string          // Schema.Name
	raw    json.RawMessage // the schema as sent to providers
	root   *jsonschema.Resolved
	tree   *schemaNode // the same schema level by level, for issues with paths
}

// typeSchemas caches *typeSchema (or the error) by reflect.Type.
var typeSchemas sync.Map

type schemaOrError struct {
	ts  *typeSchema
	err error
}

// typeSchemaFor returns T's schema, inferring it on the first call for T.
func typeSchemaFor[T any]() (*typeSchema, error) {
	t := reflect.TypeFor[T]()
	if v, ok := typeSchemas.Load(t); ok {
		se := v.(schemaOrError)
		return se.ts, se.err
	}
	ts, err := inferSchema[T]()
	v, _ := typeSchemas.LoadOrStore(t, schemaOrError{ts, err})
	se := v.(schemaOrError)
	return se.ts, se.err
}

func inferSchema[T any]() (*typeSchema, error) {
	t := reflect.TypeFor[T]()
	prefix := "refine: RunTyped[" + t.String() + "]: "
	if t.Kind() != reflect.Struct && !(t.Kind() == reflect.Map && t.Key().Kind() == reflect.String) {
		hint := ""
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			hint = "; use " + t.Elem().String() + " (RunTyped returns the value)"
		}
		return nil, fmt.Errorf("%sthe answer must be a JSON object, so the type must be a struct or a map with string keys, not %s%s", prefix, t.Kind(), hint)
	}
	own, err := decodedBy(t, t.String(), map[reflect.Type]bool{})
	if err != nil {
		return nil, fmt.Errorf("%s%w", prefix, err)
	}
	if s, ok := own[t]; ok {
		return nil, fmt.Errorf("%sthe answer must be a JSON object, but %s decodes itself from %s JSON", prefix, t, cmp.Or(s.Type, "any"))
	}
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: own})
	if err == nil {
		fixInferred(t, s, own)
	}
	if err != nil {
		if where := unsupported(t, t.String(), map[reflect.Type]bool{}); where != "" {
			return nil, fmt.Errorf("%s%s: %w", prefix, where, err)
		}
		return nil, fmt.Errorf("%sno JSON schema: %w", prefix, err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%sencoding the schema: %w", prefix, err)
	}
	root, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("%sresolving the schema: %w", prefix, err)
	}
	tree, err := newSchemaNode(s)
	if err != nil {
		return nil, fmt.Errorf("%sresolving the schema: %w", prefix, err)
	}
	return &typeSchema{goType: t.String(), name: schemaName(t), raw: raw, root: root, tree: tree}, nil
}

// What encoding/json decodes by rules of the type's own, and the schema
// that says the same. A type implementing json.Unmarshaler decides what
// it accepts: the ones below are known, any other is refused, because
// the inferred schema would describe its Go fields, not what it reads.
var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	knownDecoders       = map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[json.RawMessage](): {},                // any JSON value
		reflect.TypeFor[big.Int]():         {Type: "integer"}, // a JSON number, not a string
		reflect.TypeFor[json.Number]():     {Type: "number"},  // a number (a string holding one is read too)
		reflect.TypeFor[time.Time]():       {Type: "string"},  // RFC 3339
		reflect.TypeFor[slog.Level]():      {Type: "string"},  // "INFO", "WARN+2"
	}
)

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface))
}

// decodedBy walks t as encoding/json decodes into it and returns the
// schemas of the types that decode by rules of their own: a
// TextUnmarshaler (an enum, netip.Addr, big.Float) reads only a JSON
// string, a []byte reads base64 text, and the known json.Unmarshalers
// read what knownDecoders says. A field whose type has an UnmarshalJSON
// of its own, or a ,string option encoding/json cannot honour in a way a
// model can write, is an error naming it.
func decodedBy(t reflect.Type, path string, onPath map[reflect.Type]bool) (map[reflect.Type]*jsonschema.Schema, error) {
	own := map[reflect.Type]*jsonschema.Schema{}
	var walk func(t reflect.Type, path string) error
	walk = func(t reflect.Type, path string) error {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if s, ok := knownDecoders[t]; ok {
			own[t] = s
			return nil
		}
		if _, done := own[t]; done {
			return nil
		}
		if implements(t, jsonUnmarshalerType) {
			return fmt.Errorf("field %s has type %s, whose UnmarshalJSON decides what JSON it accepts, so no schema can be inferred from its Go type: use a field of a plain type and convert the value after", path, t)
		}
		if implements(t, textUnmarshalerType) {
			own[t] = &jsonschema.Schema{Type: "string"}
			return nil
		}
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !implements(t.Elem(), jsonUnmarshalerType) && !implements(t.Elem(), textUnmarshalerType) {
			own[t] = &jsonschema.Schema{Type: "string", ContentEncoding: "base64"}
			return nil
		}
		if t.Name() != "" {
			if onPath[t] {
				return nil // a recursive type: jsonschema.For reports it
			}
			onPath[t] = true
			defer delete(onPath, t)
		}
		switch t.Kind() {
		case reflect.Map:
			return walk(t.Elem(), path+"[key]")
		case reflect.Slice, reflect.Array:
			return walk(t.Elem(), path+"[]")
		case reflect.Struct:
			for _, f := range jsonFields(t) {
				fpath := path + "." + f.Name
				if quoted(f) {
					base := f.Type
					for base.Kind() == reflect.Pointer {
						base = base.Elem()
					}
					switch {
					case implements(base, jsonUnmarshalerType) || implements(base, textUnmarshalerType):
						return fmt.Errorf("field %s has type %s and the ,string option: the type decodes itself, and encoding/json's reading of the two together is not one a schema can state; drop the option", fpath, f.Type)
					case base.Kind() == reflect.String:
						return fmt.Errorf("field %s has type %s and the ,string option: encoding/json then wants a JSON string quoted inside a string (\"\\\"text\\\"\"), which models do not write reliably; drop the option", fpath, f.Type)
					}
				}
				if err := walk(f.Type, fpath); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(t, path); err != nil {
		return nil, err
	}
	return own, nil
}

// jsonFields returns the fields of struct t that encoding/json and
// jsonschema.For give a property, in their order.
func jsonFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		if name, _, found := strings.Cut(f.Tag.Get("json"), ","); name == "-" && !found {
			continue
		}
		out = append(out, f)
	}
	return out
}

// jsonName is the property name encoding/json gives field f.
func jsonName(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
		return name
	}
	return f.Name
}

// quoted reports whether f has the ,string option on a kind it applies
// to (strings, numbers and booleans, or pointers to them).
func quoted(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !slices.Contains(strings.Split(opts, ","), "string") {
		return false
	}
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// Patterns of the text inside a ,string field's JSON string.
const (
	intPattern   = `^-?(0|[1-9][0-9]*)$`
	uintPattern  = `^(0|[1-9][0-9]*)$`
	floatPattern = `^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`
)

// fixInferred corrects s, the schema jsonschema.For inferred for t, where
// it contradicts encoding/json: a ,string field is read from a JSON string
// holding the number or boolean ("42", "true"), never from the bare value
// the inferred schema asks for; and a json.RawMessage, pointer or not,
// holds any JSON value (TypeSchemas alone would make *json.RawMessage
// null only).
func fixInferred(t reflect.Type, s *jsonschema.Schema, own map[reflect.Type]*jsonschema.Schema) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, s *jsonschema.Schema) *jsonschema.Schema
	walk = func(t reflect.Type, s *jsonschema.Schema) *jsonschema.Schema {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if s == nil || seen[t] {
			return s
		}
		if t == rawMessageType {
			return &jsonschema.Schema{Description: s.Description}
		}
		if own[t] != nil {
			return s
		}
		if t.Name() != "" {
			seen[t] = true
			defer delete(seen, t)
		}
		switch t.Kind() {
		case reflect.Map:
			s.AdditionalProperties = walk(t.Elem(), s.AdditionalProperties)
		case reflect.Slice, reflect.Array:
			s.Items = walk(t.Elem(), s.Items)
		case reflect.Struct:
			for _, f := range jsonFields(t) {
				name := jsonName(f)
				if prop := s.Properties[name]; prop != nil {
					if quoted(f) {
						s.Properties[name] = quotedSchema(f.Type, prop.Description)
					} else {
						s.Properties[name] = walk(f.Type, prop)
					}
				}
			}
		}
		return s
	}
	walk(t, s)
}

// quotedSchema is the schema of a ,string field of type t.
func quotedSchema(t reflect.Type, description string) *jsonschema.Schema {
	q := &jsonschema.Schema{Type: "string", Description: description}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
		q.Types, q.Type = []string{"null", "string"}, ""
	}
	switch t.Kind() {
	case reflect.Bool:
		q.Enum = []any{"true", "false"}
		if q.Type == "" {
			q.Enum = append(q.Enum, nil)
		}
	case reflect.Float32, reflect.Float64:
		q.Pattern = floatPattern
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		q.Pattern = uintPattern
	default:
		q.Pattern = intPattern
	}
	return q
}

// unsupported names the first field of t that has no JSON Schema, as
// "field Invoice.Lines[].Notify has type chan int, which JSON cannot
// carry"; "" if it finds none. It follows the rules of jsonschema.For,
// only to say where the problem is.
func unsupported(t reflect.Type, path string, onPath map[reflect.Type]bool) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		if onPath[t] {
			return fmt.Sprintf("field %s has type %s, which contains itself: a recursive type has no bounded JSON schema", path, t)
		}
		onPath[t] = true
		defer delete(onPath, t)
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return fmt.Sprintf("field %s has type %s, which JSON cannot carry", path, t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String && !t.Key().Implements(reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()) {
			return fmt.Sprintf("field %s has type %s: JSON object keys are strings", path, t)
		}
		return unsupported(t.Elem(), path+"[key]", onPath)
	case reflect.Slice, reflect.Array:
		return unsupported(t.Elem(), path+"[]", onPath)
	case reflect.Struct:
		for _, f := range reflect.VisibleFields(t) {
			if f.Anonymous || !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if where := unsupported(f.Type, path+"."+f.Name, onPath); where != "" {
				return where
			}
		}
	}
	return ""
}

// schemaName turns a Go type name into a Schema.Name providers accept
// (OpenAI: [a-zA-Z0-9_-]{1,64}): ActionItems → "action_items".
func schemaName(t reflect.Type) string {
	var b strings.Builder
	prevLower := false
	for _, r := range t.Name() {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if unicode.IsUpper(r) && prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		case r == '[': // a generic type's arguments
			return finishName(b.String())
		default:
			b.WriteByte('_')
			prevLower = false
		}
	}
	return finishName(b.String())
}

func finishName(s string) string {
	s = strings.Trim(s, "_")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		return "answer"
	}
	return s
}

// The issues check writes about the answer as a whole.
const (
	issueNotJSON  = "$: the answer is not JSON: "
	issueNoDecode = "$: the answer does not decode as "
)

// maxIssues bounds the problems reported for one answer: past a few
// dozen, the refiner is better served by rewriting than by a longer list.
const maxIssues = 20

// check decodes text into v and returns its problems: not JSON, not valid
// against the schema (each with its place), not decodable into T.
func (ts *typeSchema) check(text string, v any) []string {
	var inst any
	if err := json.Unmarshal([]byte(text), &inst); err != nil {
		return []string{issueNotJSON + err.Error()}
	}
	var issues []string
	ts.tree.validate(inst, "$", &issues)
	if len(issues) == 0 {
		// The tree checks the same keywords level by level; the root
		// check is the library's own verdict on the whole, kept in case
		// a keyword spans levels.
		if err := ts.root.Validate(inst); err != nil {
			issues = append(issues, "$: "+cleanValidation(err))
		}
	}
	if len(issues) > maxIssues {
		issues = append(issues[:maxIssues], fmt.Sprintf("(and %d more problems)", len(issues)-maxIssues))
	}
	if len(issues) > 0 {
		return issues
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return []string{issueNoDecode + ts.goType + ": " + err.Error()}
	}
	return nil
}

// schemaNode is one level of a schema: its own keywords, resolved with
// every subschema replaced by "anything", and its subschemas as children.
// Validating level by level gives every problem with its place in the
// instance; jsonschema's Validate stops at the first and names the schema
// location, which has no array index.
type schemaNode struct {
	level *jsonschema.Resolved
	order []string // property names, in the schema's order
	props map[string]*schemaNode
	items *schemaNode
	extra *schemaNode // additionalProperties, when it is a schema (maps)
}

func newSchemaNode(s *jsonschema.Schema) (*schemaNode, error) {
	n := &schemaNode{}
	level := *s
	anything := func() *jsonschema.Schema { return &jsonschema.Schema{} }
	if len(s.Properties) > 0 {
		level.Properties = make(map[string]*jsonschema.Schema, len(s.Properties))
		n.props = make(map[string]*schemaNode, len(s.Properties))
		n.order = slices.Clone(s.PropertyOrder)
		for name := range s.Properties {
			if !slices.Contains(n.order, name) {
				n.order = append(n.order, name)
			}
		}
		for name, sub := range s.Properties {
			level.Properties[name] = anything()
			child, err := newSchemaNode(sub)
			if err != nil {
				return nil, err
			}
			n.props[name] = child
		}
	}
	if s.Items != nil {
		level.Items = anything()
		child, err := newSchemaNode(s.Items)
		if err != nil {
			return nil, err
		}
		n.items = child
	}
	if ap := s.AdditionalProperties; ap != nil {
		if b, err := json.Marshal(ap); err != nil || string(b) != "false" {
			level.AdditionalProperties = anything()
			child, err := newSchemaNode(ap)
			if err != nil {
				return nil, err
			}
			n.extra = child
		}
	}
	rs, err := level.Resolve(nil)
	if err != nil {
		return nil, err
	}
	n.level = rs
	return n, nil
}

func (n *schemaNode) validate(inst any, path string, issues *[]string) {
	if err := n.level.Validate(inst); err != nil {
		*issues = append(*issues, path+": "+cleanValidation(err))
	}
	switch x := inst.(type) {
	case map[string]any:
		for _, name := range n.order {
			if val, ok := x[name]; ok {
				n.props[name].validate(val, path+pathKey(name), issues)
			}
		}
		if n.extra != nil {
			keys := make([]string, 0, len(x))
			for k := range x {
				if _, known := n.props[k]; !known {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				n.extra.validate(x[k], path+pathKey(k), issues)
			}
		}
	case []any:
		if n.items != nil {
			for i, e := range x {
				n.items.validate(e, path+"["+strconv.Itoa(i)+"]", issues)
			}
		}
	}
}

// pathKey writes an object key in a JSONPath: .total, or ["unit price"].
func pathKey(k string) string {
	ident := k != ""
	for i, r := range k {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			ident = false
			break
		}
	}
	if ident {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// cleanValidation shortens jsonschema's error to its message: the schema
// location is replaced by the instance path the caller adds, and a value
// quoted in the message is cut so that a long answer is not repeated back.
func cleanValidation(err error) string {
	msg := err.Error()
	for {
		rest, ok := strings.CutPrefix(msg, "validating ")
		if !ok {
			break
		}
		_, after, found := strings.Cut(rest, ": ")
		if !found {
			break
		}
		msg = after
	}
	return truncate(msg, 300)
}

// MarshalJSON encodes the Result as Result.MarshalJSON does, with the
// decoded value added as "value".
func (r TypedResult[T]) MarshalJSON() ([]byte, error) {
	value, err := json.Marshal(r.Value)
	if err != nil {
		return nil, err
	}
	if r.Result == nil {
		return append(append([]byte(`{"value":`), value...), '}'), nil
	}
	res, err := json.Marshal(r.Result)
	if err != nil {
		return nil, err
	}
	// res is a JSON object: add the value before its closing brace.
	out := append(res[:len(res)-1:len(res)-1], `,"value":`...)
	return append(append(out, value...), '}'), nil
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (r *TypedResult[T]) UnmarshalJSON(b []byte) error {
	var v struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	res := new(Result)
	if err := json.Unmarshal(b, res); err != nil {
		return err
	}
	r.Result = res
	r.Value = *new(T)
	if len(v.Value) > 0 {
		return json.Unmarshal(v.Value, &r.Value)
	}
	return nil
}
