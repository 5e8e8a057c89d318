package openai_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
	"github.com/selfrefine/refine/provider/openai"
)

// TestServerErrors replays the error responses of the servers in the
// providers table, byte for byte as each sends them (status, headers,
// body), through the real go-openai client. The source of each body is
// named next to it.
func TestServerErrors(t *testing.T) {
	const jsonCT = "application/json"
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		wantKind      error
		wantCode      string
		wantPermanent bool
		wantRetry     time.Duration
		wantIn        []string // substrings of err.Error()
	}{
		// llama.cpp server: format_error_response in tools/server/utils.hpp
		// ("code" is the HTTP status, "type" the useful part); bodies as
		// observed from llama-server (WIRE.md).
		{
			name: "llama.cpp context overflow", status: 400,
			body:     `{"error":{"code":400,"message":"request (8827 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":8827,"n_ctx":2048}}`,
			wantKind: refine.ErrContextLength, wantCode: "exceed_context_size_error",
			wantIn: []string{"(HTTP 400, exceed_context_size_error)", "request (8827 tokens) exceeds the available context size"},
		},
		{
			name: "llama.cpp wrong API key", status: 401,
			body:     `{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}`,
			wantKind: refine.ErrAuth, wantCode: "authentication_error", wantIn: []string{"Invalid API Key"},
		},
		{
			name: "llama.cpp unknown path", status: 404,
			body:     `{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}`,
			wantKind: refine.ErrInvalidRequest, wantCode: "not_found_error", wantIn: []string{"File Not Found", "check the base URL", "/v1"},
		},
		{
			name: "llama.cpp model still loading", status: 503,
			body:     `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`,
			wantKind: refine.ErrUnavailable, wantCode: "unavailable_error",
		},
		// vLLM: ErrorResponse{error: ErrorInfo{message, type, param, code:int}}
		// in vllm/entrypoints/openai/protocol.py; the context check's
		// message in the serving engine's input validation.
		{
			name: "vLLM context overflow", status: 400,
			body:     `{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 10778 tokens (2778 in the messages, 8000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}}`,
			wantKind: refine.ErrContextLength, wantCode: "BadRequestError", wantIn: []string{"(HTTP 400, BadRequestError)"},
		},
		{
			name: "vLLM engine prompt too long", status: 400,
			body:     `{"error":{"message":"The decoder prompt (length 8825) is longer than the maximum model length of 8192. Make sure that max_model_len is no smaller than the number of text tokens.","type":"BadRequestError","param":null,"code":400}}`,
			wantKind: refine.ErrContextLength, wantCode: "BadRequestError",
		},
		{
			// vLLM before errors moved under "error": the ErrorResponse
			// fields at the top level.
			name: "vLLM (older) context overflow", status: 400,
			body:     `{"object":"error","message":"This model's maximum context length is 2048 tokens. However, your messages resulted in 3503 tokens. Please reduce the length of the messages.","type":"BadRequestError","param":null,"code":400}`,
			wantKind: refine.ErrContextLength, wantCode: "BadRequestError", wantIn: []string{"maximum context length is 2048"},
		},
		{
			// vLLM's --api-key middleware in api_server.py.
			name: "vLLM wrong API key", status: 401,
			body:     `{"error":"Unauthorized"}`,
			wantKind: refine.ErrAuth, wantIn: []string{"Unauthorized"},
		},
		{
			// FastAPI's default 404 body.
			name: "vLLM unknown path", status: 404,
			body:     `{"detail":"Not Found"}`,
			wantKind: refine.ErrInvalidRequest, wantIn: []string{"Not Found", "check the base URL"},
		},
		{
			name: "vLLM unknown model", status: 404,
			body:     "{\"error\":{\"message\":\"The model `llama` does not exist.\",\"type\":\"NotFoundError\",\"param\":\"model\",\"code\":404}}",
			wantKind: refine.ErrInvalidRequest, wantCode: "NotFoundError", wantIn: []string{"does not exist", "does not know model"},
		},
		// Ollama: NewError in openai/openai.go maps 404 to not_found_error,
		// 400 to invalid_request_error, others to api_error; unknown paths
		// get Go's mux "404 page not found".
		{
			name: "Ollama model not pulled", status: 404,
			body:     `{"error":{"message":"model \"llama3.2\" not found, try pulling it first","type":"not_found_error","param":null,"code":null}}`,
			wantKind: refine.ErrInvalidRequest, wantCode: "not_found_error", wantIn: []string{"try pulling it first", "ollama pull"},
		},
		{
			name: "Ollama unknown path", status: 404, header: map[string]string{"Content-Type": "text/plain"},
			body:     "404 page not found",
			wantKind: refine.ErrInvalidRequest, wantIn: []string{"non-JSON body (text/plain)", "check the base URL"},
		},
		// Ollama since its runner fails an over-long prompt (ollama/ollama
		// #16712, June 2026): the llama.cpp error object serialised as the
		// message of Ollama's own (ollama/ollama #16800).
		{
			name: "Ollama context overflow, error inside the message", status: 400,
			body:     `{"error":{"message":"{\"error\":{\"code\":400,\"message\":\"request (42947 tokens) exceeds the available context size (32768 tokens), try increasing it\",\"type\":\"exceed_context_size_error\",\"n_prompt_tokens\":42947,\"n_ctx\":32768}}","type":"invalid_request_error","param":null,"code":null}}`,
			wantKind: refine.ErrContextLength, wantCode: "exceed_context_size_error",
			wantIn: []string{"(HTTP 400, exceed_context_size_error): request (42947 tokens) exceeds the available context size (32768 tokens)"},
		},
		{
			name: "Ollama server busy", status: 503,
			body:     `{"error":{"message":"server busy, please try again.  maximum pending requests exceeded","type":"api_error","param":null,"code":null}}`,
			wantKind: refine.ErrUnavailable, wantCode: "api_error",
		},
		// LM Studio (closed source): bodies from lmstudio-bug-tracker
		// issues #237, #546 (context) and #618 (unknown path, sent with 200).
		{
			name: "LM Studio context overflow", status: 400,
			body:     `{"error":"Trying to keep the first 15857 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input"}`,
			wantKind: refine.ErrContextLength, wantIn: []string{"context length of only 4096 tokens"},
		},
		{
			name: "LM Studio 0.4 context overflow", status: 400,
			body:     `{"error":"Cannot truncate prompt with n_keep (15028) >= n_ctx (7424)"}`,
			wantKind: refine.ErrContextLength,
		},
		{
			name: "LM Studio unknown path (status 200)", status: 200,
			body:     `{"error":"Unexpected endpoint or method. (POST /chat/completions)"}`,
			wantKind: refine.ErrInvalidRequest, wantIn: []string{"Unexpected endpoint or method", "check the base URL"},
		},
		// Azure OpenAI: "code" is the status as a string; the wait is in
		// Retry-After (Azure OpenAI quotas documentation).
		{
			name: "Azure token rate limit", status: 429, header: map[string]string{"Retry-After": "86400"},
			body:      `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 86400 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`,
			wantKind:  refine.ErrRateLimited,
			wantRetry: wire.MaxRetryAfter, wantIn: []string{"exceeded token rate limit"},
		},
		{
			name: "Azure wrong key", status: 401,
			body:     `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`,
			wantKind: refine.ErrAuth, wantIn: []string{"Access denied"},
		},
		// OpenAI: x-ratelimit-* headers (API reference, "Rate limits"); with
		// no Retry-After the exhausted limit's reset time is the wait.
		{
			name: "OpenAI 429 with only x-ratelimit-reset", status: 429,
			header: map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s",
				"x-ratelimit-remaining-tokens": "9000", "x-ratelimit-reset-tokens": "6m0s"},
			body:     `{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			wantKind: refine.ErrRateLimited, wantCode: "rate_limit_exceeded", wantRetry: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{"Content-Type": jsonCT}
			for k, v := range tt.header {
				header[k] = v
			}
			srv := newFake(t, replies(reply{status: tt.status, header: header, body: tt.body}))
			p := openai.New("llama", openai.WithBaseURL(srv.URL+"/v1"), noRetry)
			_, err := p.Complete(context.Background(), user("q"))
			if n := len(srv.Hits()); n != 1 {
				t.Errorf("server received %d requests, want 1", n)
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %T %v, want a *refine.ProviderError", err, err)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("kind: got %v, want %v (err: %v)", pe.Kind, tt.wantKind, err)
			}
			if pe.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", pe.Code, tt.wantCode)
			}
			if pe.Permanent != tt.wantPermanent {
				t.Errorf("Permanent = %v, want %v", pe.Permanent, tt.wantPermanent)
			}
			if pe.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.wantRetry)
			}
			msg := err.Error()
			for _, s := range tt.wantIn {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			if strings.HasPrefix(strings.TrimSpace(tt.body), "{") && strings.Contains(msg, "non-JSON") {
				t.Errorf("error %q calls a JSON body non-JSON", msg)
			}
			if strings.Contains(msg, ", 400)") || strings.Contains(msg, ", 404)") || strings.Contains(msg, ", 429)") {
				t.Errorf("error %q shows a numeric code instead of the type", msg)
			}
		})
	}
}
