// Calibrate: measure a judge against answers people have scored, then set
// the loop's threshold from what you measured. labelled.jsonl holds 20
// answers to 10 questions (four in Korean) with people's 0–10 scores; use
// your own file (JSON Lines: query, answer, reference, human).
//
//	OPENAI_API_KEY=sk-... go run ./examples/calibrate [my-labels.jsonl]
//	go run ./examples/calibrate -demo
//
// -demo (or REFINE_DEMO=1) measures a made-up judge that is lenient by one
// point, not a model: every line printed is then labelled "[simulated]".
package main

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/calibrate"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

//go:embed labelled.jsonl
var labelled []byte

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "measure a made-up judge (not a model)")
	if flags.Parse(args) != nil {
		return 2
	}
	b, err := labelled, error(nil)
	if path := flags.Arg(0); path != "" { // your own labels
		b, err = os.ReadFile(path)
	}
	var data []calibrate.Example
	if err == nil {
		data, err = calibrate.ReadExamples(bytes.NewReader(b))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmp.Or(flags.Arg(0), "labelled.jsonl"), err)
		return 2
	}

	var judge refine.Judge = simulatedJudge(data)
	withReference := func(string) refine.Judge { return judge }
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if p, err := openai.FromEnv(); err != nil {
		fmt.Fprintf(stderr, "%v\nSet OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (Ollama, vLLM, LM Studio…),\nor run with -demo (REFINE_DEMO=1) to measure a made-up judge.\n", err)
		return 2
	} else {
		judge = refine.NewLLMJudge(p)
		withReference = func(ref string) refine.Judge { return refine.NewLLMJudge(p, refine.WithReference(ref)) }
	}

	// 1. Measure: run the judge over the labelled answers.
	report, err := calibrate.Judge(ctx, judge, data, calibrate.WithRepeats(3), calibrate.WithReferenceJudge(withReference))
	if err != nil { // only when every judgement failed; report.Failures lists the others
		fmt.Fprintln(stderr, "calibrate:", err)
		return 1
	}
	fmt.Fprint(stdout, report) // agreement with people, bias, the judge's own noise
	// 2. Choose the threshold at which the answers the judge passes are good
	// (by people's scores, 8 or more) at least 90% of the time.
	threshold, err := report.Threshold(0.9)
	if err != nil {
		fmt.Fprintln(stderr, "calibrate:", err)
		return 1
	}
	// 3. Use it.
	fmt.Fprintf(stdout, "\nsuggested threshold: %.2f\nuse it:  refine.New(refine.WithJudge(judge), refine.WithThreshold(%.2f))\n", threshold, threshold)
	return 0
}
