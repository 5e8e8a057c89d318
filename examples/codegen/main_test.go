package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// With no model configured, codegen runs the simulated model: its draft
// does not compile, so the gate fails it whatever the review says; the
// refinement compiles and reaches the threshold.
func TestCodegenOffline(t *testing.T) {
	var out, errOut bytes.Buffer
	noEnv := func(string) string { return "" }
	if code := run(context.Background(), nil, noEnv, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"running a SIMULATED model",
		"draft    score  0.0/10  (compiles 0, review 8)",
		"compiles: ./main.go:15:10: undefined: strings",
		"round 1  score  9.0/10  (compiles 10, review 9)",
		"attempt 2 of 2, score 9.0/10, stopped: threshold",
		"if err := sc.Err(); err != nil",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// The compiler's errors reach the refine prompt: the model is told what
// did not compile, not just that the score was 0.
func TestCompilerErrorsReachRefinement(t *testing.T) {
	p := refinetest.NewProvider(
		"```go\n"+draftCode+"```",
		review(8, "read errors are ignored"),
		"```go\n"+fixedCode+"```",
		review(9, ""),
	)
	var out bytes.Buffer
	res, err := generate(context.Background(), p, defaultRequest, 3, 9, &out)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, out.String())
	}
	if res.StopReason != refine.StopThreshold || res.Score != 9 || res.Best != 1 {
		t.Errorf("stop %s, score %v, best %d; want threshold, 9, 1", res.StopReason, res.Score, res.Best)
	}
	if v := res.Attempts[0].Verdict; v.Score != 0 || v.Criteria["review"] != 8 || v.Criteria["compiles"] != 0 {
		t.Errorf("draft verdict: score %v, criteria %v; want 0 with review 8 and compiles 0", v.Score, v.Criteria)
	}
	reqs := p.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d model calls, want 4", len(reqs))
	}
	if sys := reqs[0].Messages[0]; sys.Role != refine.RoleSystem || sys.Content != systemPrompt {
		t.Errorf("draft system message = %+v", sys)
	}
	refinePrompt := reqs[2].Messages[len(reqs[2].Messages)-1].Content
	for _, want := range []string{`Failed the required check "compiles"`, "./main.go:15:10: undefined: strings", "read errors are ignored"} {
		if !strings.Contains(refinePrompt, want) {
			t.Errorf("refine prompt lacks %q:\n%s", want, refinePrompt)
		}
	}
}

func TestCompilesGate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, answer string
		score        float64
		issue        string
	}{
		{"no code block", "Here is the idea in prose.", 0, "no ```go code block"},
		{"vet finding", "```go\npackage main\n\nimport \"fmt\"\n\nfunc main() { fmt.Printf(\"%d\\n\", \"x\") }\n```", 0, "wrong type"},
		{"clean", "```go\n" + fixedCode + "```", 10, ""},
	}
	for _, tt := range tests {
		v, err := compiles(ctx, "", tt.answer)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if v.Score != tt.score || (tt.issue != "" && !strings.Contains(strings.Join(v.Issues, "\n"), tt.issue)) {
			t.Errorf("%s: score %v, issues %q; want %v and %q", tt.name, v.Score, v.Issues, tt.score, tt.issue)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := compiles(canceled, "", "```go\n"+fixedCode+"```"); err == nil {
		t.Error("a canceled check scored the code instead of failing")
	}
}
