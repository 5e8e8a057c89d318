// Codegen: refine generated Go code until it builds (go build and go vet are
// a gate: code that fails scores 0) and an LLM code review scores it 9 or
// more. Needs the go command on PATH.
//
//	OPENAI_API_KEY=sk-... go run ./examples/codegen ["your request"]
//	go run ./examples/codegen -demo
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

const systemPrompt = "You are a senior Go engineer. Reply with one complete Go file (package main) in a single ```go code block, then at most three sentences of explanation."

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("codegen", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	if flags.Parse(args) != nil {
		return 2
	}
	request := cmp.Or(strings.Join(flags.Args(), " "), "Write a Go program that prints the ten most frequent words of standard input with their counts.")

	var p refine.Provider = simulatedCoder()
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to see the loop on a simulated model.\n", err)
		return 2
	} else {
		p = m
	}

	judge := refine.NewCompositeJudge(refine.RuleMinimum, // the lowest part's score
		refine.JudgePart{Name: "compiles", Judge: refine.JudgeFunc(compiles), Pass: 10}, // gate.go
		refine.JudgePart{Name: "review", Judge: refine.NewLLMJudge(p, refine.WithCriteria(refine.CodeCriteria()...))},
	)
	res, err := refine.Run(ctx, request, refine.WithProvider(p), refine.WithSystemPrompt(systemPrompt),
		refine.WithJudge(judge), refine.WithThreshold(9), refine.WithMaxIterations(3))
	if res != nil { // with an error too: the best attempt before it
		for _, a := range res.Attempts {
			fmt.Fprintf(stdout, "round %d: score %.1f (compiles %g, review %g) %q\n", a.Round, a.Verdict.Score,
				a.Verdict.Criteria["compiles"], a.Verdict.Criteria["review"], a.Verdict.Issues)
		}
		fmt.Fprintf(stdout, "\n=== best: round %d, score %.1f/10, stopped: %s ===\n%s\n", res.Attempts[res.Best].Round, res.Score, res.StopReason, res.Answer)
	}
	if err != nil {
		fmt.Fprintln(stderr, "codegen:", err)
		return 1
	}
	return 0
}
