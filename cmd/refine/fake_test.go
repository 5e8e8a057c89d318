package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

// countingModel is a deterministic in-process model for tests: answers
// "answer N", judges every answer 6 (below any threshold the tests use), so
// that a run with --max-iterations 1 makes exactly callsPerTask calls. It
// counts completed calls; from the limit-th call on, a call waits for its
// context to end instead of answering, so a test can stop a batch at an
// exact point without timing.
type countingModel struct {
	latency time.Duration

	mu      sync.Mutex
	calls   int // completed calls
	limit   int // 0: no limit
	blocked chan struct{}
}

// A run with --max-iterations 1: draft, judge, refinement, judge.
const callsPerTask = 4

func (m *countingModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	m.mu.Lock()
	if m.limit > 0 && m.calls >= m.limit {
		m.mu.Unlock()
		if m.blocked != nil {
			select {
			case m.blocked <- struct{}{}:
			default:
			}
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.calls++
	n := m.calls
	m.mu.Unlock()
	if m.latency > 0 {
		t := time.NewTimer(m.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			m.mu.Lock()
			m.calls--
			m.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	text := fmt.Sprintf("answer %d", n)
	if req.JSON {
		text = `{"score": 6, "issues": ["too short"], "suggestions": ["say more"], "assessment": "fair"}`
	}
	return &refine.Response{Text: text, Model: "counting", FinishReason: refine.FinishStop,
		Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}, nil
}

func (m *countingModel) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// testApp is the command line with the model replaced and output captured.
type testApp struct {
	*app
	out, errOut *bytes.Buffer
}

func newTestApp(p refine.Provider) *testApp {
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if p != nil {
		a.models = &models{gen: p, label: "test model"}
	}
	return &testApp{app: a, out: &out, errOut: &errOut}
}

func (a *testApp) run(t testing.TB, ctx context.Context, args ...string) int {
	t.Helper()
	a.out.Reset()
	a.errOut.Reset()
	return a.app.run(ctx, args)
}

// writeTasks writes n tasks with ids t0..t{n-1}, some in Korean.
func writeTasks(t testing.TB, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		q := fmt.Sprintf("question %d: what is %d squared?", i, i)
		if i%3 == 1 {
			q = fmt.Sprintf("질문 %d: %d의 제곱은 얼마인가요?", i, i)
		}
		fmt.Fprintf(&b, "{\"id\": \"t%d\", \"query\": %q}\n", i, q)
	}
	path := filepath.Join(dir, "tasks.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pairwiseModel answers the pairwise judge's requests "[[A]]" (the
// refined answer wins) and passes every other request to the model.
type pairwiseModel struct{ refine.Provider }

func (p pairwiseModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if isPairwise(req) {
		return &refine.Response{Text: "A is better.\n[[A]]", Model: "counting", FinishReason: refine.FinishStop,
			Usage: refine.Usage{InputTokens: 30, OutputTokens: 7}}, nil
	}
	return p.Provider.Complete(ctx, req)
}

// isPairwise tells the pairwise judge's requests by their system prompt.
func isPairwise(req *refine.Request) bool {
	return len(req.Messages) > 0 && strings.Contains(req.Messages[0].Content, "Two AI assistants, A and B")
}
