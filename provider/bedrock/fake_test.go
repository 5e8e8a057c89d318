package bedrock_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// The fake below speaks the Converse wire format (restJson1): POST
// /model/{modelId}/converse with the model id path-escaped, a JSON body,
// and errors named by the X-Amzn-ErrorType header or the body's "__type".

func TestMain(m *testing.M) {
	// The client reads AWS_BEARER_TOKEN_BEDROCK in bedrockruntime.New and
	// then refuses plain http; the examples cannot use t.Setenv.
	os.Unsetenv("AWS_BEARER_TOKEN_BEDROCK")
	os.Exit(m.Run())
}

// wireRequest is a Converse request body as the server receives it.
type wireRequest struct {
	Messages []struct {
		Role    string `json:"role"`
		Content []struct {
			Text *string `json:"text"`
		} `json:"content"`
	} `json:"messages"`
	System []struct {
		Text string `json:"text"`
	} `json:"system"`
	InferenceConfig map[string]json.RawMessage `json:"inferenceConfig"`
}

// systemText joins the system blocks.
func (r *wireRequest) systemText() string {
	var parts []string
	for _, s := range r.System {
		parts = append(parts, s.Text)
	}
	return strings.Join(parts, "\n")
}

// lastUser returns the text of the last user turn.
func (r *wireRequest) lastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			var b strings.Builder
			for _, c := range r.Messages[i].Content {
				if c.Text != nil {
					b.WriteString(*c.Text)
				}
			}
			return b.String()
		}
	}
	return ""
}

// seen is one request the fake received.
type seen struct {
	Method string
	Path   string // escaped
	Auth   string // Authorization header
	Body   []byte
	Req    wireRequest
}

// reply is what the fake answers.
type reply struct {
	status int
	header map[string]string
	body   string
	// raw, when set, writes the whole response instead (resets, endless
	// or stalled bodies, event streams).
	raw func(w http.ResponseWriter, r *http.Request)
}

// fakeBedrock is an httptest server standing in for bedrock-runtime.
type fakeBedrock struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seen
	handle func(n int, s seen) reply // n counts from 0
}

func newFake(t testing.TB, handle func(n int, s seen) reply) *fakeBedrock {
	t.Helper()
	f := &fakeBedrock{handle: handle}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeBedrock) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), Body: body}
	if err := json.Unmarshal(body, &s.Req); err != nil {
		w.Header().Set("X-Amzn-ErrorType", "SerializationException")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"fake: unreadable body"}`)
		return
	}
	f.mu.Lock()
	n := len(f.seen)
	f.seen = append(f.seen, s)
	f.mu.Unlock()

	var rep reply
	if !strings.HasPrefix(s.Path, "/model/") || !(strings.HasSuffix(s.Path, "/converse") || strings.HasSuffix(s.Path, "/converse-stream")) || r.Method != http.MethodPost {
		rep = errorReply(404, "UnknownOperationException", "fake: no route "+r.Method+" "+s.Path, true)
	} else {
		rep = f.handle(n, s)
	}
	if rep.raw != nil {
		rep.raw(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", "req-fake")
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// hits returns how many requests arrived.
func (f *fakeBedrock) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// requests returns the requests, in order.
func (f *fakeBedrock) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

// client returns a real bedrockruntime client pointed at the fake. Extra
// option functions adjust it (e.g. a client-level retryer).
func (f *fakeBedrock) client(t testing.TB, optFns ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "") // read by bedrockruntime.New: SigV4, not bearer
	return newClient(f.URL, optFns...)
}

func newClient(url string, optFns ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}, optFns...)
}

// fastSDKRetries gives the client a standard retryer (3 attempts) without
// backoff, so that a test can see what the SDK would do on its own.
func fastSDKRetries(o *bedrockruntime.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// noRetry makes each call one request, for tests of how one failure is
// read.
var noRetry = bedrock.WithRetry(refine.RetryPolicy{MaxRetries: -1})

// okReply is a successful Converse reply with one text block.
func okReply(text, stop string, in, out int) reply {
	return reply{body: mustJSON(map[string]any{
		"output": map[string]any{"message": map[string]any{
			"role":    "assistant",
			"content": []any{map[string]any{"text": text}},
		}},
		"stopReason": stop,
		"usage":      map[string]any{"inputTokens": in, "outputTokens": out, "totalTokens": in + out},
		"metrics":    map[string]any{"latencyMs": 42},
	})}
}

// errorReply is an error as Bedrock sends it: the type in the
// X-Amzn-ErrorType header (inHeader) or in the body's "__type".
func errorReply(status int, typ, msg string, inHeader bool) reply {
	r := reply{status: status}
	body := map[string]any{"message": msg}
	if inHeader {
		r.header = map[string]string{"X-Amzn-ErrorType": typ + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}
	} else {
		body["__type"] = "com.amazon.bedrock#" + typ
	}
	r.body = mustJSON(body)
	return r
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// transient reports whether refine.RetryProvider would retry err: a
// transient kind not marked Permanent.
func transient(err error) bool {
	var pe *refine.ProviderError
	if errors.As(err, &pe) && pe.Permanent {
		return false
	}
	return errors.Is(err, refine.ErrRateLimited) || errors.Is(err, refine.ErrUnavailable)
}
