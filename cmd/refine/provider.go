package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/openai"
)

// models are the raw providers a command calls: gen writes the answers,
// judge grades them (nil: gen does), pairwise compares two (nil: the judge
// does), baseline answers eval's one-call arm (nil: no such arm).
type models struct {
	gen, judge, pairwise, baseline refine.Provider
	label                          string // what the user is told they are running; never holds a credential
	simulated                      bool
	// compareModel names the comparison judge's model, as configured;
	// compareDefault is true when no --compare-model chose it (then it is
	// the loop's judge model).
	compareModel   string
	compareDefault bool
	// secrets are the credentials the providers were configured with (API
	// key, a base URL's password, as typed and in their Basic-auth
	// encoding): nothing the command prints or writes may contain them,
	// even where a server echoes them back into an error.
	secrets []string
	// closers are the batch Providers (--batch-api), closed on exit, and
	// journals their journal files.
	closers  []closer
	journals []string
}

// batched returns a constructor of batch Providers for setupModels: one
// per distinct model (a judge on the writer's model shares its batches),
// each with the journal of the role it is first made for.
func (m *models) batched(cfg *batchConfig, build func(model string, opts ...openai.Option) *openai.Provider) func(model, role string) refine.Provider {
	made := map[string]*openai.Provider{}
	return func(model, role string) refine.Provider {
		if p, ok := made[model]; ok {
			return p
		}
		o := cfg.opts
		o.Journal = cfg.journal(role)
		p := build(model, openai.WithBatch(o))
		made[model] = p
		m.closers = append(m.closers, p)
		m.journals = append(m.journals, o.Journal)
		return p
	}
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
		newP := func(model, role string) refine.Provider { return openai.New(model, a.openaiOptions(f.retries)...) }
		if f.batch != nil {
			newP = m.batched(f.batch, func(model string, opts ...openai.Option) *openai.Provider {
				return openai.New(model, append(a.openaiOptions(f.retries), opts...)...)
			})
		}
		m.gen = newP(model, "")
		m.label = "OpenAI-compatible, " + model
		if u := strings.TrimSpace(a.getenv("OPENAI_BASE_URL")); u != "" {
			m.label = "OpenAI-compatible at " + redactURL(u) + ", " + model
			m.secrets = append(m.secrets, urlSecrets(u)...)
		}
		if k := strings.TrimSpace(a.getenv("OPENAI_API_KEY")); k != "" {
			m.secrets = append(m.secrets, k)
		}
		if f.judgeModel != "" {
			m.judge = newP(f.judgeModel, "judge")
			m.label += ", judge " + f.judgeModel
		}
		if err := m.more(f, func(model, role string) (refine.Provider, error) {
			return newP(model, role), nil
		}); err != nil {
			return nil, usageError{err}
		}
	case "ollama":
		base := firstOf(strings.TrimSpace(a.getenv("OLLAMA_BASE_URL")), "http://localhost:11434/v1")
		model := firstOf(f.model, a.getenv("OLLAMA_MODEL"), "llama3.2")
		newP := func(model, role string) refine.Provider {
			return openai.New(model, openai.WithBaseURL(base), openai.WithRetry(retryPolicy(f.retries)))
		}
		if f.batch != nil {
			return nil, usageError{errors.New("--batch-api with --provider ollama: Ollama serves no batch API (/v1/files, /v1/batches); use --provider openai with OPENAI_BASE_URL for a server that does, or run without --batch-api")}
		}
		m.gen = newP(model, "")
		m.label = "Ollama at " + redactURL(base) + ", " + model
		m.secrets = urlSecrets(base)
		if f.judgeModel != "" {
			m.judge = newP(f.judgeModel, "judge")
			m.label += ", judge " + f.judgeModel
		}
		if err := m.more(f, func(model, role string) (refine.Provider, error) {
			return newP(model, role), nil
		}); err != nil {
			return nil, usageError{err}
		}
	case "bedrock":
		if f.batch != nil {
			// bedrock.WithBatch (batch inference through S3, a service
			// role) needs flags of its own: --batch-role, --batch-input,
			// --batch-output.
			return nil, usageError{errors.New("--batch-api with --provider bedrock is not yet supported by the CLI (Bedrock batch inference needs an S3 location and a service role); use --provider openai, or run without --batch-api")}
		}
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
		if err := m.more(f, func(model, _ string) (refine.Provider, error) {
			return bedrockModel(ctx, model, f.retries)
		}); err != nil {
			return nil, usageError{err}
		}
	case "demo":
		if f.batch != nil {
			return nil, usageError{errors.New("--batch-api needs a provider with a batch API (--provider openai, or an OpenAI-compatible server that serves /v1/batches); the demo model has none")}
		}
		if f.model != "" || f.judgeModel != "" || f.compareModel != "" || f.baselineModel != "" {
			return nil, usageError{fmt.Errorf("--provider demo has a single simulated model; --model, --judge-model, --compare-model and --baseline-model do not apply")}
		}
		m.gen, m.pairwise, m.simulated = demoModel(), demoModel().Pairwise(), true
		m.compareModel = "the demo's simulated pairwise judge"
		m.label = "offline demo model (SIMULATED: canned answers and scores, not a real LLM)"
	default:
		return nil, usageError{fmt.Errorf("unknown --provider %q (want openai, bedrock, ollama or demo)", name)}
	}
	return m, nil
}

