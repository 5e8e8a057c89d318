// Quickstart: refine one question with whatever model this machine has.
// It picks OpenAI(-compatible), Bedrock or a local Ollama from the
// environment, or runs a clearly labelled offline demo model, and prints
// every round: score, the judge's main issues, tokens; then the answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/openai"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: the test calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	providerName := fs.String("provider", "", "openai, bedrock, ollama or demo (default: from the environment)")
	model := fs.String("model", "", "model name or Bedrock model id (default: the provider's)")
	rounds := fs.Int("rounds", refine.DefaultMaxIterations, "refinement rounds after the draft")
	threshold := fs.Float64("threshold", refine.DefaultThreshold, "stop once an answer scores at least this (0-10)")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: go run ./examples/quickstart [flags] "your question"`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	query := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(query) == "" {
		query = "What is a goroutine, and when should I not use one?"
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	p, label, err := pickProvider(ctx, *providerName, *model, getenv, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	fmt.Fprintf(stdout, "model: %s\nquestion: %s\n\n", label, query)

	res, err := refine.Run(ctx, query,
		refine.WithProvider(p),
		refine.WithMaxIterations(*rounds),
		refine.WithThreshold(*threshold),
		refine.WithObserver(func(_ context.Context, e refine.Event) { printEvent(stdout, e) }),
	)
	if res != nil {
		fmt.Fprintf(stdout, "\n=== final answer (attempt %d, score %.1f/10, stopped: %s, %d tokens, %s) ===\n%s\n",
			res.Best, res.Score, res.StopReason, res.Usage.Total(), res.Duration.Round(time.Millisecond), res.Answer)
	}
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	return 0
}

func printEvent(w io.Writer, e refine.Event) {
	switch e.Kind {
	case refine.EventJudged:
		label := "draft"
		if e.Round > 0 {
			label = fmt.Sprintf("round %d", e.Round)
		}
		fmt.Fprintf(w, "%-8s score %4.1f/10  judge tokens %d\n", label, e.Score, e.Usage.Total())
		for i, issue := range e.Verdict.Issues {
			if i == 2 {
				break
			}
			fmt.Fprintf(w, "         - %s\n", oneLine(issue, 100))
		}
	case refine.EventRetry:
		fmt.Fprintf(w, "         (retrying in %s: %v)\n", e.Delay.Round(time.Millisecond), e.Err)
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// pickProvider chooses the model: the -provider flag, else the environment
// (OPENAI_API_KEY or OPENAI_BASE_URL → OpenAI-compatible; BEDROCK_MODEL_ID,
// AWS_PROFILE or AWS_ACCESS_KEY_ID → Bedrock), else an Ollama server on
// localhost:11434, else the offline demo.
func pickProvider(ctx context.Context, name, model string, getenv func(string) string, stdout io.Writer) (refine.Provider, string, error) {
	if name == "" {
		switch {
		case getenv("OPENAI_API_KEY") != "" || getenv("OPENAI_BASE_URL") != "":
			name = "openai"
		case getenv("BEDROCK_MODEL_ID") != "" || getenv("AWS_PROFILE") != "" || getenv("AWS_ACCESS_KEY_ID") != "":
			name = "bedrock"
		case ollamaUp(ctx):
			name = "ollama"
		default:
			fmt.Fprintln(stdout, "No model configured (OPENAI_API_KEY, OPENAI_BASE_URL, BEDROCK_MODEL_ID, AWS credentials or Ollama on localhost:11434): running the offline demo model.")
			name = "demo"
		}
	}
	switch name {
	case "openai":
		p, err := openai.FromEnv()
		if err != nil {
			return nil, "", err
		}
		if model != "" {
			p = openai.New(model, openaiOptions(getenv)...)
		}
		return p, "OpenAI-compatible (" + orDefault(model, getenv("OPENAI_MODEL"), "default model") + ")", nil
	case "bedrock":
		p, err := bedrock.FromEnv(ctx)
		if err != nil {
			return nil, "", err
		}
		if model != "" {
			return nil, "", errors.New("for Bedrock, set the model with BEDROCK_MODEL_ID")
		}
		return p, "AWS Bedrock (" + orDefault(getenv("BEDROCK_MODEL_ID"), "us.amazon.nova-lite-v1:0") + ")", nil
	case "ollama":
		m := orDefault(model, getenv("OLLAMA_MODEL"), "llama3.2")
		return openai.New(m, openai.WithBaseURL("http://localhost:11434/v1")), "Ollama (" + m + ")", nil
	case "demo":
		return demoModel(), "offline demo model (SIMULATED: canned answers, not a real LLM)", nil
	}
	return nil, "", fmt.Errorf("unknown -provider %q (want openai, bedrock, ollama or demo)", name)
}

func openaiOptions(getenv func(string) string) []openai.Option {
	var opts []openai.Option
	if k := getenv("OPENAI_API_KEY"); k != "" {
		opts = append(opts, openai.WithAPIKey(k))
	}
	if u := getenv("OPENAI_BASE_URL"); u != "" {
		opts = append(opts, openai.WithBaseURL(u))
	}
	return opts
}

func orDefault(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// ollamaUp reports whether something listens on Ollama's port.
func ollamaUp(ctx context.Context) bool {
	d := net.Dialer{Timeout: 300 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", "127.0.0.1:11434")
	if err != nil {
		return false
	}
	c.Close()
	return true
}
