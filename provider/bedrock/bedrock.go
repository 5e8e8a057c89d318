package bedrock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
)

// ConverseAPI is the part of the bedrockruntime client the Provider needs.
// *bedrockruntime.Client satisfies it; tests and wrappers (logging,
// tracing) can supply their own. The Provider passes one option function on
// every call, which turns the SDK's retryer off and applies the response
// cap (see the package doc): wrappers must pass optFns on to the client.
type ConverseAPI interface {
	Converse(ctx context.Context, in *bedrockruntime.ConverseInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error)
}

// ConverseStreamAPI is the streaming call of the bedrockruntime client.
// When the client given to New implements it as well as ConverseAPI (as
// *bedrockruntime.Client does), Provider.Stream streams through it;
// otherwise Stream makes one Converse call and delivers the answer as one
// piece. The same rule about optFns applies.
type ConverseStreamAPI interface {
	ConverseStream(ctx context.Context, in *bedrockruntime.ConverseStreamInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseStreamOutput, error)
}

// DefaultModelID is the model FromEnv uses when neither WithModel nor
// BEDROCK_MODEL_ID names one: Amazon Nova Lite through its US cross-region
// inference profile.
const DefaultModelID = "us.amazon.nova-lite-v1:0"

// providerName is the Provider field of the *refine.ProviderError values
// this package returns.
const providerName = "bedrock"

// Provider is a refine.StreamProvider that calls a model on Amazon Bedrock
// through the Converse and ConverseStream APIs. It is immutable after New
// and safe for concurrent use, as long as the client it wraps is
// (*bedrockruntime.Client is). It retries transient failures itself (see
// WithRetry), so it is a refine.Retrier, and a refine.Validator reporting
// its configuration error.
type Provider struct {
	client  ConverseAPI
	stream  ConverseStreamAPI // nil: Stream falls back to Converse
	modelID string
	cfg     config
	secrets []string // credentials FromEnv resolved, scrubbed from every error
	err     error    // configuration error, returned by Validate and every call
	// retry is the one retry layer, around the single-request calls; nil
	// when retries are off or the configuration is wrong.
	retry refine.StreamProvider
	// batch coalesces calls into batch inference jobs (WithBatch); nil:
	// every call on demand.
	batch      *batchEngine
	batchSetup *batchSetup
}

var (
	_ refine.StreamProvider = (*Provider)(nil)
	_ refine.Retrier        = (*Provider)(nil)
	_ refine.Validator      = (*Provider)(nil)
)

// New returns a Provider that sends requests to modelID through client.
// modelID is a model id, an inference-profile id (us.amazon.nova-lite-v1:0)
// or an ARN; Nova and the newer Claude models need the inference-profile
// id (see the package doc). New does not call the service and never fails:
// a nil client, an empty model id, an option only FromEnv can use
// (WithModel, WithRegion, WithHTTPClient) or an invalid WithRetry policy
// is reported by Validate and by every call, before any request.
//
// Every call is bounded by DefaultTimeout and every response by
// DefaultMaxResponseBytes unless WithTimeout or WithMaxResponseBytes says
// otherwise (0 turns either off), so that a frozen server or an endless
// body never holds a run without a deadline. The cap applies to a
// *bedrockruntime.Client (see WithMaxResponseBytes).
func New(client ConverseAPI, modelID string, opts ...Option) *Provider {
	cfg := config{timeout: DefaultTimeout, maxBytes: DefaultMaxResponseBytes}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return newProvider(client, modelID, cfg, cfg.check(true), nil)
}

// newProvider builds the Provider of New and FromEnv; err is the
// configuration error, secrets the credentials to scrub.
func newProvider(client ConverseAPI, modelID string, cfg config, err error, secrets []string) *Provider {
	p := &Provider{client: client, modelID: modelID, cfg: cfg, err: err, secrets: secrets}
	p.stream, _ = client.(ConverseStreamAPI)
	if p.err == nil && cfg.batch != nil {
		p.initBatch()
	}
	if p.err == nil && p.Retries() {
		p.retry = refine.RetryProvider(once{p}, cfg.retry).(refine.StreamProvider)
	}
	return p
}

// Validate reports what every call would fail with before sending
// anything: an option New cannot use, an invalid WithRetry policy, a nil
// client or an empty model id. refine.New and Run call it before any model
// call.
func (p *Provider) Validate() error {
	if p.err != nil {
		return p.err
	}
	return p.check(&refine.Request{})
}

// Retries reports whether the Provider retries transient failures itself:
// true unless WithRetry was given a policy with MaxRetries < 0. It makes
// the Provider a refine.Retrier, which refine.RetryProvider does not wrap
// again.
func (p *Provider) Retries() bool { return p.cfg.retry.MaxRetries >= 0 }

// once is the Provider's single-request call path, which the retry layer
// wraps.
type once struct{ p *Provider }

func (o once) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return o.p.complete(ctx, req)
}

func (o once) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	return o.p.streamOnce(ctx, req, delta)
}

// Model returns the model id the Provider sends requests to, as given to
// New or chosen by FromEnv. It is also Response.Model of every reply.
func (p *Provider) Model() string { return p.modelID }