// more builds the providers of eval and compare: the comparison judge on
// --compare-model (by default the loop's judge model, which the report
// then warns of) and the one-call arm on --baseline-model.
func (m *models) more(f *flags, build func(model, role string) (refine.Provider, error)) error {
	m.compareModel = firstOf(f.compareModel, modelName(m.judge), modelName(m.gen))
	m.compareDefault = f.compareModel == ""
	if f.compareModel != "" {
		p, err := build(f.compareModel, "compare")
		if err != nil {
			return fmt.Errorf("--compare-model %s: %w", f.compareModel, err)
		}
		m.pairwise = p
		m.label += ", comparison judge " + f.compareModel
	}
	if f.baselineModel != "" {
		p, err := build(f.baselineModel, "baseline")
		if err != nil {
			return fmt.Errorf("--baseline-model %s: %w", f.baselineModel, err)
		}
		m.baseline = p
	}
	return nil
}

// sameJudge says why the comparison judge is not independent of the
// answers it grades, or "" when it is: the loop's own judge (the loop
// optimised its answers toward it) or a model that wrote them (a model
// grading its own answers is lenient). Either overstates the gain. wrote
// names the models that wrote answers, as configured and as answered;
// loop is false for compare, which runs no loop of its own: wrote are
// then the models that answered the compared runs' calls.
func (m *models) sameJudge(wrote []string, loop bool) string {
	if m.simulated || m.compareModel == "" {
		return ""
	}
	loopJudge := firstOf(modelName(m.judge), modelName(m.gen))
	switch {
	case loop && m.compareDefault:
		return fmt.Sprintf("the comparison judge is the loop's own judge model (%s): the loop optimised its answers toward it, so the gain is overstated; judge with another model (--compare-model)", m.compareModel)
	case loop && m.compareModel == loopJudge:
		return fmt.Sprintf("the comparison judge (%s) is the loop's own judge model: the loop optimised its answers toward it, so the gain is overstated; judge with another model", m.compareModel)
	case loop && slices.Contains(wrote, m.compareModel):
		return fmt.Sprintf("the comparison judge (%s) wrote answers it grades: a model grading its own answers is lenient, so the gain is overstated; judge with another model", m.compareModel)
	case slices.Contains(wrote, m.compareModel):
		return fmt.Sprintf("the comparison judge (%s) answered calls of the runs it compares (as their writer or their loop's judge): it is lenient toward answers it wrote or trained; judge with another model (--compare-model)", m.compareModel)
	}
	return ""
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
