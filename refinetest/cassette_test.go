package refinetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

func judgeReply(score float64) string {
	return fmt.Sprintf(`{"score": %g, "issues": ["issue %g"], "suggestions": ["fix %g"], "assessment": "graded %g"}`, score, score, score, score)
}

// scripted is the "real" model of these tests: a draft and two
// refinements, judged by the LLM judge on the same model.
func scripted() *Provider {
	return NewProvider(
		"첫 번째 초안입니다.", judgeReply(5),
		"A second, better answer.", judgeReply(7),
		"The third and best answer.", judgeReply(9),
	)
}

func run(t *testing.T, p refine.Provider, query string, opts ...refine.Option) (*refine.Result, error) {
	t.Helper()
	return refine.Run(context.Background(), query, append([]refine.Option{refine.WithProvider(p),
		refine.WithThreshold(10), refine.WithMaxIterations(2), refine.WithTemperature(0.3)}, opts...)...)
}

func zeroDurations(r *refine.Result) *refine.Result {
	c := *r
	c.Duration = 0
	c.Attempts = append([]refine.Attempt(nil), r.Attempts...)
	for i := range c.Attempts {
		c.Attempts[i].Duration = 0
	}
	return &c
}

func TestCassetteReplaysARun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.jsonl")
	rec := Record(scripted(), path)
	want, err := run(t, rec, "한국어로 답하세요: 고루틴이란?")
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	c, err := Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, c, "한국어로 답하세요: 고루틴이란?")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(zeroDurations(got), zeroDurations(want)) {
		t.Errorf("replayed Result = %+v\nwant the recorded run's %+v", got, want)
	}

	// The file is one readable JSON object per call, sorted stably: the
	// same run recorded again writes the same bytes.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 6 {
		t.Errorf("%d lines, want 6 (one per call):\n%s", len(lines), data)
	}
	for i, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["request"] == nil || m["response"] == nil {
			t.Errorf("line %d = %s; want {\"request\":…,\"response\":…}", i+1, l)
		}
	}
	if !strings.Contains(string(data), "고루틴이란?") || strings.Contains(string(data), `\u003c`) {
		t.Errorf("cassette text is escaped; want UTF-8 and < > as they are:\n%s", data)
	}
	path2 := filepath.Join(t.TempDir(), "again.jsonl")
	rec2 := Record(scripted(), path2)
	if _, err := run(t, rec2, "한국어로 답하세요: 고루틴이란?"); err != nil {
		t.Fatal(err)
	}
	if err := rec2.Close(); err != nil {
		t.Fatal(err)
	}
	if data2, _ := os.ReadFile(path2); !bytes.Equal(data, data2) {
		t.Errorf("recording the same run twice gave different files:\n%s\n---\n%s", data, data2)
	}
}

