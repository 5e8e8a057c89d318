package openai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// The secrets of TestSecretsNeverShown. Every error string, %+v, %#v, the
// SDK errors inside, and every log line are searched for each.
const (
	secretKey   = "sk-proj-S3cr3tK3y0123456789abcdef"
	secretPass  = "PaSsW0rd-9f8e7d"
	secretToken = "entra-T0ken-aZ09xYq7"
)

var secrets = []string{secretKey, secretPass, secretToken}

// checkNoSecrets fails when any text derived from err or in logs shows a
// secret.
func checkNoSecrets(t *testing.T, err error, logs string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%v", errors.Unwrap(err)), logs}
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error())
	}
	var pe *refine.ProviderError
	if errors.As(err, &pe) {
		texts = append(texts, pe.Message, pe.Hint, pe.Code)
		if pe.Err != nil {
			texts = append(texts, pe.Err.Error(), fmt.Sprintf("%+v", pe.Err))
		}
	}
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) {
		texts = append(texts, apiErr.Error(), apiErr.Message)
	}
	var reqErr *goopenai.RequestError
	if errors.As(err, &reqErr) {
		texts = append(texts, reqErr.Error(), string(reqErr.Body))
	}
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret shows in %q", text)
			}
		}
	}
}

// echoServer answers every request with status and a body quoting the
// request's Authorization and api-key headers, as misconfigured gateways do.
func echoServer(t *testing.T, status int, contentType, format string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		auth := r.Header.Get("Authorization")
		if auth == "" {
			auth = r.Header.Get("api-key")
		}
		fmt.Fprintf(w, format, auth, r.URL.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func withCreds(rawURL string) string {
	return strings.Replace(rawURL, "http://", "http://user:"+secretPass+"@", 1)
}

func TestSecretsNeverShown(t *testing.T) {
	tokenSource := openai.WithTokenSource(func(context.Context) (string, error) { return secretToken, nil })
	tests := []struct {
		name   string
		server func(t *testing.T) string // returns the base URL
		opts   []openai.Option
		model  string
		stream bool
	}{
		{
			name: "401 JSON echoing the bearer key",
			server: func(t *testing.T) string {
				return echoServer(t, 401, "application/json", `{"error":{"message":"bad credentials: Authorization=%s (url %s)","type":"authentication_error","code":"invalid_api_key"}}`).URL + "/v1"
			},
			opts: []openai.Option{openai.WithAPIKey(secretKey)},
		},
		{
			name: "404 plain text echoing the header, credentials in the URL",
			server: func(t *testing.T) string {
				return withCreds(echoServer(t, 404, "text/plain", "no route; got Authorization: %s for %s").URL) + "/v1"
			},
			opts: []openai.Option{openai.WithAPIKey(secretKey)},
		},
		{
			name: "500 HTML echoing the token from a token source",
			server: func(t *testing.T) string {
				return echoServer(t, 500, "text/html", "<html>auth %s at %s</html>").URL + "/v1"
			},
			opts: []openai.Option{tokenSource},
		},
		{
			name: "Azure 400 echoing the api-key header",
			server: func(t *testing.T) string {
				return echoServer(t, 400, "application/json", `{"error":{"code":"BadRequest","message":"header api-key %s rejected at %s"}}`).URL
			},
			opts:  []openai.Option{openai.WithAPIKey(secretKey), openai.WithAzure("", "")}, // endpoint set below
			model: "azure",
		},
		{
			name: "refused connection, credentials in the URL",
			server: func(t *testing.T) string {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				return "http://user:" + secretPass + "@" + addr + "/v1"
			},
			opts: []openai.Option{openai.WithAPIKey(secretKey)},
		},
		{
			name: "stream error event echoing the key",
			server: func(t *testing.T) string {
				return echoServer(t, 200, "text/event-stream", "data: {\"error\":{\"message\":\"upstream said Authorization: %s for %s\",\"type\":\"server_error\"}}\n\n").URL + "/v1"
			},
			opts:   []openai.Option{openai.WithAPIKey(secretKey)},
			stream: true,
		},
		{
			name: "reasoning model warning in the log",
			server: func(t *testing.T) string {
				return withCreds(echoServer(t, 401, "application/json", `{"error":{"message":"%s %s"}}`).URL) + "/v1"
			},
			opts:  []openai.Option{openai.WithAPIKey(secretKey)},
			model: "o3-mini",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			base := tt.server(t)
			opts := append([]openai.Option{openai.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tt.opts...)
			if tt.model == "azure" {
				opts = append(opts[:len(opts)-1], openai.WithAzure(withCreds(base), ""))
			} else {
				opts = append(opts, openai.WithBaseURL(base))
			}
			model := tt.model
			if model == "" || model == "azure" {
				model = "gpt-4o-mini"
			}
			p := openai.New(model, append(opts, noRetry)...)
			req := user("q")
			req.Temperature = ptr(0.2)
			var err error
			if tt.stream {
				_, err = p.Stream(context.Background(), req, func(string) {})
			} else {
				_, err = p.Complete(context.Background(), req)
			}
			checkNoSecrets(t, err, logs.String())
			// Nothing else was lost: the error still says what happened.
			if !strings.Contains(err.Error(), "openai") {
				t.Errorf("error %q does not name the provider", err)
			}
		})
	}
}

func TestSecretsInConfigErrors(t *testing.T) {
	tests := map[string][]openai.Option{
		"base URL with query":       {openai.WithBaseURL("http://user:" + secretPass + "@localhost:8000/v1?key=" + secretKey)},
		"base URL with bad port":    {openai.WithBaseURL("http://user:" + secretPass + "@localhost:port/v1")},
		"Azure endpoint with creds": {openai.WithAzure("ftp://user:"+secretPass+"@x", ""), openai.WithAPIKey(secretKey)},
		"Azure without key":         {openai.WithAzure("https://user:"+secretPass+"@x.openai.azure.com", "")},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := openai.New("m", opts...).Complete(context.Background(), user("q"))
			checkNoSecrets(t, err, "")
		})
	}
}

