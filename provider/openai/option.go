package openai

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
)

// DefaultModel is the model FromEnv uses when OPENAI_MODEL is not set: a
// current small, cheap model that follows instructions and JSON mode well.
const DefaultModel = "gpt-4o-mini"

// DefaultAzureAPIVersion is the Azure OpenAI API version WithAzure uses
// when given an empty one. go-openai's own default (2023-05-15) predates
// JSON mode, seeds and log-probabilities on Azure.
const DefaultAzureAPIVersion = "2024-10-21"

// officialBaseURL is where requests go when no base URL is given.
const officialBaseURL = "https://api.openai.com/v1"

// DefaultTimeout is the limit WithTimeout sets when it is not given: how
// long Complete may take, sending the request and reading the whole reply,
// and how long a Stream may go without data. It is the number the official
// OpenAI SDKs use (as a read timeout), long enough for a slow reasoning
// model to begin and short enough that a frozen server does not block a
// run without a deadline forever.
const DefaultTimeout = 10 * time.Minute

// DefaultMaxResponseBytes caps the size of one response body when
// WithMaxResponseBytes is not given. The largest real replies, long
// answers with 20 log-probabilities per token, are a few MiB; a body that
// never ends would otherwise grow the heap until the process dies.
const DefaultMaxResponseBytes = 32 << 20

// An Option configures a Provider. Options are applied in order, so the
// last one of a kind wins; options that contradict each other (WithAzure
// with WithBaseURL, WithTokenSource with WithAPIKey) are an error. New does not return an error: a bad value (an
// unparsable URL, conflicting options, no API key for the official
// endpoint) is reported by every call to Complete, before any request is
// sent, as an error that names the option and the value and wraps
// refine.ErrInvalidOption (refine.ErrAuth for a missing key). A nil Option
// is ignored.
type Option func(*config)

type config struct {
	apiKey     string
	apiKeySet  bool
	baseURL    string
	baseURLSet bool
	org        string
	orgSet     bool

	httpClient    *http.Client
	httpClientSet bool

	azure                       bool
	azureEndpoint, azureVersion string
	deployment                  string
	deploymentSet               bool

	logger *slog.Logger

	timeout    time.Duration
	timeoutSet bool
	maxBody    int64
	maxBodySet bool
	token      func(context.Context) (string, error)
	tokenSet   bool
	schemaMode SchemaMode

	batch *BatchOptions // WithBatch; nil: on demand
	retry refine.RetryPolicy
}

// WithAPIKey sets the API key. It is sent as "Authorization: Bearer <key>",
// or as the "api-key" header with WithAzure. An empty key sends no
// Authorization header at all, which is what local servers (Ollama, vLLM,
// LM Studio) expect; the official endpoint needs a key.
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey, c.apiKeySet = key, true }
}

// WithBaseURL sends requests to an OpenAI-compatible server instead of
// https://api.openai.com/v1: Ollama (http://localhost:11434/v1), vLLM
// (http://localhost:8000/v1), LM Studio (http://localhost:1234/v1) or an
// LLM gateway. Requests go to url + "/chat/completions", so the URL must
// include the server's API prefix (usually /v1). It cannot be combined with
// WithAzure, which takes the Azure endpoint itself.
func WithBaseURL(url string) Option {
	return func(c *config) { c.baseURL, c.baseURLSet = url, true }
}

// WithOrganization sets the OpenAI organization ID sent in the
// OpenAI-Organization header, for keys that belong to several
// organizations.
func WithOrganization(org string) Option {
	return func(c *config) { c.org, c.orgSet = org, true }
}

// WithHTTPClient sends requests through hc instead of a plain &http.Client{}:
// for proxies, custom TLS or tracing transports. The adapter still wraps it
// (to send temperature 0, read Retry-After and cap the response size). The
// adapter does the retrying (WithRetry): do not give hc a transport that
// retries on its own, or the retries multiply. For deadlines use
// WithTimeout or contexts. A nil hc is an error.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient, c.httpClientSet = hc, true }
}

