package bedrock

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
)

// Limits New and FromEnv apply unless WithTimeout or WithMaxResponseBytes
// says otherwise. They sit on top of the client's own settings: a shorter
// timeout of the client's HTTP client still holds.
const (
	// DefaultTimeout bounds one Converse call, from sending the request to
	// reading the last byte of the reply, and for ConverseStream the wait
	// for the response and for each event after it. It matches the
	// official OpenAI and Anthropic SDKs' 10 minutes: long enough for a
	// model writing tens of thousands of tokens without streaming, short
	// enough that a frozen server or proxy does not hold a run with no
	// deadline forever.
	DefaultTimeout = 10 * time.Minute
	// DefaultMaxResponseBytes caps the bytes read from one response body.
	// The largest real Converse reply (a 128k-token answer) is about 1 MiB
	// of JSON, and a stream of it, with Bedrock's per-event framing and
	// padding, a few tens of MiB at worst; 64 MiB is far above both and far
	// below what exhausts a service's memory.
	DefaultMaxResponseBytes = 64 << 20
)

// An Option configures a Provider, in New or FromEnv. Options are applied
// in order and a later one wins; a nil Option is ignored.
//
// WithModel, WithRegion and WithHTTPClient configure what FromEnv loads.
// New, which is handed a client and a model id, cannot use them: given
// one, its Provider's Validate and every call fail with an error naming
// it (wrapping refine.ErrInvalidOption), before any request.
type Option func(*config)

type config struct {
	noTemperature bool
	noTopP        bool
	edit          func(*bedrockruntime.ConverseInput)

	timeout  time.Duration // 0: none
	maxBytes int64         // 0: no cap
	native   *bool         // nil: decided by model id (see supportsStructuredOutput)

	retry refine.RetryPolicy

	batch *BatchOptions // WithBatch; nil: every call on demand (batch.go)

	// FromEnv only. envOnly names those given, for New's error.
	model   string
	region  string
	hc      *http.Client
	envOnly []string
}

// fromEnvOnly records that an option New cannot use was given.
func (c *config) fromEnvOnly(name string) {
	if !slices.Contains(c.envOnly, name) {
		c.envOnly = append(c.envOnly, name)
	}
}

// WithRetry sets how the Provider retries transient failures: throttling
// (ThrottlingException, 429), ModelNotReadyException, 5xx and the
// service's unavailable and timeout exceptions, connection resets before
// or in the middle of a reply, WithTimeout passing. Retries are on by
// default with the zero policy (3 retries, backoff from 500ms up to 20s, a
// Retry-After of up to 2 minutes waited out); RetryPolicy{MaxRetries: -1}
// turns them off, so that each call makes exactly one request.
//
// This is the one retry layer: the SDK client's own retryer is turned off
// for the Provider's calls, whatever the client or AWS_MAX_ATTEMPTS says,
// so a policy of N retries is N+1 requests per call at most. Retrying is
// the adapter's, so a call is retried by the same rule however the
// Provider reaches a run (refine.WithProvider, WithJudgeProvider, a judge
// built on it, a part of a composite judge, the regression guard); the
// Provider is a refine.Retrier, which refine.RetryProvider does not wrap
// again. A delay a gateway asks for (Retry-After) pauses every call
// through this Provider, and no other. A Stream is retried only before its
// first piece of text was delivered. A policy with a negative duration, or
// Max below Base, is an error.
func WithRetry(policy refine.RetryPolicy) Option {
	return func(c *config) { c.retry = policy }
}

// WithoutTemperature makes the Provider leave temperature out of every
// request, whatever refine asks for. It is the fix for models that reject
// the parameter (the newest Claude models); they then sample with their
// own default.
func WithoutTemperature() Option { return func(c *config) { c.noTemperature = true } }

// WithoutTopP makes the Provider leave top-p out of every request. It is
// the fix for models that reject temperature and top-p together (Claude
// 4.x) when refine.WithTopP is set: temperature is kept.
func WithoutTopP() Option { return func(c *config) { c.noTopP = true } }

