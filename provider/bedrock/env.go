package bedrock

import (
	"context"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
)

// FromEnv returns a Provider configured the way the AWS CLI and SDKs are:
// the region from AWS_REGION (or AWS_DEFAULT_REGION, or the profile's
// region), credentials from the default chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, SSO, web
// identity, container and instance roles) or a Bedrock API key in
// AWS_BEARER_TOKEN_BEDROCK, and the endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME
// when set. The model is BEDROCK_MODEL_ID, DefaultModelID when unset.
//
// FromEnv resolves the credentials once, so that missing or broken
// credentials are reported here, as an error wrapping refine.ErrAuth,
// rather than at the first model call; this may reach the credential
// sources (SSO, STS, instance metadata), within ctx. It fails too when no
// region is configured. The client's own retries are disabled on every
// call, whatever AWS_MAX_ATTEMPTS says (see the package doc).
func FromEnv(ctx context.Context) (*Provider, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("bedrock: loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("bedrock: no AWS region configured: set AWS_REGION (e.g. us-east-1) or a region in the AWS profile")
	}
	// The client switches to bearer authentication by itself when
	// AWS_BEARER_TOKEN_BEDROCK is set; then there are no AWS credentials to check.
	if os.Getenv("AWS_BEARER_TOKEN_BEDROCK") == "" && cfg.BearerAuthTokenProvider == nil {
		if cfg.Credentials == nil {
			return nil, &refine.ProviderError{Kind: refine.ErrAuth, Provider: providerName,
				Message: "no AWS credentials configured"}
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("bedrock: resolving AWS credentials: %w (%w)", ctx.Err(), err)
			}
			return nil, &refine.ProviderError{Kind: refine.ErrAuth, Provider: providerName,
				Message: "no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK): " + err.Error(),
				Err:     err}
		}
	}
	model := os.Getenv("BEDROCK_MODEL_ID")
	if model == "" {
		model = DefaultModelID
	}
	return New(bedrockruntime.NewFromConfig(cfg), model), nil
}
