// Quickstart: refine one answer with your model, printing each attempt as it
// is written, its score and the judge's main issue, then the winner.
//
//	OPENAI_API_KEY=sk-... go run ./examples/quickstart "What is a goroutine?"
//	OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 go run ./examples/quickstart
//	go run ./examples/quickstart -demo "고루틴은 언제 쓰면 안 되나요?"
//
// -demo (or REFINE_DEMO=1) runs on refinetest.Simulator, which is not a
// model: every line printed is then labelled "[simulated]".
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	if flags.Parse(args) != nil {
		return 2
	}
	query := cmp.Or(strings.Join(flags.Args(), " "), "What is a goroutine, and when should I not use one?")

	var p refine.Provider = &refinetest.Simulator{}
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…), and OPENAI_MODEL if you like;\nor run with -demo (REFINE_DEMO=1) to see the loop on a simulated model.\n", err)
		return 2
	} else {
		p = m
	}

	loop, err := refine.New(refine.WithProvider(p), refine.WithThreshold(8), refine.WithMaxIterations(3))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for e, err := range loop.Events(ctx, query) {
		switch e.Kind {
		case refine.EventDelta: // the draft or a refinement, as it is written
			fmt.Fprint(stdout, e.Delta)
		case refine.EventJudged:
			fmt.Fprintf(stdout, "\n→ round %d scored %.1f/10; issues: %q\n\n", e.Round, e.Score, e.Verdict.Issues)
		case refine.EventStopped:
			if res := e.Result; res != nil { // nil when not even the draft was judged
				fmt.Fprintf(stdout, "=== round %d won with %.1f/10 (stopped: %s, %d tokens) ===\n%s\n",
					res.Attempts[res.Best].Round, res.Score, res.StopReason, res.Usage.Total(), res.Answer)
			}
			if err != nil {
				fmt.Fprintln(stderr, "quickstart:", err)
				return 1
			}
		}
	}
	return 0
}
