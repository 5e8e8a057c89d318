// Package openai is the refine.Provider for the OpenAI Chat Completions API
// and the many servers that speak it, built on
// github.com/sashabaranov/go-openai. *Provider also implements
// refine.StreamProvider.
//
// # Usage
//
//	p := openai.New("gpt-4o-mini", openai.WithAPIKey(os.Getenv("OPENAI_API_KEY")))
//	res, err := refine.Run(ctx, "Explain Go's select statement.", refine.WithProvider(p))
//
// or, configured from OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL:
//
//	p, err := openai.FromEnv()
//
// # OpenAI-compatible servers
//
// WithBaseURL points the Provider at any server with an OpenAI-style
// /chat/completions endpoint. Local servers need no key, and none is sent
// (no Authorization header) when WithAPIKey is not given:
//
//	openai.New("llama3.2", openai.WithBaseURL("http://localhost:11434/v1"))                // Ollama
//	openai.New("Qwen/Qwen2.5-7B-Instruct", openai.WithBaseURL("http://localhost:8000/v1")) // vLLM
//	openai.New("any", openai.WithBaseURL("http://localhost:8080/v1"))                      // llama.cpp llama-server
//	openai.New("qwen2.5-7b-instruct", openai.WithBaseURL("http://localhost:1234/v1"))      // LM Studio
//
// The base URL must include the API prefix, usually /v1: an error saying
// the server has nothing at the path (a 404 of any shape, or LM Studio's
// "Unexpected endpoint or method" sent with status 200) carries a Hint
// saying so. MaxTokens is sent as max_tokens, which these servers read
// (Ollama ignores max_completion_tokens).
//
// # Azure OpenAI
//
//	openai.New("gpt-4o",
//		openai.WithAzure("https://my-resource.openai.azure.com", "2024-10-21"),
//		openai.WithAPIKey(os.Getenv("AZURE_OPENAI_API_KEY")),
//		openai.WithAzureDeployment("my-gpt4o"))
//
// Requests go to {endpoint}/openai/deployments/{deployment}/chat/completions
// ?api-version={version}, with the key in the api-key header, or with
// WithTokenSource a Microsoft Entra ID bearer token obtained per request.
// Without WithAzureDeployment the deployment is named after the model; a
// 404 DeploymentNotFound means the mapping is wrong, and the error's Hint
// says so.
//
// # Reasoning models
//
// Models whose names start with o1, o3, o4 or gpt-5 (and go-openai's GPT-6
// models) reject temperature, top_p, logprobs and max_tokens, and go-openai
// refuses such requests before sending them. The Provider therefore never
// sends them to these models: MaxTokens goes out as max_completion_tokens,
// and a temperature, top_p or TopLogprobs the caller set is dropped, the
// call succeeds, and a warning is logged through slog (WithLogger) once per
// Provider and parameter. This lets one loop configuration, such as the
// judge's temperature 0, run on any model.
//
// # Temperature 0
//
// go-openai's Temperature and TopP are float32 fields tagged omitempty, so
// an explicit 0 would never reach the API, which then samples at its
// default of 1.0 (go-openai issues #9 and #678). The Provider sends every
// request through its own HTTP layer, which writes "temperature": 0 (and
// "top_p": 0) into the JSON body when the caller asked for 0, on every
// call and every retry of it. The Provider always builds its own go-openai
// client, so that this layer is in place; there is no option to hand it
// one (WithBaseURL, WithHTTPClient, WithOrganization and WithAzure cover
// the connection settings).
// A tiny positive value is no substitute: llama.cpp divides the logits by
// the temperature, and at 1e-45 they overflow and sampling is no longer
// greedy.
//
// # Structured output
//
// A Request with a Schema is sent as response_format {"type":"json_schema",
// "json_schema":{"name","schema","strict":true}}. Strict mode accepts a
// subset of JSON Schema, and the Provider rewrites the caller's schema into
// it where that keeps its meaning: an optional property becomes a required
// property that may be null (and those nulls are removed from the reply, so
// the Response's text is valid against the caller's schema),
// additionalProperties false is added to objects with fixed properties, and
// annotations such as default and $schema are dropped. A schema strict mode
// cannot express (a map, allOf, minLength, a non-object root, ...) fails
// before any request, naming the keyword and where it is. For servers
// without json_schema, WithSchemaMode(SchemaInstruct) sends JSON mode and
// the schema in a system instruction instead; the rule is that option,
// never a guess from the server's errors.
//
// # Streaming
//
// Stream sends the same request with "stream": true and
// "stream_options": {"include_usage": true}, so the usage it returns is the
// server's count, and delivers the answer's text as it arrives. A stream
// that fails after some text returns an error and no Response. A server
// that ignores "stream": true and sends one JSON body (as
// application/json, text/plain or any type but text/event-stream) is
// answered from it, as one piece of text, with the body's usage and model.
//
// # Errors
//
// Every failure is a *refine.ProviderError whose Kind is one of refine's
// sentinels (see Provider.Complete); go-openai's own error stays reachable
// with errors.As. Classification reads the error's code or type first, the
// HTTP status next, and a documented message pattern last, for the error
// shapes of OpenAI, Azure OpenAI, vLLM, llama.cpp (llama-server), Ollama
// and LM Studio: context overflow is ErrContextLength on each of them, rate
// limits ErrRateLimited, bad keys ErrAuth. When a server puts the HTTP
// status in the error's code (llama.cpp, vLLM, Azure), ProviderError.Code
// holds the error's type instead (exceed_context_size_error,
// BadRequestError). Network failures say which they were (connection
// refused, reset before or during the reply, TLS, DNS, timeout) and quote
// the underlying error; a TLS failure and an unknown host are Permanent,
// the others are retried.
//
// A success response that cannot be read as an answer — truncated JSON,
// an HTML page from a proxy, no choices — is ErrUnavailable and retryable:
// it is what a restarting server or a misbehaving proxy produces, and the
// next attempt usually works. provider/bedrock follows the same rule.
//
// # Retries, timeouts, response size
//
// go-openai never retries; the Provider does. It retries transient
// failures (rate limits, 5xx, 408, network failures, timeouts, malformed
// success responses) by default 3 times with exponential backoff from
// 500ms (the zero refine.RetryPolicy), waiting out instead the delay the
// server asked for (Retry-After, retry-after-ms, or OpenAI's
// x-ratelimit-reset-* headers, which ProviderError.RetryAfter carries). A
// pause the server asked for holds every call through the Provider that
// received it. WithRetry sets the policy; RetryPolicy{MaxRetries: -1}
// turns retries off, one HTTP request per call. An exhausted quota
// (insufficient_quota) is a Permanent ErrRateLimited and is not retried.
//
// Retrying is the Provider's, not the Loop's, so a call is retried by the
// same rule however the Provider reaches a run: refine.WithProvider,
// WithJudgeProvider, a judge built on it (refine.NewLLMJudge), a part of a
// composite judge, the regression guard. The Provider is a refine.Retrier,
// so refine.RetryProvider adds no second layer around it: a policy of N
// retries is at most N+1 requests per call. Do not give WithHTTPClient a
// transport that retries too.
//
// Each Complete call is bounded by WithTimeout (default DefaultTimeout, 10
// minutes, as the official SDKs), which covers a server that stalls in the
// middle of its reply; a Stream by the same time without data, so a long
// answer that keeps arriving is not cut off. Each response body is capped
// by WithMaxResponseBytes (default DefaultMaxResponseBytes, 32 MiB), each
// event of a stream too and the whole stream at 8 times that: a larger
// response fails, unretried, with memory bounded by the limit.
//
// # Secrets
//
// The API key, WithTokenSource's tokens and URL credentials never appear in
// an error (Error, %+v, the go-openai errors inside) or a log record: URLs
// are redacted (password, a user name given alone, and query values of
// key-like parameters), and server text quoted in errors is scrubbed of
// every credential the Provider was configured with — the key, the token,
// the base URL's password and user:password pair, also in the HTTP Basic
// (base64) form a gateway received them in — and of anything shaped like
// a bearer token, an sk- key, a JWT or AWS credentials. Server messages are otherwise quoted as sent,
// so they may carry the server's own words about the request. The adapter
// logs only the reasoning-model warnings above: model, parameter, value.
package openai
