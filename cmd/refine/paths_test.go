package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An output that is the input file — by its name, another spelling, a
// hard link, a symbolic link, stdin redirected from it, or a default
// derived from --report — is refused before anything is read, written or
// called: exit 2, and the tasks file is byte for byte what it was. The
// input has no final newline, which resume used to "repair" as a line cut
// off by a kill (issue 20, items 1 and 2).
func TestOutputThatIsTheInputIsRefused(t *testing.T) {
	tasks := "{\"id\": \"a\", \"query\": \"first?\"}\n{\"id\": \"b\", \"query\": \"second?\"}" // no final newline
	tests := []struct {
		name string
		args func(dir, in string) []string
		// stdin, when set, is opened from the named file of dir.
		stdin string
		want  string
	}{
		{"batch --out the input", func(dir, in string) []string { return batchArgs(in, in) },
			"", "--out " + "IN" + " is the input file"},
		{"another spelling", func(dir, in string) []string {
			return batchArgs(in, filepath.Join(dir, ".", "sub", "..", "tasks.jsonl"))
		}, "", "is the input file"},
		{"hard link", func(dir, in string) []string {
			link := filepath.Join(dir, "hard.jsonl")
			if err := os.Link(in, link); err != nil {
				t.Skip("no hard links here:", err)
			}
			return batchArgs(in, link)
		}, "", "hard.jsonl is the input file"},
		{"symbolic link", func(dir, in string) []string {
			link := filepath.Join(dir, "sym.jsonl")
			if err := os.Symlink(in, link); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			return batchArgs(in, link)
		}, "", "sym.jsonl is the input file"},
		{"stdin redirected from the output", func(dir, in string) []string { return batchArgs("-", in) },
			"tasks.jsonl", "is the input file --in - (stdin)"},
		{"eval's default --out", func(dir, in string) []string {
			return []string{"eval", "--in", in, "--report", filepath.Join(dir, "tasks.html")}
		}, "", "(the default: --report's name with .jsonl) is the input file"},
		{"eval --report the input", func(dir, in string) []string {
			return []string{"eval", "--in", in, "--out", filepath.Join(dir, "r.jsonl"), "--report", in}
		}, "", "--report " + "IN" + " is the input file"},
		{"eval --out the report", func(dir, in string) []string {
			return []string{"eval", "--in", in, "--out", filepath.Join(dir, "r.html"), "--report", filepath.Join(dir, "r.html")}
		}, "", "are the same file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "tasks.jsonl")
			if err := os.WriteFile(in, []byte(tasks), 0o644); err != nil {
				t.Fatal(err)
			}
			m := &countingModel{}
			a := newTestApp(m)
			if tt.stdin != "" {
				f, err := os.Open(filepath.Join(dir, tt.stdin))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				a.stdin = f
			}
			code := a.run(t, context.Background(), tt.args(dir, in)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, a.errOut)
			}
			if want := strings.ReplaceAll(tt.want, "IN", in); !strings.Contains(a.errOut.String(), want) {
				t.Errorf("stderr = %q, want it to contain %q", a.errOut, want)
			}
			if m.count() != 0 {
				t.Errorf("%d model calls, want none", m.count())
			}
			if got, err := os.ReadFile(in); err != nil || string(got) != tasks {
				t.Errorf("tasks file now %q (err %v), want it untouched: %q", got, err, tasks)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".html") {
					t.Errorf("%s was written", e.Name())
				}
			}
		})
	}
}

// A results file that is not ours — a copy of the tasks, whose lines
// have ids but no results — is refused, not taken as finished work and
// "repaired" (issue 20, item 1, where the same file is not the input).
func TestResumeRefusesAFileThatIsNotResults(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"tasks with a final newline", "{\"id\": \"a\", \"query\": \"q\"}\n{\"id\": \"b\", \"query\": \"q\"}\n", "copy.jsonl:1: not a result line"},
		{"tasks without one", "{\"id\": \"a\", \"query\": \"q\"}", "copy.jsonl:1: the last line is whole JSON but not a result line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeTasks(t, dir, 2)
			out := filepath.Join(dir, "copy.jsonl")
			if err := os.WriteFile(out, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			m := &countingModel{}
			a := newTestApp(m)
			if code := a.run(t, context.Background(), batchArgs(in, out)...); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, a.errOut)
			}
			if !strings.Contains(a.errOut.String(), tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", a.errOut, tt.want)
			}
			if got, _ := os.ReadFile(out); string(got) != tt.content || m.count() != 0 {
				t.Errorf("file now %q after %d calls; want it untouched and no call", got, m.count())
			}
		})
	}
}

// eval --in - reads stdin once: the report is made from the tasks read
// for the run, not from a second reading that finds nothing (issue 20,
// item 3).
func TestEvalReadsStdinOnce(t *testing.T) {
	dir := t.TempDir()
	in := writeTasks(t, dir, 3)
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestApp(pairwiseModel{&countingModel{}})
	a.stdin = bytes.NewReader(data)
	report := filepath.Join(dir, "report.html")
	code := a.run(t, context.Background(), "eval", "--in", "-", "--report", report, "--max-iterations", "1", "--threshold", "9")
	if code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, a.errOut)
	}
	if want := "(of 3 compared)"; !strings.Contains(a.out.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, a.out)
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("no report: %v", err)
	}
}

// --out /dev/null works: a device is written without resume and not
// synced (fsync fails with EINVAL there), so a batch whose tasks all
// succeed exits 0, and eval reports from the lines of the run (issue 20,
// item 5).
func TestOutputDevNull(t *testing.T) {
	if _, err := os.Stat(os.DevNull); err != nil || os.DevNull != "/dev/null" {
		t.Skip("no /dev/null")
	}
	dir := t.TempDir()
	in := writeTasks(t, dir, 3)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"batch", batchArgs(in, os.DevNull), "done: 3/3 tasks (0 failed)"},
		{"eval", []string{"eval", "--in", in, "--out", os.DevNull, "--report", filepath.Join(dir, "r.html"), "--max-iterations", "1", "--threshold", "9"}, "(of 3 compared)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingModel{}
			a := newTestApp(pairwiseModel{m})
			if code := a.run(t, context.Background(), tt.args...); code != exitOK {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, a.errOut)
			}
			if !strings.Contains(a.out.String(), tt.want) {
				t.Errorf("stdout lacks %q:\n%s", tt.want, a.out)
			}
			// Rerunning does not resume from /dev/null: every task runs again.
			before := m.count()
			if code := a.run(t, context.Background(), tt.args...); code != exitOK || m.count()-before != before {
				t.Errorf("second run: exit %d, %d calls; want 0 and %d (no resume)", code, m.count()-before, before)
			}
		})
	}
}
