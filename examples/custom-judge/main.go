// Custom-judge: your own rules (a support-reply policy written as a
// refine.JudgeFunc, in policy.go) gate an LLM judge: a reply that breaks a
// rule scores at most 4, however well written, and the broken rules are
// what the model is asked to fix.
//
//	OPENAI_API_KEY=sk-... go run ./examples/custom-judge ["customer message"]
//	go run ./examples/custom-judge -demo
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

const defaultMessage = "Ticket TCK-482913. I was charged twice for my subscription this month! I want my money back today."

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("custom-judge", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	if flags.Parse(args) != nil {
		return 2
	}
	message := cmp.Or(strings.Join(flags.Args(), " "), defaultMessage)

	var p refine.Provider = simulatedAgent()
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to see the loop on a simulated model.\n", err)
		return 2
	} else {
		p = m
	}

	judge := refine.NewCompositeJudge(refine.RuleMinimum,
		refine.JudgePart{Name: "policy", Judge: refine.JudgeFunc(policy), Pass: 10, Cap: 4}, // a gate: fail it, score ≤ 4
		refine.JudgePart{Name: "quality", Judge: refine.NewLLMJudge(p)},
	)
	res, err := refine.Run(ctx, message, refine.WithProvider(p), refine.WithJudge(judge), refine.WithMaxIterations(3),
		refine.WithSystemPrompt("You are a support agent at Acme Cloud. Reply to the customer: friendly, clear and short."))
	if res != nil { // with an error too: the best reply before it
		for _, a := range res.Attempts {
			fmt.Fprintf(stdout, "round %d: score %.1f (policy %.1f, quality %g) %q\n", a.Round, a.Verdict.Score,
				a.Verdict.Criteria["policy"], a.Verdict.Criteria["quality"], a.Verdict.Issues)
		}
		fmt.Fprintf(stdout, "\n=== reply to send (score %.1f/10, stopped: %s) ===\n%s\n", res.Score, res.StopReason, res.Answer)
	}
	if err != nil {
		fmt.Fprintln(stderr, "custom-judge:", err)
		return 1
	}
	return 0
}
