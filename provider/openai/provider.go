package openai

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
)

// Provider is a refine.Provider and refine.StreamProvider backed by the
// OpenAI Chat Completions API, or any server that speaks it (Azure OpenAI,
// Ollama, vLLM, llama.cpp, LM Studio, gateways). Build one with New or
// FromEnv.
//
// A Provider is immutable after New and safe for concurrent use by many
// goroutines. It retries transient failures itself (see WithRetry), so it
// is a refine.Retrier, and a refine.Validator reporting its configuration
// error.
type Provider struct {
	model      string
	client     *goopenai.Client
	reasoning  bool
	azure      bool
	deployment string // Azure deployment the model is sent to
	endpoint   string // base URL or Azure endpoint, redacted, for messages
	secrets    []string
	timeout    time.Duration
	schemaMode SchemaMode
	logger     *slog.Logger
	err        error        // configuration error, returned by every call
	batch      *batchEngine // WithBatch; nil: every call on demand (batch.go)

	policy refine.RetryPolicy
	// retry is the one retry layer, around this Provider's single-request
	// calls; nil when retries are off.
	retry refine.StreamProvider

	// One warning per dropped parameter per Provider, not one per call.
	warned [numDropped]sync.Once
}

// New returns a Provider that sends chat requests for model. With no
// options it talks to https://api.openai.com/v1 and needs WithAPIKey; see
// FromEnv to configure it from the environment.
//
// New never fails: a configuration error (an empty model name, a bad URL,
// conflicting options, no key for the official endpoint) is returned by
// every call, before anything is sent, naming the option and the value.
func New(model string, opts ...Option) *Provider {
	c := config{timeout: DefaultTimeout, maxBody: DefaultMaxResponseBytes}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	p := &Provider{model: model, logger: c.logger, endpoint: c.endpoint(), azure: c.azure,
		timeout: c.timeout, schemaMode: c.schemaMode, policy: c.retry, secrets: c.secrets()}
	if p.err = c.validate(model); p.err != nil {
		return p
	}
	p.reasoning = isReasoningModel(model)

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
	cfg.HTTPClient = &doer{next: hc, maxBody: c.maxBody, token: c.token}
	p.client = goopenai.NewClientWithConfig(cfg)
	if p.Retries() {
		p.retry = refine.RetryProvider(once{p}, c.retry).(refine.StreamProvider)
	}
	if c.batch != nil {
		p.initBatch(&c, cfg, hc)
	}
	return p
}

// secrets returns every credential the configuration holds, longest
// first, so that a secret containing another is removed whole: the API
// key, and the user info of the base URL or Azure endpoint in each form a
// server may echo it (see wire.URLSecrets).
func (c *config) secrets() []string {
	s := []string{c.apiKey}
	s = append(s, wire.URLSecrets(c.baseURL)...)
	s = append(s, wire.URLSecrets(c.azureEndpoint)...)
	return wire.SortSecrets(s)
}

// Validate reports the configuration error every call would return (an
// empty model name, a bad URL, conflicting options, no key for the
// official endpoint, an invalid WithRetry policy), or nil. refine.New and
// Run call it before any model call.
func (p *Provider) Validate() error { return p.err }

// Retries reports whether the Provider retries transient failures itself:
// true unless WithRetry was given a policy with MaxRetries < 0. It makes
// the Provider a refine.Retrier, which refine.RetryProvider does not wrap
// again.
func (p *Provider) Retries() bool { return p.policy.MaxRetries >= 0 }

// once is the Provider's single-request call path, which the retry layer
// wraps.
type once struct{ p *Provider }

func (o once) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return o.p.complete(ctx, req, false)
}

func (o once) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	return o.p.stream(ctx, req, delta, false)
}

// Model returns the model name the Provider sends with each request (for
// Azure, the model given to New; the deployment is derived from it).
func (p *Provider) Model() string { return p.model }

// Complete sends one chat completion request and maps the reply.
//
// The request's sampling reaches the wire as given: an explicit temperature
// or top_p of 0 is sent as 0 (go-openai alone would drop it), MaxTokens as
// max_tokens (max_completion_tokens for reasoning models), Stop, Seed,
// TopLogprobs as logprobs and top_logprobs, JSON as response_format
// {"type":"json_object"}, and Schema as described under "Structured
// output" in the package doc. For reasoning models the parameters they
// reject are dropped, with one warning per Provider (see the package doc).
//
// The Response carries the text, the token usage (with cached input and
// reasoning tokens when the server reports them), the model that answered
// and a normalised finish reason ("stop", "length", "content_filter", or
// the server's own word); Logprobs when they were asked for and returned.
//
// Errors: when ctx is done, an error satisfying errors.Is with ctx.Err().
// Otherwise a *refine.ProviderError (reachable with errors.As) whose Kind
// is ErrRateLimited (429; Permanent for insufficient_quota), ErrAuth
// (401, 403, a failing WithTokenSource), ErrContextLength (the prompt does
// not fit the model's context, on every server the package doc lists),
// ErrInvalidRequest (other 4xx, a schema strict mode cannot express), or
// ErrUnavailable (5xx, 408, network failures, WithTimeout passing,
// malformed success responses; Permanent for a response over
// WithMaxResponseBytes, a TLS failure or a host name that does not exist,
// which retrying cannot fix). It carries the status, the server's error code
// (or its type, when the code is only a number), its message, the
// Retry-After delay, and in Hint advice on the usual cause (a wrong base
// URL, an unknown model or Azure deployment, an exhausted quota). Its Err
// is go-openai's *openai.APIError, *openai.RequestError, or the network
// error. No error text contains the API key, a bearer token or URL
// credentials. Configuration errors wrap refine.ErrInvalidOption (or
// refine.ErrAuth for a missing key).
func (p *Provider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if p.err == nil && p.retry != nil && p.batch == nil {
		return p.retry.Complete(ctx, req)
	}
	return p.complete(ctx, req, p.batch != nil)
}

