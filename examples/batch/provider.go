package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/openai"
)

// pickProvider chooses the model as the quickstart does: the -provider
// flag, else OPENAI_API_KEY or OPENAI_BASE_URL (OpenAI or a compatible
// server such as Ollama), else BEDROCK_MODEL_ID, AWS_PROFILE or
// AWS_ACCESS_KEY_ID (Bedrock), else the SIMULATED model.
func pickProvider(ctx context.Context, name string, getenv func(string) string, stdout io.Writer) (refine.Provider, string, error) {
	if name == "" {
		switch {
		case getenv("OPENAI_API_KEY") != "" || getenv("OPENAI_BASE_URL") != "":
			name = "openai"
		case getenv("BEDROCK_MODEL_ID") != "" || getenv("AWS_PROFILE") != "" || getenv("AWS_ACCESS_KEY_ID") != "":
			name = "bedrock"
		default:
			fmt.Fprintln(stdout, "No model configured (OPENAI_API_KEY, OPENAI_BASE_URL, BEDROCK_MODEL_ID or AWS credentials): running a SIMULATED model.")
			name = "demo"
		}
	}
	switch name {
	case "openai":
		p, err := openai.FromEnv()
		if err != nil {
			return nil, "", err
		}
		return p, "OpenAI-compatible, " + cmp.Or(getenv("OPENAI_MODEL"), openai.DefaultModel), nil
	case "bedrock":
		p, err := bedrock.FromEnv(ctx)
		if err != nil {
			return nil, "", err
		}
		return p, "Amazon Bedrock, " + p.ModelID(), nil
	case "demo":
		return simulatedModel(), "SIMULATED (canned replies, not a real model)", nil
	}
	return nil, "", fmt.Errorf("unknown -provider %q (want openai, bedrock or demo)", name)
}

// simulatedModel stands in for a model on a machine without one: canned
// replies that show the batch, not a model's quality. Each call takes
// 20ms. As judge it gives a draft 3 to 7 (by the question's length) and
// 1.5 more for every refinement, so some questions stop at the threshold
// and some run out of rounds.
func simulatedModel() refine.Provider {
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		prompt := req.Messages[len(req.Messages)-1].Content
		var text string
		switch answer := tagged(prompt, "answer"); {
		case req.JSON:
			draft, _, _ := strings.Cut(answer, " +")
			score := 3 + float64(len(draft)%5) + 1.5*float64(strings.Count(answer, " +detail"))
			text = fmt.Sprintf(`{"score": %g, "issues": ["too short"], "suggestions": ["add a detail"], "assessment": "ok"}`, min(score, 10))
		case answer != "": // a refinement: the previous answer is in the prompt
			text = answer + " +detail"
		default:
			text = "Answer to: " + prompt
		}
		return &refine.Response{Text: text, Model: "simulated", FinishReason: refine.FinishStop,
			Usage: refine.Usage{InputTokens: len(strings.Fields(prompt)), OutputTokens: len(strings.Fields(text))}}, nil
	})
}

// tagged returns the text of the first <name-…>…</name-…> element of a
// prompt: refine fences answers in tags with a random marker.
func tagged(prompt, name string) string {
	_, rest, ok := strings.Cut(prompt, "<"+name+"-")
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, ">")
	body, _, _ := strings.Cut(rest, "</"+name+"-")
	return strings.TrimSpace(body)
}