// WithConverseInput registers fn to edit every ConverseInput (and every
// ConverseStreamInput, which has the same fields) just before it is sent:
// the place for Bedrock features refine has no word for, such as
// GuardrailConfig, AdditionalModelRequestFields (top_k, reasoning
// settings), PerformanceConfig or RequestMetadata. fn is called
// concurrently when the Provider is, and must not keep the input.
func WithConverseInput(fn func(in *bedrockruntime.ConverseInput)) Option {
	return func(c *config) { c.edit = fn }
}

// WithTimeout bounds each model call: a Converse call from sending the
// request to the last byte of the reply, a ConverseStream call while it
// waits for the response and between two events (a stream that keeps
// writing is not cut off). A call that runs out fails with an error
// wrapping refine.ErrUnavailable that says so; the Provider retries it
// (WithRetry). d <= 0 means no timeout (the caller's context still
// applies). The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = max(d, 0) }
}

// WithMaxResponseBytes caps the bytes read from each response body; a
// longer reply is not read further and fails with a *refine.ProviderError
// wrapping refine.ErrUnavailable, marked Permanent (a retry would fetch the
// same flood). n <= 0 means no cap. The default is
// DefaultMaxResponseBytes. It applies to a *bedrockruntime.Client (it
// wraps the client's HTTPClient for the Provider's calls); another
// ConverseAPI must cap its own bodies.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) { c.maxBytes = max(n, 0) }
}

// WithStructuredOutput decides how a Request with a Schema reaches the
// model: on sends it as Converse's native structured output
// (outputConfig.textFormat, a JSON schema the model's reply is constrained
// to); off carries it in an instruction in the last user turn. Without
// this option the Provider uses native structured output for the models
// Bedrock documents it for (see the package doc) and the instruction for
// every other model, including application inference profiles, whose ARN
// does not name the model.
func WithStructuredOutput(on bool) Option {
	return func(c *config) { c.native = &on }
}

// WithModel sets the model FromEnv uses, instead of BEDROCK_MODEL_ID
// (and DefaultModelID). New refuses it (see Option): its model id is an
// argument.
func WithModel(id string) Option {
	return func(c *config) { c.model = id; c.fromEnvOnly("WithModel") }
}

// WithRegion sets the AWS region FromEnv uses, instead of AWS_REGION or
// the profile's region. New refuses it (see Option): the region is the
// client's.
func WithRegion(region string) Option {
	return func(c *config) { c.region = region; c.fromEnvOnly("WithRegion") }
}

// WithHTTPClient makes FromEnv's AWS configuration use hc (for a proxy,
// custom TLS roots or a tracing transport); it is used for the credential
// sources as well as for the model calls. The response cap and timeout
// apply on top of it. The SDK refuses to combine it with AWS_CA_BUNDLE
// ("unable to add custom RootCAs"): put the roots in hc's transport
// instead. New refuses it (see Option): configure the client you pass to
// New.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.hc = hc; c.fromEnvOnly("WithHTTPClient") }
}

// check returns the configuration error every call reports, or nil.
// envOnly is checked by New only.
func (c *config) check(envOnly bool) error {
	if envOnly && len(c.envOnly) > 0 {
		return fmt.Errorf("bedrock: New given %s, which only FromEnv can use: New is handed a client and a model id, "+
			"so pass the model id to New and set the region and HTTP client on the client (bedrockruntime.Options Region, HTTPClient), "+
			"or use FromEnv: %w", strings.Join(c.envOnly, ", "), refine.ErrInvalidOption)
	}
	rp := c.retry
	value := fmt.Sprintf("RetryPolicy{MaxRetries: %d, Base: %s, Max: %s, MaxRetryAfter: %s}", rp.MaxRetries, rp.Base, rp.Max, rp.MaxRetryAfter)
	switch {
	case rp.Base < 0 || rp.Max < 0 || rp.MaxRetryAfter < 0:
		return fmt.Errorf("bedrock: WithRetry(%s): durations must be >= 0 (0: the default): %w", value, refine.ErrInvalidOption)
	case rp.Max != 0 && rp.Max < rp.Base:
		return fmt.Errorf("bedrock: WithRetry(%s): Max must be >= Base: %w", value, refine.ErrInvalidOption)
	}
	return nil
}
