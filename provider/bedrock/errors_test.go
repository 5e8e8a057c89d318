package bedrock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestCompleteErrors(t *testing.T) {
	tests := []struct {
		name      string
		model     string
		reply     reply
		wantKind  error
		permanent bool
		status    int
		code      string
		message   string           // the service's message, as it gave it
		sdkErr    func(error) bool // the SDK's error stays reachable
		wantText  []string         // substrings of err.Error()
		retryIn   time.Duration    // want RetryAfter
		transient bool
	}{
		{
			name:     "throttling (header)",
			reply:    errorReply(429, "ThrottlingException", "Too many requests, please wait before trying again.", true),
			wantKind: refine.ErrRateLimited, status: 429, code: "ThrottlingException",
			message:   "Too many requests, please wait before trying again.",
			sdkErr:    as[*types.ThrottlingException],
			transient: true,
		},
		{
			name:     "throttling (body __type)",
			reply:    errorReply(429, "ThrottlingException", "Too many tokens per day", false),
			wantKind: refine.ErrRateLimited, status: 429, code: "ThrottlingException",
			message:   "Too many tokens per day",
			sdkErr:    as[*types.ThrottlingException],
			transient: true,
		},
		{
			name: "throttling with Retry-After",
			reply: func() reply {
				r := errorReply(429, "ThrottlingException", "slow down", true)
				r.header["Retry-After"] = "7"
				return r
			}(),
			wantKind: refine.ErrRateLimited, status: 429, code: "ThrottlingException", message: "slow down",
			sdkErr: as[*types.ThrottlingException], retryIn: 7 * time.Second, transient: true,
		},
		{
			name:     "service quota exceeded is permanent",
			reply:    errorReply(400, "ServiceQuotaExceededException", "Your account has exceeded its quota.", true),
			wantKind: refine.ErrRateLimited, permanent: true, status: 400, code: "ServiceQuotaExceededException",
			message:  "Your account has exceeded its quota.",
			sdkErr:   as[*types.ServiceQuotaExceededException],
			wantText: []string{"[not retryable]"},
		},
		{
			name:     "access denied",
			reply:    errorReply(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", true),
			wantKind: refine.ErrAuth, status: 403, code: "AccessDeniedException",
			message: "You don't have access to the model with the specified model ID.",
			sdkErr:  as[*types.AccessDeniedException],
		},
		{
			name:     "unrecognized client",
			reply:    errorReply(403, "UnrecognizedClientException", "The security token included in the request is invalid.", true),
			wantKind: refine.ErrAuth, status: 403, code: "UnrecognizedClientException",
			message: "The security token included in the request is invalid.",
			sdkErr:  as[smithy.APIError],
		},
		{
			name:     "expired token",
			reply:    errorReply(400, "ExpiredTokenException", "The security token included in the request is expired", false),
			wantKind: refine.ErrAuth, status: 400, code: "ExpiredTokenException",
			message: "The security token included in the request is expired",
			sdkErr:  as[smithy.APIError],
		},
		{
			name:     "input too long",
			reply:    errorReply(400, "ValidationException", "Input is too long for requested model.", true),
			wantKind: refine.ErrContextLength, status: 400, code: "ValidationException",
			message: "Input is too long for requested model.",
			sdkErr:  as[*types.ValidationException],
		},
		{
			name:     "context window",
			reply:    errorReply(400, "ValidationException", "The model returned the following errors: prompt exceeds the context window of 300000 tokens", false),
			wantKind: refine.ErrContextLength, status: 400, code: "ValidationException",
			message: "The model returned the following errors: prompt exceeds the context window of 300000 tokens",
			sdkErr:  as[*types.ValidationException],
		},
		{
			// Claude's own wording, relayed by Bedrock.
			name:     "Claude: input length and max_tokens exceed context limit",
			model:    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			reply:    errorReply(400, "ValidationException", "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000, decrease input length or `max_tokens` and try again", true),
			wantKind: refine.ErrContextLength, status: 400, code: "ValidationException",
			message: "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000, decrease input length or `max_tokens` and try again",
			sdkErr:  as[*types.ValidationException],
		},
		{
			name:     "too many tokens",
			reply:    errorReply(400, "ValidationException", "Too many tokens in the request.", true),
			wantKind: refine.ErrContextLength, status: 400, code: "ValidationException",
			message: "Too many tokens in the request.",
			sdkErr:  as[*types.ValidationException],
		},
		{
			name:     "temperature and top_p together",
			model:    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			reply:    errorReply(400, "ValidationException", "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.", true),
			wantKind: refine.ErrInvalidRequest, status: 400, code: "ValidationException",
			message:  "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.",
			sdkErr:   as[*types.ValidationException],
			wantText: []string{"`top_p` cannot both be specified", "bedrock.WithoutTopP()"},
		},
		{
			name:     "temperature not supported",
			model:    "us.anthropic.claude-opus-4-7-v1:0",
			reply:    errorReply(400, "ValidationException", "The model returned the following errors: `temperature` is deprecated for this model.", true),
			wantKind: refine.ErrInvalidRequest, status: 400, code: "ValidationException",
			message:  "The model returned the following errors: `temperature` is deprecated for this model.",
			sdkErr:   as[*types.ValidationException],
			wantText: []string{"bedrock.WithoutTemperature()"},
		},
		{
			name:     "on-demand throughput for a plain model id",
			model:    "amazon.nova-lite-v1:0",
			reply:    errorReply(400, "ValidationException", "Invocation of model ID amazon.nova-lite-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", true),
			wantKind: refine.ErrInvalidRequest, status: 400, code: "ValidationException",
			message:  "Invocation of model ID amazon.nova-lite-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
			sdkErr:   as[*types.ValidationException],
			wantText: []string{"hint:", `"us.amazon.nova-lite-v1:0"`},
		},
		{
			name:     "other validation error",
			reply:    errorReply(400, "ValidationException", "A conversation must start with a user message.", false),
			wantKind: refine.ErrInvalidRequest, status: 400, code: "ValidationException",
			message: "A conversation must start with a user message.",
			sdkErr:  as[*types.ValidationException],
		},
		{
			name:     "resource not found",
			reply:    errorReply(404, "ResourceNotFoundException", "Model not found.", true),
			wantKind: refine.ErrInvalidRequest, status: 404, code: "ResourceNotFoundException",
			message: "Model not found.",
			sdkErr:  as[*types.ResourceNotFoundException],
		},
		{
			name:     "model not ready",
			reply:    errorReply(429, "ModelNotReadyException", "Model is not ready for inference.", true),
			wantKind: refine.ErrUnavailable, status: 429, code: "ModelNotReadyException",
			message: "Model is not ready for inference.",
			sdkErr:  as[*types.ModelNotReadyException], transient: true,
		},
		{
			name:     "model timeout",
			reply:    errorReply(408, "ModelTimeoutException", "Model has timed out in processing the request.", true),
			wantKind: refine.ErrUnavailable, status: 408, code: "ModelTimeoutException",
			message: "Model has timed out in processing the request.",
			sdkErr:  as[*types.ModelTimeoutException], transient: true,
		},
		{
			name:     "model error",
			reply:    errorReply(424, "ModelErrorException", "The model failed to process the request.", true),
			wantKind: refine.ErrUnavailable, status: 424, code: "ModelErrorException",
			message: "The model failed to process the request.",
			sdkErr:  as[*types.ModelErrorException], transient: true,
		},
		{
			name: "model error with the model's 400",
			reply: reply{status: 424, header: map[string]string{"X-Amzn-ErrorType": "ModelErrorException"},
				body: `{"message":"Malformed input request","originalStatusCode":400,"resourceName":"nova"}`},
			wantKind: refine.ErrInvalidRequest, status: 424, code: "ModelErrorException",
			message: "Malformed input request",
			sdkErr:  as[*types.ModelErrorException],
		},
		{
			name:     "internal server error",
			reply:    errorReply(500, "InternalServerException", "An internal server error occurred.", false),
			wantKind: refine.ErrUnavailable, status: 500, code: "InternalServerException",
			message: "An internal server error occurred.",
			sdkErr:  as[*types.InternalServerException], transient: true,
		},
		{
			name:     "service unavailable",
			reply:    errorReply(503, "ServiceUnavailableException", "Service is temporarily unavailable.", true),
			wantKind: refine.ErrUnavailable, status: 503, code: "ServiceUnavailableException",
			message: "Service is temporarily unavailable.",
			sdkErr:  as[*types.ServiceUnavailableException], transient: true,
		},
		{
			name:     "HTML 502 from a proxy",
			reply:    reply{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>Bad Gateway</body></html>"},
			wantKind: refine.ErrUnavailable, status: 502,
			sdkErr: as[*smithy.DeserializationError], transient: true,
			wantText: []string{"Bad Gateway: the body is not a Bedrock error", "<html><body>Bad Gateway</body></html>"},
		},
		{
			name:     "unknown 4xx",
			reply:    errorReply(400, "SomeNewException", "something else", true),
			wantKind: refine.ErrInvalidRequest, status: 400, code: "SomeNewException", message: "something else",
			sdkErr: as[smithy.APIError],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, seen) reply { return tt.reply })
			model := tt.model
			if model == "" {
				model = novaLite
			}
			p := bedrock.New(f.client(t), model, noRetry)
			resp, err := p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}})
			if err == nil {
				t.Fatalf("Complete = %+v, want an error", resp)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("error %v: want errors.Is %v", err, tt.wantKind)
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v: want a *refine.ProviderError", err, err)
			}
			if pe.Provider != "bedrock" || pe.StatusCode != tt.status || pe.Code != tt.code || pe.Permanent != tt.permanent {
				t.Errorf("ProviderError{Provider %q, StatusCode %d, Code %q, Permanent %v}, want {bedrock, %d, %q, %v}",
					pe.Provider, pe.StatusCode, pe.Code, pe.Permanent, tt.status, tt.code, tt.permanent)
			}
			if tt.message != "" && pe.Message != tt.message {
				t.Errorf("Message = %q, want %q", pe.Message, tt.message)
			}
			if pe.RetryAfter != tt.retryIn {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.retryIn)
			}
			if got := transient(err); got != tt.transient {
				t.Errorf("retryable = %v, want %v", got, tt.transient)
			}
			if !tt.sdkErr(err) {
				t.Errorf("error %v: the SDK's error is not reachable with errors.As", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error text %q does not contain %q", err, s)
				}
			}
			if n := f.hits(); n != 1 {
				t.Errorf("server hits = %d, want 1 (retries off: the SDK must not retry either)", n)
			}
		})
	}
}

