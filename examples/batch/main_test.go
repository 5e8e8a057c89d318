package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

func TestBatchOffline(t *testing.T) {
	var out, errOut bytes.Buffer
	noEnv := func(string) string { return "" }
	if code := run(context.Background(), nil, noEnv, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	if !strings.Contains(errOut.String(), "SIMULATED") || !strings.HasSuffix(errOut.String(), "\rdone 20/20\n") {
		t.Errorf("stderr = %q, want the SIMULATED notice and a progress line ending at done 20/20", errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 23 || !strings.HasPrefix(lines[0], "QUERY") || !strings.HasPrefix(lines[1], "What is a goroutine?") {
		t.Fatalf("want a header, 20 rows, a blank line and a summary; got:\n%s", out.String())
	}
	for _, want := range []string{"threshold", "max_iterations", "20 questions, 0 failed", "model: SIMULATED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBatchFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "questions.txt")
	if err := os.WriteFile(file, []byte("# Go questions\nWhat is a goroutine?\n\n  What is a channel?  \nWhat is a map?\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-provider", "demo", "-f", file, "-c", "2"}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	if !strings.HasSuffix(errOut.String(), "\rdone 3/3\n") || !strings.Contains(out.String(), "What is a channel?") || !strings.Contains(out.String(), "3 questions, 0 failed") {
		t.Errorf("stderr %q, stdout:\n%s", errOut.String(), out.String())
	}
}

// The Loop's call cap holds across the whole batch, however many queries
// run at once, and a failing query does not stop the others.
func TestRefineAllCapsCalls(t *testing.T) {
	var (
		mu             sync.Mutex
		inFlight, peak int
	)
	sim := simulatedModel()
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, "refuse me") {
			return nil, &refine.ProviderError{Kind: refine.ErrInvalidRequest, Provider: "test", Message: "refused"}
		}
		return sim.Complete(ctx, req)
	})
	queries := strings.Split(defaultQuestions, "\n")
	queries[3] = "refuse me"
	var progress bytes.Buffer
	results, err := refineAll(context.Background(), p, queries, 8, 3, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if peak > 3 || peak < 2 {
		t.Errorf("peak of %d calls in flight, want 2..3 (the cap is 3)", peak)
	}
	for i, r := range results {
		if (r.Err != nil) != (i == 3) {
			t.Errorf("query %d %q: error %v", i, r.Query, r.Err)
		}
	}
	if !strings.HasSuffix(progress.String(), "\rdone 20/20\n") {
		t.Errorf("progress = %q", progress.String())
	}
}
