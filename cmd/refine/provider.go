package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
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
	label                string // what the user is told they are running; never holds a credential
	simulated            bool
	// secrets are the credentials the providers were configured with (API
	// key, a base URL's password, as typed and in their Basic-auth
	// encoding): nothing the command prints or writes may contain them,
	// even where a server echoes them back into an error.
	secrets []string
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
		m.gen = openai.New(model, a.openaiOptions(f.retries)...)
		m.label = "OpenAI-compatible, " + model
		if u := strings.TrimSpace(a.getenv("OPENAI_BASE_URL")); u != "" {
			m.label = "OpenAI-compatible at " + redactURL(u) + ", " + model
			m.secrets = append(m.secrets, urlSecrets(u)...)
		}
		if k := strings.TrimSpace(a.getenv("OPENAI_API_KEY")); k != "" {
			m.secrets = append(m.secrets, k)
		}
		if f.judgeModel != "" {
			m.judge = openai.New(f.judgeModel, a.openaiOptions(f.retries)...)
			m.label += ", judge " + f.judgeModel
		}
	case "ollama":
		base := firstOf(strings.TrimSpace(a.getenv("OLLAMA_BASE_URL")), "http://localhost:11434/v1")
		model := firstOf(f.model, a.getenv("OLLAMA_MODEL"), "llama3.2")
		m.gen = openai.New(model, openai.WithBaseURL(base), openai.WithRetry(retryPolicy(f.retries)))
		m.label = "Ollama at " + redactURL(base) + ", " + model
		m.secrets = urlSecrets(base)
		if f.judgeModel != "" {
			m.judge = openai.New(f.judgeModel, openai.WithBaseURL(base), openai.WithRetry(retryPolicy(f.retries)))
			m.label += ", judge " + f.judgeModel
		}
	case "bedrock":
		p, err := bedrock.FromEnv(ctx, bedrock.WithRetry(retryPolicy(f.retries))) // checks region and credentials
		if err != nil {
			return nil, usageError{err}
		}
		m.gen, m.label = p, "AWS Bedrock, "+p.Model()
		if f.model != "" {
			if m.gen, err = bedrockModel(ctx, f.model, f.retries); err != nil {
				return nil, usageError{err}
			}
			m.label = "AWS Bedrock, " + f.model
		}
		if f.judgeModel != "" {
			if m.judge, err = bedrockModel(ctx, f.judgeModel, f.retries); err != nil {
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
// region FromEnv finds and the --retries policy.
func bedrockModel(ctx context.Context, model string, retries int) (refine.Provider, error) {
	return bedrock.FromEnv(ctx, bedrock.WithModel(model), bedrock.WithRetry(retryPolicy(retries)))
}

// openaiOptions are the OpenAI adapter's options from the environment and
// the --retries policy.
func (a *app) openaiOptions(retries int) []openai.Option {
	opts := []openai.Option{openai.WithRetry(retryPolicy(retries))}
	if k := strings.TrimSpace(a.getenv("OPENAI_API_KEY")); k != "" {
		opts = append(opts, openai.WithAPIKey(k))
	}
	if u := strings.TrimSpace(a.getenv("OPENAI_BASE_URL")); u != "" {
		opts = append(opts, openai.WithBaseURL(u))
	}
	return opts
}

// retryPolicy is the --retries flag as the adapters' policy (0: their
// default of 3; -1: none). Retries belong to the adapters, so every call is
// retried by one rule and a Retry-After pause holds every worker that
// shares the provider.
func retryPolicy(n int) refine.RetryPolicy { return refine.RetryPolicy{MaxRetries: n} }

// redactURL is a base URL as it may be shown: scheme, host and path, with
// no user name, password or query (which may carry a key). An unparsable
// URL is not shown at all: it may be a credential pasted by mistake.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a base URL that does not parse)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// urlSecrets are the credentials in a base URL's userinfo: the password as
// typed and decoded, and the Basic-auth encoding a client sends of them.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw, base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pw))}
	if _, escaped, _ := strings.Cut(u.User.String(), ":"); escaped != pw {
		out = append(out, escaped) // percent-encoded, as it appears in the URL
	}
	return out
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