func TestCassetteMiss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.jsonl")
	rec := Record(scripted(), path)
	if _, err := run(t, rec, "What is a goroutine?"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("changed prompt", func(t *testing.T) {
		c, err := Replay(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := run(t, c, "What is a channel?")
		if !errors.Is(err, ErrNotRecorded) || res != nil {
			t.Fatalf("Run = %v, %v; want no result and ErrNotRecorded", res, err)
		}
		msg := err.Error()
		t.Log(msg)
		for _, want := range []string{"nearest is line", "the messages differ", "-  What is a goroutine?", "+  What is a channel?"} {
			if !strings.Contains(msg, want) {
				t.Errorf("miss error does not contain %q:\n%s", want, msg)
			}
		}
	})
	t.Run("changed options", func(t *testing.T) {
		c, err := Replay(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = run(t, c, "What is a goroutine?", refine.WithTemperature(0.9))
		msg := fmt.Sprint(err)
		for _, want := range []string{"the messages match, but the options differ", "-temperature: 0.3", "+temperature: 0.9"} {
			if !strings.Contains(msg, want) {
				t.Errorf("miss error does not contain %q:\n%s", want, msg)
			}
		}
		if !errors.Is(err, ErrNotRecorded) {
			t.Errorf("error = %v, want ErrNotRecorded", err)
		}
	})
	t.Run("asked more often than recorded", func(t *testing.T) {
		c, err := Replay(path)
		if err != nil {
			t.Fatal(err)
		}
		req := c.entries[0]
		r := &requestJSON{}
		if err := json.Unmarshal(req.canon, r); err != nil {
			t.Fatal(err)
		}
		q := r.request()
		if _, err := c.Complete(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		_, err = c.Complete(context.Background(), q)
		if !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "1 time(s)") {
			t.Errorf("second call: error = %v, want ErrNotRecorded saying it was recorded once", err)
		}
	})
}

// Identical requests get their replies in the order they were recorded.
func TestCassetteSameRequestInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "same.jsonl")
	rec := Record(NewProvider("one", "two", "three"), path)
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "count"}}}
	for range 3 {
		if _, err := rec.Complete(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two", "three"} {
		resp, err := c.Complete(context.Background(), req)
		if err != nil || resp.Text != want {
			t.Errorf("Complete = %v, %v; want %q", resp, err, want)
		}
	}
}

func TestCassetteConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "concurrent.jsonl")
	const n = 16
	replies := make([]string, n)
	for i := range replies {
		replies[i] = "reply"
	}
	rec := Record(NewProvider(replies...), path)
	ask := func(p refine.Provider) []error {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: fmt.Sprintf("question %d", i%4)}}}
				resp, err := p.Complete(context.Background(), req)
				if err == nil && resp.Text != "reply" {
					err = fmt.Errorf("got %q", resp.Text)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		return errs
	}
	for _, err := range ask(rec) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range ask(c) {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCassetteBadFile(t *testing.T) {
	good := `{"request":{"messages":[{"role":"user","content":"hi"}]},"response":{"text":"hello","usage":{"input_tokens":1,"output_tokens":1}}}`
	tests := []struct {
		name, content string
		want          []string
	}{
		{"not JSON", good + "\n\n{\"request\": oops}\n", []string{"line 3"}},
		{"missing response", good + "\n" + `{"request":{"messages":[]}}` + "\n", []string{"line 2", `"response"`}},
		{"unknown field", `{"request":{"messages":[],"temprature":1},"response":{"text":"x"}}`, []string{"line 1", "temprature"}},
		{"two values", good + " " + good, []string{"line 1", "more than one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Replay(path)
			if err == nil {
				t.Fatalf("Replay = %v, nil; want an error", c)
			}
			for _, w := range append(tt.want, "bad.jsonl") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Replay(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Error("Replay of a missing file: no error")
	}
}

func TestRecorderWritesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tape.jsonl")
	if err := os.WriteFile(path, []byte("old cassette\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := Record(NewProvider("a"), path)
	if _, err := rec.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}); err != nil {
		t.Fatal(err)
	}
	// Until Close, the old file is untouched.
	if data, _ := os.ReadFile(path); string(data) != "old cassette\n" {
		t.Errorf("before Close the file is %q, want the old one", data)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the cassette (no temporary files)", entries)
	}
	if _, err := rec.Complete(context.Background(), &refine.Request{}); err == nil {
		t.Error("Complete after Close: no error")
	}
	// A Close that cannot write reports it.
	bad := Record(NewProvider(), filepath.Join(path, "not-a-dir", "x.jsonl"))
	if err := bad.Close(); err == nil {
		t.Error("Close into a path under a file: no error")
	}
}

func TestUseCassette(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tape.jsonl")
	real := func() (refine.Provider, error) { return scripted(), nil }

	t.Run("record", func(t *testing.T) {
		t.Setenv(recordEnv, "1")
		p := UseCassette(t, path, real)
		if _, ok := p.(*Recorder); !ok {
			t.Fatalf("UseCassette with %s=1 gave %T, want a *Recorder", recordEnv, p)
		}
		if _, err := run(t, p, "q"); err != nil {
			t.Fatal(err)
		}
	}) // the cleanup wrote the cassette
	t.Run("replay", func(t *testing.T) {
		t.Setenv(recordEnv, "")
		p := UseCassette(t, path, func() (refine.Provider, error) {
			t.Error("replaying must not build the real provider")
			return nil, errors.New("no credentials")
		})
		if _, err := run(t, p, "q"); err != nil {
			t.Fatal(err)
		}
	})
}

// A miss on a long prompt costs bounded memory: the diff matches the
// common head and tail first and never builds an n·m table past
// maxDiffCells (issue 20, item 18; 12,000 lines took about 570 MiB).
func TestCassetteMissLongPrompt(t *testing.T) {
	const lines = 12_000
	prompt := make([]string, lines)
	for i := range prompt {
		prompt[i] = fmt.Sprintf("line %d of a long document that the model is asked about", i)
	}
	recorded := strings.Join(prompt, "\n")
	path := filepath.Join(t.TempDir(), "long.jsonl")
	rec := Record(NewProvider("ok"), path)
	if _, err := rec.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: recorded}}}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Replay(path)
	if err != nil {
		t.Fatal(err)
	}

	oneChanged := slices.Clone(prompt)
	oneChanged[lines/2] = "a line the recording does not have"
	allChanged := make([]string, lines)
	for i := range allChanged {
		allChanged[i] = fmt.Sprintf("line %d, rewritten", i)
	}
	tests := []struct {
		name  string
		asked []string
		want  []string
	}{
		{"one line changed", oneChanged, []string{
			"-  " + prompt[lines/2], "+  a line the recording does not have", "   " + prompt[lines/2-1], "   " + prompt[lines/2+1]}},
		{"every line changed", allChanged, []string{"-  " + prompt[0], "+  line 0, rewritten", "more lines differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: strings.Join(tt.asked, "\n")}}}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := c.Complete(context.Background(), req)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrNotRecorded) {
				t.Fatalf("error = %v, want ErrNotRecorded", err)
			}
			const bound = 16 << 20
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
				t.Errorf("a miss allocated %.1f MiB, want < %d MiB", float64(alloc)/(1<<20), bound>>20)
			} else {
				t.Logf("a miss allocated %.1f MiB", float64(alloc)/(1<<20))
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("miss error does not contain %q", w)
				}
			}
			if n := strings.Count(msg, "\n"); n > 2*maxDiffLines {
				t.Errorf("miss error has %d lines, want at most about %d", n, maxDiffLines)
			}
		})
	}
}

func TestDiffLines(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []string
		want    string
		changed int
	}{
		{"same", []string{"x", "y"}, []string{"x", "y"}, "", 0},
		{"one changed amid context", []string{"1", "2", "3", "4", "5", "6", "7"}, []string{"1", "2", "3", "X", "5", "6", "7"},
			" 2\n 3\n-4\n+X\n 5\n 6", 2},
		{"inserted", []string{"a", "c"}, []string{"a", "b", "c"}, " a\n+b\n c", 1},
		{"removed at the end", []string{"a", "b", "c"}, []string{"a", "b"}, " a\n b\n-c", 1},
		{"two changes apart", []string{"1", "x", "3", "4", "5", "6", "7", "8", "y", "10"}, []string{"1", "X", "3", "4", "5", "6", "7", "8", "Y", "10"},
			" 1\n-x\n+X\n 3\n 4\n  ...\n 7\n 8\n-y\n+Y\n 10", 4},
	}
	for _, tt := range tests {
		got, n := diffLines(tt.a, tt.b)
		if got != tt.want || n != tt.changed {
			t.Errorf("%s: diffLines = %q, %d; want %q, %d", tt.name, got, n, tt.want, tt.changed)
		}
	}
}
