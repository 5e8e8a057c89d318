package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

// readLines returns the output's lines, failing on any that is not a
// whole result line.
func readLines(t *testing.T, path string) []resultLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s does not end in a newline", path)
	}
	var lines []resultLine
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			continue
		}
		var r resultLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%s:%d: %v: %q", path, i+1, err, l)
		}
		lines = append(lines, r)
	}
	return lines
}

// checkComplete asserts that out holds exactly one successful line for
// each of the n tasks.
func checkComplete(t *testing.T, out string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, l := range readLines(t, out) {
		seen[l.ID]++
		if l.Error != "" || l.Result == nil || l.Interrupted {
			t.Errorf("line for %s: error %q, result %v, interrupted %v; want a finished result", l.ID, l.Error, l.Result != nil, l.Interrupted)
		}
	}
	for i := range n {
		if id := fmt.Sprintf("t%d", i); seen[id] != 1 {
			t.Errorf("id %s appears %d times in the output, want once", id, seen[id])
		}
	}
	if len(seen) != n {
		t.Errorf("output has %d ids, want %d", len(seen), n)
	}
}

func batchArgs(in, out string, extra ...string) []string {
	return append([]string{"batch", "--in", in, "--out", out, "--max-iterations", "1", "--threshold", "9"}, extra...)
}

// A batch killed in the middle and run again loses nothing and repeats
// nothing: every task ends with one finished line, and the model was
// called exactly as often as one uninterrupted batch calls it.
func TestBatchResumeAfterKillRepeatsNothing(t *testing.T) {
	const n, k = 10, 3
	dir := t.TempDir()
	in, out := writeTasks(t, dir, n), filepath.Join(dir, "results.jsonl")

	// Tasks run one at a time, so the first k tasks make the first
	// k*callsPerTask calls; the next call waits until the batch is
	// cancelled, which the test does once the k-th line is written.
	m := &countingModel{limit: k * callsPerTask}
	a := newTestApp(m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.afterWrite = func(written int) {
		if written == k {
			cancel()
		}
	}
	if code := a.run(t, ctx, batchArgs(in, out, "--concurrency", "1")...); code != exitInterrupted {
		t.Fatalf("interrupted batch: exit %d, want %d; stderr:\n%s", code, exitInterrupted, a.errOut)
	}
	lines := readLines(t, out)
	finished := 0
	for _, l := range lines {
		if !l.Interrupted {
			finished++
		}
	}
	if finished != k {
		t.Fatalf("after the kill the output has %d finished lines, want %d", finished, k)
	}
	if !strings.Contains(a.errOut.String(), "rerun the same command to resume") {
		t.Errorf("stderr does not say how to resume:\n%s", a.errOut)
	}

	m.mu.Lock()
	m.limit = 0
	m.mu.Unlock()
	a.afterWrite = nil
	if code := a.run(t, context.Background(), batchArgs(in, out, "--concurrency", "1")...); code != exitOK {
		t.Fatalf("resumed batch: exit %d; stderr:\n%s", code, a.errOut)
	}
	if got, want := m.count(), n*callsPerTask; got != want {
		t.Errorf("model calls over both runs = %d, want %d (one uninterrupted batch)", got, want)
	}
	if !strings.Contains(a.out.String(), fmt.Sprintf("%d of %d tasks already done", k, n)) {
		t.Errorf("stdout does not report the resume:\n%s", a.out)
	}
	checkComplete(t, out, n)
}

// With many workers an interruption leaves several runs in flight: they
// are written as interrupted (with what they had) and run again on
// resume, while every finished task is kept and never rerun.
func TestBatchResumeConcurrent(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	in, out := writeTasks(t, dir, n), filepath.Join(dir, "results.jsonl")
	m := &countingModel{limit: 50}
	a := newTestApp(m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.afterWrite = func(written int) {
		if written == 5 {
			cancel()
		}
	}
	if code := a.run(t, ctx, batchArgs(in, out, "--concurrency", "8")...); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, a.errOut)
	}
	var kept []string
	for _, l := range readLines(t, out) {
		if !l.Interrupted {
			kept = append(kept, l.ID)
		}
	}
	before := m.count()
	m.mu.Lock()
	m.limit = 0
	m.mu.Unlock()
	a.afterWrite = nil
	if code := a.run(t, context.Background(), batchArgs(in, out, "--concurrency", "8")...); code != exitOK {
		t.Fatalf("resumed: exit %d; stderr:\n%s", code, a.errOut)
	}
	// Finished tasks are not run again: the second run made exactly the
	// calls of the others.
	if got, want := m.count()-before, (n-len(kept))*callsPerTask; got != want {
		t.Errorf("resumed run made %d calls, want %d (%d tasks were finished before)", got, want, len(kept))
	}
	checkComplete(t, out, n)
}

