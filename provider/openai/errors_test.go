package openai_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

const htmlBadGateway = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"

func TestErrors(t *testing.T) {
	const (
		sdkAPI     = "APIError"
		sdkRequest = "RequestError"
	)
	httpDate := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name          string
		model         string
		opts          []openai.Option
		reply         reply
		wantKind      error
		wantStatus    int
		wantCode      string
		wantPermanent bool
		wantTransient bool
		wantRetry     [2]time.Duration // inclusive range of RetryAfter
		wantSDK       string
		wantInError   []string // substrings of err.Error()
	}{
		{
			name:     "429 rate limit with Retry-After seconds",
			reply:    apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.", map[string]string{"Retry-After": "2"}),
			wantKind: refine.ErrRateLimited, wantStatus: 429, wantCode: "rate_limit_exceeded", wantTransient: true,
			wantRetry: [2]time.Duration{2 * time.Second, 2 * time.Second}, wantSDK: sdkAPI,
			wantInError: []string{"rate limited", "HTTP 429", "Rate limit reached"},
		},
		{
			name:     "429 retry-after-ms wins over Retry-After",
			reply:    apiError(429, "rate_limit_exceeded", "tokens", "Rate limit reached", map[string]string{"Retry-After": "2", "retry-after-ms": "1500"}),
			wantKind: refine.ErrRateLimited, wantStatus: 429, wantCode: "rate_limit_exceeded", wantTransient: true,
			wantRetry: [2]time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond}, wantSDK: sdkAPI,
		},
		{
			name:     "429 Retry-After as HTTP date",
			reply:    apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"Retry-After": httpDate}),
			wantKind: refine.ErrRateLimited, wantStatus: 429, wantCode: "rate_limit_exceeded", wantTransient: true,
			wantRetry: [2]time.Duration{27 * time.Second, 30 * time.Second}, wantSDK: sdkAPI,
		},
		{
			name:     "429 insufficient quota is permanent",
			reply:    apiError(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", nil),
			wantKind: refine.ErrRateLimited, wantStatus: 429, wantCode: "insufficient_quota", wantPermanent: true, wantSDK: sdkAPI,
			wantInError: []string{"quota exhausted, not retryable", "You exceeded your current quota"},
		},
		{
			name:     "401 invalid key",
			reply:    apiError(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided: sk-bad.", nil),
			wantKind: refine.ErrAuth, wantStatus: 401, wantCode: "invalid_api_key", wantSDK: sdkAPI,
			wantInError: []string{"authentication failed", "HTTP 401", "Incorrect API key"},
		},
		{
			name:     "403 region",
			reply:    apiError(403, "unsupported_country_region_territory", "request_forbidden", "Country, region, or territory not supported", nil),
			wantKind: refine.ErrAuth, wantStatus: 403, wantCode: "unsupported_country_region_territory", wantSDK: sdkAPI,
		},
		{
			name:     "400 context length",
			reply:    apiError(400, "context_length_exceeded", "invalid_request_error", "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", nil),
			wantKind: refine.ErrContextLength, wantStatus: 400, wantCode: "context_length_exceeded", wantSDK: sdkAPI,
		},
		{
			name:     "400 other",
			reply:    apiError(400, "", "invalid_request_error", "Invalid value for 'stop'.", nil),
			wantKind: refine.ErrInvalidRequest, wantStatus: 400, wantCode: "invalid_request_error", wantSDK: sdkAPI,
		},
		{
			name:     "404 unknown model",
			reply:    apiError(404, "model_not_found", "invalid_request_error", "The model `gpt-9` does not exist or you do not have access to it.", nil),
			wantKind: refine.ErrInvalidRequest, wantStatus: 404, wantCode: "model_not_found", wantSDK: sdkAPI,
		},
		{
			name:     "404 plain text: wrong base URL",
			reply:    reply{status: 404, header: map[string]string{"Content-Type": "text/plain"}, body: "404 page not found"},
			wantKind: refine.ErrInvalidRequest, wantStatus: 404, wantSDK: sdkRequest,
			wantInError: []string{"check the base URL", "/v1", "404 page not found"},
		},
		{
			name:     "404 Azure deployment not found",
			model:    "gpt-4o",
			opts:     []openai.Option{openai.WithAzureDeployment("gpt4o-prod")},
			reply:    apiError(404, "DeploymentNotFound", "", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.", nil),
			wantKind: refine.ErrInvalidRequest, wantStatus: 404, wantCode: "DeploymentNotFound", wantSDK: sdkAPI,
			wantInError: []string{"deployment name mapping", `"gpt4o-prod"`, `"gpt-4o"`},
		},
		{
			name:     "500 server error",
			reply:    apiError(500, "", "server_error", "The server had an error while processing your request.", nil),
			wantKind: refine.ErrUnavailable, wantStatus: 500, wantCode: "server_error", wantTransient: true, wantSDK: sdkAPI,
		},
		{
			name:     "503 HTML from a proxy",
			reply:    reply{status: 503, header: map[string]string{"Content-Type": "text/html", "Retry-After": "1"}, body: htmlBadGateway},
			wantKind: refine.ErrUnavailable, wantStatus: 503, wantTransient: true, wantSDK: sdkRequest,
			wantRetry:   [2]time.Duration{time.Second, time.Second},
			wantInError: []string{"provider unavailable", "HTTP 503", "non-JSON", "503 Service Temporarily Unavailable"},
		},
		{
			name:     "502 empty body",
			reply:    reply{status: 502, body: ""},
			wantKind: refine.ErrUnavailable, wantStatus: 502, wantTransient: true, wantSDK: sdkRequest,
		},
		{
			name:     "200 with a body that is not JSON",
			reply:    reply{status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "<html>captive portal</html>"},
			wantKind: refine.ErrUnavailable, wantStatus: 200, wantTransient: true,
			wantInError: []string{"unreadable response", "non-JSON body (text/html)", "captive portal"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(tt.reply))
			model := tt.model
			if model == "" {
				model = "gpt-4o-mini"
			}
			opts := []openai.Option{openai.WithBaseURL(srv.URL + "/v1"), openai.WithAPIKey("sk-test")}
			if len(tt.opts) > 0 { // Azure
				opts = append([]openai.Option{openai.WithAzure(srv.URL, ""), openai.WithAPIKey("k")}, tt.opts...)
			}
			p := openai.New(model, append(opts, noRetry)...)
			resp, err := p.Complete(context.Background(), user("q"))
			if err == nil {
				t.Fatalf("Complete = %+v, want an error", resp)
			}
			if n := len(srv.Hits()); n != 1 {
				t.Errorf("server received %d requests, want exactly 1", n)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.wantKind, err)
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %T %v, want a *refine.ProviderError", err, err)
			}
			if pe.Provider != "openai" {
				t.Errorf("Provider = %q, want %q", pe.Provider, "openai")
			}
			if pe.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", pe.StatusCode, tt.wantStatus)
			}
			if pe.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", pe.Code, tt.wantCode)
			}
			if pe.Permanent != tt.wantPermanent {
				t.Errorf("Permanent = %v, want %v", pe.Permanent, tt.wantPermanent)
			}
			if got := retryable(err); got != tt.wantTransient {
				t.Errorf("retryable = %v, want %v", got, tt.wantTransient)
			}
			if pe.RetryAfter < tt.wantRetry[0] || pe.RetryAfter > tt.wantRetry[1] {
				t.Errorf("RetryAfter = %v, want within [%v, %v]", pe.RetryAfter, tt.wantRetry[0], tt.wantRetry[1])
			}
			var (
				apiErr *goopenai.APIError
				reqErr *goopenai.RequestError
			)
			switch tt.wantSDK {
			case sdkAPI:
				if !errors.As(err, &apiErr) {
					t.Errorf("errors.As(err, *openai.APIError) = false; err = %v", err)
				} else if apiErr.HTTPStatusCode != tt.wantStatus {
					t.Errorf("APIError.HTTPStatusCode = %d, want %d", apiErr.HTTPStatusCode, tt.wantStatus)
				}
			case sdkRequest:
				if !errors.As(err, &reqErr) {
					t.Errorf("errors.As(err, *openai.RequestError) = false; err = %v", err)
				} else if reqErr.HTTPStatusCode != tt.wantStatus {
					t.Errorf("RequestError.HTTPStatusCode = %d, want %d", reqErr.HTTPStatusCode, tt.wantStatus)
				}
			}
			for _, s := range tt.wantInError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := newFake(t, replies(ok("x")))
	url := srv.URL
	srv.Close() // nothing listens there any more
	p := openai.New("llama3.2", openai.WithBaseURL(url+"/v1"), noRetry)
	_, err := p.Complete(context.Background(), user("q"))
	if !errors.Is(err, refine.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the server %s", err, url)
	}
}

