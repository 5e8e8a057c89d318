package bedrock_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

var userQ = &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}

// reset closes the connection with an RST, as a killed server or a proxy
// dropping the connection does: the client reads "connection reset by
// peer". prefix, when not empty, is sent first as the start of a 200 whose
// Content-Length promises more.
func reset(prefix string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if prefix != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, prefix)
			w.(http.Flusher).Flush()
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
		conn.Close()
	}
}

// body200 is a 200 with the given content type and body.
func body200(contentType, body string) reply {
	return reply{header: map[string]string{"Content-Type": contentType}, body: body}
}

// Every way a 200 can fail to be a Converse reply is ErrUnavailable and
// retried (the openai adapter follows the same rule): the connection broke,
// or something other than Bedrock answered. A reset before the headers is
// the same fault seen earlier.
func TestBrokenReplies(t *testing.T) {
	tests := []struct {
		name     string
		reply    reply
		wantText []string // in err.Error()
		status   int
	}{
		{"reset in the middle of a 200 body", reply{raw: reset(`{"output":{"message":{"role":"assistant","content":[{"text":"Hel`)},
			[]string{"connection reset in the middle of the reply (HTTP 200)", "connection reset by peer"}, 200},
		{"reset before the headers", reply{raw: reset("")},
			[]string{"connection reset before the reply", "connection reset by peer"}, 0},
		{"truncated JSON", body200("application/json", `{"output":{"message":{"role":"assistant","content":[{"text":"Hel`),
			[]string{"unreadable reply (HTTP 200)"}, 200},
		{"HTML from a proxy", body200("text/html", "<html><body><h1>Welcome to the corporate proxy</h1></body></html>"),
			[]string{"unreadable reply (HTTP 200)"}, 200},
		{"empty body", body200("application/json", ""),
			[]string{"no output message"}, 200},
		{"empty object", body200("application/json", "{}"),
			[]string{"no output message"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, alwaysFail(tt.reply))
			p := bedrock.New(f.client(t), novaLite, noRetry)
			resp, err := p.Complete(context.Background(), userQ)
			if err == nil {
				t.Fatalf("Complete = %+v, want an error", resp)
			}
			if !errors.Is(err, refine.ErrUnavailable) || !transient(err) {
				t.Errorf("error %v: want a retryable ErrUnavailable", err)
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || pe.StatusCode != tt.status {
				t.Errorf("error %#v: want a *refine.ProviderError with status %d", err, tt.status)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}

			// With two retries: 1 + 2 attempts, all of them failed.
			before := f.hits()
			rp := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(refine.RetryPolicy{MaxRetries: 2, Base: time.Millisecond, Max: time.Millisecond}))
			if _, err := rp.Complete(context.Background(), userQ); !errors.Is(err, refine.ErrUnavailable) {
				t.Errorf("RetryProvider error %v, want ErrUnavailable", err)
			}
			if got := f.hits() - before; got != 3 {
				t.Errorf("server hits with 2 retries = %d, want 3", got)
			}
		})
	}
}

// A reset mid-reply followed by a good reply: the run goes on.
func TestResetThenServed(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		if n == 0 {
			return reply{raw: reset(`{"output":`)}
		}
		return okReply("안녕하세요", "end_turn", 3, 2)
	})
	p := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(refine.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond}))
	resp, err := p.Complete(context.Background(), userQ)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Text != "안녕하세요" || f.hits() != 2 {
		t.Errorf("Complete = %q after %d hits, want 안녕하세요 after 2", resp.Text, f.hits())
	}
}

// Network failures say what happened and print the underlying error.
func TestNetworkErrorMessages(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
		p := bedrock.New(newClient("http://"+addr), novaLite, noRetry)
		_, err = p.Complete(context.Background(), userQ)
		if !errors.Is(err, refine.ErrUnavailable) || !transient(err) {
			t.Fatalf("error %v: want a retryable ErrUnavailable", err)
		}
		for _, s := range []string{"connection refused: ", addr, "connect: connection refused"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
	})
	t.Run("TLS", func(t *testing.T) {
		plain := newFake(t, alwaysFail(okReply("x", "end_turn", 1, 1)))
		untrusted := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(untrusted.Close)
		for _, tt := range []struct{ name, url, want string }{
			{"https to a plain-http server", strings.Replace(plain.URL, "http://", "https://", 1), "server gave HTTP response to HTTPS client"},
			{"certificate not trusted", untrusted.URL, "certificate signed by unknown authority"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
				p := bedrock.New(newClient(tt.url), novaLite, noRetry)
				_, err := p.Complete(context.Background(), userQ)
				if !errors.Is(err, refine.ErrUnavailable) || transient(err) {
					t.Fatalf("error %v: want a permanent ErrUnavailable", err)
				}
				for _, s := range []string{"TLS handshake failed: ", tt.want} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
			})
		}
	})
}