// A last line cut off by a kill mid-write is detected, removed and its
// task run again; nothing else is rerun.
func TestBatchRedoesTruncatedLastLine(t *testing.T) {
	const n = 6
	dir := t.TempDir()
	in, out := writeTasks(t, dir, n), filepath.Join(dir, "results.jsonl")
	m := &countingModel{}
	a := newTestApp(m)
	if code := a.run(t, context.Background(), batchArgs(in, out)...); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lastStart := strings.LastIndex(strings.TrimSuffix(string(data), "\n"), "\n") + 1
	var last resultLine
	json.Unmarshal(data[lastStart:], &last)
	cut := data[:lastStart+(len(data)-lastStart)/2] // half of the last line
	if err := os.WriteFile(out, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	before := m.count()
	if code := a.run(t, context.Background(), batchArgs(in, out)...); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	if got := m.count() - before; got != callsPerTask {
		t.Errorf("rerun made %d calls, want %d (the cut-off task only)", got, callsPerTask)
	}
	if !strings.Contains(a.errOut.String(), "cut off") {
		t.Errorf("stderr does not mention the cut-off line:\n%s", a.errOut)
	}
	lines := readLines(t, out)
	if got := lines[len(lines)-1].ID; got != last.ID {
		t.Errorf("last line is %s, want the redone %s", got, last.ID)
	}
	checkComplete(t, out, n)
}

// --shard k/n for k = 1..n splits the ids into n disjoint parts that
// together hold every id once, so n machines' outputs concatenate.
func TestBatchShardsPartitionIDs(t *testing.T) {
	const tasks = 30
	dir := t.TempDir()
	in := writeTasks(t, dir, tasks)
	for _, n := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			seen := map[string]int{}
			m := &countingModel{}
			a := newTestApp(m)
			for k := 1; k <= n; k++ {
				out := filepath.Join(t.TempDir(), "part.jsonl")
				if code := a.run(t, context.Background(), batchArgs(in, out, "--shard", fmt.Sprintf("%d/%d", k, n))...); code != exitOK {
					t.Fatalf("shard %d/%d: exit %d; stderr:\n%s", k, n, code, a.errOut)
				}
				for _, l := range readLines(t, out) {
					seen[l.ID]++
				}
			}
			for i := range tasks {
				if id := fmt.Sprintf("t%d", i); seen[id] != 1 {
					t.Errorf("id %s is in %d shards, want 1", id, seen[id])
				}
			}
			if got, want := m.count(), tasks*callsPerTask; got != want {
				t.Errorf("calls over all shards = %d, want %d", got, want)
			}
		})
	}
}

func TestShardIsDeterministic(t *testing.T) {
	ids := []string{"a", "b", "q-17", "고루틴", "42"}
	var first []bool
	for _, id := range ids {
		first = append(first, shard{2, 3}.has(id))
	}
	slices.Reverse(ids)
	slices.Reverse(first)
	for i, id := range ids {
		if got := (shard{2, 3}).has(id); got != first[i] {
			t.Errorf("shard{2,3}.has(%q) = %v, then %v", id, first[i], got)
		}
	}
}

