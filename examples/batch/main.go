// Batch: refine many questions through one Loop with RunBatch, with a cap on
// the model calls in flight shared by the whole batch, and print a table of
// the results. (refine.WithObserver can report progress as runs end.)
//
//	OPENAI_API_KEY=sk-... go run ./examples/batch ["question" ...]
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
	if flags.Parse(args) != nil {
		return 2
	}
	queries := flags.Args()
	if len(queries) == 0 {
		queries = strings.Split(questions, "\n")
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

	loop, err := refine.New(refine.WithProvider(refine.LimitProvider(p, 8))) // ≤ 8 model calls in flight, whole batch
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	results, err := loop.RunBatch(ctx, queries, 4) // 4 questions at a time
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	table, code := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0), 0
	fmt.Fprintln(table, "QUESTION\tSCORE\tSTOPPED\tTOKENS")
	for _, r := range results {
		if res := r.Result; res != nil { // with an error too: the best answer before it
			fmt.Fprintf(table, "%s\t%.1f\t%s\t%d\n", r.Query, res.Score, res.StopReason, res.Usage.Total())
		}
		if r.Err != nil {
			fmt.Fprintf(table, "%s\tfailed: %v\n", r.Query, r.Err)
			code = 1
		}
	}
	table.Flush()
	return code
}
