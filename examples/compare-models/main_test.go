package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// With -demo two simulated "models" answer in Korean and the simulated
// judge prefers B's answer in both orders.
func TestCompareModelsDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"[simulated] === A (simulated-a) ===\n[simulated] 짧은 첫 답변입니다",
		"[simulated] === B (simulated-b) ===",
		"[simulated] A shown first: B\n[simulated] B shown first: B\n[simulated] winner: B\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "[simulated] ") {
			t.Errorf("line %d is not labelled: %q", i+1, line)
		}
	}
}

func TestCompareModelsNoCredentials(t *testing.T) {
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
