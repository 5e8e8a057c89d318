// Extract: turn invoices (one Korean, one English) into Go values with
// refine.RunTyped. Answers must be JSON following the schema inferred from
// Invoice (invoice.go) and pass a domain check (the lines and total add
// up); answers that do not are sent back with their problems until one
// passes and the judge is satisfied.
//
//	OPENAI_API_KEY=sk-... go run ./examples/extract
//	go run ./examples/extract -demo
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

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("extract", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	if flags.Parse(args) != nil {
		return 2
	}
	model := func(doc document) refine.Provider { return simulatedExtractor(doc) }
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to see the loop on a simulated model.\n", err)
		return 2
	} else {
		model = func(document) refine.Provider { return m }
	}

	code := 0
	for _, doc := range documents { // documents.go
		fmt.Fprintf(stdout, "=== %s ===\n", doc.title)
		res, err := refine.RunTyped[Invoice](ctx, nil,
			"Extract the invoice below into JSON. Copy names and descriptions as written; do not translate.\n\n"+doc.text,
			refine.WithProvider(model(doc)),
			refine.Check(addsUp), // the domain check the schema cannot express
		)
		for i := 0; res != nil && i < len(res.Result.Attempts); i++ { // valid or not, with what was wrong
			a := res.Result.Attempts[i]
			fmt.Fprintf(stdout, "round %d: score %g %q\n", a.Round, a.Verdict.Score, a.Verdict.Issues)
		}
		if err != nil { // no attempt was valid, or a call failed
			fmt.Fprintln(stderr, "extract:", err)
			code = 1
			continue
		}
		printInvoice(stdout, res.Value) // the best valid answer, decoded
	}
	return code
}
