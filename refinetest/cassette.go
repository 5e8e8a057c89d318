package refinetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

// Cassettes record a real model's replies once and replay them in tests,
// so a test that needs real answers runs offline, for free, and the same
// way every time.
//
// A cassette file is JSON Lines: one line per call, {"request": ...,
// "response": ...}, with snake_case fields and text as UTF-8, so it reads
// and diffs well in review. Lines are sorted by request (the canonical JSON
// below), calls with the same request keeping the order they were made,
// so recording the same run again rewrites the file the same way, whatever
// order concurrent calls happened in.
//
// A request is matched by a hash of its canonical form: the messages,
// the sampling settings, TopLogprobs, JSON and the schema (whose JSON is
// re-encoded with sorted keys). The same request asked several times gets
// its recorded replies in the order they were recorded. Built-in judges
// derive the tag that fences the answer from the request's content, so
// their prompts are the same from one run to the next and replay exactly.

// Record returns a Provider that passes every call to p and records each
// successful request and response; Close writes them to path. Failed calls
// are not recorded: replaying a run whose calls were retried gives the
// successful replies at once. A Recorder does not stream (it is a plain
// Provider). It is safe for concurrent use; call Close once the calls to
// record have returned.
func Record(p refine.Provider, path string) *Recorder {
	return &Recorder{p: p, path: path}
}

// Recorder is a recording refine.Provider; see Record.
type Recorder struct {
	p    refine.Provider
	path string

	mu     sync.Mutex
	pairs  []pair
	closed bool
}

// pair is one recorded call.
type pair struct {
	canon []byte // canonical request
	resp  responseJSON
}

// Complete calls the wrapped provider and records the exchange.
func (r *Recorder) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	canon, err := canonical(req) // before the call: a provider must not change req, but may
	if err != nil {
		return nil, fmt.Errorf("refinetest: Recorder: %w", err)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("refinetest: Recorder for %s: Complete after Close", r.path)
	}
	resp, err := r.p.Complete(ctx, req)
	if err != nil || resp == nil {
		return resp, err
	}
	r.mu.Lock()
	r.pairs = append(r.pairs, pair{canon: canon, resp: toResponseJSON(resp)})
	r.mu.Unlock()
	return resp, nil
}