// WithRetry sets how the Provider retries transient failures: rate
// limits (429, except an exhausted quota), 5xx, 408, network failures,
// WithTimeout passing and malformed success responses. Retries are on by
// default with the zero policy (3 retries, backoff from 500ms up to 20s, a
// Retry-After of up to 2 minutes waited out); RetryPolicy{MaxRetries: -1}
// turns them off, so that each call makes exactly one request.
//
// Retrying is the adapter's, so a call is retried by the same rule however
// the Provider reaches a run: refine.WithProvider, WithJudgeProvider, a
// judge built on it, a part of a composite judge, the regression guard.
// The Provider is a refine.Retrier, so refine.RetryProvider adds no second
// layer around it: a policy of N retries is N+1 requests per call at most.
// A delay the server asks for (Retry-After, retry-after-ms, OpenAI's
// x-ratelimit-reset-* headers) pauses every call through this Provider
// until it has passed, and no other Provider. A Stream is retried only
// before its first piece of text was delivered. A policy with a negative
// duration, or Max below Base, is an error.
func WithRetry(policy refine.RetryPolicy) Option {
	return func(c *config) { c.retry = policy }
}

// WithAzure talks to Azure OpenAI: endpoint is the resource's URL (such as
// https://my-resource.openai.azure.com), apiVersion the API version sent as
// the api-version query parameter (empty: DefaultAzureAPIVersion). Requests
// go to {endpoint}/openai/deployments/{deployment}/chat/completions and the
// key (WithAPIKey, required) is sent in the api-key header. The deployment
// is named by WithAzureDeployment; by default it is the model name passed
// to New, with the changes go-openai makes (":" removed, and "." too in
// gpt-3.5 names: gpt-3.5-turbo is deployment gpt-35-turbo).
func WithAzure(endpoint, apiVersion string) Option {
	return func(c *config) {
		c.azure, c.azureEndpoint, c.azureVersion = true, endpoint, apiVersion
	}
}

// WithAzureDeployment names the Azure deployment that serves the Provider's
// model, when it is not named after the model (the usual cause of a 404
// DeploymentNotFound). The model name given to New is still used to decide
// how to talk to the model (reasoning models, see the package doc). Only
// with WithAzure.
func WithAzureDeployment(name string) Option {
	return func(c *config) { c.deployment, c.deploymentSet = name, true }
}

// WithTokenSource sends "Authorization: Bearer <token>" with a token
// obtained from fn for every request (fn is called once per request, with
// the request's context, so it can cache and refresh as it likes). It is
// how Azure OpenAI is used with Microsoft Entra ID instead of a key:
//
//	openai.New("gpt-4o",
//		openai.WithAzure("https://my-resource.openai.azure.com", ""),
//		openai.WithTokenSource(func(ctx context.Context) (string, error) {
//			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{
//				Scopes: []string{"https://cognitiveservices.azure.com/.default"}})
//			return tok.Token, err
//		}))
//
// and works the same for gateways that take short-lived bearer tokens. It
// replaces WithAPIKey (they cannot be combined). An error from fn, or an
// empty token, fails the call with an error wrapping refine.ErrAuth; the
// token never appears in an error or log. A nil fn is an error.
func WithTokenSource(fn func(ctx context.Context) (string, error)) Option {
	return func(c *config) { c.token, c.tokenSet = fn, true }
}

// WithTimeout bounds each call. Complete: sending the request, waiting for
// the reply and reading all of it. Stream: the time without data, before
// the reply begins and between two pieces of it, so a slow server that
// keeps writing a long answer is never cut off. A server that accepts the
// connection and then stalls, before or in the middle of its reply, fails
// the call with an error wrapping refine.ErrUnavailable (retried, see
// WithRetry, unless deltas were delivered) once d has passed.
// The caller's context still applies when it ends sooner.
// Default DefaultTimeout; 0 means no limit but the context's. A negative d
// is an error.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout, c.timeoutSet = d, true }
}

// WithMaxResponseBytes caps the size of each response body at n bytes
// (default DefaultMaxResponseBytes); for a stream it caps each event, and
// the whole stream at 8n, since a stream's framing costs a few hundred
// bytes per token of text. A larger response
// fails the call with a *refine.ProviderError of kind ErrUnavailable marked
// Permanent (a retry would read it again), whose message names the limit;
// memory stays bounded however much the server sends. n < 1 is an error.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) { c.maxBody, c.maxBodySet = n, true }
}