// Bad flags, bad configuration and unreadable input are reported clearly,
// with exit code 2 and no model call.
func TestBadInputMakesNoCall(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	good := file("good.jsonl", `{"id": "a", "query": "q"}`+"\n")
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad json", []string{"batch", "--in", file("badjson.jsonl", "{\"id\": \"a\", \"query\": \"q\"}\n{\"id\": \"b\", \"query\": \"q\"\n"), "--out", out}, "badjson.jsonl:2: not valid JSON"},
		{"missing id", []string{"batch", "--in", file("noid.jsonl", "{\"query\": \"q\"}\n"), "--out", out}, `noid.jsonl:1: field "id": missing`},
		{"empty query", []string{"batch", "--in", file("emptyq.jsonl", "{\"id\": \"a\", \"query\": \"q\"}\n\n{\"id\": \"b\", \"query\": \"  \"}\n"), "--out", out}, `emptyq.jsonl:3: field "query": empty`},
		// Issue 20, item 7: what Run refuses as blank, the input check refuses first.
		{"zero-width query", []string{"batch", "--in", file("zwq.jsonl", "{\"id\": \"a\", \"query\": \"q\"}\n{\"id\": \"b\", \"query\": \"\u200b\"}\n"), "--out", out}, `zwq.jsonl:2: field "query": empty`},
		{"BOM and Hangul filler query", []string{"batch", "--in", file("bomq.jsonl", "{\"id\": \"a\", \"query\": \"\ufeff\u3164 \"}\n{\"id\": \"b\", \"query\": \"q\"}\n"), "--out", out}, `bomq.jsonl:1: field "query": empty`},
		{"zero-width id", []string{"batch", "--in", file("zwid.jsonl", "{\"id\": \"\u200d\", \"query\": \"q\"}\n"), "--out", out}, `zwid.jsonl:1: field "id": empty`},
		{"zero-width question", []string{"ask", "\u200b"}, "the question is empty"},
		// Issue 20, item 6: an output that cannot be made is a usage error.
		{"out under a file", []string{"batch", "--in", good, "--out", filepath.Join(good, "x.jsonl")}, "--out: stat " + filepath.Join(good, "x.jsonl") + ": not a directory"},
		{"out a directory", []string{"batch", "--in", good, "--out", dir}, "is a directory"},
		{"query not a string", []string{"batch", "--in", file("numq.jsonl", "{\"id\": \"a\", \"query\": 7}\n"), "--out", out}, `numq.jsonl:1: field "query": want a string, got 7`},
		{"id an object", []string{"batch", "--in", file("objid.jsonl", "{\"id\": {}, \"query\": \"q\"}\n"), "--out", out}, `objid.jsonl:1: field "id": want a string or an integer`},
		{"duplicate id", []string{"batch", "--in", file("dup.jsonl", "{\"id\": \"a\", \"query\": \"q\"}\n{\"id\": \"b\", \"query\": \"q\"}\n{\"id\": \"a\", \"query\": \"질문\"}\n"), "--out", out}, `dup.jsonl:3: id "a" is already used on line 1`},
		{"no tasks", []string{"batch", "--in", file("empty.jsonl", "\n"), "--out", out}, "no tasks"},
		{"missing file", []string{"batch", "--in", filepath.Join(dir, "nope.jsonl"), "--out", out}, "nope.jsonl: no such file"},
		{"no --in", []string{"batch", "--out", out}, "--in and --out are required"},
		{"bad shard", []string{"batch", "--in", good, "--out", out, "--shard", "3/2"}, `--shard "3/2"`},
		{"bad concurrency", []string{"batch", "--in", good, "--out", out, "--concurrency", "0"}, "--concurrency 0"},
		{"threshold out of range", []string{"batch", "--in", good, "--out", out, "--threshold", "11"}, "WithThreshold"},
		{"unknown flag", []string{"batch", "--in", good, "--out", out, "--frobnicate"}, "unknown flag: --frobnicate"},
		{"bad flag value", []string{"ask", "--max-iterations", "many", "q"}, `invalid argument "many"`},
		{"unknown command", []string{"asks", "q"}, `unknown command "asks"`},
		{"empty question", []string{"ask", " "}, "the question is empty"},
		{"eval without report", []string{"eval", "--in", good}, "--report is required"},
		{"missing prices", []string{"ask", "--prices", filepath.Join(dir, "none.json"), "q"}, "--prices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingModel{}
			a := newTestApp(m)
			code := a.run(t, context.Background(), tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(a.errOut.String(), tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", a.errOut, tt.want)
			}
			if m.count() != 0 {
				t.Errorf("%d model calls, want none", m.count())
			}
		})
	}
}

// With no model configured the tool says how to configure one; an unknown
// --provider is named.
func TestNoProvider(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "BEDROCK_MODEL_ID", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"} {
		t.Setenv(k, "")
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ask", "q"}, []string{"no model configured", "OPENAI_API_KEY", "--provider demo"}},
		{[]string{"ask", "--provider", "nope", "q"}, []string{`unknown --provider "nope"`}},
		{[]string{"ask", "--provider", "demo", "--model", "gpt-4o", "q"}, []string{"--provider demo has a single simulated model"}},
	}
	for _, tt := range tests {
		a := newTestApp(nil)
		if code := a.run(t, context.Background(), tt.args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitUsage)
		}
		for _, w := range tt.want {
			if !strings.Contains(a.errOut.String(), w) {
				t.Errorf("%v: stderr = %q, want it to contain %q", tt.args, a.errOut, w)
			}
		}
	}
}

// A task that fails is written with its error and the batch exits 1;
// --retry-failed runs it again.
func TestBatchFailedTasks(t *testing.T) {
	dir := t.TempDir()
	in, out := writeTasks(t, dir, 3), filepath.Join(dir, "results.jsonl")
	m := &countingModel{}
	failing := true
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if failing && strings.Contains(req.Messages[len(req.Messages)-1].Content, "question 2") {
			return nil, fmt.Errorf("boom: %w", refine.ErrInvalidRequest)
		}
		return m.Complete(ctx, req)
	})
	a := newTestApp(p)
	if code := a.run(t, context.Background(), batchArgs(in, out)...); code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, a.errOut)
	}
	var failed []string
	for _, l := range readLines(t, out) {
		if l.Error != "" {
			failed = append(failed, l.ID)
			if !strings.Contains(l.Error, "boom") {
				t.Errorf("error of %s = %q, want the cause", l.ID, l.Error)
			}
		}
	}
	if !slices.Equal(failed, []string{"t2"}) {
		t.Errorf("failed lines %v, want [t2]", failed)
	}
	if code := a.run(t, context.Background(), batchArgs(in, out)...); code != exitOK {
		t.Errorf("rerun without --retry-failed: exit %d, want 0 (nothing to do)", code)
	}
	failing = false
	if code := a.run(t, context.Background(), batchArgs(in, out, "--retry-failed")...); code != exitOK {
		t.Fatalf("--retry-failed: exit %d; stderr:\n%s", code, a.errOut)
	}
	checkComplete(t, out, 3)
}

