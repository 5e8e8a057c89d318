package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBatchDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "[simulated] QUESTION") || !strings.HasPrefix(lines[1], "[simulated] What is a goroutine?") {
		t.Fatalf("want a header, 6 rows and a summary; got:\n%s", out.String())
	}
	for _, want := range []string{"고루틴 누수는 어떻게 막나요?", "threshold", "max_iterations", "6 questions, 0 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(errOut.String(), "[simulated] done 6/6\n") {
		t.Errorf("stderr = %q, want progress ending at done 6/6", errOut.String())
	}
	checkLabelled(t, out.String()+errOut.String())
}

func TestBatchFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "questions.txt")
	if err := os.WriteFile(file, []byte("What is a goroutine?\n\n  What is a channel?  \nWhat is a map?\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo", "-f", file, "-c", "2"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "[simulated] What is a channel? ") || !strings.Contains(out.String(), "3 questions, 0 failed") {
		t.Errorf("stdout:\n%s", out.String())
	}
}

func TestBatchNoCredentials(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("REFINE_DEMO", "")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "OPENAI_API_KEY") || !strings.Contains(errOut.String(), "-demo") {
		t.Errorf("stdout %q, stderr %q; want nothing, and the variables to set", out.String(), errOut.String())
	}
}

func checkLabelled(t *testing.T, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "[simulated] ") {
			t.Errorf("line %d is not labelled: %q", i+1, line)
		}
	}
}
