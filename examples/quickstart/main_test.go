package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// With -demo the quickstart runs on the simulator, streams every attempt,
// prints its score and the winner, and labels every line as simulated.
func TestQuickstartDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo", "What is a goroutine?"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	for _, want := range []string{
		"[simulated] A short first answer",
		`→ round 0 scored 5.0/10; issues: ["it lacks a concrete example"]`,
		"[simulated] Revised answer (round 1)",
		"=== round 1 won with 7.5/10 (stopped: max_iterations",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	checkLabelled(t, out.String())
}

// REFINE_DEMO=1 asks for the simulator too; a Korean question gets Korean answers.
func TestQuickstartDemoFromEnv(t *testing.T) {
	t.Setenv("REFINE_DEMO", "1")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"고루틴은 언제 쓰면 안 되나요?"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "[simulated] 짧은 첫 답변입니다") {
		t.Errorf("output lacks the Korean draft:\n%s", out.String())
	}
	checkLabelled(t, out.String())
}

// Without credentials and without -demo it says what to set, exits 2 and
// calls nothing: it never falls back to the simulator by itself.
func TestQuickstartNoCredentials(t *testing.T) {
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
