package wire

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date in the past is 0", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"negative seconds is 0", map[string]string{"Retry-After": "-5"}, 0},
		{"absurd seconds capped", map[string]string{"Retry-After": "99999999999999"}, MaxRetryAfter},
		{"garbage ignored", map[string]string{"Retry-After": "soon"}, 0},
		{"ms wins over seconds", map[string]string{"Retry-After-Ms": "250", "Retry-After": "3"}, 250 * time.Millisecond},
		{"fractional ms", map[string]string{"retry-after-ms": "12.5"}, 12500 * time.Microsecond},
		{"bad ms falls back", map[string]string{"Retry-After-Ms": "x", "Retry-After": "3"}, 3 * time.Second},
		{"reset requests", map[string]string{"X-Ratelimit-Reset-Requests": "6m0s"}, 6 * time.Minute},
		{"reset tokens ms", map[string]string{"x-ratelimit-reset-tokens": "20ms"}, 20 * time.Millisecond},
		{"reset groq style", map[string]string{"x-ratelimit-reset-tokens": "2m59.56s"}, 2*time.Minute + 59560*time.Millisecond},
		{"reset plain seconds", map[string]string{"x-ratelimit-reset-tokens": "2"}, 2 * time.Second},
		{"reset days capped", map[string]string{"x-ratelimit-reset-requests": "1d2h"}, MaxRetryAfter},
		{"both resets take the longer", map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 6 * time.Minute},
		{"exhausted counter decides", map[string]string{
			"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "0",
			"x-ratelimit-reset-tokens": "6m0s", "x-ratelimit-remaining-tokens": "5000"}, time.Second},
		{"retry-after beats resets", map[string]string{"Retry-After": "2", "x-ratelimit-reset-tokens": "6m0s"}, 2 * time.Second},
		{"bad reset ignored", map[string]string{"x-ratelimit-reset-tokens": "later"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if got := RetryAfter(h, now); got != tt.want {
				t.Errorf("RetryAfter(%v) = %v, want %v", tt.headers, got, tt.want)
			}
		})
	}
	if got := RetryAfter(nil, now); got != 0 {
		t.Errorf("RetryAfter(nil) = %v, want 0", got)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"http://localhost:11434/v1", "http://localhost:11434/v1"},
		{"http://user:PASS@host/v1", "http://user:xxxxx@host/v1"},
		{"https://TOKEN123@host/v1", "https://xxxxx@host/v1"},
		{"https://host/v1?key=SECRET&model=x", "https://host/v1?key=xxxxx&model=x"},
		{"https://host/v1?api-version=2024-10-21&api-key=SECRET", "https://host/v1?api-version=2024-10-21&api-key=xxxxx"},
		{"https://acct.blob/x?sv=1&sig=SECRET%2Fabc", "https://acct.blob/x?sv=1&sig=xxxxx"},
		{"https://h/?X-Amz-Credential=AK&X-Amz-Signature=SIG&X-Amz-Security-Token=TOK", "https://h/?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&X-Amz-Security-Token=xxxxx"},
		{"https://h/?access_token=SECRET&flag", "https://h/?access_token=xxxxx&flag"},
		{"http://u:PASS@h:8000/v1?token=SECRET", "http://u:xxxxx@h:8000/v1?token=xxxxx"},
		// Does not parse (bad port): the fallback still removes the secrets.
		{"http://u:PASS@h:port/v1?key=SECRET", "http://xxxxx@h:port/v1?key=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := RedactURL(tt.in)
			if got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, s := range []string{"PASS", "SECRET", "TOKEN123", "SIG", "TOK"} {
				if strings.Contains(got, s) {
					t.Errorf("RedactURL(%q) = %q still contains %q", tt.in, got, s)
				}
			}
		})
	}
}

