package bedrock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

func alwaysFail(r reply) func(int, seen) reply { return func(int, seen) reply { return r } }

// The client's own retryer would attempt a throttled call several times;
// the Provider turns it off for its calls, whatever the client says.
func TestSDKRetriesAreOff(t *testing.T) {
	throttled := errorReply(429, "ThrottlingException", "slow down", true)
	unavailable := errorReply(503, "ServiceUnavailableException", "try later", true)
	tests := []struct {
		name       string
		reply      reply
		clientOpts []func(*bedrockruntime.Options)
		wantRaw    int // hits when the client is called directly
	}{
		{"throttled, standard retryer", throttled, []func(*bedrockruntime.Options){fastSDKRetries}, 3},
		{"503, standard retryer", unavailable, []func(*bedrockruntime.Options){fastSDKRetries}, 3},
		{"throttled, RetryMaxAttempts 5", throttled, []func(*bedrockruntime.Options){fastSDKRetries, func(o *bedrockruntime.Options) { o.RetryMaxAttempts = 5 }}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, alwaysFail(tt.reply))
			client := f.client(t, tt.clientOpts...)

			// Control: the fake does make the SDK retry.
			_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId: aws.String(novaLite),
				Messages: []types.Message{{Role: types.ConversationRoleUser,
					Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "q"}}}},
			})
			if err == nil {
				t.Fatal("direct Converse succeeded, want an error")
			}
			if got := f.hits(); got != tt.wantRaw {
				t.Fatalf("direct Converse: server hits = %d, want %d", got, tt.wantRaw)
			}

			for _, retries := range []int{-1, 1} {
				before := f.hits()
				p := bedrock.New(client, novaLite, bedrock.WithRetry(fastRetry(retries)))
				_, err = p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}})
				if err == nil {
					t.Fatal("Complete succeeded, want an error")
				}
				if got, want := f.hits()-before, max(retries, 0)+1; got != want {
					t.Errorf("Provider.Complete with MaxRetries %d: server hits = %d, want %d", retries, got, want)
				}
			}
		})
	}
}

// fastRetry is RetryProvider's policy with millisecond backoff.
func fastRetry(retries int) refine.RetryPolicy {
	return refine.RetryPolicy{MaxRetries: retries, Base: time.Millisecond, Max: 5 * time.Millisecond}
}

// Through refine, a call is attempted 1 + MaxRetries times: the adapter's
// policy is the only retry layer. The clients have a (fast) standard
// retryer of 3 attempts, so stacked retries would show as 3 × that. A run
// and a provider wrapped by hand in RetryProvider count.
func TestRetriesThroughRun(t *testing.T) {
	tests := []struct {
		name     string
		reply    reply
		retries  int // -1: none
		wantHits int
		wantKind error
	}{
		{"throttled, no retries", errorReply(429, "ThrottlingException", "slow down", true), -1, 1, refine.ErrRateLimited},
		{"throttled, 1 retry", errorReply(429, "ThrottlingException", "slow down", true), 1, 2, refine.ErrRateLimited},
		{"throttled, 3 retries", errorReply(429, "ThrottlingException", "slow down", false), 3, 4, refine.ErrRateLimited},
		{"model not ready, 2 retries", errorReply(429, "ModelNotReadyException", "warming up", true), 2, 3, refine.ErrUnavailable},
		{"internal error, 2 retries", errorReply(500, "InternalServerException", "oops", true), 2, 3, refine.ErrUnavailable},
		{"reset mid-body, 2 retries", reply{raw: reset(`{"output":`)}, 2, 3, refine.ErrUnavailable},
		{"reset before headers, 2 retries", reply{raw: reset("")}, 2, 3, refine.ErrUnavailable},
		{"quota exceeded is not retried", errorReply(400, "ServiceQuotaExceededException", "quota", true), 3, 1, refine.ErrRateLimited},
		{"access denied is not retried", errorReply(403, "AccessDeniedException", "no", true), 3, 1, refine.ErrAuth},
		{"input too long is not retried", errorReply(400, "ValidationException", "Input is too long for requested model.", true), 3, 1, refine.ErrContextLength},
		{"invalid parameter is not retried", errorReply(400, "ValidationException", "`temperature` and `top_p` cannot both be specified for this model.", true), 3, 1, refine.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("WithRetry", func(t *testing.T) {
				f := newFake(t, alwaysFail(tt.reply))
				p := bedrock.New(f.client(t, fastSDKRetries), novaLite, bedrock.WithRetry(fastRetry(tt.retries)))
				res, err := refine.Run(context.Background(), koreanQuery, refine.WithProvider(p))
				if !errors.Is(err, tt.wantKind) {
					t.Fatalf("Run = %v, %v; want an error wrapping %v", res, err, tt.wantKind)
				}
				if got := f.hits(); got != tt.wantHits {
					t.Errorf("server hits = %d, want %d", got, tt.wantHits)
				}
			})
			t.Run("RetryProvider", func(t *testing.T) {
				f := newFake(t, alwaysFail(tt.reply))
				p := refine.RetryProvider(bedrock.New(f.client(t, fastSDKRetries), novaLite, bedrock.WithRetry(fastRetry(tt.retries))), fastRetry(tt.retries))
				_, err := p.Complete(context.Background(), userQ)
				if !errors.Is(err, tt.wantKind) {
					t.Fatalf("Complete error %v, want %v", err, tt.wantKind)
				}
				if got := f.hits(); got != tt.wantHits {
					t.Errorf("server hits = %d, want %d", got, tt.wantHits)
				}
			})
		})
	}
}

// A Retry-After from a gateway in front of Bedrock is waited out by the
// adapter: the second attempt comes no sooner.
func TestRetryAfterHonoured(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		if n == 0 {
			r := errorReply(429, "ThrottlingException", "slow down", true)
			r.header["Retry-After"] = "1"
			return r
		}
		return okReply("ok", "end_turn", 1, 1)
	})
	p := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(fastRetry(1)))
	start := time.Now()
	if _, err := p.Complete(context.Background(), userQ); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("second attempt after %v, want >= 1s (Retry-After: 1)", waited)
	}
}

// A throttled draft that goes through on the third attempt: the run
// succeeds, and every call was made exactly as often as refine decided.
func TestThrottledThenServed(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		switch {
		case n < 2:
			return errorReply(429, "ThrottlingException", "slow down", true)
		case isJudge(s):
			return okReply(`{"score": 9, "issues": [], "suggestions": [], "assessment": "좋습니다."}`, "end_turn", 50, 20)
		default:
			return okReply("초안", "end_turn", 10, 5)
		}
	})
	p := bedrock.New(f.client(t, fastSDKRetries), novaLite, bedrock.WithRetry(fastRetry(3)))
	res, err := refine.Run(context.Background(), koreanQuery, refine.WithProvider(p),
		refine.WithMaxIterations(0))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Answer != "초안" || res.Score != 9 {
		t.Errorf("Run = %q scored %v, want %q scored 9", res.Answer, res.Score, "초안")
	}
	if got := f.hits(); got != 4 { // 2 throttled + draft + judge
		t.Errorf("server hits = %d, want 4", got)
	}
}
