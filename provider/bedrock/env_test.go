package bedrock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// awsEnv isolates FromEnv from the machine's AWS setup: empty config and
// credentials files, no profile, no instance metadata (no network), no
// bearer token, and the endpoint pointed at the fake. Then it applies set.
func awsEnv(t *testing.T, endpoint string, set map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "us-east-1",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ACCESS_KEY_ID":                      "AKIDENV",
		"AWS_SECRET_ACCESS_KEY":                  "SECRETENV",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_ROLE_ARN":                           "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CA_BUNDLE":                          "",
		"AWS_BEARER_TOKEN_BEDROCK":               "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME":       endpoint,
		"AWS_MAX_ATTEMPTS":                       "",
		"AWS_RETRY_MODE":                         "",
		"BEDROCK_MODEL_ID":                       "",
	}
	for k, v := range set {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		reply     reply
		wantPath  string
		wantScope string // credential scope in the SigV4 Authorization header
		opts      []bedrock.Option
		wantErr   error // nil: success
		wantHits  int
	}{
		{
			name:      "defaults to Nova Lite's inference profile",
			reply:     okReply("안녕하세요", "end_turn", 3, 2),
			wantPath:  "/model/us.amazon.nova-lite-v1%3A0/converse",
			wantScope: "Credential=AKIDENV/",
			wantHits:  1,
		},
		{
			name:      "BEDROCK_MODEL_ID and AWS_REGION",
			env:       map[string]string{"BEDROCK_MODEL_ID": "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "AWS_REGION": "eu-central-1"},
			reply:     okReply("hallo", "end_turn", 3, 2),
			wantPath:  "/model/eu.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse",
			wantScope: "/eu-central-1/bedrock/aws4_request",
			wantHits:  1,
		},
		{
			name:      "AWS_DEFAULT_REGION",
			env:       map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-northeast-2", "BEDROCK_MODEL_ID": "apac.amazon.nova-lite-v1:0"},
			reply:     okReply("안녕하세요", "end_turn", 3, 2),
			wantPath:  "/model/apac.amazon.nova-lite-v1%3A0/converse",
			wantScope: "/ap-northeast-2/bedrock/aws4_request",
			wantHits:  1,
		},
		{
			name:      "WithModel and WithRegion win over the environment",
			env:       map[string]string{"BEDROCK_MODEL_ID": "us.amazon.nova-pro-v1:0"},
			opts:      []bedrock.Option{bedrock.WithModel("apac.anthropic.claude-sonnet-4-5-20250929-v1:0"), bedrock.WithRegion("ap-northeast-2")},
			reply:     okReply("안녕하세요", "end_turn", 3, 2),
			wantPath:  "/model/apac.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
			wantScope: "/ap-northeast-2/bedrock/aws4_request",
			wantHits:  1,
		},
		{
			name:     "AWS_MAX_ATTEMPTS does not bring SDK retries back",
			env:      map[string]string{"AWS_MAX_ATTEMPTS": "5", "AWS_RETRY_MODE": "standard"},
			reply:    errorReply(429, "ThrottlingException", "slow down", true),
			wantPath: "/model/us.amazon.nova-lite-v1%3A0/converse",
			wantErr:  refine.ErrRateLimited,
			wantHits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, alwaysFail(tt.reply))
			awsEnv(t, f.URL, tt.env)
			p, err := bedrock.FromEnv(context.Background(), append(tt.opts, noRetry)...)
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			_, err = p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: koreanQuery}}})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Complete error %v, want %v", err, tt.wantErr)
			}
			reqs := f.requests()
			if len(reqs) != tt.wantHits {
				t.Fatalf("server hits = %d, want %d", len(reqs), tt.wantHits)
			}
			if reqs[0].Path != tt.wantPath {
				t.Errorf("path = %s, want %s", reqs[0].Path, tt.wantPath)
			}
			if auth := reqs[0].Auth; !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, tt.wantScope) {
				t.Errorf("Authorization = %q, want SigV4 with %q", auth, tt.wantScope)
			}
		})
	}
}

func TestFromEnvFails(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error  // nil: any error
		wantMsg string // substring of the error
	}{
		{"no region", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, nil, "AWS_REGION"},
		{"no credentials", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, refine.ErrAuth, "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, alwaysFail(okReply("x", "end_turn", 1, 1)))
			awsEnv(t, f.URL, tt.env)
			p, err := bedrock.FromEnv(context.Background())
			if err == nil {
				t.Fatalf("FromEnv = %v, want an error", p)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if n := f.hits(); n != 0 {
				t.Errorf("server hits = %d, want 0", n)
			}
		})
	}
}

// Model reports the model FromEnv chose.
func TestFromEnvModel(t *testing.T) {
	tests := []struct {
		name string
		env  string
		opts []bedrock.Option
		want string
	}{
		{"default", "", nil, bedrock.DefaultModelID},
		{"BEDROCK_MODEL_ID", "us.amazon.nova-pro-v1:0", nil, "us.amazon.nova-pro-v1:0"},
		{"WithModel", "us.amazon.nova-pro-v1:0", []bedrock.Option{bedrock.WithModel("us.amazon.nova-micro-v1:0")}, "us.amazon.nova-micro-v1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsEnv(t, "http://127.0.0.1:1", map[string]string{"BEDROCK_MODEL_ID": tt.env})
			p, err := bedrock.FromEnv(context.Background(), tt.opts...)
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got := p.Model(); got != tt.want {
				t.Errorf("Model() = %q, want %q", got, tt.want)
			}
		})
	}
}

// FromEnv's client has a response cap by default; WithMaxResponseBytes
// changes it.
func TestFromEnvResponseCap(t *testing.T) {
	var sent atomic.Int64
	f := newFake(t, alwaysFail(endless(&sent)))
	awsEnv(t, f.URL, nil)
	p, err := bedrock.FromEnv(context.Background(), bedrock.WithMaxResponseBytes(64<<10))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	_, err = p.Complete(context.Background(), userQ)
	if !errors.Is(err, refine.ErrUnavailable) || transient(err) || !strings.Contains(err.Error(), "larger than 65536 bytes") {
		t.Fatalf("error %v: want the capped-response error", err)
	}
}

// FromEnv's client has a timeout; WithTimeout changes it.
func TestFromEnvTimeout(t *testing.T) {
	f, _, _ := holdServer(t, false)
	awsEnv(t, f.URL, nil)
	p, err := bedrock.FromEnv(context.Background(), bedrock.WithTimeout(50*time.Millisecond), noRetry)
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	_, err = p.Complete(context.Background(), userQ)
	if !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), "no reply within 50ms") {
		t.Fatalf("error %v: want the timeout", err)
	}
}
