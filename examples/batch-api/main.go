// Batch-api: five questions refined at once through the OpenAI Batch API, at about half the price.
// Run: OPENAI_API_KEY=sk-... go run ./examples/batch-api (OPENAI_BASE_URL, OPENAI_MODEL optional; -demo: a [simulated] server)
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", getenv("REFINE_DEMO") == "1", "use a [simulated] in-process batch server")
	poll := fs.Duration("poll", 30*time.Second, "how often a running batch is checked")
	journal := fs.String("journal", filepath.Join(os.TempDir(), "refine-batch-api.json"), "batch journal: rerun after a crash without paying twice")
	if fs.Parse(args) != nil {
		return 2
	}
	label, base, key := "", getenv("OPENAI_BASE_URL"), getenv("OPENAI_API_KEY")
	if *demo {
		srv := fakeBatchServer()
		defer srv.Close()
		label, base, key, *poll, *journal = "[simulated] ", srv.URL+"/v1", "sk-demo", 10*time.Millisecond, ""
	} else if key == "" && base == "" {
		fmt.Fprintln(stderr, "batch-api needs OPENAI_API_KEY (and optionally OPENAI_BASE_URL, OPENAI_MODEL), or -demo / REFINE_DEMO=1")
		return 2
	}
	opts := []openai.Option{openai.WithAPIKey(key), openai.WithBatch(openai.BatchOptions{MaxRequests: len(questions), Poll: *poll, Journal: *journal})}
	if base != "" {
		opts = append(opts, openai.WithBaseURL(base))
	}
	p := openai.New(cmp.Or(getenv("OPENAI_MODEL"), openai.DefaultModel), opts...)
	defer p.Close(ctx) // ends the Provider's goroutines
	prices := map[string]refine.Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6, BatchInput: 0.075, BatchOutput: 0.3}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, q := range questions { // every run's step joins the same batch
		wg.Go(func() {
			res, err := refine.Run(ctx, q, refine.WithProvider(p), refine.WithMaxIterations(1), refine.WithPrices(prices))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(stdout, "%s%s: error: %v\n", label, q, err)
				return
			}
			fmt.Fprintf(stdout, "%s%s → %.0f/10, $%.6f (batch price; upper bound: %v): %.60s\n", label, q, res.Score, res.Cost, res.CostUpperBound, res.Answer)
		})
	}
	wg.Wait()
	return 0
}

var questions = []string{"What is a closure?", "Why use a mutex?", "What does fsync do?", "What is a goroutine?", "Why batch requests?"}
