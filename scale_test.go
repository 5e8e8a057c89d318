package refine_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// echoModel answers every request at once: drafts and refinements echo the
// last line of the prompt; judge requests (JSON) get a score that rises by
// round, reaching 9 at round 2.
func echoModel(failOn string) refine.Provider {
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		last := req.Messages[len(req.Messages)-1].Content
		if failOn != "" && strings.Contains(last, failOn) {
			return nil, &refine.ProviderError{Kind: refine.ErrInvalidRequest, Message: "refused " + failOn}
		}
		if req.JSON {
			score := 5 + 2*strings.Count(last, "refined")
			return &refine.Response{Text: fmt.Sprintf(`{"score": %d, "issues": ["more"]}`, score), Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}, nil
		}
		if strings.Contains(last, "<answer-") {
			rest := last[strings.Index(last, "<answer-"):]
			prev, _, _ := strings.Cut(rest[strings.Index(rest, "\n")+1:], "\n")
			return &refine.Response{Text: prev + " refined", Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}, nil
		}
		return &refine.Response{Text: "answer to " + last, Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}, nil
	})
}

func TestRunBatch(t *testing.T) {
	l, err := refine.New(refine.WithProvider(echoModel("FAIL-Q3")))
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{"q0", "q1", "q2", "FAIL-Q3", " ", "q5"}
	out, err := l.RunBatch(context.Background(), queries, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(queries) {
		t.Fatalf("%d results for %d queries", len(out), len(queries))
	}
	for i, r := range out {
		if r.Query != queries[i] {
			t.Errorf("result %d is for %q, want %q (input order)", i, r.Query, queries[i])
		}
		switch queries[i] {
		case "FAIL-Q3":
			if !errors.Is(r.Err, refine.ErrInvalidRequest) {
				t.Errorf("FAIL-Q3: err = %v, want ErrInvalidRequest", r.Err)
			}
		case " ":
			if !errors.Is(r.Err, refine.ErrEmptyQuery) {
				t.Errorf("blank: err = %v, want ErrEmptyQuery", r.Err)
			}
		default:
			if r.Err != nil || !strings.HasPrefix(r.Result.Answer, "answer to "+queries[i]) {
				t.Errorf("%s: %+v, %v; want its own answer", queries[i], r.Result, r.Err)
			}
		}
	}
	if _, err := l.RunBatch(context.Background(), queries, 0); !errors.Is(err, refine.ErrInvalidOption) {
		t.Errorf("concurrency 0: err = %v, want ErrInvalidOption", err)
	}
	if _, err := l.RunBatch(context.Background(), queries, 2, refine.WithTopP(2)); !errors.Is(err, refine.ErrInvalidOption) {
		t.Errorf("bad option: err = %v, want ErrInvalidOption", err)
	}
	// A stop condition that refuses every run refuses the batch, once.
	if out, err := l.RunBatch(context.Background(), queries, 2, refine.WithStop(refine.CostBudget(1))); !errors.Is(err, refine.ErrInvalidOption) || out != nil {
		t.Errorf("CostBudget without prices: %d results, err = %v; want none and ErrInvalidOption", len(out), err)
	}
}

func TestRunBatchBoundedAndCancelable(t *testing.T) {
	var inflight, peak atomic.Int32
	started := make(chan struct{}, 100)
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		started <- struct{}{}
		<-ctx.Done() // a model that never answers
		return nil, ctx.Err()
	})
	l, err := refine.New(refine.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	queries := make([]string, 20)
	for i := range queries {
		queries[i] = fmt.Sprint("q", i)
	}
	done := make(chan []refine.BatchResult)
	go func() {
		out, _ := l.RunBatch(ctx, queries, 4)
		done <- out
	}()
	for range 4 {
		<-started
	}
	cancel()
	out := <-done
	if peak.Load() > 4 {
		t.Errorf("peak concurrency %d, want <= 4", peak.Load())
	}
	for i, r := range out {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("query %d: err = %v, want context.Canceled", i, r.Err)
		}
	}
	waitGoroutines(t, before)
}

// Many runs share a Loop; half are cancelled midway. Every goroutine ends,
// the others finish normally, and -race sees no race.
func TestManyRunsCancelHalf(t *testing.T) {
	before := runtime.NumGoroutine()
	slowJudge := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		select {
		case <-time.After(time.Millisecond):
			return &refine.Verdict{Score: 5}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	l, err := refine.New(refine.WithProvider(refine.LimitProvider(echoModel(""), 16)), refine.WithJudge(slowJudge),
		refine.WithCandidates(2), refine.WithMaxIterations(3))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	var canceled, finished atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			obs := refine.WithObserver(func(_ context.Context, e refine.Event) {
				if i%2 == 1 && e.Kind == refine.EventJudged && e.Round == 1 {
					cancel() // midway: after the first refinement is judged
				}
			})
			res, err := l.Run(ctx, fmt.Sprint("question ", i), obs)
			switch {
			case i%2 == 1:
				if !errors.Is(err, context.Canceled) || res == nil || len(res.Attempts) < 2 {
					t.Errorf("run %d: %v with %v; want canceled with the attempts so far", i, err, res)
				}
				canceled.Add(1)
			case err != nil || res.StopReason != refine.StopMaxIterations:
				t.Errorf("run %d: %v, %+v", i, err, res)
			default:
				finished.Add(1)
			}
		}()
	}
	wg.Wait()
	if canceled.Load() != n/2 || finished.Load() != n/2 {
		t.Errorf("canceled %d, finished %d; want %d each", canceled.Load(), finished.Load(), n/2)
	}
	waitGoroutines(t, before)
}

func TestDeadlineBudget(t *testing.T) {
	// Each round takes ~30ms; with 50ms left after the draft, the next
	// round would not finish in time, so the loop stops cleanly.
	p := refinetest.NewProvider("a", "b", "c", "d").WithLatency(30 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Millisecond)
	defer cancel()
	res, err := refine.Run(ctx, "q", refine.WithProvider(p), refine.WithJudge(refinetest.NewJudge(1, 2, 3, 4)))
	switch {
	case err == nil:
		if res.StopReason != refine.StopDeadline {
			t.Errorf("StopReason = %q, want %q", res.StopReason, refine.StopDeadline)
		}
	case errors.Is(err, context.DeadlineExceeded):
		// On a very slow machine the deadline can still fall mid-call.
		if res == nil || res.StopReason != refine.StopDeadline {
			t.Errorf("result %+v, want StopDeadline with the attempts so far", res)
		}
	default:
		t.Fatalf("err = %v", err)
	}
}