// The progress display: JSON lines with --json, a bar on a terminal, a
// plain line otherwise; each ends with the totals.
func TestBatchProgress(t *testing.T) {
	dir := t.TempDir()
	in := writeTasks(t, dir, 5)
	tests := []struct {
		name     string
		terminal bool
		args     []string
		want     []string
	}{
		{"plain", false, nil, []string{"done: 5/5 tasks (0 failed)", "tokens", "cost unknown"}},
		{"json", false, []string{"--json"}, []string{`"event":"done"`, `"done":5`, `"total":5`, `"failed":0`}},
		{"terminal", true, nil, []string{"100%", "5/5", "tasks/s", "0 failed", "done: 5/5 tasks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(&countingModel{})
			a.terminal = func(io.Writer) bool { return tt.terminal }
			out := filepath.Join(t.TempDir(), "out.jsonl")
			if code := a.run(t, context.Background(), append(batchArgs(in, out), tt.args...)...); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(a.out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, a.out)
				}
			}
			if tt.name == "json" {
				for _, l := range strings.Split(strings.TrimSpace(a.out.String()), "\n") {
					if !json.Valid([]byte(l)) {
						t.Errorf("--json output line is not JSON: %q", l)
					}
				}
			}
		})
	}
}

// When the cost is unknown the progress line says why: no --prices, or
// the models --prices has no price for, by name (issue 20, item 22).
func TestProgressNamesModelWithoutPrice(t *testing.T) {
	dir := t.TempDir()
	in := writeTasks(t, dir, 2)
	tests := []struct {
		name   string
		prices []string // models priced; nil: no --prices
		json   bool
		want   string
	}{
		{"no --prices", nil, false, "cost unknown (no --prices)"},
		{"model missing", []string{"gpt-4o"}, false, `cost unknown (--prices has no price for "counting")`},
		{"model missing, json", []string{"gpt-4o"}, true, `"unpriced_models":["counting"]`},
		{"model priced", []string{"counting"}, false, "$0.0002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := batchArgs(in, filepath.Join(t.TempDir(), "out.jsonl"))
			if tt.prices != nil {
				args = append(args, "--prices", writePrices(t, tt.prices...))
			}
			if tt.json {
				args = append(args, "--json")
			}
			a := newTestApp(&countingModel{})
			if code := a.run(t, context.Background(), args...); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			if !strings.Contains(a.out.String(), tt.want) {
				t.Errorf("stdout lacks %q:\n%s", tt.want, a.out)
			}
		})
	}
}

// A Retry-After from the service pauses every worker, not just the one
// that received it: every run calls through the one provider that
// retries (the adapter, see retryPolicy), here the real OpenAI adapter
// against a server on loopback.
func TestBatchRetryAfterPausesAllWorkers(t *testing.T) {
	const pause = time.Second // Retry-After counts whole seconds
	srv := newChatServer(t, "gpt-4o-mini")
	srv.reject = func(n int) (int, http.Header, string) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}},
				`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`
		}
		return 0, nil, ""
	}
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_MODEL", "")
	dir := t.TempDir()
	in, out := writeTasks(t, dir, 8), filepath.Join(dir, "results.jsonl")
	a := newTestApp(nil)
	a.getenv = os.Getenv
	if code := a.run(t, context.Background(), append(batchArgs(in, out, "--concurrency", "4"), "--provider", "openai")...); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	checkComplete(t, out, 8)
	// Once the client has read the 429, every worker holds its calls
	// until the Retry-After has passed. Until it has read it, the others
	// go on (a few requests, more on a loaded machine); without a shared
	// pause they would run the rest of the batch, 28 requests, in that
	// second. So most of the batch must come after it.
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.starts) != 8*callsPerTask+1 {
		t.Errorf("%d requests, want %d (one retried)", len(srv.starts), 8*callsPerTask+1)
	}
	limited, early := srv.starts[0], 0
	for _, s := range srv.starts[1:] {
		if d := s.Sub(limited); d > 0 && d < pause {
			early++
		}
	}
	if early >= len(srv.starts)/2 {
		t.Errorf("%d of %d requests came within the %v Retry-After after the 429; want most of them after it", early, len(srv.starts), pause)
	}
}
