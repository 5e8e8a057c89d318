package bedrock_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// deadlineClient is a ConverseAPI that records the deadline of the
// context each call gets, and answers at once.
type deadlineClient struct {
	deadline time.Time
	has      bool
}

func (c *deadlineClient) Converse(ctx context.Context, _ *bedrockruntime.ConverseInput, _ ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error) {
	c.deadline, c.has = ctx.Deadline()
	return nil, errors.New("deadlineClient: no reply")
}

// New bounds every call by DefaultTimeout, as FromEnv does, so that a
// frozen server cannot hold a run without a deadline forever;
// WithTimeout changes or (0) removes the bound.
func TestNewDefaultTimeout(t *testing.T) {
	tests := []struct {
		name    string
		opts    []bedrock.Option
		want    time.Duration // 0: no deadline
		wantHas bool
	}{
		{"default", nil, bedrock.DefaultTimeout, true},
		{"WithTimeout", []bedrock.Option{bedrock.WithTimeout(time.Minute)}, time.Minute, true},
		{"WithTimeout(0) turns it off", []bedrock.Option{bedrock.WithTimeout(0)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &deadlineClient{}
			start := time.Now()
			bedrock.New(c, novaLite, tt.opts...).Complete(context.Background(), userQ)
			if c.has != tt.wantHas {
				t.Fatalf("call context has a deadline: %v, want %v", c.has, tt.wantHas)
			}
			if got := c.deadline.Sub(start); tt.wantHas && (got > tt.want+time.Second || got < tt.want-time.Second) {
				t.Errorf("deadline %v after the call began, want %v", got, tt.want)
			}
		})
	}
}

