package openai_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch/openaifake"
	"github.com/selfrefine/refine/provider/openai"
)

// BenchmarkBatchRuns runs 10,000 concurrent 3-round runs (a draft and two
// refinements, each judged: 6 steps) through one batch Provider against a
// fake batch server that takes a fixed time per batch. The judge never
// reaches the threshold, so every run takes every step. It reports
//
//   - batches/step: batches the server received per loop step (want 1);
//   - heap-B/run: live heap per waiting run while every run waits for the
//     second batch (the fake server's copy of that batch's request bodies
//     included);
//   - wall/ideal: wall time over steps × the server's batch latency;
//   - overhead-s/step: the rest of the wall time, per step: building,
//     uploading and reading 10,000 lines, and the runs' own work, which
//     a longer (real) batch latency does not change.
//
// REFINE_BATCH_LATENCY sets the server's latency (default 5s).
//
// With -short it runs 200 runs and a 100ms latency, for CI.
//
//	go test -run '^$' -bench BatchRuns -benchtime 1x ./provider/openai/
func BenchmarkBatchRuns(b *testing.B) {
	runs, latency := 10000, 5*time.Second
	if d, err := time.ParseDuration(os.Getenv("REFINE_BATCH_LATENCY")); err == nil && d > 0 {
		latency = d
	}
	if testing.Short() {
		runs, latency = 200, 100*time.Millisecond
	}
	const steps = 6 // draft, judge, refine, judge, refine, judge
	for i := 0; i < b.N; i++ {
		batches, heapPerRun, wall := batchRuns(b, runs, latency)
		b.ReportMetric(float64(batches)/steps, "batches/step")
		b.ReportMetric(heapPerRun, "heap-B/run")
		b.ReportMetric(wall.Seconds()/(steps*latency.Seconds()), "wall/ideal")
		b.ReportMetric((wall-steps*latency).Seconds()/steps, "overhead-s/step")
	}
}

func batchRuns(b *testing.B, runs int, latency time.Duration) (batches int, heapPerRun float64, wall time.Duration) {
	srv := openaifake.New()
	defer srv.Close()
	srv.Lean = true
	srv.Latency = latency
	srv.Answer = func(_ *openaifake.Batch, _ string, body []byte) openaifake.Outcome {
		if strings.Contains(string(body), `"response_format"`) { // the judge
			return openaifake.Outcome{Body: openaifake.Completion(`{"score": 5, "issues": ["thin"], "suggestions": ["add detail"], "assessment": "Thin."}`)}
		}
		h := sha256.Sum256(body) // a new answer every round: never "converged"
		return openaifake.Outcome{Body: openaifake.Completion("Answer " + hex.EncodeToString(h[:6]))}
	}
	var base runtime.MemStats
	var created atomic.Int32
	srv.OnCreate = func(*openaifake.Batch) {
		if created.Add(1) != 2 { // the second batch: every run waits
			return
		}
		func() {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			heapPerRun = float64(int64(m.HeapAlloc)-int64(base.HeapAlloc)) / float64(runs)
		}()
	}
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.BaseURL()), openai.WithAPIKey(batchKey),
		openai.WithBatch(openai.BatchOptions{MaxRequests: runs, Idle: time.Minute, MaxWait: time.Hour, Poll: latency / 50}))
	loop, err := refine.New(refine.WithProvider(p), refine.WithMaxIterations(2))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&base)
	start := time.Now()
	errs := make(chan error, runs)
	var wg sync.WaitGroup
	for r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := loop.Run(context.Background(), fmt.Sprintf("Describe item %d.", r))
			if err == nil && len(res.Attempts) != 3 {
				err = fmt.Errorf("run %d: %d attempts (%s), want 3", r, len(res.Attempts), res.StopReason)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	wall = time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	return len(srv.Batches()), heapPerRun, wall
}