// Complete sends req to the model with a Converse call, retrying transient
// failures as WithRetry says (by default 3 times). A failed call returns a
// *refine.ProviderError classified as described in the package doc, or,
// when ctx is done, an error wrapping ctx.Err(). A request Converse cannot
// serve fails before any call: with TopLogprobs > 0 the error wraps
// errors.ErrUnsupported, without a user turn or with a Schema that is not
// JSON refine.ErrInvalidRequest; so does a configuration error (see
// Validate). req is not modified.
func (p *Provider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.batch != nil {
		// Not under the retry layer: the engine sends a record that
		// failed transiently once more by itself. A call it sends on
		// demand (below MinRequests) goes through the retry layer.
		if resp, direct, err := p.viaBatch(ctx, req); !direct {
			return resp, err
		}
	}
	if p.retry != nil {
		return p.retry.Complete(ctx, req)
	}
	return p.complete(ctx, req)
}

// complete is one attempt of Complete: one Converse request.
func (p *Provider) complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := p.check(req); err != nil {
		return nil, err
	}
	in, err := p.input(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := ctx, context.CancelFunc(func() {})
	if p.cfg.timeout > 0 {
		callCtx, cancel = context.WithTimeoutCause(ctx, p.cfg.timeout, errTimeout)
	}
	defer cancel()
	creds := &seenCreds{}
	out, err := p.client.Converse(callCtx, in, p.callOptions, creds.record)
	if err != nil {
		return nil, p.with(creds).classify(ctx, callCtx, err)
	}
	if out == nil {
		return nil, errors.New("bedrock: Converse returned no output and no error")
	}
	if _, ok := out.Output.(*types.ConverseOutputMemberMessage); !ok {
		// A 200 whose body held no message: an empty body or "{}" from a
		// proxy. Like a malformed 200, worth another try.
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: http.StatusOK,
			Message: "the reply has no output message (empty or foreign body)"}
	}
	return p.response(out), nil
}

// check refuses, before any call, what Converse cannot serve.
func (p *Provider) check(req *refine.Request) error {
	switch {
	case req == nil:
		return localError("nil request")
	case req.TopLogprobs > 0:
		return fmt.Errorf("bedrock: the Converse API returns no log-probabilities (TopLogprobs = %d): %w",
			req.TopLogprobs, errors.ErrUnsupported)
	case p.client == nil:
		return localError("the Provider has no client (bedrock.New was given nil)")
	case p.modelID == "":
		return localError("the Provider has no model id (set BEDROCK_MODEL_ID, use bedrock.WithModel, or pass one to bedrock.New)")
	}
	return nil
}

// callOptions is passed on every call. It makes the call's single attempt
// final, since the Provider's own retry layer (WithRetry) is the one retry
// layer (see the package doc): RetryMaxAttempts is zeroed too, or the client would wrap the
// retryer again with its configured count. And it puts callClient in front
// of the client's HTTP client, for this call only.
func (p *Provider) callOptions(o *bedrockruntime.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
	if o.HTTPClient != nil {
		o.HTTPClient = callClient{next: o.HTTPClient, max: p.cfg.maxBytes}
	}
}

// seenCreds records the AWS credentials a call was signed with, so that
// its errors are scrubbed of them by value (see scrub): a gateway that
// echoes the secret key or session token must not print them, and a client
// the caller built gives the Provider no other way to know them. It asks
// the client's own provider, usually a cache, so it costs no extra fetch.
type seenCreds struct {
	next aws.CredentialsProvider

	mu      sync.Mutex
	secrets []string
}

// record is a per-call option function: it puts the recorder in front of
// the call's credentials provider, and notes the credentials in the
// endpoint's user info (a gateway's), which a server may echo.
func (c *seenCreds) record(o *bedrockruntime.Options) {
	if o.Credentials != nil {
		c.next, o.Credentials = o.Credentials, c
	}
	if o.BaseEndpoint != nil {
		if s := wire.URLSecrets(*o.BaseEndpoint); len(s) > 0 {
			c.mu.Lock()
			c.secrets = append(c.secrets, s...)
			c.mu.Unlock()
		}
	}
}

// Retrieve returns the wrapped provider's credentials and notes their
// secret parts.
func (c *seenCreds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.next.Retrieve(ctx)
	c.mu.Lock()
	c.secrets = append(c.secrets, nonEmpty([]string{creds.SecretAccessKey, creds.SessionToken})...)
	c.mu.Unlock()
	return creds, err
}

// IsCredentialsProvider lets aws.IsCredentialsProvider see through the
// recorder (the client skips signing for anonymous credentials).
func (c *seenCreds) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(c.next, target)
}

// ProviderSources passes on where the wrapped credentials came from, which
// the client reports in its user agent.
func (c *seenCreds) ProviderSources() []aws.CredentialSource {
	if s, ok := c.next.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// with returns a copy of p that also scrubs the credentials creds saw.
func (p *Provider) with(creds *seenCreds) *Provider {
	creds.mu.Lock()
	defer creds.mu.Unlock()
	if len(creds.secrets) == 0 {
		return p
	}
	q := *p
	q.secrets = wire.SortSecrets(append(slices.Clip(p.secrets), creds.secrets...))
	return &q
}

// callClient caps every response body it returns (WithMaxResponseBytes)
// and sends a copy of the request body.
//
// The copy is there because the SDK (smithy-go's ClientHandler) closes the
// request body as soon as the HTTP client returns the response headers,
// while net/http may still be finishing writing it; the close then fails
// that write and net/http closes the connection under the response being
// read ("use of closed network connection"). A server that answers fast (a
// stream's first event, a proxy) hits this; a copy the SDK cannot close
// avoids it. Request bodies are prompts, small next to the reply.
type callClient struct {
	next bedrockruntime.HTTPClient
	max  int64
}

func (c callClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := c.next.Do(r)
	if resp != nil && resp.Body != nil && c.max > 0 {
		resp.Body = wire.LimitBody(resp.Body, c.max)
	}
	return resp, err
}
