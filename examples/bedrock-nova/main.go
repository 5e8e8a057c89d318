// Bedrock-nova: Amazon Nova Lite on Bedrock drafts a Korean coding answer,
// judges it and refines it (Self-Refine), and prints the first draft and the
// best answer with their scores.
//
//	AWS_REGION=us-east-1 go run ./examples/bedrock-nova   # AWS credentials from env, profile or SSO
//	go run ./examples/bedrock-nova -demo
//
// BEDROCK_MODEL_ID picks another model. -demo (or REFINE_DEMO=1) runs on
// refinetest.Simulator, which is not a model: every line printed is then
// labelled "[simulated]".
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
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/refinetest"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bedrock-nova", flag.ContinueOnError)
	demo := flags.Bool("demo", os.Getenv("REFINE_DEMO") == "1", "run on refinetest.Simulator, a stand-in that is not a model")
	if flags.Parse(args) != nil {
		return 2
	}
	query := cmp.Or(strings.Join(flags.Args(), " "), "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.")

	var p refine.Provider = simulatedNova()
	if *demo {
		stdout, stderr = refinetest.SimulatedWriter(stdout), refinetest.SimulatedWriter(stderr)
	} else if m, err := bedrock.FromEnv(ctx); err != nil { // region, credentials, BEDROCK_MODEL_ID (default Nova Lite)
		fmt.Fprintf(stderr, "%v\nSet AWS_REGION and AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE,\nor AWS_BEARER_TOKEN_BEDROCK), or run with -demo (REFINE_DEMO=1) to see the loop on a simulated model.\n", err)
		return 2
	} else {
		p = m
	}

	res, err := refine.Run(ctx, query,
		refine.WithProvider(p), // one model drafts, judges and refines
		refine.WithSystemPrompt("당신은 유용한 AI 비서입니다. 사용자의 질문에 정확하고 도움이 되는 답변을 제공하세요."),
		refine.WithTemperature(0.7), refine.WithTopP(0.9), refine.WithMaxTokens(500), // the judge keeps temperature 0
		refine.WithMaxIterations(2),
	)
	if res == nil {
		fmt.Fprintln(stderr, "bedrock-nova:", err) // not even the draft was judged
		return 1
	}
	draft := res.Attempts[0]
	fmt.Fprintf(stdout, "=== 초기 응답 (점수 %.1f/10) ===\n%s\n심사 의견: %q\n\n", draft.Verdict.Score, draft.Answer, draft.Verdict.Issues)
	fmt.Fprintf(stdout, "=== 개선된 최종 응답 (시도 %d/%d, 점수 %.1f/10, 종료: %s, 토큰 %d) ===\n%s\n",
		res.Best+1, len(res.Attempts), res.Score, res.StopReason, res.Usage.Total(), res.Answer)
	if err != nil { // a later round failed: the best answer so far is shown above
		fmt.Fprintln(stderr, "bedrock-nova:", err)
		return 1
	}
	return 0
}