// TestRetries checks what the adapter retries by itself: what is
// transient, waiting as long as the server asked.
func TestRetries(t *testing.T) {
	fast := map[string]string{"retry-after-ms": "10"}
	tests := []struct {
		name     string
		replies  []reply
		wantHits int
		wantKind error // nil: success
	}{
		{"429 then success: one retry", []reply{apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", fast), ok("done")}, 2, nil},
		{"503 HTML then success: one retry", []reply{{status: 503, header: map[string]string{"Content-Type": "text/html", "Retry-After-Ms": "10"}, body: htmlBadGateway}, ok("done")}, 2, nil},
		{"insufficient quota: no retry", []reply{apiError(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", fast), ok("never")}, 1, refine.ErrRateLimited},
		{"401: no retry", []reply{apiError(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided", nil), ok("never")}, 1, refine.ErrAuth},
		{"400 context length: no retry", []reply{apiError(400, "context_length_exceeded", "invalid_request_error", "maximum context length", nil), ok("never")}, 1, refine.ErrContextLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(tt.replies...))
			p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("sk-test"),
				openai.WithRetry(refine.RetryPolicy{Base: time.Millisecond, Max: 5 * time.Millisecond}))
			start := time.Now()
			resp, err := p.Complete(context.Background(), user("q"))
			if n := len(srv.Hits()); n != tt.wantHits {
				t.Errorf("server received %d requests, want %d", n, tt.wantHits)
			}
			if tt.wantKind == nil {
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				if resp.Text != "done" {
					t.Errorf("Text = %q, want %q", resp.Text, "done")
				}
				if d := time.Since(start); d < 10*time.Millisecond {
					t.Errorf("retried after %v, want the 10ms the server asked for", d)
				}
				return
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("err = %v, want %v", err, tt.wantKind)
			}
		})
	}
}

func TestContextErrors(t *testing.T) {
	// A server that never answers until the client goes away.
	block := func(t *testing.T) (*httptest.Server, chan struct{}) {
		arrived := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // a closed connection is noticed once the body is read
			arrived <- struct{}{}
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv, arrived
	}

	t.Run("canceled during the request", func(t *testing.T) {
		srv, arrived := block(t)
		p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		_, err := p.Complete(ctx, user("q"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if retryable(err) {
			t.Errorf("retryable(%v) = true, want false", err)
		}
	})
	t.Run("deadline during the request", func(t *testing.T) {
		srv, _ := block(t)
		p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Complete(ctx, user("q"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("canceled before: nothing sent", func(t *testing.T) {
		srv := newFake(t, replies(ok("x")))
		p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.Complete(ctx, user("q"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(srv.Hits()); n != 0 {
			t.Errorf("server received %d requests, want 0", n)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	srv := newFake(t, replies(ok("x")))
	tests := []struct {
		name       string
		emptyModel bool
		opts       []openai.Option
		wantKind   error
		wantIn     []string
	}{
		{name: "empty model", emptyModel: true, opts: []openai.Option{openai.WithBaseURL(srv.URL)},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"empty model name"}},
		{name: "official endpoint without key", wantKind: refine.ErrAuth,
			wantIn: []string{"no API key", "https://api.openai.com/v1", "WithAPIKey"}},
		{name: "explicit official URL without key", opts: []openai.Option{openai.WithBaseURL("https://api.openai.com/v1")},
			wantKind: refine.ErrAuth, wantIn: []string{"no API key"}},
		{name: "base URL without scheme", opts: []openai.Option{openai.WithBaseURL("localhost:11434/v1")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithBaseURL", `"localhost:11434/v1"`, "http"}},
		{name: "base URL with query", opts: []openai.Option{openai.WithBaseURL("http://localhost:8000/v1?x=1")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithBaseURL", "query"}},
		{name: "retry policy with negative backoff", opts: []openai.Option{openai.WithBaseURL(srv.URL), openai.WithRetry(refine.RetryPolicy{Base: -time.Second})},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRetry", "Base: -1s", ">= 0"}},
		{name: "retry policy with Max below Base", opts: []openai.Option{openai.WithBaseURL(srv.URL), openai.WithRetry(refine.RetryPolicy{Base: time.Second, Max: time.Millisecond})},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRetry", "Max must be >= Base"}},
		{name: "nil HTTP client", opts: []openai.Option{openai.WithBaseURL(srv.URL), openai.WithHTTPClient(nil)},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithHTTPClient"}},
		{name: "Azure without key", opts: []openai.Option{openai.WithAzure(srv.URL, "2024-10-21")},
			wantKind: refine.ErrAuth, wantIn: []string{"WithAzure", "WithAPIKey"}},
		{name: "Azure bad endpoint", opts: []openai.Option{openai.WithAzure("my-resource.openai.azure.com", ""), openai.WithAPIKey("k")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithAzure", `"my-resource.openai.azure.com"`}},
		{name: "Azure and base URL", opts: []openai.Option{openai.WithAzure(srv.URL, ""), openai.WithAPIKey("k"), openai.WithBaseURL(srv.URL)},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithBaseURL", "WithAzure"}},
		{name: "deployment without Azure", opts: []openai.Option{openai.WithBaseURL(srv.URL), openai.WithAzureDeployment("d")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithAzureDeployment", `"d"`}},
		{name: "empty deployment", opts: []openai.Option{openai.WithAzure(srv.URL, ""), openai.WithAPIKey("k"), openai.WithAzureDeployment("")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithAzureDeployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := "gpt-4o-mini"
			if tt.emptyModel {
				model = ""
			}
			p := openai.New(model, tt.opts...)
			if err := p.Validate(); !errors.Is(err, tt.wantKind) {
				t.Errorf("Validate() = %v, want an error wrapping %v", err, tt.wantKind)
			}
			for range 2 { // every call reports it
				_, err := p.Complete(context.Background(), user("q"))
				if !errors.Is(err, tt.wantKind) {
					t.Fatalf("err = %v, want %v", err, tt.wantKind)
				}
				if retryable(err) {
					t.Errorf("retryable(%v) = true, want false", err)
				}
				for _, s := range tt.wantIn {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
			}
		})
	}
	if n := len(srv.Hits()); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestBadRequests(t *testing.T) {
	srv := newFake(t, replies(ok("x")))
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	for name, req := range map[string]*refine.Request{"nil": nil, "no messages": {}} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Complete(context.Background(), req)
			if !errors.Is(err, refine.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := len(srv.Hits()); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

// retryable is refine.RetryProvider's rule: a rate limit or unavailability
// not marked Permanent.
func retryable(err error) bool {
	var pe *refine.ProviderError
	if errors.As(err, &pe) && pe.Permanent {
		return false
	}
	return errors.Is(err, refine.ErrRateLimited) || errors.Is(err, refine.ErrUnavailable)
}
