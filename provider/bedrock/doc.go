// Package bedrock is the refine.Provider for Amazon Bedrock, over the
// Converse API of github.com/aws/aws-sdk-go-v2/service/bedrockruntime.
//
// Build a Provider from a bedrockruntime client (anything with its Converse
// method) and a model id, or let FromEnv load the AWS default configuration:
//
//	p, err := bedrock.FromEnv(ctx) // AWS_REGION, the default credential chain, BEDROCK_MODEL_ID
//	if err != nil { ... }
//	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
//
// # Requests
//
// System messages become Converse System blocks, in order. Converse wants
// the conversation to start with a user turn and to alternate user and
// assistant, so consecutive messages of the same role are merged into one
// turn, joined by a blank line. Blank messages are dropped (the service
// rejects blank text blocks). A conversation with no user turn, or one whose
// first turn is the assistant's, fails before any call with an error wrapping
// refine.ErrInvalidRequest.
//
// Sampling maps onto InferenceConfiguration, whose fields are pointers: an
// explicit temperature of 0 is sent as 0. MaxTokens becomes maxTokens, Stop
// becomes stopSequences. Seed is ignored: Converse has no seed parameter.
//
// Converse returns no log-probabilities, so a Request with TopLogprobs > 0
// fails at once, before any call, with an error wrapping
// errors.ErrUnsupported, so that a judge that wants them can tell and fall
// back to sampling.
//
// Converse has no JSON mode that works on every model (OutputConfig's JSON
// schema output is offered by a few models only, and needs a schema), so a
// Request with JSON set gets an instruction to reply with a single JSON object
// appended to its last user turn. The last user turn is used rather than the
// system prompt because every model on Bedrock takes user turns, while some
// older ones refuse system prompts, and because the instruction then sits
// next to the point where the model starts writing.
//
// # Responses
//
// Response.Text is the concatenation of the reply's text blocks; reasoning
// blocks (reasoningContent, which some models put first) and any other
// blocks are skipped. Response.Model is the model id the Provider was built
// with (Converse does not echo one back). The stop reason is normalised:
// end_turn and stop_sequence are "stop"; max_tokens and
// model_context_window_exceeded (both cut the answer off) are "length";
// content_filtered and guardrail_intervened are "content_filter"; any other
// reason is passed through as Bedrock's own word.
//
// Usage.InputTokens counts every prompt token the model processed:
// inputTokens + cacheReadInputTokens + cacheWriteInputTokens. Bedrock reports
// cached prompt tokens apart from inputTokens (which counts the uncached ones
// only); adding them keeps token budgets (refine.TokenBudget) honest and
// makes the count comparable with providers whose prompt count includes
// cached tokens. Usage.OutputTokens is outputTokens. Cache hits therefore
// cost less money but not less budget.
//
// # Errors and retries
//
// Failures come back as *refine.ProviderError with Provider "bedrock", the
// HTTP status, the exception name as Code and the service's message, and
// the SDK's error as Err, so that both errors.Is(err, refine.ErrRateLimited)
// and errors.As(err, &throttling) (a *types.ThrottlingException) work; the
// request id is on the SDK's *awshttp.ResponseError. The classification
// goes by exception type, then error code, then HTTP status:
//
//	ThrottlingException, other 429                  ErrRateLimited, retried
//	ServiceQuotaExceededException                   ErrRateLimited, Permanent: not retried
//	AccessDeniedException, UnrecognizedClient,
//	ExpiredToken, ..., other 401 and 403            ErrAuth
//	ValidationException about the input's length    ErrContextLength
//	other ValidationException                       ErrInvalidRequest, with the service's message
//	ResourceNotFoundException, other 4xx            ErrInvalidRequest
//	ModelNotReadyException, ModelTimeoutException,
//	InternalServerException,
//	ServiceUnavailableException, other 5xx          ErrUnavailable, retried
//	ModelErrorException (424)                       ErrUnavailable, retried; ErrInvalidRequest
//	                                                when the model's own status was a 4xx
//	no response (connection refused or reset)       ErrUnavailable, retried (not an unknown host)
//
// Bedrock has no dedicated error for an over-long prompt: it is a
// ValidationException whose message says "Input is too long", "too many
// tokens" or mentions the context window. That message text is the only
// thing matched; everything else is classified by type and status.
// ModelErrorException means the model failed while processing the request;
// that is usually a fault on the model's side that goes away, so it is
// retried, unless Bedrock reports that the model answered with a client
// error (originalStatusCode 4xx other than 408 and 429), which no retry can
// fix. Errors that are none of these (a response body that cannot be read,
// a signing failure) are returned wrapped, unclassified and not retried.
//
// A cancelled or expired context is returned as such:
// errors.Is(err, context.Canceled) holds, and the error is not retried.
//
// The AWS SDK retries on its own: its standard retryer makes 3 attempts with
// up to 20 s of backoff, on throttling, 5xx and connection errors. (It does
// not retry ModelNotReadyException, whatever that type's comment says.)
// refine has exactly one retry layer, refine.Complete, which honours
// WithRetries, WithBackoff, Retry-After and the Loop's limit on concurrent
// calls. So every Converse call this package makes carries an option that
// replaces the client's retryer with aws.NopRetryer: a throttled call is
// attempted 1 + WithRetries times, never 3 × that. This holds for clients
// from FromEnv and for clients you build yourself, whatever
// AWS_MAX_ATTEMPTS, AWS_RETRY_MODE or the client's options say. Calling
// the client directly keeps its own retries.
//
// # Model quirks
//
// Several models on Bedrock need a request shaped their way. The errors are
// surfaced as refine.ErrInvalidRequest with the service's message (which
// names the parameter) and a hint, and are never retried.
//
//   - Amazon Nova and the newer Anthropic Claude models are offered through
//     cross-region inference profiles only. Calling them by their plain id
//     (amazon.nova-lite-v1:0) fails with a ValidationException about
//     "on-demand throughput". Fix: use the inference-profile id, the model id
//     with the geography of your region in front: us.amazon.nova-lite-v1:0
//     (also eu., apac., or global. where offered), or the profile's ARN.
//   - Claude 4.x models reject temperature and top-p in the same request
//     ("cannot both be specified"). Fix: set only one (do not combine
//     refine.WithTemperature with refine.WithTopP), or build the Provider with
//     WithoutTopP, which keeps refine's settings and drops top-p on the wire.
//   - The newest Claude models reject temperature altogether. Fix: build the
//     Provider with WithoutTemperature. refine's judges ask for temperature 0;
//     with WithoutTemperature they get the model's default sampling.
//   - Some older models (Titan Text, some Mistral models) refuse system
//     prompts. refine's prompts need one; use a newer model.
//
// # Authentication
//
// FromEnv uses the AWS default credential chain (environment variables,
// shared config and credentials files and profiles, SSO, web identity, ECS
// and EC2 roles). When AWS_BEARER_TOKEN_BEDROCK is set, the bedrockruntime
// client itself switches to Bedrock API-key (bearer) authentication, which
// requires https. Tests that point a client at a plain-http server must
// clear that variable before building the client: the client reads it in
// bedrockruntime.New.
//
// A *Provider is immutable after New and safe for concurrent use.
package bedrock
