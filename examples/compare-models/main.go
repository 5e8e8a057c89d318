// Compare-models: two models answer one question and a pairwise judge picks
// the better answer, judged in both orders (an answer wins only if it wins
// both ways, which cancels the judge's bias for the first answer it reads).
//
//	OPENAI_API_KEY=sk-... go run ./examples/compare-models -a gpt-4o-mini -b gpt-4o ["question"]
//	go run ./examples/compare-models -demo
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
	flags := flag.NewFlagSet("compare-models", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	nameA := flags.String("a", cmp.Or(os.Getenv("OPENAI_MODEL"), openai.DefaultModel), "model A")
	nameB := flags.String("b", "gpt-4o", "model B")
	nameJudge := flags.String("judge", "", "the judge's model (default: model B; a third model is fairer)")
	if flags.Parse(args) != nil {
		return 2
	}
	question := cmp.Or(strings.Join(flags.Args(), " "), "강남은 왜 강남인가요?")

	a, b, judge := simulatedContest()
	if key, base := os.Getenv("OPENAI_API_KEY"), os.Getenv("OPENAI_BASE_URL"); *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if key == "" && base == "" {
		fmt.Fprintln(stderr, "Set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to see a comparison on simulated models.")
		return 2
	} else {
		opts := []openai.Option{openai.WithAPIKey(key)}
		if base != "" {
			opts = append(opts, openai.WithBaseURL(base))
		}
		a, b, judge = openai.New(*nameA, opts...), openai.New(*nameB, opts...), openai.New(cmp.Or(*nameJudge, *nameB), opts...)
	}

	var answers [2]string
	for i, p := range []refine.Provider{a, b} {
		zero := 0.0 // greedy: each model's most likely answer
		resp, err := p.Complete(ctx, &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: question}},
			Sampling: refine.Sampling{Temperature: &zero}})
		if err != nil {
			fmt.Fprintln(stderr, "compare-models:", err)
			return 1
		}
		answers[i] = resp.Text
		fmt.Fprintf(stdout, "=== %c (%s) ===\n%s\n\n", 'A'+i, resp.Model, resp.Text)
	}
	res, err := refine.NewPairwiseJudge(judge).Compare(ctx, question, answers[0], answers[1]) // both orders, concurrently
	if err != nil {
		fmt.Fprintln(stderr, "compare-models:", err)
		return 1
	}
	fmt.Fprintf(stdout, "A shown first: %s\nB shown first: %s\nwinner: %s\n", res.Orders[0], res.Orders[1], res.Winner)
	return 0
}