// WithLogger sets the logger for the adapter's warnings (parameters dropped
// for reasoning models). Default: slog.Default() at the time of the
// warning. The adapter logs only those warnings, with the model name, the
// parameter and its value: never prompts, answers, keys, tokens or URLs.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// validate checks the final configuration and returns the error every
// call will report, or nil. URLs in its messages are redacted.
func (c *config) validate(model string) error {
	if strings.TrimSpace(model) == "" {
		return fmt.Errorf("openai: New(%q): empty model name: %w", model, refine.ErrInvalidOption)
	}
	switch {
	case c.timeoutSet && c.timeout < 0:
		return optionError("WithTimeout", c.timeout.String(), "must be >= 0 (0: no limit but the context's)")
	case c.maxBodySet && c.maxBody < 1:
		return optionError("WithMaxResponseBytes", fmt.Sprint(c.maxBody), "must be >= 1")
	case c.tokenSet && c.token == nil:
		return optionError("WithTokenSource", "nil", "token source must not be nil")
	case c.tokenSet && c.apiKeySet:
		return optionError("WithTokenSource", "fn", "cannot be combined with WithAPIKey: the token replaces the key")
	}
	if err := c.schemaMode.validate(); err != nil {
		return err
	}
	if err := checkRetry(c.retry); err != nil {
		return err
	}
	if c.httpClientSet && c.httpClient == nil {
		return optionError("WithHTTPClient", "nil", "HTTP client must not be nil")
	}
	if c.deploymentSet && !c.azure {
		return optionError("WithAzureDeployment", fmt.Sprintf("%q", c.deployment), "only applies with WithAzure")
	}
	if c.azure {
		endpoint := wire.RedactURL(c.azureEndpoint)
		if c.baseURLSet {
			return optionError("WithBaseURL", fmt.Sprintf("%q", wire.RedactURL(c.baseURL)), "cannot be combined with WithAzure, which sets the endpoint")
		}
		if err := checkURL(c.azureEndpoint); err != nil {
			return optionError("WithAzure", fmt.Sprintf("%q, %q", endpoint, c.azureVersion), "endpoint: "+err.Error()+", such as https://my-resource.openai.azure.com")
		}
		if c.deploymentSet && strings.TrimSpace(c.deployment) == "" {
			return optionError("WithAzureDeployment", `""`, "empty deployment name")
		}
		if c.apiKey == "" && !c.tokenSet {
			return fmt.Errorf("openai: WithAzure(%q, %q): Azure OpenAI needs the resource's key (WithAPIKey) or a Microsoft Entra ID token (WithTokenSource): %w",
				endpoint, c.azureVersion, refine.ErrAuth)
		}
		return nil
	}
	if c.baseURLSet {
		if err := checkURL(c.baseURL); err != nil {
			return optionError("WithBaseURL", fmt.Sprintf("%q", wire.RedactURL(c.baseURL)), err.Error()+", such as http://localhost:11434/v1")
		}
	}
	if c.apiKey == "" && !c.tokenSet && isOfficial(c.baseURL) {
		return fmt.Errorf("openai: no API key for %s: use WithAPIKey (or FromEnv with OPENAI_API_KEY); "+
			"local OpenAI-compatible servers such as Ollama need none, see WithBaseURL: %w", c.endpoint(), refine.ErrAuth)
	}
	return nil
}

// endpoint is the base URL requests go to, redacted, for messages.
func (c *config) endpoint() string {
	switch {
	case c.azure:
		return wire.RedactURL(c.azureEndpoint)
	case c.baseURL != "":
		return wire.RedactURL(c.baseURL)
	}
	return officialBaseURL
}

// checkURL reports why s is not an absolute http(s) URL go-openai can
// append "/chat/completions" to. Its message never quotes s.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("want an absolute http or https URL")
	case u.Host == "":
		return fmt.Errorf("no host in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("the URL must not have a query or fragment (the request path is appended to it)")
	}
	return nil
}

// isOfficial reports whether base (empty: the default) is OpenAI's own API,
// which refuses requests without a key.
func isOfficial(base string) bool {
	if base == "" {
		return true
	}
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// checkRetry refuses what refine.RetryProvider would panic on.
func checkRetry(rp refine.RetryPolicy) error {
	value := fmt.Sprintf("RetryPolicy{MaxRetries: %d, Base: %s, Max: %s, MaxRetryAfter: %s}", rp.MaxRetries, rp.Base, rp.Max, rp.MaxRetryAfter)
	switch {
	case rp.Base < 0 || rp.Max < 0 || rp.MaxRetryAfter < 0:
		return optionError("WithRetry", value, "durations must be >= 0 (0: the default)")
	case rp.Max != 0 && rp.Max < rp.Base:
		return optionError("WithRetry", value, "Max must be >= Base")
	}
	return nil
}

func optionError(option, value, why string) error {
	return fmt.Errorf("openai: %s(%s): %s: %w", option, value, why, refine.ErrInvalidOption)
}
