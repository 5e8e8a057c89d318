package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine/calibrate"
)

// Offline, the example measures its simulated judge: lenient by one point
// (a little less, as the cap at 10 cuts in), ranking answers exactly as
// people do, and so needing a threshold one point above the good cut.
func TestCalibrateOffline(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"[simulated] examples      20 scored",
		"spearman      1.000",
		"bias          +0.82 (lenient)",
		"within one    100%",
		"repeats       3: sd 0.38",
		"suggested threshold: 9.00",
		"refine.WithThreshold(9.00)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if !strings.HasPrefix(line, "[simulated] ") {
			t.Errorf("line %d is not labelled: %q", i+1, line)
		}
	}
}

func TestCalibrateNoCredentials(t *testing.T) {
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

func TestCalibrateOwnData(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	bad := filepath.Join(dir, "bad.jsonl")
	lines := []string{
		`{"query": "q1", "answer": "a1", "human": 2}`,
		`{"query": "q2", "answer": "a2", "human": 9}`,
		`{"query": "q3", "answer": "a3", "human": 5}`,
	}
	if err := os.WriteFile(good, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(lines[0]+"\n"+`{"query": "q", "answer": "a", "human": 12}`), 0o600); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo", good}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "examples      3 scored") || !strings.Contains(out.String(), "suggested threshold: 9.83") {
		t.Errorf("output:\n%s", out.String())
	}

	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"-demo", bad}, &out, &errOut); code != 2 {
		t.Errorf("exit %d for bad data, want 2", code)
	}
	if want := "bad.jsonl: calibrate: invalid data: line 2: human score 12 is outside 0..10"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr = %q, want it to contain %q", errOut.String(), want)
	}
}

// With OPENAI_BASE_URL set the example measures refine.NewLLMJudge through
// the OpenAI adapter. The server here speaks the chat-completions wire
// format and grades each answer with its human score, found by looking for
// the shipped answers' text in the prompt.
func TestCalibrateWithProvider(t *testing.T) {
	data, err := calibrate.ReadExamples(bytes.NewReader(labelled))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu         sync.Mutex
		references int // requests that carried the example's reference answer
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var prompt strings.Builder
		for _, m := range req.Messages {
			prompt.WriteString(m.Content)
		}
		var match *calibrate.Example
		for i, ex := range data {
			if strings.Contains(prompt.String(), ex.Answer) && (match == nil || len(ex.Answer) > len(match.Answer)) {
				match = &data[i]
			}
		}
		if match == nil {
			http.Error(w, "no known answer in the prompt", http.StatusBadRequest)
			return
		}
		if match.Reference != "" && strings.Contains(prompt.String(), match.Reference) {
			mu.Lock()
			references++
			mu.Unlock()
		}
		verdict := fmt.Sprintf(`{"score": %g, "issues": [], "suggestions": [], "assessment": "as people said"}`, match.Human)
		content, _ := json.Marshal(verdict)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": %q,
			"choices": [{"index": 0, "message": {"role": "assistant", "content": %s}, "finish_reason": "stop"}],
			"usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}}`, req.Model, content)
	}))
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_API_KEY", "sk-test")
	t.Setenv("OPENAI_MODEL", "judge-model")
	t.Setenv("REFINE_DEMO", "")

	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	got := out.String()
	for _, want := range []string{
		"examples      20 scored",
		"spearman      1.000",
		"bias          0.00\n",
		"suggested threshold: 8.00",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if references != 12 {
		t.Errorf("%d judge requests carried the reference answer, want 12 (4 answers, 3 repeats)", references)
	}
}
