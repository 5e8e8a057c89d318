package bedrock

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
)

// ConverseAPI is the part of the bedrockruntime client the Provider uses.
// *bedrockruntime.Client satisfies it; tests and wrappers (logging,
// tracing) can supply their own. The Provider passes one option function on
// every call, which turns the SDK's retryer off (see the package doc):
// wrappers must pass optFns on to the client.
type ConverseAPI interface {
	Converse(ctx context.Context, in *bedrockruntime.ConverseInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error)
}

// DefaultModelID is the model FromEnv uses when BEDROCK_MODEL_ID is not
// set: Amazon Nova Lite through its US cross-region inference profile.
const DefaultModelID = "us.amazon.nova-lite-v1:0"

// providerName is the Provider field of the *refine.ProviderError values
// this package returns.
const providerName = "bedrock"

// Provider is a refine.Provider that calls a model on Amazon Bedrock through
// the Converse API. It is immutable after New and safe for concurrent use,
// as long as the ConverseAPI it wraps is (*bedrockruntime.Client is).
type Provider struct {
	client  ConverseAPI
	modelID string
	cfg     config
}

var _ refine.Provider = (*Provider)(nil)

// An Option configures a Provider in New. Options are applied in order; a
// nil Option is ignored.
type Option func(*config)

type config struct {
	noTemperature bool
	noTopP        bool
	edit          func(*bedrockruntime.ConverseInput)
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

// WithConverseInput registers fn to edit every ConverseInput just before it
// is sent: the place for Bedrock features refine has no word for, such as
// GuardrailConfig, AdditionalModelRequestFields (top_k, reasoning
// settings), PerformanceConfig or RequestMetadata. fn is called
// concurrently when the Provider is, and must not keep the input. A later
// WithConverseInput replaces an earlier one.
func WithConverseInput(fn func(in *bedrockruntime.ConverseInput)) Option {
	return func(c *config) { c.edit = fn }
}

// New returns a Provider that sends requests to modelID through client.
// modelID is a model id, an inference-profile id (us.amazon.nova-lite-v1:0)
// or an ARN; Nova and the newer Claude models need the inference-profile
// id (see the package doc). New does not call the service; a nil client or
// an empty model id is reported by Complete.
func New(client ConverseAPI, modelID string, opts ...Option) *Provider {
	p := &Provider{client: client, modelID: modelID}
	for _, o := range opts {
		if o != nil {
			o(&p.cfg)
		}
	}
	return p
}

// ModelID returns the model id the Provider sends requests to.
func (p *Provider) ModelID() string { return p.modelID }

// Complete sends req to the model with one Converse call, without retrying:
// retries are refine.Complete's job. A failed call returns a
// *refine.ProviderError classified as described in the package doc
// (sometimes wrapped with a hint), or, when ctx is done, an error wrapping
// ctx.Err(). A request Converse cannot serve fails before any call: with
// TopLogprobs > 0 the error wraps errors.ErrUnsupported, without a user
// turn refine.ErrInvalidRequest. req is not modified.
func (p *Provider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	switch {
	case req == nil:
		return nil, localError("nil request")
	case req.TopLogprobs > 0:
		return nil, fmt.Errorf("bedrock: the Converse API returns no log-probabilities (TopLogprobs = %d): %w",
			req.TopLogprobs, errors.ErrUnsupported)
	case p.client == nil:
		return nil, localError("the Provider has no client (bedrock.New was given nil)")
	case p.modelID == "":
		return nil, localError("the Provider has no model id (set BEDROCK_MODEL_ID or pass one to bedrock.New)")
	}
	in, err := p.input(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.Converse(ctx, in, withoutSDKRetries)
	if err != nil {
		return nil, classify(ctx, p.modelID, err)
	}
	if out == nil {
		return nil, fmt.Errorf("bedrock: Converse returned no output and no error")
	}
	return p.response(out), nil
}

// withoutSDKRetries makes a call's single attempt final: refine.Complete is
// the one retry layer (see the package doc). RetryMaxAttempts is zeroed too,
// or the client would wrap the retryer again with its configured count.
func withoutSDKRetries(o *bedrockruntime.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}