// New caps a body by DefaultMaxResponseBytes without being asked: an
// endless 200 ends in a clear error, not in the heap filling up.
func TestNewDefaultMaxResponseBytes(t *testing.T) {
	var sent atomic.Int64
	f := newFake(t, alwaysFail(endless(&sent)))
	_, err := bedrock.New(f.client(t), novaLite, noRetry).Complete(context.Background(), userQ)
	if !errors.Is(err, refine.ErrUnavailable) || transient(err) {
		t.Fatalf("error %v: want a permanent ErrUnavailable", err)
	}
	if want := "larger than 67108864 bytes"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// A Provider from New scrubs the credentials its calls were signed with by
// value, not only by shape: a gateway or proxy that echoes its
// configuration must not put the secret key or session token into an
// error. The wire bytes are a restJson1 error as bedrock-runtime sends it
// (X-Amzn-ErrorType header, {"message":…} body); ConverseStream's error
// comes as an exception frame after the 200, as the service sends a
// failure in the middle of a stream.
func TestNewScrubsCallCredentials(t *testing.T) {
	const (
		// Shaped like nothing a pattern matches: only the value finds it.
		plainSecret  = "my-gateway-secret-7"
		plainSession = "session.tok.short"
		// An AWS-shaped secret behind "SecretAccessKey=", which once
		// joined the name and the key into one run.
		awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	)
	tests := []struct {
		name          string
		secret, token string
		echo          string
		stream        bool
		wantKind      error
	}{
		{"plain secret, Converse", plainSecret, plainSession,
			"bad signature: secret " + plainSecret + " token " + plainSession, false, refine.ErrInvalidRequest},
		{"plain secret, stream exception", plainSecret, plainSession,
			"bad signature: secret " + plainSecret + " token " + plainSession, true, refine.ErrInvalidRequest},
		{"SecretAccessKey=, Converse", awsSecret, "",
			"config: SecretAccessKey=" + awsSecret, false, refine.ErrInvalidRequest},
		{"secret=, stream exception", awsSecret, "",
			"config: secret=" + awsSecret + " region=us-east-1", true, refine.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fakeBedrock
			if tt.stream {
				f = newFake(t, alwaysFail(streamReply(append(streamEvents(t, "앞")[:3:3],
					frame(t, "exception", "validationException", mustJSON(map[string]string{"message": tt.echo}))), nil, nil)))
			} else {
				f = newFake(t, alwaysFail(errorReply(400, "ValidationException", tt.echo, true)))
			}
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
			client := bedrockruntime.New(bedrockruntime.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(f.URL),
				Credentials:  credentials.NewStaticCredentialsProvider("AKID", tt.secret, tt.token),
			})
			p := bedrock.New(client, novaLite)
			var err error
			if tt.stream {
				_, err = p.Stream(context.Background(), streamReq, nil)
			} else {
				_, err = p.Complete(context.Background(), userQ)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("error %v, want %v", err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), "config: ") && !strings.Contains(err.Error(), "bad signature: ") {
				t.Errorf("error %q lost the server's message", err)
			}
			assertNoSecret(t, err, nonEmpty(tt.secret, tt.token)...)
		})
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Stream takes a nil delta, as openai's does, on both of its paths: the
// caller then wants only the exact usage and the per-event timeout.
func TestStreamNilDelta(t *testing.T) {
	f := newFake(t, func(_ int, s seen) reply {
		if strings.HasSuffix(s.Path, "/converse-stream") {
			return streamReply(streamEvents(t, "안녕", "하세요"), nil, nil)
		}
		return okReply("안녕하세요", "end_turn", 12, 9)
	})
	tests := []struct {
		name   string
		client bedrock.ConverseAPI
	}{
		{"ConverseStream", f.client(t)},
		{"Converse fallback", converseOnly{f.client(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := bedrock.New(tt.client, novaLite).Stream(context.Background(), streamReq, nil)
			if err != nil {
				t.Fatalf("Stream with a nil delta: %v", err)
			}
			if resp.Text != "안녕하세요" || resp.Usage.OutputTokens != 9 {
				t.Errorf("Stream = %q, %+v; want 안녕하세요 with 9 output tokens", resp.Text, resp.Usage)
			}
		})
	}
}

// New is handed a client and a model id: an option only FromEnv can use is
// refused loudly, by Validate and by every call, before any request, in an
// error naming it. New itself returns no error and never panics, also on a
// nil client. Bad values and a nil client or empty model id are reported
// the same way.
func TestNewRefusesWhatItCannotUse(t *testing.T) {
	tests := []struct {
		name     string
		nilCli   bool
		model    string
		opts     []bedrock.Option
		wantKind error
		wantIn   []string
		wantOut  []string
	}{
		{name: "WithModel", opts: []bedrock.Option{bedrock.WithModel("us.amazon.nova-pro-v1:0")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithModel", "FromEnv"}, wantOut: []string{"WithRegion", "WithHTTPClient"}},
		{name: "WithRegion", opts: []bedrock.Option{bedrock.WithRegion("eu-west-1")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRegion", "FromEnv"}, wantOut: []string{"WithModel", "WithHTTPClient"}},
		{name: "WithHTTPClient", opts: []bedrock.Option{bedrock.WithHTTPClient(&http.Client{})},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithHTTPClient", "FromEnv"}, wantOut: []string{"WithModel", "WithRegion"}},
		{name: "all three, with a nil client", nilCli: true,
			opts:     []bedrock.Option{bedrock.WithRegion("eu-west-1"), bedrock.WithHTTPClient(nil), bedrock.WithModel("m"), bedrock.WithRegion("us-west-2")},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRegion, WithHTTPClient, WithModel"}},
		{name: "invalid retry policy", opts: []bedrock.Option{bedrock.WithRetry(refine.RetryPolicy{Base: time.Second, Max: time.Millisecond})},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRetry", "Max must be >= Base"}},
		{name: "negative retry duration", opts: []bedrock.Option{bedrock.WithRetry(refine.RetryPolicy{MaxRetryAfter: -time.Second})},
			wantKind: refine.ErrInvalidOption, wantIn: []string{"WithRetry", "MaxRetryAfter: -1s"}},
		{name: "nil client", nilCli: true, wantKind: refine.ErrInvalidRequest, wantIn: []string{"no client"}},
		{name: "empty model id", model: "-", wantKind: refine.ErrInvalidRequest, wantIn: []string{"no model id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, seen) reply { return okReply("never", "end_turn", 1, 1) })
			var client bedrock.ConverseAPI = f.client(t)
			if tt.nilCli {
				client = nil
			}
			model := novaLite
			if tt.model == "-" {
				model = ""
			}
			p := bedrock.New(client, model, tt.opts...)
			errs := map[string]error{"Validate": p.Validate()}
			_, errs["Complete"] = p.Complete(context.Background(), userQ)
			_, errs["Stream"] = p.Stream(context.Background(), userQ, nil)
			_, errs["Run"] = refine.Run(context.Background(), koreanQuery, refine.WithProvider(p))
			for name, err := range errs {
				if !errors.Is(err, tt.wantKind) {
					t.Errorf("%s: error %v, want one wrapping %v", name, err, tt.wantKind)
					continue
				}
				for _, s := range tt.wantIn {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q does not name %q", name, err, s)
					}
				}
				for _, s := range tt.wantOut {
					if strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q names %q, which was not given", name, err, s)
					}
				}
			}
			if n := f.hits(); n != 0 {
				t.Errorf("endpoint hits = %d, want 0", n)
			}
		})
	}
}

// The options New refuses are FromEnv's, and FromEnv still takes them.
func TestNewValidWithProviderOptions(t *testing.T) {
	f := newFake(t, func(int, seen) reply { return okReply("ok", "end_turn", 1, 1) })
	p := bedrock.New(f.client(t), novaLite, bedrock.WithTimeout(time.Minute), bedrock.WithoutTopP(), bedrock.WithRetry(refine.RetryPolicy{MaxRetries: -1}))
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if p.Retries() {
		t.Error("Retries() = true with MaxRetries -1, want false")
	}
	if !bedrock.New(f.client(t), novaLite).Retries() {
		t.Error("Retries() = false by default, want true")
	}
}

// A gateway in front of Bedrock whose URL carries a password (the
// client's BaseEndpoint): a server echoing it, plain or as Basic
// credentials, does not put it in the error, on Converse or a stream.
func TestNewScrubsEndpointCredentials(t *testing.T) {
	const pass = "gw-pa55:word/x"
	basic := base64.StdEncoding.EncodeToString([]byte("gw:" + pass))
	echo := "gateway refused password " + pass + " (basic " + basic + ")"
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			f := newFake(t, alwaysFail(errorReply(400, "ValidationException", echo, true)))
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
			base := strings.Replace(f.URL, "http://", "http://"+url.UserPassword("gw", pass).String()+"@", 1)
			p := bedrock.New(newClient(base), novaLite)
			var err error
			if stream {
				_, err = p.Stream(context.Background(), streamReq, nil)
			} else {
				_, err = p.Complete(context.Background(), userQ)
			}
			if !errors.Is(err, refine.ErrInvalidRequest) || !strings.Contains(err.Error(), "gateway refused password") {
				t.Fatalf("error %v, want the gateway's ValidationException", err)
			}
			assertNoSecret(t, err, pass, basic, strings.TrimRight(basic, "="))
		})
	}
}