func TestScrub(t *testing.T) {
	const key = "my-very-own-key-123"
	tests := []struct {
		name, in string
		secrets  []string
		gone     []string // must not appear in the output
		kept     []string // must still appear
	}{
		{"known secret", "invalid key my-very-own-key-123 given", []string{key}, []string{key}, []string{"invalid key", "given"}},
		{"known secret query escaped", "url ?k=a%2Bb%2Fc", []string{"a+b/c"}, []string{"a%2Bb%2Fc"}, []string{"url"}},
		{"empty secret ignored", "nothing here", []string{""}, nil, []string{"nothing here"}},
		{"echoed authorization header", `{"error":"bad header Authorization: Bearer abc.def-ghi"}`, nil, []string{"abc.def-ghi"}, []string{"Authorization", "bad header"}},
		{"echoed json header", `{"headers":{"authorization":"Bearer s3cr3tT0ken"}}`, nil, []string{"s3cr3tT0ken"}, []string{"authorization"}},
		{"api-key header", `api-key: 0123456789abcdef0123456789abcdef`, nil, []string{"0123456789abcdef"}, []string{"api-key"}},
		{"x-api-key", `x-api-key=ZZZsecretZZZ; next`, nil, []string{"ZZZsecretZZZ"}, []string{"next"}},
		{"bare bearer", "token was bearer AbCdEf123456 ok", nil, []string{"AbCdEf123456"}, []string{"ok"}},
		{"openai key", "Incorrect API key provided: sk-proj-abcdefgh12345678XYZ. You can find", nil, []string{"abcdefgh12345678XYZ"}, []string{"Incorrect API key provided: sk-", "You can find"}},
		{"jwt", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl expired", nil, []string{"eyJhbGciOiJSUzI1NiJ9", "c2lnbmF0dXJl"}, []string{"expired"}},
		{"aws key pair", "creds AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", nil, []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, []string{"creds", "end"}},
		// "=" is padding, never inside a key: "secret=" must not join the
		// name to the key into one run too long to be taken for a key.
		{"secret= prefix", "gateway config: secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region=us", nil, []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, []string{"gateway config: secret=", "region=us"}},
		{"SecretAccessKey= prefix", "SecretAccessKey=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", nil, []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, []string{"SecretAccessKey="}},
		{"key=...= both sides", "a=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY=b", nil, []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, []string{"a=", "b"}},
		{"session token", "tok " + strings.Repeat("IQoJb3JpZ2luX2VjEJr", 8) + " end", nil, []string{"IQoJb3JpZ2luX2VjEJr"}, []string{"tok", "end"}},
		{"hex digest kept", "request 0123456789abcdef0123456789abcdef01234567 failed", nil, nil, []string{"0123456789abcdef0123456789abcdef01234567"}},
		{"plain message kept", "request (8827 tokens) exceeds the available context size (2048 tokens)", nil, nil, []string{"request (8827 tokens) exceeds the available context size (2048 tokens)"}},
		{"korean kept", "요청이 너무 깁니다", nil, nil, []string{"요청이 너무 깁니다"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Scrub(tt.in, tt.secrets...)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("Scrub(%q) = %q, still contains %q", tt.in, got, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("Scrub(%q) = %q, lost %q", tt.in, got, k)
				}
			}
		})
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestLimitBody(t *testing.T) {
	tests := []struct {
		name    string
		body    io.Reader
		max     int64
		wantLen int
		tooBig  bool
	}{
		{"under", strings.NewReader("hello"), 10, 5, false},
		{"exactly", strings.NewReader("0123456789"), 10, 10, false},
		{"one over", strings.NewReader("0123456789X"), 10, 10, true},
		{"endless", endless{}, 1 << 16, 1 << 16, true},
		{"no limit", strings.NewReader("0123456789X"), 0, 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := LimitBody(io.NopCloser(tt.body), tt.max)
			got, err := io.ReadAll(b)
			if len(got) != tt.wantLen {
				t.Errorf("read %d bytes, want %d", len(got), tt.wantLen)
			}
			var tl *TooLargeError
			if isTL := errors.As(err, &tl); isTL != tt.tooBig {
				t.Fatalf("err = %v, want TooLargeError: %v", err, tt.tooBig)
			}
			if tt.tooBig {
				if tl.Limit != tt.max {
					t.Errorf("Limit = %d, want %d", tl.Limit, tt.max)
				}
				if !strings.Contains(err.Error(), "limit") {
					t.Errorf("err = %q, want it to name the limit", err)
				}
				// The error is sticky.
				if _, err2 := b.Read(make([]byte, 4)); !errors.As(err2, &tl) {
					t.Errorf("second Read err = %v, want TooLargeError", err2)
				}
			} else if err != nil {
				t.Errorf("err = %v, want nil", err)
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestLimitBodyCloses(t *testing.T) {
	c := &closeRecorder{Reader: bytes.NewReader(nil)}
	if err := LimitBody(c, 5).Close(); err != nil || !c.closed {
		t.Errorf("Close: err %v, closed %v; want nil, true", err, c.closed)
	}
}

// BenchmarkLimitBody reads a 4 MiB body (a long answer with top-20
// log-probabilities) the way a JSON decoder does, with and without the cap.
func BenchmarkLimitBody(b *testing.B) {
	body := bytes.Repeat([]byte(`{"token":"x","logprob":-0.1},`), (4<<20)/29)
	for _, tc := range []struct {
		name string
		wrap func(io.ReadCloser) io.ReadCloser
	}{
		{"raw", func(rc io.ReadCloser) io.ReadCloser { return rc }},
		{"LimitBody", func(rc io.ReadCloser) io.ReadCloser { return LimitBody(rc, 32<<20) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 4096)
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rc := tc.wrap(io.NopCloser(bytes.NewReader(body)))
				for {
					if _, err := rc.Read(buf); err != nil {
						break
					}
				}
			}
		})
	}
}

// endlessLines is a stream of short SSE lines that never ends.
type endlessLines struct{}

func (endlessLines) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "data: {}\n"[i%9]
	}
	return len(p), nil
}

func TestLimitStream(t *testing.T) {
	tests := []struct {
		name           string
		body           io.Reader
		perLine, total int64
		wantLen        int
		wantLimit      int64 // 0: no error
		wantLine       bool
	}{
		{"short lines under both", strings.NewReader("data: a\n\ndata: b\n\n"), 8, 100, 18, 0, false},
		// Many lines, each under the line cap: only the total counts them.
		{"lines add up past the line cap", strings.NewReader(strings.Repeat("data: x\n", 10)), 8, 100, 80, 0, false},
		{"one line too long", strings.NewReader("data: a\ndata: " + strings.Repeat("y", 20) + "\n"), 16, 1000, 8 + 16, 16, true},
		{"line exactly at the cap", strings.NewReader("0123456789\n"), 10, 100, 11, 0, false},
		{"endless short lines hit the total", endlessLines{}, 16, 1 << 12, 1 << 12, 1 << 12, false},
		{"endless line", endless{}, 1 << 10, 1 << 20, 1 << 10, 1 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(LimitStream(io.NopCloser(tt.body), tt.perLine, tt.total))
			if len(got) != tt.wantLen {
				t.Errorf("read %d bytes, want %d", len(got), tt.wantLen)
			}
			var tl *TooLargeError
			switch {
			case tt.wantLimit == 0 && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tt.wantLimit == 0:
			case !errors.As(err, &tl):
				t.Fatalf("err = %v, want *TooLargeError", err)
			case tl.Limit != tt.wantLimit || tl.Line != tt.wantLine:
				t.Errorf("TooLargeError{Limit: %d, Line: %v}, want {%d, %v}", tl.Limit, tl.Line, tt.wantLimit, tt.wantLine)
			}
		})
	}
}

func TestIsTLS(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"scheme mismatch", &url.Error{Op: "Post", URL: "https://localhost:11434/v1/chat/completions", Err: http.ErrSchemeMismatch}, true},
		// A layer that keeps only the text (an SDK flattening its cause).
		{"scheme mismatch as text", errors.New("send: " + http.ErrSchemeMismatch.Error()), true},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://h", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, true},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{"refused", &url.Error{Op: "Post", URL: "https://h", Err: syscall.ECONNREFUSED}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTLS(tt.err); got != tt.want {
				t.Errorf("IsTLS(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestURLSecrets(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		url  string
		want []string
	}{
		{"http://localhost:11434/v1", nil},
		{"not a url\x7f", nil},
		{"http://user:pa55@gw/v1", []string{"user:pa55", b64("user:pa55"), raw("user:pa55"), "user:pa55", "pa55"}},
		{"https://u:p%40ss%2Fw@gw/v1", []string{"u:p%40ss%2Fw", b64("u:p@ss/w"), raw("u:p@ss/w"), "u:p@ss/w", "p@ss/w"}},
		{"https://TOKEN123@gw/v1", []string{"TOKEN123", b64("TOKEN123:"), raw("TOKEN123:"), "TOKEN123"}},
	}
	for _, tt := range tests {
		if got := URLSecrets(tt.url); !slices.Equal(got, tt.want) {
			t.Errorf("URLSecrets(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
	// Scrubbing with them, longest first, removes every form whole.
	secrets := SortSecrets(append([]string{"", "sk-key"}, URLSecrets("http://user:pa55word@gw/v1")...))
	text := "pw pa55word basic " + b64("user:pa55word") + " raw " + raw("user:pa55word") + " pair user:pa55word key sk-key"
	got := Scrub(text, secrets...)
	for _, s := range []string{"pa55word", b64("user:pa55word"), raw("user:pa55word"), "sk-key"} {
		if strings.Contains(got, s) {
			t.Errorf("Scrub left %q in %q", s, got)
		}
	}
	if strings.Contains(got, "xxxxx=") {
		t.Errorf("Scrub left base64 padding behind: %q", got)
	}
	for i := 1; i < len(secrets); i++ {
		if len(secrets[i]) > len(secrets[i-1]) || secrets[i] == "" {
			t.Fatalf("SortSecrets = %q, want non-empty, longest first", secrets)
		}
	}
}
