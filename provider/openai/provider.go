package openai

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
)

// Provider is a refine.Provider backed by the OpenAI Chat Completions API,
// or any server that speaks it (Azure OpenAI, Ollama, vLLM, LM Studio,
// gateways). Build one with New or FromEnv.
//
// A Provider is immutable after New and safe for concurrent use by many
// goroutines. Each Complete call makes exactly one HTTP request: transient
// failures come back classified (see Complete) and are retried by
// refine.Complete, the loop's single retry layer, never here.
type Provider struct {
	model      string
	client     *goopenai.Client
	owned      bool // client built by New, with the doer of wire.go installed
	reasoning  bool
	azure      bool
	deployment string // Azure deployment the model is sent to
	endpoint   string // base URL or Azure endpoint, for messages
	logger     *slog.Logger
	err        error // configuration error, returned by every Complete

	// One warning per dropped parameter per Provider, not one per call.
	warned [numDropped]sync.Once
}

// New returns a Provider that sends chat requests for model. With no
// options it talks to https://api.openai.com/v1 and needs WithAPIKey; see
// FromEnv to configure it from the environment.
//
// New never fails: a configuration error (an empty model name, a bad URL,
// conflicting options, no key for the official endpoint) is returned by
// every call to Complete, before anything is sent, naming the option and
// the value.
func New(model string, opts ...Option) *Provider {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	p := &Provider{model: model, logger: c.logger, endpoint: c.endpoint(), azure: c.azure}
	if p.err = c.validate(model); p.err != nil {
		return p
	}
	p.reasoning = isReasoningModel(model)
	if c.client != nil {
		p.client = c.client
		p.endpoint = "the server of the WithClient client"
		return p
	}

	var cfg goopenai.ClientConfig
	if c.azure {
		cfg = goopenai.DefaultAzureConfig(c.apiKey, c.azureEndpoint)
		cfg.APIVersion = c.azureVersion
		if cfg.APIVersion == "" {
			cfg.APIVersion = DefaultAzureAPIVersion
		}
		if c.deploymentSet {
			name := c.deployment
			cfg.AzureModelMapperFunc = func(string) string { return name }
		}
		p.deployment = cfg.GetAzureDeploymentByModel(model)
	} else {
		cfg = goopenai.DefaultConfig(c.apiKey)
		if c.baseURL != "" {
			cfg.BaseURL = c.baseURL
		}
	}
	cfg.OrgID = c.org
	var hc goopenai.HTTPDoer = &http.Client{}
	if c.httpClient != nil {
		hc = c.httpClient
	}
	cfg.HTTPClient = &doer{next: hc}
	p.client = goopenai.NewClientWithConfig(cfg)
	p.owned = true
	return p
}