// complete is one attempt of Complete: one HTTP request.
//
// With batch set the call goes through the batch engine, which resubmits a
// line that failed transiently once by itself: the retry layer is not put
// around it (that would send a second batch per retry). A call the engine
// sends on demand (below MinRequests) goes through the retry layer then,
// as any call of a Provider without WithBatch.
func (p *Provider) complete(ctx context.Context, req *refine.Request, batch bool) (*refine.Response, error) {
	st, creq, fix, err := p.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if batch {
		if resp, direct, err := p.viaBatch(ctx, req, creq, st, fix); !direct {
			return resp, err
		}
		if p.retry != nil {
			return p.retry.Complete(ctx, req)
		}
	}
	callCtx, cancel := p.callContext(ctx)
	defer cancel()
	resp, err := p.client.CreateChatCompletion(context.WithValue(callCtx, callKey{}, st), creq)
	if err != nil {
		return nil, p.classify(ctx, callCtx, err, st)
	}
	return p.response(req, &resp, st, fix)
}

// prepare checks the request and builds go-openai's.
func (p *Provider) prepare(ctx context.Context, req *refine.Request) (*call, goopenai.ChatCompletionRequest, *nullFix, error) {
	if p.err != nil {
		return nil, goopenai.ChatCompletionRequest{}, nil, p.err
	}
	if req == nil || len(req.Messages) == 0 {
		return nil, goopenai.ChatCompletionRequest{}, nil, fmt.Errorf("openai: request without messages: %w", refine.ErrInvalidRequest)
	}
	if err := ctx.Err(); err != nil {
		return nil, goopenai.ChatCompletionRequest{}, nil, fmt.Errorf("openai: %w", err)
	}
	st := &call{}
	creq, fix, err := p.request(ctx, req, st)
	return st, creq, fix, err
}

// callContext applies WithTimeout.
func (p *Provider) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.timeout > 0 {
		return context.WithTimeout(ctx, p.timeout)
	}
	return context.WithCancel(ctx)
}

// request builds go-openai's request; fields go-openai would drop are put
// into st for the doer to write.
func (p *Provider) request(ctx context.Context, req *refine.Request, st *call) (goopenai.ChatCompletionRequest, *nullFix, error) {
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
			r.Temperature = float(st, "temperature", *t)
		}
	}
	if v := s.TopP; v != nil {
		if p.reasoning {
			p.dropped(ctx, dropTopP, *v)
		} else {
			r.TopP = float(st, "top_p", *v)
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
		if int64(seed) == *s.Seed {
			r.Seed = &seed
		} else { // 32-bit platforms: go-openai's Seed is an int
			st.put("seed", *s.Seed)
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
	var fix *nullFix
	switch {
	case req.Schema != nil:
		var err error
		if fix, err = p.structured(&r, req.Schema); err != nil {
			return r, nil, err
		}
	case req.JSON:
		r.ResponseFormat = &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return r, fix, nil
}

// float converts a sampling value for go-openai's float32 omitempty field.
// Zero would be dropped: the doer writes it into the body.
func float(st *call, key string, v float64) float32 {
	if v == 0 {
		st.put(key, 0)
	}
	return float32(v)
}

// response maps go-openai's response.
func (p *Provider) response(req *refine.Request, resp *goopenai.ChatCompletionResponse, st *call, fix *nullFix) (*refine.Response, error) {
	if len(resp.Choices) == 0 {
		return nil, p.noChoices(st)
	}
	ch := resp.Choices[0]
	out := &refine.Response{
		Text:         ch.Message.Content,
		Usage:        usage(resp.Usage),
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
	out.Text = fix.apply(out.Text)
	return out, nil
}

// noChoices is the error for a success response without an answer: an
// error object sent with status 200 (LM Studio does this for unknown
// paths), or a malformed reply. Both adapters treat a malformed success
// response as ErrUnavailable, retryable: it is what a proxy or a server
// restarting mid-reply produces, and a second attempt usually works.
func (p *Provider) noChoices(st *call) error {
	pe := &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: st.status}
	if f, ok := parseFault(0, st.head); ok {
		p.fromFault(pe, f, st)
		pe.StatusCode = st.status
		return pe
	}
	pe.Message = "the response has no choices: " + p.scrub(describeBody(st.head, st.header), st)
	return pe
}

func usage(u goopenai.Usage) refine.Usage {
	out := refine.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInputTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
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