func TestSecretsInFromEnvErrors(t *testing.T) {
	for name, base := range map[string]string{
		"query":    "http://user:" + secretPass + "@localhost:8000/v1?key=" + secretKey,
		"bad port": "http://user:" + secretPass + "@localhost:port/v1",
		"official": "https://user:" + secretPass + "@api.openai.com/v1",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "")
			t.Setenv("OPENAI_BASE_URL", base)
			_, err := openai.FromEnv()
			checkNoSecrets(t, err, "")
		})
	}
}

// Issue 20 item 9: a gateway that echoes the base URL's password, plain
// and as the HTTP Basic credentials it received, in a JSON error or in a
// plain-text page. Neither form may reach an error, %+v, or a log, from
// Complete, Stream, or a whole run with refine.WithLogger.
func TestURLCredentialsNeverShown(t *testing.T) {
	const pass = "gw-P@ss/w0rd:9f"
	basic := base64.StdEncoding.EncodeToString([]byte("gw-user:" + pass))
	tests := []struct {
		name        string
		status      int
		contentType string
		format      string // given the password, the Basic credentials, the header
		key         string // an API key: then go-openai sends a Bearer header, not Basic
	}{
		{"JSON 401 echoing the password and the Basic credentials", 401, "application/json",
			`{"error":{"message":"login failed for password %s (credentials %s, header %s)","type":"authentication_error"}}`, ""},
		{"plain-text 502 echoing them", 502, "text/plain",
			"upstream refused password=%s creds=%s header=%s", ""},
		{"HTML 403 echoing them, with a key too", 403, "text/html",
			"<p>password %s, basic %s, header %s</p>", secretKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen.Add(1)
				_, p, _ := r.BasicAuth()
				if p == "" {
					p = pass // the key was sent instead: echo what the gateway was configured with
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, tt.format, p, basic, r.Header.Get("Authorization"))
			}))
			t.Cleanup(srv.Close)
			base := strings.Replace(srv.URL, "http://", "http://"+url.UserPassword("gw-user", pass).String()+"@", 1) + "/v1"

			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			opts := []openai.Option{openai.WithBaseURL(base), openai.WithLogger(logger), fastRetry(1)}
			if tt.key != "" {
				opts = append(opts, openai.WithAPIKey(tt.key))
			}
			p := openai.New("gpt-4o-mini", opts...)
			_, errComplete := p.Complete(context.Background(), user("q"))
			_, errStream := p.Stream(context.Background(), user("q"), nil)
			_, errRun := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithLogger(logger))
			if seen.Load() == 0 {
				t.Fatal("the gateway received no request")
			}
			for _, err := range []error{errComplete, errStream, errRun} {
				if err == nil {
					t.Fatal("want an error")
				}
				texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), logs.String()}
				for e := err; e != nil; e = errors.Unwrap(e) {
					texts = append(texts, e.Error())
				}
				var pe *refine.ProviderError
				if errors.As(err, &pe) && pe.Err != nil {
					texts = append(texts, pe.Message, pe.Err.Error(), fmt.Sprintf("%+v", pe.Err))
				}
				var reqErr *goopenai.RequestError
				if errors.As(err, &reqErr) {
					texts = append(texts, string(reqErr.Body))
				}
				for _, text := range texts {
					for _, s := range []string{pass, basic, strings.TrimRight(basic, "="), url.QueryEscape(pass), secretKey} {
						if strings.Contains(text, s) {
							t.Errorf("%q shows in %q", s, text)
						}
					}
				}
				if !strings.Contains(err.Error(), "openai") {
					t.Errorf("error %q does not name the provider", err)
				}
			}
		})
	}
}
