package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/selfrefine/refine"
)

func (a *app) askCommand(f *flags) *cobra.Command {
	var reference string
	cmd := &cobra.Command{
		Use:   `ask [flags] "question"`,
		Short: "Refine the answer to one question, printing every round",
		Example: `  refine ask --provider demo "What is a goroutine?"
  OPENAI_API_KEY=sk-... refine ask --model gpt-4o-mini --judge-model gpt-4o "고루틴은 언제 쓰면 안 되나요?"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := strings.Join(args, " ")
			if refine.IsBlank(query) {
				return usageError{fmt.Errorf("ask: the question is empty")}
			}
			s, err := a.newSession(cmd, f, 0)
			if err != nil {
				return err
			}
			return a.ask(cmd.Context(), f, s, query, reference)
		},
	}
	cmd.Flags().StringVar(&reference, "reference", "", "a reference answer the judge checks against")
	return cmd
}

// roundKey names an attempt: the round and, for first drafts, the candidate.
type roundKey struct{ round, candidate int }

func (a *app) ask(ctx context.Context, f *flags, s *session, query, reference string) error {
	out := a.stdout
	p := &askPrinter{w: out, s: s, scrub: a.scrub, stream: f.candidates == 1, spent: map[roundKey]*spend{}}
	if !f.json {
		fmt.Fprintf(out, "model: %s\nquestion: %s\n\n", s.models.label, query)
	}
	opts := s.taskOptions(reference)
	if !f.json {
		opts = append(opts, refine.WithObserver(p.event))
	}
	res, err := s.loop.Run(ctx, query, opts...)
	if f.json {
		line := resultLine{Query: query, Model: s.models.label, Result: res}
		if err != nil {
			line.Error = a.scrub(err.Error())
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(line); werr != nil {
			return werr
		}
	} else if res != nil {
		p.endStream()
		cost := ""
		if res.CostKnown {
			cost = fmt.Sprintf(", $%.4f", res.Cost)
		}
		fmt.Fprintf(out, "\n=== answer (attempt %d, score %s/10, stopped: %s, %d tokens%s, %s) ===\n%s\n",
			res.Best, fmtScore(res.Score), res.StopReason, res.Usage.Total(), cost, res.Duration.Round(time.Millisecond), res.Answer)
	}
	if err != nil {
		if f.json {
			return failed(ctx)
		}
		return err
	}
	return nil
}

// failed is the error of a command that already printed its outcome.
func failed(ctx context.Context) error {
	if ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	return exitError{exitFailed}
}

type spend struct {
	usage refine.Usage
	cost  float64
	known bool
}

// askPrinter prints a run's events as they come: streamed answer text,
// then each attempt's score, issues, tokens and cost.
type askPrinter struct {
	w      io.Writer
	s      *session
	scrub  func(string) string
	stream bool

	mu        sync.Mutex
	streaming bool
	spent     map[roundKey]*spend
}

func (p *askPrinter) event(_ context.Context, e refine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := roundKey{e.Round, e.Candidate}
	switch e.Kind {
	case refine.EventDelta:
		if !p.stream {
			return
		}
		if !p.streaming {
			fmt.Fprintf(p.w, "%s> ", label(e.Round))
			p.streaming = true
		}
		fmt.Fprint(p.w, e.Delta)
	case refine.EventCall:
		if e.Response == nil {
			return
		}
		sp := p.spent[k]
		if sp == nil {
			sp = &spend{known: true}
			p.spent[k] = sp
		}
		sp.usage = sp.usage.Add(e.Response.Usage)
		c, ok := p.s.cost(e.Response.Model, e.Response.Usage)
		sp.cost += c
		sp.known = sp.known && ok
	case refine.EventJudged:
		p.endStream()
		name := label(e.Round)
		if e.Candidate > 0 {
			name = fmt.Sprintf("draft %d", e.Candidate+1)
		}
		tokens, cost := "", ""
		if sp := p.spent[k]; sp != nil {
			tokens = fmt.Sprintf("  tokens %d", sp.usage.Total())
			if sp.known {
				cost = fmt.Sprintf("  $%.4f", sp.cost)
			}
		}
		fmt.Fprintf(p.w, "%-8s score %4.1f/10%s%s\n", name, e.Score, tokens, cost)
		if e.Verdict != nil {
			for i, issue := range e.Verdict.Issues {
				if i == 3 {
					break
				}
				fmt.Fprintf(p.w, "         - %s\n", oneLine(issue, 100))
			}
		}
	case refine.EventRetry:
		p.endStream()
		fmt.Fprintf(p.w, "         (retrying in %s: %s)\n", e.Delay.Round(time.Millisecond), p.scrub(fmt.Sprint(e.Err)))
	}
}

func (p *askPrinter) endStream() {
	if p.streaming {
		fmt.Fprintln(p.w)
		p.streaming = false
	}
}

func label(round int) string {
	if round == 0 {
		return "draft"
	}
	return fmt.Sprintf("round %d", round)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