// Close writes the recorded calls to the Recorder's path, atomically: the
// file is written under a temporary name in the same directory and renamed,
// so a failed or interrupted Close never leaves half a cassette. Calls
// after Close fail. Close is idempotent; only the first writes.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pairs := slices.Clone(r.pairs)
	r.mu.Unlock()

	// Sort by request; same requests keep their recorded order.
	slices.SortStableFunc(pairs, func(a, b pair) int { return bytes.Compare(a.canon, b.canon) })
	var buf bytes.Buffer
	for _, p := range pairs {
		line, err := marshal(struct {
			Request  json.RawMessage `json:"request"`
			Response responseJSON    `json:"response"`
		}{p.canon, p.resp})
		if err != nil {
			return fmt.Errorf("refinetest: Recorder: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return writeAtomic(r.path, buf.Bytes())
}

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("refinetest: writing cassette: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("refinetest: writing cassette: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("refinetest: writing cassette %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("refinetest: writing cassette %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("refinetest: writing cassette %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("refinetest: writing cassette %s: %w", path, err)
	}
	return nil
}

// Cassette is a refine.Provider that replays a recorded cassette; see
// Replay. It is safe for concurrent use.
type Cassette struct {
	path    string
	entries []entry // in file order

	mu   sync.Mutex
	next map[[32]byte][]int // per request hash: indexes into entries not yet replayed
}

type entry struct {
	line  int
	canon []byte
	resp  responseJSON
}

// Replay reads the cassette at path. A line that does not parse is an
// error naming the file and the line.
//
// Identical requests get their recorded replies in recorded order. Calls
// made concurrently reach the cassette in no fixed order, though: the n
// draft requests of refine.WithCandidates(n) are identical, so a replayed
// run gets the same drafts, but not necessarily for the same candidate.
// Record such runs with one candidate where a test needs an identical
// Result.
func Replay(path string) (*Cassette, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("refinetest: Replay: %w", err)
	}
	c := &Cassette{path: path, next: map[[32]byte][]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw struct {
			Request  *requestJSON  `json:"request"`
			Response *responseJSON `json:"response"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("refinetest: cassette %s, line %d: %w", path, n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("refinetest: cassette %s, line %d: more than one JSON value on the line", path, n)
		}
		if raw.Request == nil || raw.Response == nil {
			return nil, fmt.Errorf("refinetest: cassette %s, line %d: want {\"request\": ..., \"response\": ...}", path, n)
		}
		canon, err := canonical(raw.Request.request())
		if err != nil {
			return nil, fmt.Errorf("refinetest: cassette %s, line %d: %w", path, n, err)
		}
		c.entries = append(c.entries, entry{line: n, canon: canon, resp: *raw.Response})
		k := sha256.Sum256(canon)
		c.next[k] = append(c.next[k], len(c.entries)-1)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("refinetest: cassette %s: %w", path, err)
	}
	return c, nil
}

// ErrNotRecorded is wrapped by the error of a Cassette asked a request it
// has no reply for.
var ErrNotRecorded = errors.New("refinetest: request not on the cassette")

// Complete returns the next recorded reply to req. A request that is not
// on the cassette (or asked more often than it was recorded) is an error
// wrapping ErrNotRecorded that shows the nearest recorded request and how
// the two differ.
func (c *Cassette) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	canon, err := canonical(req)
	if err != nil {
		return nil, fmt.Errorf("refinetest: Cassette: %w", err)
	}
	k := sha256.Sum256(canon)
	c.mu.Lock()
	queue, found := c.next[k]
	if len(queue) > 0 {
		c.next[k] = queue[1:]
	}
	c.mu.Unlock()
	if len(queue) > 0 {
		return c.entries[queue[0]].resp.response(), nil
	}
	if found {
		n := 0
		for _, e := range c.entries {
			if bytes.Equal(e.canon, canon) {
				n++
			}
		}
		return nil, fmt.Errorf("%w: %s has this request %d time(s), and it was asked once more (the code under test makes more calls than when it was recorded)", ErrNotRecorded, c.path, n)
	}
	return nil, c.miss(canon)
}

// miss explains a request the cassette does not have. Each request is
// decoded once, and identical recordings are compared once.
func (c *Cassette) miss(canon []byte) error {
	if len(c.entries) == 0 {
		return fmt.Errorf("%w: %s is empty", ErrNotRecorded, c.path)
	}
	var askedReq requestJSON
	askedOK := json.Unmarshal(canon, &askedReq) == nil
	asked := describe(canon, &askedReq, askedOK)
	best, bestDiff, bestN, bestSame := -1, "", -1, false
	seen := map[[32]byte]bool{}
	for i, e := range c.entries {
		k := sha256.Sum256(e.canon)
		if seen[k] {
			continue
		}
		seen[k] = true
		var r requestJSON
		ok := json.Unmarshal(e.canon, &r) == nil
		d, n := diffLines(describe(e.canon, &r, ok), asked)
		if best < 0 || n < bestN {
			best, bestDiff, bestN = i, d, n
			bestSame = ok && askedOK && slices.Equal(r.Messages, askedReq.Messages)
		}
	}
	e := c.entries[best]
	var why string
	if bestSame {
		why = "the messages match, but the options differ (sampling, schema, logprobs or JSON): was the cassette recorded with other options?"
	} else {
		why = "the messages differ"
	}
	return fmt.Errorf("%w: %s: nearest is line %d; %s\n--- recorded (line %d)\n+++ asked\n%s\n(re-record the cassette if the change is intended)",
		ErrNotRecorded, c.path, e.line, why, e.line, bestDiff)
}

// describe renders a canonical request, decoded into r (ok false if it
// would not decode), as lines for a diff: one line per option, then each
// message's text line by line.
func describe(canon []byte, r *requestJSON, ok bool) []string {
	if !ok {
		return strings.Split(string(canon), "\n")
	}
	out := make([]string, 0, 8+len(r.Messages)+bytes.Count(canon, []byte(`\n`)))
	opt := func(name string, v any) {
		b, _ := json.Marshal(v)
		out = append(out, name+": "+string(b))
	}
	if r.Temperature != nil {
		opt("temperature", *r.Temperature)
	}
	if r.TopP != nil {
		opt("top_p", *r.TopP)
	}
	if r.MaxTokens != 0 {
		opt("max_tokens", r.MaxTokens)
	}
	if r.Stop != nil {
		opt("stop", r.Stop)
	}
	if r.Seed != nil {
		opt("seed", *r.Seed)
	}
	if r.TopLogprobs != 0 {
		opt("top_logprobs", r.TopLogprobs)
	}
	if r.JSON {
		opt("json", true)
	}
	if r.Schema != nil {
		out = append(out, "schema: "+r.Schema.Name+" "+string(r.Schema.Schema))
	}
	for i, m := range r.Messages {
		out = append(out, fmt.Sprintf("[message %d: %s]", i, m.Role))
		for _, l := range strings.Split(m.Content, "\n") {
			out = append(out, "  "+l)
		}
	}
	return out
}

// Bounds of a miss's diff, so that a long prompt (a document, a large
// code file) costs kilobytes and milliseconds per recorded request, not
// the n·m table of an unbounded longest-common-subsequence.
const (
	maxDiffCells = 1 << 20 // LCS table cells (4 MiB) for the lines between the common head and tail
	maxDiffLines = 200     // "-", "+" and context lines shown
)

// diffLines returns a line diff of a (recorded) and b (asked), "-" and "+"
// lines with two lines of context, and the number of changed lines.
//
// The lines both share at the start and at the end are matched first, in
// linear time; the rest is diffed exactly when its table fits
// maxDiffCells, and otherwise shown as replaced, with the changed lines
// counted (for choosing the nearest recording) as the lines of each side
// the other lacks. At most maxDiffLines lines are shown; "… N more lines
// differ" says what was left out.
func diffLines(a, b []string) (string, int) {
	type op struct {
		kind byte
		text string
	}
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	ma, mb := a[head:len(a)-tail], b[head:len(b)-tail]
	n, m := len(ma), len(mb)

	var ops []op
	const context = 2
	for k := max(0, head-context); k < head; k++ {
		ops = append(ops, op{' ', a[k]})
	}
	changed := 0
	if (n+1)*(m+1) <= maxDiffCells {
		// Longest common subsequence of the middle, in one flat table.
		w := m + 1
		lcs := make([]int32, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				ops = append(ops, op{' ', ma[i]})
				i, j = i+1, j+1
			case i < n && (j == m || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
				ops = append(ops, op{'-', ma[i]})
				changed++
				i++
			default:
				ops = append(ops, op{'+', mb[j]})
				changed++
				j++
			}
			if len(ops) > maxDiffLines+context {
				break
			}
		}
		if i < n || j < m {
			// Shown no further: the rest is counted as the lines of
			// each side that the other lacks.
			changed += unmatched(ma[i:], mb[j:])
		}
	} else {
		changed = unmatched(ma, mb)
		for _, l := range ma[:min(n, maxDiffLines/2)] {
			ops = append(ops, op{'-', l})
		}
		for _, l := range mb[:min(m, maxDiffLines/2)] {
			ops = append(ops, op{'+', l})
		}
	}
	for k := len(b) - tail; k < min(len(b), len(b)-tail+context); k++ {
		ops = append(ops, op{' ', b[k]})
	}

	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind != ' ' {
			for d := max(0, k-context); d <= min(len(ops)-1, k+context); d++ {
				show[d] = true
			}
		}
	}
	var sb strings.Builder
	gap := false
	lines, shown := 0, 0
	for k, o := range ops {
		if !show[k] {
			gap = true
			continue
		}
		if lines == maxDiffLines {
			break
		}
		if gap && sb.Len() > 0 {
			sb.WriteString("  ...\n")
		}
		gap = false
		sb.WriteByte(o.kind)
		sb.WriteString(o.text)
		sb.WriteByte('\n')
		lines++
		if o.kind != ' ' {
			shown++
		}
	}
	if more := changed - min(shown, changed); more > 0 {
		fmt.Fprintf(&sb, "… %d more lines differ\n", more)
	}
	return strings.TrimSuffix(sb.String(), "\n"), changed
}

// unmatched counts the lines of a that b lacks and those of b that a
// lacks, as multisets: the changed lines of a diff, at least, in linear
// time.
func unmatched(a, b []string) int {
	count := make(map[string]int, len(a))
	for _, l := range a {
		count[l]++
	}
	extra := 0
	for _, l := range b {
		if count[l] > 0 {
			count[l]--
		} else {
			extra++
		}
	}
	for _, c := range count {
		extra += c
	}
	return extra
}

// The JSON forms of requests and responses on a cassette.

type messageJSON struct {
	Role    refine.Role `json:"role"`
	Content string      `json:"content"`
}

type schemaJSON struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
}

type requestJSON struct {
	Messages    []messageJSON `json:"messages"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Stop        []string      `json:"stop,omitempty"`
	Seed        *int64        `json:"seed,omitempty"`
	TopLogprobs int           `json:"top_logprobs,omitempty"`
	JSON        bool          `json:"json,omitempty"`
	Schema      *schemaJSON   `json:"schema,omitempty"`
}

func (r *requestJSON) request() *refine.Request {
	req := &refine.Request{
		Sampling: refine.Sampling{Temperature: r.Temperature, TopP: r.TopP, MaxTokens: r.MaxTokens,
			Stop: r.Stop, Seed: r.Seed},
		TopLogprobs: r.TopLogprobs, JSON: r.JSON,
	}
	for _, m := range r.Messages {
		req.Messages = append(req.Messages, refine.Message{Role: m.Role, Content: m.Content})
	}
	if r.Schema != nil {
		req.Schema = &refine.Schema{Name: r.Schema.Name, Schema: r.Schema.Schema}
	}
	return req
}

// canonical is the JSON of req with a fixed field order and the schema
// re-encoded with sorted keys, so equal requests have equal bytes.
func canonical(req *refine.Request) ([]byte, error) {
	if req == nil {
		return nil, errors.New("nil request")
	}
	r := requestJSON{
		Messages:    make([]messageJSON, len(req.Messages)),
		Temperature: req.Temperature, TopP: req.TopP, MaxTokens: req.MaxTokens,
		Stop: req.Stop, Seed: req.Seed, TopLogprobs: req.TopLogprobs, JSON: req.JSON,
	}
	for i, m := range req.Messages {
		r.Messages[i] = messageJSON{m.Role, m.Content}
	}
	if s := req.Schema; s != nil {
		var v any
		if err := json.Unmarshal(s.Schema, &v); err != nil {
			return nil, fmt.Errorf("schema %q is not JSON: %w", s.Name, err)
		}
		b, err := marshal(v)
		if err != nil {
			return nil, err
		}
		r.Schema = &schemaJSON{Name: s.Name, Schema: b}
	}
	return marshal(r)
}

type logprobJSON struct {
	Token   string        `json:"token"`
	Logprob float64       `json:"logprob"`
	Top     []logprobJSON `json:"top,omitempty"`
}

type responseJSON struct {
	Text         string        `json:"text"`
	Usage        refine.Usage  `json:"usage"`
	Model        string        `json:"model,omitempty"`
	FinishReason string        `json:"finish_reason,omitempty"`
	Logprobs     []logprobJSON `json:"logprobs,omitempty"`
}

func toResponseJSON(r *refine.Response) responseJSON {
	return responseJSON{Text: r.Text, Usage: r.Usage, Model: r.Model, FinishReason: r.FinishReason, Logprobs: toLogprobs(r.Logprobs)}
}

func toLogprobs(lp []refine.TokenLogprob) []logprobJSON {
	if lp == nil {
		return nil
	}
	out := make([]logprobJSON, len(lp))
	for i, t := range lp {
		out[i] = logprobJSON{t.Token, t.Logprob, toLogprobs(t.Top)}
	}
	return out
}

func fromLogprobs(lp []logprobJSON) []refine.TokenLogprob {
	if lp == nil {
		return nil
	}
	out := make([]refine.TokenLogprob, len(lp))
	for i, t := range lp {
		out[i] = refine.TokenLogprob{Token: t.Token, Logprob: t.Logprob, Top: fromLogprobs(t.Top)}
	}
	return out
}

// response returns a fresh Response, so callers may change it.
func (r responseJSON) response() *refine.Response {
	return &refine.Response{Text: r.Text, Usage: r.Usage, Model: r.Model, FinishReason: r.FinishReason, Logprobs: fromLogprobs(r.Logprobs)}
}

// marshal encodes v without escaping <, > and &, which prompts are full of.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// recordEnv is the environment variable that makes UseCassette record.
const recordEnv = "REFINETEST_RECORD"

// UseCassette returns the provider for a test that needs a real model's
// replies. When the environment variable REFINETEST_RECORD is set to
// anything but "" or "0", it calls real for the real provider, records
// every call through it, and writes the cassette at path when the test
// ends (a failure to write fails the test). Otherwise it replays path, and
// real is never called, so the test needs no credentials and no network.
//
//	p := refinetest.UseCassette(t, "testdata/summary.jsonl", func() (refine.Provider, error) {
//		return openai.FromEnv()
//	})
//
// Record with REFINETEST_RECORD=1 go test -run TestSummary ./...
func UseCassette(tb testing.TB, path string, real func() (refine.Provider, error)) refine.Provider {
	tb.Helper()
	if v := os.Getenv(recordEnv); v != "" && v != "0" {
		p, err := real()
		if err == nil && p == nil {
			err = errors.New("it returned no provider")
		}
		if err != nil {
			tb.Fatalf("refinetest: UseCassette(%s): recording (%s=%s), but the real provider failed: %v", path, recordEnv, v, err)
			return nil
		}
		rec := Record(p, path)
		tb.Cleanup(func() {
			if err := rec.Close(); err != nil {
				tb.Errorf("%v", err)
			}
		})
		return rec
	}
	c, err := Replay(path)
	if err != nil {
		tb.Fatalf("%v (record it with %s=1)", err, recordEnv)
		return nil
	}
	return c
}
