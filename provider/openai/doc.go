// Package openai is the refine.Provider for the OpenAI Chat Completions API
// and the many servers that speak it, built on
// github.com/sashabaranov/go-openai.
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
//	openai.New("qwen2.5-7b-instruct", openai.WithBaseURL("http://localhost:1234/v1"))      // LM Studio
//
// The base URL must include the API prefix, usually /v1: a 404 with a
// non-JSON body says so in the error. MaxTokens is sent as max_tokens,
// which these servers read (Ollama ignores max_completion_tokens).
//
// # Azure OpenAI
//
//	openai.New("gpt-4o",
//		openai.WithAzure("https://my-resource.openai.azure.com", "2024-10-21"),
//		openai.WithAPIKey(os.Getenv("AZURE_OPENAI_API_KEY")),
//		openai.WithAzureDeployment("my-gpt4o"))
//
// Requests go to {endpoint}/openai/deployments/{deployment}/chat/completions
// ?api-version={version}, with the key in the api-key header. Without
// WithAzureDeployment the deployment is named after the model; a 404
// DeploymentNotFound means the mapping is wrong, and the error says so.
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
// an explicit 0 never reaches the API, which then samples at its default of
// 1.0 (go-openai issues #9 and #678). The Provider builds its go-openai
// client around its own HTTP layer, which writes "temperature": 0 (and
// "top_p": 0) into the JSON body when the caller asked for 0. With
// WithClient this is impossible, and 0 is sent as the smallest positive
// float32 instead.
//
// # Errors and retries
//
// Errors are classified by HTTP status and the API's error code, never by
// message text, into a *refine.ProviderError whose Kind is one of refine's
// sentinels (see Provider.Complete); go-openai's own error stays reachable
// with errors.As. The Retry-After (or retry-after-ms) header of an error
// response is read into ProviderError.RetryAfter. go-openai never retries,
// and neither does this package: each Complete call makes one HTTP request,
// and refine.Complete, which the loop uses for every model call, retries
// rate limits and unavailability with backoff, honouring Retry-After.
// An exhausted quota (insufficient_quota) is a permanent ErrRateLimited and
// is not retried.
package openai
