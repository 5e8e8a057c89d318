package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/selfrefine/refine"
)

// demoModel is a simulated model for machines with none configured: it
// drafts a thin answer, and each refinement adds what the critique asked
// for. As judge it grades by how much of that the answer covers. Its
// replies are canned; it shows the loop, not a model's quality.
func demoModel() refine.Provider {
	points := []string{
		"A goroutine is a function running concurrently with others, started with the go keyword.",
		"Goroutines are scheduled by the Go runtime onto a few OS threads, so they are cheap: a few kilobytes of stack each.",
		"Do not use one when the work is tiny and sequential: the coordination costs more than it saves.",
		"Every goroutine needs a way to end (a closed channel or a cancelled context), or it leaks.",
	}
	var calls atomic.Int32
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		calls.Add(1)
		last := req.Messages[len(req.Messages)-1].Content
		usage := refine.Usage{InputTokens: len(strings.Fields(last))}
		var text string
		switch {
		case req.JSON: // the judge
			covered := 0
			for _, p := range points {
				if strings.Contains(last, p) {
					covered++
				}
			}
			score := 1 + 2*covered // 3, 5, 7, then 9 with every point
			var issues, suggestions []string
			if covered < len(points) {
				issues = append(issues, fmt.Sprintf("%q is missing", strings.SplitN(points[covered], ",", 2)[0]))
				suggestions = append(suggestions, "add: "+points[covered])
			}
			text = fmt.Sprintf(`{"score": %d, "issues": %s, "suggestions": %s, "assessment": "covers %d of %d key points"}`,
				score, jsonList(issues), jsonList(suggestions), covered, len(points))
		case strings.Contains(last, "add: "): // a refinement: take the judge's suggestion
			i := strings.Index(last, "add: ")
			addition, _, _ := strings.Cut(last[i+len("add: "):], "\n")
			text = previousAnswer(last) + " " + addition
		default: // the draft
			text = points[0]
		}
		usage.OutputTokens = len(strings.Fields(text))
		return &refine.Response{Text: text, Usage: usage, Model: "demo", FinishReason: refine.FinishStop}, nil
	})
}

// previousAnswer takes the answer out of a refinement prompt.
func previousAnswer(prompt string) string {
	i := strings.Index(prompt, "<answer-")
	if i < 0 {
		return ""
	}
	rest := prompt[i:]
	rest = rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(rest, "\n</answer-")
	if end < 0 {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(rest[:end])
}

func jsonList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
