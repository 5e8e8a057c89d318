package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// With -demo the simulated draft does not compile, so the gate fails it
// whatever the review says; the refinement compiles and passes.
func TestCodegenDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"[simulated] round 0: score 0.0 (compiles 0, review 8)",
		"undefined: strings",
		"[simulated] round 1: score 9.0 (compiles 10, review 9)",
		"=== best: round 1, score 9.0/10, stopped: threshold ===",
		"if err := sc.Err(); err != nil",
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

func TestCodegenNoCredentials(t *testing.T) {
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

// The compiler's errors reach the refine prompt: the model is told what
// did not compile, not just that the score was 0.
func TestCompilerErrorsReachRefinement(t *testing.T) {
	sim := simulatedCoder()
	var prompts []string
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		prompts = append(prompts, req.Messages[len(req.Messages)-1].Content)
		return sim.Complete(ctx, req)
	})
	judge := refine.NewCompositeJudge(refine.RuleMinimum,
		refine.JudgePart{Name: "compiles", Judge: refine.JudgeFunc(compiles), Pass: 10},
		refine.JudgePart{Name: "review", Judge: refine.NewLLMJudge(p)})
	if _, err := refine.Run(context.Background(), "word counts", refine.WithProvider(p), refine.WithJudge(judge), refine.WithThreshold(9)); err != nil {
		t.Fatal(err)
	}
	if len(prompts) != 4 || !strings.Contains(prompts[2], "undefined: strings") {
		t.Errorf("%d calls; refine prompt lacks the compiler error:\n%s", len(prompts), strings.Join(prompts, "\n---\n"))
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
	if err := refinetest.TestJudge(refine.JudgeFunc(compiles)); err != nil {
		t.Error(err)
	}
}