// Complete sends one chat completion request and maps the reply.
//
// The request's sampling reaches the wire as given: an explicit temperature
// or top_p of 0 is sent as 0 (go-openai alone would drop it), MaxTokens as
// max_tokens (max_completion_tokens for reasoning models), Stop, Seed, JSON
// as response_format {"type":"json_object"}, TopLogprobs as logprobs and
// top_logprobs. For reasoning models the parameters they reject are
// dropped, with one warning per Provider (see the package doc).
//
// The Response carries the text, the token usage, the model that answered
// and a normalised finish reason ("stop", "length", "content_filter", or the
// server's own word); Logprobs when they were asked for and returned.
//
// Errors: when ctx is done, an error satisfying errors.Is with ctx.Err().
// Otherwise a *refine.ProviderError (reachable with errors.As) whose Kind
// is ErrRateLimited (429; Permanent for insufficient_quota), ErrAuth
// (401, 403), ErrContextLength (context_length_exceeded), ErrInvalidRequest
// (other 4xx), or ErrUnavailable (5xx, 408, unreadable responses,
// unreachable server), with the status, the API's error code, its message
// and the Retry-After delay. Its Err is go-openai's *openai.APIError, or
// *openai.RequestError when the body was not an OpenAI error object (an
// HTML page from a proxy); such responses are classified by status like
// the others. Errors whose usual cause is the configuration (exhausted
// quota, unknown Azure deployment, wrong base URL) carry advice in front
// of the ProviderError: use errors.As, not a type assertion. Configuration
// errors wrap refine.ErrInvalidOption (or refine.ErrAuth for a missing key).
func (p *Provider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if p.err != nil {
		return nil, p.err
	}
	if req == nil || len(req.Messages) == 0 {
		return nil, fmt.Errorf("openai: request without messages: %w", refine.ErrInvalidRequest)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	st := &call{}
	creq, err := p.request(ctx, req, st)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.CreateChatCompletion(context.WithValue(ctx, callKey{}, st), creq)
	if err != nil {
		return nil, p.classify(ctx, err, st.header)
	}
	return p.response(req, &resp)
}

// request builds go-openai's request; fields go-openai would drop are put
// into st for the doer to write.
func (p *Provider) request(ctx context.Context, req *refine.Request, st *call) (goopenai.ChatCompletionRequest, error) {
	r := goopenai.ChatCompletionRequest{
		Model:    p.model,
		Messages: make([]goopenai.ChatCompletionMessage, len(req.Messages)),
	}
	for i, m := range req.Messages {
		r.Messages[i] = goopenai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content}
	}
	s := req.Sampling
	if t := s.Temperature; t != nil {
		if p.reasoning {
			p.dropped(ctx, dropTemperature, *t)
		} else {
			r.Temperature = p.float(st, "temperature", *t)
		}
	}
	if v := s.TopP; v != nil {
		if p.reasoning {
			p.dropped(ctx, dropTopP, *v)
		} else {
			r.TopP = p.float(st, "top_p", *v)
		}
	}
	if s.MaxTokens > 0 {
		// OpenAI deprecated max_tokens and its reasoning models reject it,
		// but Ollama and other compatible servers only read max_tokens.
		if p.reasoning {
			r.MaxCompletionTokens = s.MaxTokens
		} else {
			r.MaxTokens = s.MaxTokens
		}
	}
	if len(s.Stop) > 0 {
		r.Stop = s.Stop
	}
	if s.Seed != nil {
		seed := int(*s.Seed)
		switch {
		case int64(seed) == *s.Seed:
			r.Seed = &seed
		case p.owned: // 32-bit platforms: go-openai's Seed is an int
			st.put("seed", *s.Seed)
		default:
			return r, fmt.Errorf("openai: seed %d does not fit in an int on this platform: %w", *s.Seed, refine.ErrInvalidRequest)
		}
	}
	if req.TopLogprobs > 0 {
		if p.reasoning {
			p.dropped(ctx, dropLogprobs, req.TopLogprobs)
		} else {
			r.LogProbs = true
			r.TopLogProbs = req.TopLogprobs
		}
	}
	if req.JSON {
		r.ResponseFormat = &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return r, nil
}

// float converts a sampling value for go-openai's float32 omitempty field.
// Zero would be dropped: our own doer writes it into the body; with a
// client from WithClient the closest value go-openai sends is used.
func (p *Provider) float(st *call, key string, v float64) float32 {
	if v != 0 {
		return float32(v)
	}
	if p.owned {
		st.put(key, 0)
		return 0
	}
	return math.SmallestNonzeroFloat32
}

// response maps go-openai's response.
func (p *Provider) response(req *refine.Request, resp *goopenai.ChatCompletionResponse) (*refine.Response, error) {
	if len(resp.Choices) == 0 {
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName,
			Message: "the response has no choices"}
	}
	ch := resp.Choices[0]
	out := &refine.Response{
		Text:         ch.Message.Content,
		Usage:        refine.Usage{InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens},
		Model:        resp.Model,
		FinishReason: finishReason(string(ch.FinishReason)),
	}
	if out.Text == "" && ch.Message.Refusal != "" {
		// The model declined; its refusal is its answer.
		out.Text = ch.Message.Refusal
	}
	if out.Model == "" {
		out.Model = p.model
	}
	if req.TopLogprobs > 0 && ch.LogProbs != nil {
		out.Logprobs = logprobs(ch.LogProbs.Content)
	}
	return out, nil
}

// finishReason normalises the finish reasons of OpenAI and of compatible
// servers that pass their backend's word through.
func finishReason(r string) string {
	switch strings.ToLower(r) {
	case "stop", "eos", "end_turn", "stop_sequence":
		return refine.FinishStop
	case "length", "max_tokens":
		return refine.FinishLength
	case "content_filter":
		return refine.FinishContentFilter
	case "null":
		return ""
	}
	return r
}

func logprobs(content []goopenai.LogProb) []refine.TokenLogprob {
	if len(content) == 0 {
		return nil
	}
	out := make([]refine.TokenLogprob, len(content))
	for i, lp := range content {
		out[i] = refine.TokenLogprob{Token: lp.Token, Logprob: lp.LogProb}
		if len(lp.TopLogProbs) > 0 {
			out[i].Top = make([]refine.TokenLogprob, len(lp.TopLogProbs))
			for j, alt := range lp.TopLogProbs {
				out[i].Top[j] = refine.TokenLogprob{Token: alt.Token, Logprob: alt.LogProb}
			}
		}
	}
	return out
}
