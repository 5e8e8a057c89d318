package bedrock_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// Secrets shaped like the real ones: a 40-character secret access key, a
// session token, a Bedrock API key.
const (
	secretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
	sessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleSessionTokenValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
	bearerToken  = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLWtleS1mb3ItdGVzdHM6c2VjcmV0"
	// A secret no pattern recognises.
	unshapedSecret = "correct-horse-battery-staple"
)

// texts is every string a caller could print from err: its text, %v, %+v
// and %#v, and the text of each error in its chain.
func texts(err error) []string {
	out := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e.Error(), fmt.Sprintf("%+v", e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range texts(err) {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("error text holds a secret %q:\n%s", secret, s)
			}
		}
	}
}

// A credential_process that fails, having printed the credentials, must
// not put them in FromEnv's error: the SDK's own error quotes the
// process's output when it does not parse.
func TestFromEnvCredentialProcessSecrets(t *testing.T) {
	creds := `{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "` + secretKey + `", "SessionToken": "` + sessionToken + `"`
	tests := []struct {
		name, script, wantText string
	}{
		{"prints credentials and exits 1", "printf '%s}' '" + creds + "'\nexit 1\n", "exit status 1"},
		{"prints truncated JSON", "printf '%s' '" + creds + "'\n", "parse failed of process output"},
		{"prints JSON with a wrong version", "printf '%s}' '" + strings.Replace(creds, `"Version": 1`, `"Version": 2`, 1) + "'\n", "wrong version"},
		{"prints a secret but no key id", `printf '{"Version": 1, "SecretAccessKey": "` + secretKey + `"}'` + "\n", "missing AccessKeyId"},
		// A secret of no known shape (a custom credential broker): only
		// withholding the output keeps it out.
		{"prints truncated JSON with an unshaped secret", `printf '{"Version": 1, "AccessKeyId": "broker-id", "SecretAccessKey": "` + unshapedSecret + `"'` + "\n", "parse failed of process output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "creds.sh")
			if err := os.WriteFile(script, []byte("#!/bin/sh\n"+tt.script), 0o700); err != nil {
				t.Fatal(err)
			}
			awsEnv(t, "http://127.0.0.1:1", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
			config := os.Getenv("AWS_CONFIG_FILE")
			if err := os.WriteFile(config, []byte("[default]\ncredential_process = "+script+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := bedrock.FromEnv(context.Background())
			if err == nil {
				t.Fatalf("FromEnv = %v, want an error", p)
			}
			if !errors.Is(err, refine.ErrAuth) {
				t.Errorf("error %v, want ErrAuth", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			assertNoSecret(t, err, secretKey, sessionToken, unshapedSecret)
		})
	}
}

// echoAuth is a bedrock-runtime stand-in over TLS that refuses every call
// and quotes the request's credentials in its message, as a misconfigured
// gateway or a debugging proxy might.
func echoAuth(t *testing.T, status int, typ string) (*httptest.Server, *string) {
	var sawAuth string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(status)
		fmt.Fprint(w, mustJSON(map[string]any{"message": "rejected request with Authorization: " + sawAuth +
			", X-Amz-Security-Token: " + r.Header.Get("X-Amz-Security-Token") + ", token " + strings.TrimPrefix(sawAuth, "Bearer ")}))
	}))
	t.Cleanup(srv.Close)
	return srv, &sawAuth
}

// The bearer token (AWS_BEARER_TOKEN_BEDROCK) and the session token reach
// the server; when it echoes them, the errors still do not hold them.
func TestEchoedCredentialsAreScrubbed(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		status   int
		typ      string
		wantKind error
		wantAuth string
		secrets  []string
	}{
		{"bearer token, 403", map[string]string{"AWS_BEARER_TOKEN_BEDROCK": bearerToken}, 403, "AccessDeniedException",
			refine.ErrAuth, "Bearer " + bearerToken, []string{bearerToken}},
		{"bearer token, 400", map[string]string{"AWS_BEARER_TOKEN_BEDROCK": bearerToken}, 400, "ValidationException",
			refine.ErrInvalidRequest, "Bearer " + bearerToken, []string{bearerToken}},
		{"session token, 403", map[string]string{"AWS_SECRET_ACCESS_KEY": secretKey, "AWS_SESSION_TOKEN": sessionToken}, 403, "UnrecognizedClientException",
			refine.ErrAuth, "AWS4-HMAC-SHA256 ", []string{secretKey, sessionToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sawAuth := echoAuth(t, tt.status, tt.typ)
			awsEnv(t, srv.URL, tt.env)
			p, err := bedrock.FromEnv(context.Background(), bedrock.WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			_, err = p.Complete(context.Background(), userQ)
			if !strings.HasPrefix(*sawAuth, tt.wantAuth) {
				t.Fatalf("server saw Authorization %q, want %q…", *sawAuth, tt.wantAuth)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("error %v, want %v", err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), "rejected request with Authorization: ") {
				t.Errorf("error %q lost the server's message", err)
			}
			assertNoSecret(t, err, tt.secrets...)
		})
	}
}

// gatewayClient sends every request to a gateway that takes its key in the
// URL, the way some API gateways in front of Bedrock do.
type gatewayClient struct{ base, query string }

func (g gatewayClient) Do(r *http.Request) (*http.Response, error) {
	u, err := url.Parse(g.base + r.URL.EscapedPath() + "?" + g.query)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL, r.Host = u, u.Host
	return http.DefaultClient.Do(r)
}

// An endpoint URL with credentials in it (user info, a key in the query)
// is printed redacted.
func TestEndpointCredentialsRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://gateway-user:gateway-PASSWORD@" + addr + "/gw"
	tests := []struct {
		name string
		p    func(t *testing.T) *bedrock.Provider
	}{
		// The SDK itself drops user info and query from the endpoint.
		{"FromEnv endpoint", func(t *testing.T) *bedrock.Provider {
			awsEnv(t, base+"?api-key=QUERYSECRET", nil)
			p, err := bedrock.FromEnv(context.Background(), noRetry)
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			return p
		}},
		// An HTTP client that rewrites requests to such a URL: the error
		// the SDK gets quotes it.
		{"gateway key in the query", func(t *testing.T) *bedrock.Provider {
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
			return bedrock.New(newClient("http://127.0.0.1:1", func(o *bedrockruntime.Options) {
				o.HTTPClient = gatewayClient{base: base, query: "api-key=QUERYSECRET&region=kr"}
			}), novaLite, noRetry)
		}},
		{"SAS signature in the query", func(t *testing.T) *bedrock.Provider {
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
			return bedrock.New(newClient("http://127.0.0.1:1", func(o *bedrockruntime.Options) {
				o.HTTPClient = gatewayClient{base: base, query: "sv=2024&sig=QUERYSECRET"}
			}), novaLite, noRetry)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p(t).Complete(context.Background(), userQ)
			if !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), addr) {
				t.Fatalf("error %v: want ErrUnavailable naming %s", err, addr)
			}
			assertNoSecret(t, err, "gateway-PASSWORD", "QUERYSECRET")
		})
	}
}
