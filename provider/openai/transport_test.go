package openai_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// stallServer starts a server whose handler runs before (a function that
// may write part of a reply) and then blocks until the test ends.
func stallServer(t *testing.T, before func(w http.ResponseWriter)) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		before(w)
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: unblocks the handler
	return srv
}

func TestTimeout(t *testing.T) {
	if openai.DefaultTimeout != 10*time.Minute {
		t.Errorf("DefaultTimeout = %v, want 10m (the official SDKs' default)", openai.DefaultTimeout)
	}
	tests := []struct {
		name   string
		before func(w http.ResponseWriter)
		wantIn string
	}{
		{"no reply at all", func(http.ResponseWriter) {}, "before its reply began"},
		{"body stalls half way", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"half`)
			w.(http.Flusher).Flush()
		}, "in the middle of its reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stallServer(t, tt.before)
			p := openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(100*time.Millisecond), noRetry)
			// A context without deadline: only WithTimeout can end the call.
			_, err := p.Complete(context.Background(), user("q"))
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || pe.Permanent {
				t.Fatalf("err = %v, want a retryable ErrUnavailable", err)
			}
			for _, s := range []string{"timed out after 100ms", tt.wantIn, "WithTimeout"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
	t.Run("retried", func(t *testing.T) {
		var hits atomic.Int32
		srv := stallServer(t, func(http.ResponseWriter) { hits.Add(1) })
		p := openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(50*time.Millisecond), fastRetry(1))
		if _, err := p.Complete(context.Background(), user("q")); !errors.Is(err, refine.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if got := hits.Load(); got != 2 {
			t.Errorf("server received %d requests, want 2 (the timeout is retried)", got)
		}
	})
	t.Run("the caller's deadline is still the caller's", func(t *testing.T) {
		srv := stallServer(t, func(http.ResponseWriter) {})
		p := openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), openai.WithTimeout(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := p.Complete(ctx, user("q")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

// hijackServer hands the raw connection to fn after reading the request.
func hijackServer(t *testing.T, fn func(conn net.Conn, buf *bufio.ReadWriter)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fn(conn, buf)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// resetConn closes conn with a TCP RST instead of a FIN.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestNetworkFailures(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/v1"
	}
	tests := []struct {
		name          string
		base          func(t *testing.T) string
		wantPermanent bool
		wantIn        []string
	}{
		{"connection refused", refused, false, []string{"connection refused by", "is the server running", "connect: connection refused"}},
		{"reset before the reply", func(t *testing.T) string {
			return hijackServer(t, func(conn net.Conn, _ *bufio.ReadWriter) { resetConn(conn) }).URL + "/v1"
		}, false, []string{"connection reset by", "before it replied"}},
		{"reset in the middle of the reply", func(t *testing.T) string {
			return hijackServer(t, func(conn net.Conn, buf *bufio.ReadWriter) {
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":\"chatcmpl-1\",\"choices\":[")
				buf.Flush()
				resetConn(conn)
			}).URL + "/v1"
		}, false, []string{"connection reset by", "in the middle of its reply", "HTTP 200"}},
		{"TLS with an untrusted certificate", func(t *testing.T) string {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL + "/v1"
		}, true, []string{"TLS handshake with", "certificate"}},
		// The usual mistake with a local server (https://localhost:11434/v1):
		// net/http's http.ErrSchemeMismatch, which has no TLS type.
		{"https URL for a plain-http server", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			t.Cleanup(srv.Close)
			return strings.Replace(srv.URL, "http://", "https://", 1) + "/v1"
		}, true, []string{"TLS handshake with", "speaks plain HTTP", "server gave HTTP response to HTTPS client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := openai.New("m", openai.WithBaseURL(tt.base(t)), noRetry)
			_, err := p.Complete(context.Background(), user("q"))
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || pe.Permanent != tt.wantPermanent {
				t.Fatalf("err = %v, want ErrUnavailable with Permanent %v", err, tt.wantPermanent)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestUnknownHost(t *testing.T) {
	p := openai.New("m", openai.WithBaseURL("http://no-such-host.invalid/v1"))
	_, err := p.Complete(context.Background(), user("q"))
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("this machine's resolver does not answer \"no such host\" (err = %v)", err)
	}
	var pe *refine.ProviderError
	if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || !pe.Permanent {
		t.Fatalf("err = %v, want a Permanent ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "cannot resolve the host") {
		t.Errorf("error %q does not say the host is unknown", err)
	}
}

// TestMalformedSuccess pins the rule both adapters follow: a 200 whose
// body cannot be read as an answer is ErrUnavailable and retried.
func TestMalformedSuccess(t *testing.T) {
	tests := []struct {
		name   string
		rep    reply
		wantIn string
	}{
		{"truncated JSON", reply{body: `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis`}, "unreadable response"},
		{"HTML from a proxy", reply{header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>Gateway login</body></html>"}, "non-JSON body (text/html)"},
		{"empty choices", reply{body: `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}`}, "no choices"},
		{"empty body", reply{body: ""}, "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, replies(tt.rep, ok("second try")))
			p := openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), noRetry)
			_, err := p.Complete(context.Background(), user("q"))
			if !errors.Is(err, refine.ErrUnavailable) || !retryable(err) {
				t.Fatalf("err = %v, want a retryable ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
			// With retries (the default), the second request succeeds.
			p = openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), fastRetry(3))
			resp, err := p.Complete(context.Background(), user("q"))
			if err != nil || resp.Text != "second try" {
				t.Fatalf("with retries: %v, %v; want the second reply", resp, err)
			}
		})
	}
}

// endlessServer sends status, then a body that never ends, until the
// client goes away. sent counts the bytes written.
func endlessServer(t testing.TB, status int, prefix string, sent *atomic.Int64) *httptest.Server {
	chunk := []byte(strings.Repeat("a", 32<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, prefix)
		for {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestResponseSizeCap(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name   string
		status int
		prefix string
		stream bool
	}{
		{"endless 200 body", 200, `{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"`, false},
		{"endless error body", 500, `{"error":{"message":"`, false},
		{"endless stream line", 200, `data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := endlessServer(t, tt.status, tt.prefix, &sent)
			rp := openai.New("m", openai.WithBaseURL(srv.URL+"/v1"), openai.WithMaxResponseBytes(limit), fastRetry(3))

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var err error
			if tt.stream {
				_, err = rp.Stream(context.Background(), user("q"), func(string) {})
			} else {
				_, err = rp.Complete(context.Background(), user("q"))
			}
			runtime.ReadMemStats(&after)

			var pe *refine.ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || !pe.Permanent {
				t.Fatalf("err = %v, want a Permanent ErrUnavailable", err)
			}
			want := fmt.Sprintf("larger than the %d-byte limit", limit)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
			// Bounded memory: everything allocated during the call is a
			// small multiple of the limit (the decoder's buffer doubles),
			// although the server would have sent forever.
			t.Logf("limit %d B: the call allocated %d B in all; the server had written %d B when the client hung up", limit, after.TotalAlloc-before.TotalAlloc, sent.Load())
			if got := after.TotalAlloc - before.TotalAlloc; got > 16*limit {
				t.Errorf("the call allocated %d bytes, want at most %d", got, 16*limit)
			}
			if got := sent.Load(); got < limit {
				t.Errorf("the server sent %d bytes, want more than the %d-byte limit", got, limit)
			}
		})
	}
}

func TestTokenSource(t *testing.T) {
	t.Run("a token per request", func(t *testing.T) {
		srv := newFake(t, replies(ok("x")))
		var calls atomic.Int32
		p := openai.New("gpt-4o", openai.WithAzure(srv.URL, ""), openai.WithTokenSource(func(ctx context.Context) (string, error) {
			if ctx == nil {
				return "", errors.New("no context")
			}
			return fmt.Sprintf("tok-%d", calls.Add(1)), nil
		}))
		for i := 1; i <= 2; i++ {
			if _, err := p.Complete(context.Background(), user("q")); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			h := srv.last(t)
			if got, want := h.Header.Get("Authorization"), fmt.Sprintf("Bearer tok-%d", i); got != want {
				t.Errorf("request %d: Authorization = %q, want %q", i, got, want)
			}
			if v, ok := h.Header["Api-Key"]; ok {
				t.Errorf("request %d: api-key header %q sent with a token", i, v)
			}
		}
	})
	t.Run("a failing source: ErrAuth, nothing sent", func(t *testing.T) {
		srv := newFake(t, replies(ok("x")))
		p := openai.New("gpt-4o", openai.WithAzure(srv.URL, ""), openai.WithTokenSource(func(context.Context) (string, error) {
			return "", errors.New("credential expired")
		}))
		_, err := p.Complete(context.Background(), user("q"))
		if !errors.Is(err, refine.ErrAuth) || !strings.Contains(err.Error(), "credential expired") {
			t.Errorf("err = %v, want ErrAuth naming the cause", err)
		}
		if n := len(srv.Hits()); n != 0 {
			t.Errorf("server received %d requests, want 0", n)
		}
	})
	t.Run("bad combinations", func(t *testing.T) {
		for name, opts := range map[string][]openai.Option{
			"nil source":     {openai.WithTokenSource(nil)},
			"source and key": {openai.WithAPIKey("k"), openai.WithTokenSource(func(context.Context) (string, error) { return "t", nil })},
		} {
			_, err := openai.New("m", opts...).Complete(context.Background(), user("q"))
			if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), "WithTokenSource") {
				t.Errorf("%s: err = %v, want ErrInvalidOption naming WithTokenSource", name, err)
			}
		}
	})
}

func TestOptionValidation(t *testing.T) {
	for name, opt := range map[string]openai.Option{
		"WithTimeout":          openai.WithTimeout(-time.Second),
		"WithMaxResponseBytes": openai.WithMaxResponseBytes(0),
		"WithSchemaMode":       openai.WithSchemaMode(openai.SchemaMode(7)),
	} {
		_, err := openai.New("m", openai.WithBaseURL("http://localhost:1/v1"), opt).Complete(context.Background(), user("q"))
		if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), name) {
			t.Errorf("err = %v, want ErrInvalidOption naming %s", err, name)
		}
	}
}

func TestModel(t *testing.T) {
	if got := openai.New("qwen2.5:7b", openai.WithBaseURL("http://localhost:11434/v1")).Model(); got != "qwen2.5:7b" {
		t.Errorf("Model() = %q, want %q", got, "qwen2.5:7b")
	}
}
