package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/openai"
)

// models are the raw providers a command calls: gen writes the answers,
// judge grades them (nil: gen does), pairwise compares two (nil: the judge
// does).
type models struct {
	gen, judge, pairwise refine.Provider
	label                string // what the user is told they are running
	simulated            bool
}

// noProvider explains how to configure a model; no call is made.
const noProvider = `no model configured. Configure one of:
  OPENAI_API_KEY=sk-...                 OpenAI (OPENAI_MODEL or --model picks the model)
  OPENAI_BASE_URL=http://host:port/v1   an OpenAI-compatible server (vLLM, LM Studio, a gateway)
  BEDROCK_MODEL_ID=... and AWS credentials with AWS_REGION, or AWS_PROFILE   AWS Bedrock
  --provider ollama                     a local Ollama server (--model, default llama3.2)
  --provider demo                       an offline SIMULATED model, to try the tool`

// setupModels picks the provider from --provider or, without it, from the
// environment, as the quickstart example does. Nothing here calls a model.
func (a *app) setupModels(ctx context.Context, f *flags) (*models, error) {
	if a.models != nil {
		return a.models, nil
	}
	name := f.provider
	if name == "" {
		switch {
		case a.getenv("OPENAI_API_KEY") != "" || a.getenv("OPENAI_BASE_URL") != "":
			name = "openai"
		case a.getenv("BEDROCK_MODEL_ID") != "" || a.getenv("AWS_PROFILE") != "" || a.getenv("AWS_ACCESS_KEY_ID") != "":
			name = "bedrock"
		default:
			return nil, usageError{fmt.Errorf("%s", noProvider)}
		}
	}
	m := &models{}
	switch name {
	case "openai":
		if _, err := openai.FromEnv(); err != nil { // checks the key and URL, naming the variable
			return nil, usageError{err}
		}
		model := firstOf(f.model, strings.TrimSpace(a.getenv("OPENAI_MODEL")), openai.DefaultModel)
		m.gen = openai.New(model, a.openaiOptions()...)
		m.label = "OpenAI-compatible, " + model
		if f.judgeModel != "" {
			m.judge = openai.New(f.judgeModel, a.openaiOptions()...)
			m.label += ", judge " + f.judgeModel
		}
	case "ollama":
		base := firstOf(strings.TrimSpace(a.getenv("OLLAMA_BASE_URL")), "http://localhost:11434/v1")
		model := firstOf(f.model, a.getenv("OLLAMA_MODEL"), "llama3.2")
		m.gen = openai.New(model, openai.WithBaseURL(base))
		m.label = "Ollama at " + base + ", " + model
		if f.judgeModel != "" {
			m.judge = openai.New(f.judgeModel, openai.WithBaseURL(base))
			m.label += ", judge " + f.judgeModel
		}
	case "bedrock":
		p, err := bedrock.FromEnv(ctx) // checks region and credentials
		if err != nil {
			return nil, usageError{err}
		}
		m.gen, m.label = p, "AWS Bedrock, "+p.Model()
		if f.model != "" {
			if m.gen, err = bedrockModel(ctx, f.model); err != nil {
				return nil, usageError{err}
			}
			m.label = "AWS Bedrock, " + f.model
		}
		if f.judgeModel != "" {
			if m.judge, err = bedrockModel(ctx, f.judgeModel); err != nil {
				return nil, usageError{err}
			}
			m.label += ", judge " + f.judgeModel
		}
	case "demo":
		if f.model != "" || f.judgeModel != "" {
			return nil, usageError{fmt.Errorf("--provider demo has a single simulated model; --model and --judge-model do not apply")}
		}
		m.gen, m.pairwise, m.simulated = demoModel(), demoModel().Pairwise(), true
		m.label = "offline demo model (SIMULATED: canned answers and scores, not a real LLM)"
	default:
		return nil, usageError{fmt.Errorf("unknown --provider %q (want openai, bedrock, ollama or demo)", name)}
	}
	return m, nil
}

// bedrockModel is a Bedrock provider for model, with the credentials and
// region FromEnv finds.
func bedrockModel(ctx context.Context, model string) (refine.Provider, error) {
	return bedrock.FromEnv(ctx, bedrock.WithModel(model))
}

func (a *app) openaiOptions() []openai.Option {
	var opts []openai.Option
	if k := strings.TrimSpace(a.getenv("OPENAI_API_KEY")); k != "" {
		opts = append(opts, openai.WithAPIKey(k))
	}
	if u := strings.TrimSpace(a.getenv("OPENAI_BASE_URL")); u != "" {
		opts = append(opts, openai.WithBaseURL(u))
	}
	return opts
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