// holdServer answers nothing until released; it reports each arrival.
func holdServer(t *testing.T, headers bool) (*fakeBedrock, chan struct{}, chan struct{}) {
	arrived, release := make(chan struct{}, 16), make(chan struct{})
	f := newFake(t, alwaysFail(reply{raw: func(w http.ResponseWriter, r *http.Request) {
		if headers {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"output":{"message":`)
			w.(http.Flusher).Flush()
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}))
	t.Cleanup(func() { close(release) })
	return f, arrived, release
}

// A frozen server, or one that stalls in the middle of the body, cannot
// hold a call with no deadline forever: WithTimeout ends it, as
// ErrUnavailable, and RetryProvider tries again.
func TestTimeout(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers bool
	}{{"no response", false}, {"body stalls", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := holdServer(t, tt.headers)
			p := bedrock.New(f.client(t), novaLite, bedrock.WithTimeout(50*time.Millisecond), noRetry)
			_, err := p.Complete(context.Background(), userQ)
			if !errors.Is(err, refine.ErrUnavailable) || !transient(err) {
				t.Fatalf("error %v: want a retryable ErrUnavailable", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v reads as the caller's deadline", err)
			}
			if want := "timeout: no reply within 50ms (bedrock.WithTimeout)"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			before := f.hits()
			rp := bedrock.New(f.client(t), novaLite, bedrock.WithTimeout(50*time.Millisecond),
				bedrock.WithRetry(refine.RetryPolicy{MaxRetries: 1, Base: time.Millisecond, Max: time.Millisecond}))
			rp.Complete(context.Background(), userQ)
			if got := f.hits() - before; got != 2 {
				t.Errorf("server hits with 1 retry = %d, want 2", got)
			}
		})
	}
}

// The caller's own deadline stays the caller's: not retried, and
// errors.Is(err, context.DeadlineExceeded) holds, even with a longer
// WithTimeout.
func TestCallerDeadlineWins(t *testing.T) {
	f, _, _ := holdServer(t, false)
	p := bedrock.New(f.client(t), novaLite, bedrock.WithTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Complete(ctx, userQ)
	if !errors.Is(err, context.DeadlineExceeded) || transient(err) {
		t.Fatalf("error %v: want the caller's context.DeadlineExceeded, not retryable", err)
	}
}

// endless serves a 200 whose JSON body never ends, counting bytes sent.
func endless(sent *atomic.Int64) reply {
	return reply{raw: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"`)
		chunk := []byte(strings.Repeat("a", 32<<10))
		for {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}}
}

// A body that never ends is cut at the cap: a clear error, not retried,
// and the heap stays bounded (without the cap this test would not end).
func TestMaxResponseBytes(t *testing.T) {
	var sent atomic.Int64
	f := newFake(t, alwaysFail(endless(&sent)))
	const limit = 1 << 20
	p := bedrock.New(f.client(t), novaLite, bedrock.WithMaxResponseBytes(limit),
		bedrock.WithRetry(refine.RetryPolicy{MaxRetries: 3, Base: time.Millisecond, Max: time.Millisecond}))

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := p.Complete(context.Background(), userQ)
	runtime.ReadMemStats(&after)

	if !errors.Is(err, refine.ErrUnavailable) || transient(err) {
		t.Fatalf("error %v: want a permanent ErrUnavailable", err)
	}
	if want := "larger than 1048576 bytes"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if got := f.hits(); got != 1 {
		t.Errorf("server hits = %d, want 1 (a capped reply is not retried)", got)
	}
	// Everything the call allocated, not only what is live at the end:
	// the SDK buffers the body it reads, so a few times the cap.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("the call allocated %d MiB for a 1 MiB cap", alloc>>20)
	}
	t.Logf("server sent %d KiB before the client hung up; the call allocated %d KiB", sent.Load()>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
}

// A reply of exactly the cap is read; the cap is on the body, not on the
// text.
func TestMaxResponseBytesExact(t *testing.T) {
	r := okReply("안녕하세요", "end_turn", 1, 1)
	f := newFake(t, alwaysFail(r))
	p := bedrock.New(f.client(t), novaLite, bedrock.WithMaxResponseBytes(int64(len(r.body))))
	if _, err := p.Complete(context.Background(), userQ); err != nil {
		t.Fatalf("Complete with the cap at the body's size: %v", err)
	}
	p = bedrock.New(f.client(t), novaLite, bedrock.WithMaxResponseBytes(int64(len(r.body))-1))
	if _, err := p.Complete(context.Background(), userQ); !errors.Is(err, refine.ErrUnavailable) {
		t.Fatalf("Complete with the cap a byte short: %v, want ErrUnavailable", err)
	}
}
