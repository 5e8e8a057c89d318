package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// With -demo the simulated draft reads well (8/10 by its judge) but breaks
// every rule, so the policy caps it at 4 and its violations are what the
// refinement fixes; the compliant reply passes.
func TestCustomJudgeDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"[simulated] round 0: score 4.0 (policy 0.0, quality 8)",
		"promises a refund",
		"[simulated] round 1: score 9.0 (policy 10.0, quality 9) []",
		"=== reply to send (score 9.0/10, stopped: threshold) ===",
		"TCK-482913",
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

func TestCustomJudgeNoCredentials(t *testing.T) {
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

func TestPolicy(t *testing.T) {
	long := strings.Repeat("word ", maxWords+1) + "TCK-482913"
	tests := []struct {
		query, reply string
		issues       []string
	}{
		{defaultMessage, compliantReply, nil},
		{defaultMessage, draftReply, []string{"promises a refund", "ticket number TCK-482913", "words long"}},
		{defaultMessage, "TCK-482913: we'll get your money back today.", []string{"promises a refund"}},
		{defaultMessage, "TCK-482913: your refund has been approved.", []string{"promises a refund"}},
		{defaultMessage, "Ticket TCK-111111 is with billing.", []string{"ticket number TCK-482913"}},
		{"I was charged twice.", "Ticket TCK-111111 is with billing.", nil},
		{"I was charged twice.", "Billing will look into it.", []string{"no ticket number"}},
		{defaultMessage, long, []string{"words long"}},
	}
	for _, tt := range tests {
		v, err := policy(context.Background(), tt.query, tt.reply)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Issues) != len(tt.issues) {
			t.Errorf("policy(%.40q): issues %q, want %q", tt.reply, v.Issues, tt.issues)
			continue
		}
		for i, want := range tt.issues {
			if !strings.Contains(v.Issues[i], want) {
				t.Errorf("policy(%.40q): issue %q, want %q", tt.reply, v.Issues[i], want)
			}
		}
		if want := len(tt.issues) == 0; (v.Score == 10) != want {
			t.Errorf("policy(%.40q): score %v with %d issues", tt.reply, v.Score, len(v.Issues))
		}
	}
}

// Your own judge should pass refinetest.TestJudge: it honours cancellation,
// never returns (nil, nil), keeps scores within 0..10 and is safe for
// concurrent use. So should the composite judge built around it.
func TestPolicyIsAWellBehavedJudge(t *testing.T) {
	if err := refinetest.TestJudge(refine.JudgeFunc(policy)); err != nil {
		t.Error(err)
	}
	judge := refine.NewCompositeJudge(refine.RuleMinimum,
		refine.JudgePart{Name: "policy", Judge: refine.JudgeFunc(policy), Pass: 10, Cap: 4},
		refine.JudgePart{Name: "quality", Judge: refine.NewLLMJudge(simulatedAgent())},
	)
	if err := refinetest.TestJudge(judge); err != nil {
		t.Error(err)
	}
}
