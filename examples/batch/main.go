// Batch: refine many questions through one Loop with RunBatch, a cap on the
// model calls in flight shared by the whole batch, a progress line, and a
// table of the results.
//
//	OPENAI_API_KEY=sk-... go run ./examples/batch [-f questions.txt] [-c 4]
//	go run ./examples/batch -demo
//
// -demo (or REFINE_DEMO=1) runs on refinetest.Simulator, which is not a
// model: every line printed is then labelled "[simulated]".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

const questions = "What is a goroutine?\nWhat does defer do in Go?\nWhen should I use a buffered channel?\n" +
	"고루틴 누수는 어떻게 막나요?\nWhat does the race detector find?\nHow do I write a table-driven test?"

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("batch", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	file := flags.String("f", "", "a file of questions, one per line (default: six Go questions)")
	concurrency := flags.Int("c", 4, "questions refined at the same time")
	if flags.Parse(args) != nil {
		return 2
	}
	text := questions
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		text = string(b)
	}
	var queries []string
	for _, q := range strings.Split(text, "\n") {
		if q = strings.TrimSpace(q); q != "" {
			queries = append(queries, q)
		}
	}

	var p refine.Provider = &refinetest.Simulator{}
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to see the batch on a simulated model.\n", err)
		return 2
	} else {
		p = m
	}

	var done atomic.Int64
	loop, err := refine.New(
		refine.WithProvider(refine.LimitProvider(p, 8)), // at most 8 model calls in flight, across the batch
		refine.WithObserver(func(_ context.Context, e refine.Event) { // called concurrently
			if e.Kind == refine.EventStopped {
				fmt.Fprintf(stderr, "done %d/%d\n", done.Add(1), len(queries))
			}
		}))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	results, err := loop.RunBatch(ctx, queries, *concurrency)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	table, failed := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0), 0
	fmt.Fprintln(table, "QUESTION\tSCORE\tSTOPPED\tTOKENS\tERROR")
	for _, r := range results {
		score, stop, tokens, errText := "-", "-", "-", "-"
		if res := r.Result; res != nil { // with an error too: the best answer before it
			score, stop, tokens = fmt.Sprintf("%.1f", res.Score), string(res.StopReason), fmt.Sprint(res.Usage.Total())
		}
		if r.Err != nil {
			failed, errText = failed+1, r.Err.Error()
		}
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\n", r.Query, score, stop, tokens, errText)
	}
	table.Flush()
	fmt.Fprintf(stdout, "%d questions, %d failed\n", len(results), failed)
	return min(failed, 1)
}