func TestCompleteContextDone(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"canceled before the call", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			f := newFake(t, func(int, seen) reply {
				<-release // hold the call until the client gave up
				return okReply("late", "end_turn", 1, 1)
			})
			defer close(release)
			p := bedrock.New(f.client(t), novaLite)
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := p.Complete(ctx, &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}})
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v: want errors.Is %v", err, tt.want)
			}
			if errors.Is(err, refine.ErrUnavailable) || transient(err) {
				t.Errorf("error %v: a context error must not read as transient", err)
			}
		})
	}
}

// A connection failure is classified as unavailable (and so retried by
// refine), since the SDK's retryer, which used to retry it, is off.
func TestCompleteConnectionRefused(t *testing.T) {
	f := newFake(t, func(int, seen) reply { return okReply("x", "end_turn", 1, 1) })
	url := f.URL
	f.Close()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	p := bedrock.New(newClient(url), novaLite, noRetry)
	_, err := p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}})
	if !errors.Is(err, refine.ErrUnavailable) || !transient(err) {
		t.Fatalf("error %v: want a transient ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say what happened (connection refused)", err)
	}
}

// The SDK reads AWS_BEARER_TOKEN_BEDROCK when the client is built and then
// signs with the token instead of SigV4, which it refuses to send over plain
// http: the call fails before reaching the server. This is why the test
// clients clear the variable.
func TestBearerTokenEnvironment(t *testing.T) {
	f := newFake(t, func(int, seen) reply { return okReply("x", "end_turn", 1, 1) })
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}
	tests := []struct {
		name     string
		token    string
		wantHits int
		wantAuth string // prefix of the Authorization header
	}{
		{"set: bearer auth, refused over http", "bedrock-api-key-test", 0, ""},
		{"cleared: SigV4", "", 1, "AWS4-HMAC-SHA256 Credential=AKID/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.hits()
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", tt.token)
			p := bedrock.New(newClient(f.URL), novaLite)
			_, err := p.Complete(context.Background(), req)
			if hits := f.hits() - before; hits != tt.wantHits {
				t.Fatalf("server hits = %d (error %v), want %d", hits, err, tt.wantHits)
			}
			if tt.wantHits == 0 {
				if err == nil {
					t.Fatal("Complete succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if a := f.requests()[before].Auth; !strings.HasPrefix(a, tt.wantAuth) {
				t.Errorf("Authorization = %q, want prefix %q", a, tt.wantAuth)
			}
		})
	}
}
