// Package bedrock is the refine.Provider for Amazon Bedrock, over the
// Converse and ConverseStream APIs of
// github.com/aws/aws-sdk-go-v2/service/bedrockruntime.
//
// Build a Provider from a bedrockruntime client and a model id, or let
// FromEnv load the AWS default configuration:
//
//	p, err := bedrock.FromEnv(ctx) // AWS_REGION, the default credential chain, BEDROCK_MODEL_ID
//	if err != nil { ... }
//	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
//
// or, with a client of your own:
//
//	p := bedrock.New(bedrockruntime.NewFromConfig(awsCfg), "us.amazon.nova-lite-v1:0")
//
// FromEnv takes options (WithModel, WithRegion, WithHTTPClient, WithTimeout,
// WithMaxResponseBytes, WithRetry, ...); Model reports the model in use.
// WithModel, WithRegion and WithHTTPClient say what FromEnv loads, so New,
// which is handed a client and a model id, cannot use them: given one, the
// Provider's Validate and every call fail with an error naming it, before
// any request (New itself never fails). Configure the client instead.
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
// # JSON and structured output
//
// A Request with JSON set (and no Schema) gets an instruction to reply with
// a single JSON object appended to its last user turn: Converse has no JSON
// mode that every model supports. The last user turn is used rather than
// the system prompt because every model on Bedrock takes user turns, while
// some older ones refuse system prompts, and because the instruction then
// sits next to the point where the model starts writing.
//
// A Request with a Schema uses Converse's native structured output where
// the model has it, and otherwise the same instruction, carrying the
// schema. The rule: native for the models Bedrock documents it for on
// Converse — Anthropic Claude Sonnet 4.5, Haiku 4.5, Opus 4.5 and Opus 4.6,
// by model id, inference-profile id (us., eu., apac., global., ...) or the
// ARN of either — and the instruction for every other model;
// WithStructuredOutput(true or false) overrides the rule for the Provider.
// Use it for the open-weight models Bedrock also serves structured output
// for (some Qwen, DeepSeek, Mistral, Gemma, NVIDIA Nemotron, MiniMax and
// Moonshot models; Bedrock names no ids for them) and for application
// inference profiles, whose ARN does not name the model. Amazon Nova is not
// among the models Bedrock documents it for. A schema that is not a JSON object fails before any call
// (refine.ErrInvalidRequest).
//
// The wire, as bedrockruntime v1.63.11 sends it (types.OutputConfig,
// types.OutputFormat, types.JsonSchemaDefinition). The schema travels as a
// string holding JSON, not as an object; name is optional and omitted when
// Schema.Name is empty; no instruction is added to the prompt:
//
//	"outputConfig": {"textFormat": {"type": "json_schema",
//	  "structure": {"jsonSchema": {"name": "invoice", "schema": "{\"type\":\"object\",...}"}}}}
//
// A model without it rejects the field with a ValidationException
// (refine.ErrInvalidRequest, with a hint naming WithStructuredOutput).
// Claude's structured output wants every object to declare
// "additionalProperties": false.
//
// # Responses
//
// Response.Text is the concatenation of the reply's text blocks; reasoning
// blocks (reasoningContent, which some models put first) and any other
// blocks are skipped. Response.Model is the model id the Provider was built
// with (Converse does not echo one back). The stop reason is normalised:
// end_turn and stop_sequence are "stop"; max_tokens and
// model_context_window_exceeded (both cut the answer off: the reply is kept,
// and the next, longer prompt fails with refine.ErrContextLength) are
// "length"; content_filtered and guardrail_intervened are "content_filter";
// any other reason is passed through as Bedrock's own word.
//
// A 200 whose body holds no output message (an empty body, "{}" from a
// proxy) is not a reply: it fails with refine.ErrUnavailable, as a
// malformed 200 does (see below).
//
// # Usage
//
// Bedrock reports cached prompt tokens apart from inputTokens, which counts
// only the tokens that were neither read from nor written to the prompt
// cache. So Usage.InputTokens is inputTokens + cacheReadInputTokens +
// cacheWriteInputTokens: every prompt token the model processed, which keeps
// token budgets (refine.TokenBudget) honest and the count comparable with
// providers whose prompt count includes cached tokens.
// Usage.CachedInputTokens is cacheReadInputTokens, the part refine prices
// at refine.Price.CachedInput. Cache writes count as ordinary input tokens
// at the Input price: Bedrock bills them at a premium (1.25 times the
// input price for Claude), so a cost estimate undercounts a call that
// writes the cache by a quarter of the written tokens' price.
// Usage.OutputTokens is outputTokens. Streams read the same fields from
// their metadata event.
//
// # Streaming
//
// *Provider implements refine.StreamProvider. Stream calls ConverseStream
// when the client has it (ConverseStreamAPI; *bedrockruntime.Client does)
// and delivers each text delta as it arrives; the SDK decodes the event
// stream. A client that implements only ConverseAPI still works: Stream
// then makes one Converse call and delivers the answer as one piece, so
// the Provider is a StreamProvider whatever client it wraps. A stream that
// fails after some text (an exception event, a reset, a stream that ends
// without its messageStop and metadata events) returns an error and no
// Response; the Provider retries a stream only before its first delta.
//
// # Errors and retries
//
// Failures come back as *refine.ProviderError with Provider "bedrock", the
// HTTP status, the exception name as Code and the service's message, and
// the SDK's error as Err, so that both errors.Is(err, refine.ErrRateLimited)
// and errors.As(err, &throttling) (a *types.ThrottlingException) work; the
// request id is on the SDK's *awshttp.ResponseError. The classification
// goes by exception type (the same types arrive inside a stream), then
// error code, then HTTP status:
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
//	ModelErrorException (424),
//	ModelStreamErrorException                       ErrUnavailable, retried; ErrInvalidRequest
//	                                                when the model's own status was a 4xx
//
// Failures that are not an error from the service are ErrUnavailable, and
// the message says which and quotes the underlying error (URLs redacted):
//
//	connection refused                              retried
//	connection reset, before the reply or in the
//	middle of a 200 body                            retried
//	connection closed before the reply was complete retried
//	timeout (WithTimeout, or the HTTP client's)     retried
//	malformed 200: truncated JSON, a proxy's HTML
//	page, no output message                         retried
//	TLS handshake or certificate failure            Permanent: not retried
//	unknown host                                    Permanent: not retried
//	reply larger than WithMaxResponseBytes          Permanent: not retried
//
// The malformed-200 rule is the one provider/openai follows: a success
// status whose body cannot be read is treated as a fault on the way (a
// proxy, a dropped connection), worth one more try, and the retry budget
// bounds the cost. A 4xx or 5xx whose body is not a Bedrock error (a
// proxy's page) is classified by its status, with the start of the body in
// the message.
//
// Bedrock has no dedicated error for an over-long prompt: it is a
// ValidationException whose message says "Input is too long", "too many
// tokens", "prompt is too long", "exceed context limit" or mentions the
// context window or length. That message text is the only thing matched
// (and net/http's untyped "server gave HTTP response to HTTPS client");
// everything else is classified by type and status. Errors that are none of
// these (a signing failure) are returned wrapped, unclassified and not
// retried.
//
// A cancelled or expired context of the caller is returned as such:
// errors.Is(err, context.Canceled) holds, and the error is not retried. The
// Provider's own timeout is not the caller's deadline: it is ErrUnavailable,
// and errors.Is(err, context.DeadlineExceeded) does not hold, so that it is
// retried.
//
// The Provider retries what the tables above call retried, by default 3
// times with exponential backoff from 500ms (the zero refine.RetryPolicy);
// WithRetry sets the policy and RetryPolicy{MaxRetries: -1} turns retries
// off. Retrying is the Provider's, not the Loop's, so a call is retried by
// the same rule however the Provider reaches a run: refine.WithProvider,
// WithJudgeProvider, a judge built on it (refine.NewLLMJudge), a part of a
// composite judge, the regression guard. The Provider is a refine.Retrier:
// refine.RetryProvider adds no second layer around it. A Retry-After (which
// Bedrock rarely sends, but gateways in front of it do; it becomes
// ProviderError.RetryAfter) pauses every call through the Provider that
// received it until it has passed.
//
// The AWS SDK retries on its own: its standard retryer makes 3 attempts with
// up to 20 s of backoff, on throttling, 5xx and connection errors. (It does
// not retry ModelNotReadyException, whatever that type's comment says, and
// it ignores Retry-After.) There is exactly one retry layer, the
// Provider's: every Converse and ConverseStream call carries an option that
// replaces the client's retryer with aws.NopRetryer, so a throttled call is
// attempted 1 + MaxRetries times, never 3 × that. This holds for clients
// from FromEnv and for clients you build yourself, whatever
// AWS_MAX_ATTEMPTS, AWS_RETRY_MODE or the client's options say. Calling
// the client directly keeps its own retries.
//
// # Timeouts and response size
//
// New and FromEnv bound every call with DefaultTimeout (10 minutes) and
// every response body with DefaultMaxResponseBytes (64 MiB); WithTimeout
// and WithMaxResponseBytes change them (0 turns them off). For a stream the timeout bounds the wait
// for the response and for each event, not the whole answer. The cap is
// applied by wrapping the client's HTTP client for the Provider's calls, so
// an endless body costs at most about the cap in memory.
//
// # Secrets
//
// No error this package returns holds a secret: not the output of a
// failing credential_process (which holds the secret key; FromEnv withholds
// it), not an AWS secret key, session token or Bedrock API key
// (AWS_BEARER_TOKEN_BEDROCK), even when a server or the SDK echoes them,
// and not the credentials of an endpoint URL (redacted in URLs, removed by
// value and in their HTTP Basic form wherever a server echoes them).
// Service messages
// and SDK error texts are kept, scrubbed: the credentials the call was
// signed with (whichever constructor built the Provider) and those FromEnv
// resolved are removed by value, and whatever looks like a key or token by
// shape.
// For errors that had something removed, the text of the SDK's errors in
// the chain is scrubbed too, so printing any level shows no secret. The
// package logs nothing; the SDK's own logger may (it warns, for instance,
// when a capped body could not be drained).
//
// # Model quirks
//
// Several models on Bedrock need a request shaped their way. The errors are
// surfaced as refine.ErrInvalidRequest with the service's message (which
// names the parameter) and a hint (ProviderError.Hint), and are never
// retried.
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
// # Batch inference
//
// WithBatch sends the calls through Bedrock batch inference, at about half
// the on-demand price, for work that can wait (a job may take hours):
//
//	p, err := bedrock.FromEnv(ctx, bedrock.WithBatch(bedrock.BatchOptions{
//		RoleARN:   "arn:aws:iam::123456789012:role/bedrock-batch",
//		InputURI:  "s3://my-bucket/refine/in",
//		OutputURI: "s3://my-bucket/refine/out",
//		Journal:   "refine-jobs.json", // survive a restart without paying twice
//	}))
//	defer p.Close(ctx)
//
// The Provider collects the requests of every run that calls it
// concurrently and sends them as one job (MaxRequests, MaxWait, Idle), so a
// thousand runs started together advance round by round, one job per loop
// step. Each request is one record of a JSONL object written to InputURI
// with PutObject, {"recordId": "r0", "modelInput": {...}}, whose
// modelInput is byte for byte the Converse request body an on-demand call
// sends (the SDK's own serializer writes it: messages, system,
// inferenceConfig with temperature 0 kept, outputConfig for native
// structured output, the WithConverseInput edits). The job is created with
// CreateModelInvocationJob: modelInvocationType Converse, the Provider's
// model id, RoleARN, the record file's URI, OutputURI and KMSKeyID,
// timeoutDurationInHours from JobTimeout, and a jobName and
// clientRequestToken carrying the journal's id for the batch. It is polled
// with GetModelInvocationJob every Poll; once it is Completed (or
// PartiallyCompleted, Failed, Expired, Stopped) the results are listed
// under <OutputURI>/<job id>/ and read, matched to their callers by
// recordId (their order is not the input's). A modelOutput is mapped as an
// on-demand Converse reply is (text blocks, usage, stopReason), with
// Response.Batch set; a record's error reaches its own caller only,
// classified like an on-demand error with that status; a record that
// failed transiently, or that an ended job did not run, is sent once more
// in a later job, then fails with refine.ErrUnavailable. Batched calls are
// not retried by WithRetry's layer (that would send whole jobs again).
//
// A job needs at least the model's minimum number of records (a quota, 100
// by default): a flush with fewer than MinRequests (default 100) requests
// goes out as ordinary Converse calls, through the retry layer, at the
// on-demand price. With New, BatchOptions.S3 (an *s3.Client) and Control
// (a *bedrock.Client of github.com/aws/aws-sdk-go-v2/service/bedrock) are
// required; FromEnv builds both from the AWS configuration. Their calls
// are bounded by WithTimeout each and keep the SDK clients' own retries.
// The service role must be able to read InputURI and write OutputURI (the
// Bedrock user guide, "Create a service role for batch inference"); the
// caller needs bedrock:CreateModelInvocationJob, GetModelInvocationJob and
// ListModelInvocationJobs, and S3 access to both locations. Bedrock API
// keys (AWS_BEARER_TOKEN_BEDROCK) do not sign S3 requests: batch inference
// needs AWS credentials.
//
// With a Journal, every job is recorded (fsync, atomic rename) before it is
// submitted; a process restarted with the same Journal and the same work
// re-attaches to its jobs, finding one whose ARN it had not recorded yet by
// its clientRequestToken (ListModelInvocationJobs), so no record is
// submitted or paid for twice. Close(ctx) sends what waits and ends every
// goroutine of the Provider; jobs still running are left to the journal.
//
// # Authentication
//
// FromEnv uses the AWS default credential chain (environment variables,
// shared config and credentials files and profiles, credential_process, SSO,
// web identity, ECS and EC2 roles). When AWS_BEARER_TOKEN_BEDROCK is set,
// the bedrockruntime client itself switches to Bedrock API-key (bearer)
// authentication, which requires https. Tests that point a client at a
// plain-http server must clear that variable before building the client:
// the client reads it in bedrockruntime.New.
//
// A *Provider is immutable after New and safe for concurrent use.
package bedrock
