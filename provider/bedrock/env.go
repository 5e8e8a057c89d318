package bedrock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	control "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
)

// FromEnv returns a Provider configured the way the AWS CLI and SDKs are:
// the region from AWS_REGION (or AWS_DEFAULT_REGION, or the profile's
// region), credentials from the default chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, credential_process,
// SSO, web identity, container and instance roles) or a Bedrock API key in
// AWS_BEARER_TOKEN_BEDROCK, and the endpoint from
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME when set. The model is BEDROCK_MODEL_ID,
// DefaultModelID when unset.
//
// Options override the environment: WithModel, WithRegion and
// WithHTTPClient, and any Provider option (WithTimeout, WithoutTopP, …).
// Unless told otherwise, every call is bounded by DefaultTimeout and every
// response by DefaultMaxResponseBytes.
//
// FromEnv resolves the credentials once, so that missing or broken
// credentials are reported here, as an error wrapping refine.ErrAuth,
// rather than at the first model call; this may reach the credential
// sources (SSO, STS, instance metadata, a credential_process), within ctx.
// It fails too when no region is configured. Its errors never hold a
// secret: the output of a failing credential_process (which holds the
// secret key), secret keys, session tokens and the bearer token are
// removed from them. The client's own retries are disabled on every call,
// whatever AWS_MAX_ATTEMPTS says: the Provider retries (WithRetry).
func FromEnv(ctx context.Context, opts ...Option) (*Provider, error) {
	cfg := config{timeout: DefaultTimeout, maxBytes: DefaultMaxResponseBytes}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	// Known before any call, so that every error below can be scrubbed of it.
	bearer := os.Getenv("AWS_BEARER_TOKEN_BEDROCK")
	scrub := func(s string, more ...string) string { return wire.Scrub(s, append(more, bearer)...) }

	var load []func(*awsconfig.LoadOptions) error
	if cfg.region != "" {
		load = append(load, awsconfig.WithRegion(cfg.region))
	}
	if cfg.hc != nil {
		load = append(load, awsconfig.WithHTTPClient(cfg.hc))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("bedrock: loading the AWS configuration: %w", secretFree(scrub(err.Error())))
	}
	if awsCfg.Region == "" {
		return nil, errors.New("bedrock: no AWS region configured: set AWS_REGION (e.g. us-east-1), a region in the AWS profile, or use bedrock.WithRegion")
	}
	secrets := []string{bearer}
	// The client switches to bearer authentication by itself when
	// AWS_BEARER_TOKEN_BEDROCK is set; then there are no AWS credentials to check.
	if bearer == "" && awsCfg.BearerAuthTokenProvider == nil {
		if awsCfg.Credentials == nil {
			return nil, &refine.ProviderError{Kind: refine.ErrAuth, Provider: providerName,
				Message: "no AWS credentials configured"}
		}
		creds, err := awsCfg.Credentials.Retrieve(ctx)
		if err != nil {
			// The SDK's text may quote a credential_process's output,
			// which holds the secret key: only a scrubbed copy of the
			// text travels, and not the SDK's error itself.
			safe := secretFree(scrub(err.Error(), creds.SecretAccessKey, creds.SessionToken))
			if ctx.Err() != nil {
				return nil, fmt.Errorf("bedrock: resolving AWS credentials: %w (%w)", ctx.Err(), safe)
			}
			return nil, &refine.ProviderError{Kind: refine.ErrAuth, Provider: providerName,
				Message: "no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK): " + safe.Error(),
				Err:     safe}
		}
		secrets = append(secrets, creds.SecretAccessKey, creds.SessionToken)
	}
	model := cfg.model
	if model == "" {
		model = os.Getenv("BEDROCK_MODEL_ID")
	}
	if model == "" {
		model = DefaultModelID
	}
	client := bedrockruntime.NewFromConfig(awsCfg)
	if b := cfg.batch; b != nil {
		// A copy: the caller's options stay as given.
		bc := *b
		if bc.S3 == nil {
			bc.S3 = s3.NewFromConfig(awsCfg)
		}
		if bc.Control == nil {
			bc.Control = control.NewFromConfig(awsCfg)
		}
		cfg.batch = &bc
	}
	return newProvider(client, model, cfg, nil, nonEmpty(secrets)), nil
}

// credentialError stands in for an SDK error whose text may hold a
// secret: it keeps only the scrubbed text, not the chain, whose errors
// print the unscrubbed text.
type credentialError struct{ text string }

func (e *credentialError) Error() string { return e.text }

// secretFree returns an error whose text is the scrubbed text of an SDK
// error, with any quoted credential_process output withheld.
func secretFree(scrubbed string) error {
	return &credentialError{text: processOutputRemoved(scrubbed)}
}

// processOutputRemoved drops what the SDK quotes of a credential_process's
// output ("parse failed of process output: <output>, error: …"): the
// output is the credentials, whole or in part, and no pattern can tell
// every secret in it.
func processOutputRemoved(text string) string {
	const marker, withheld = "process output: ", "(withheld: it holds credentials)"
	i := strings.Index(text, marker)
	if i < 0 {
		return text
	}
	head, rest := text[:i+len(marker)], text[i+len(marker):]
	if j := strings.LastIndex(rest, ", error: "); j >= 0 {
		return head + withheld + rest[j:]
	}
	return head + withheld
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
