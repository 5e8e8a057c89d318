package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// streamServer stands in for a server that streams its answer.
func streamServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, piece := range []string{"채널은 ", "고루틴을 ", "연결합니다."} {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", piece)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":6,\"total_tokens\":17}}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
}

func ExampleProvider_Stream() {
	srv := streamServer()
	defer srv.Close()

	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	resp, err := p.Stream(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "고루틴은 무엇으로 연결되나요?"}},
	}, func(delta string) {
		fmt.Printf("delta: %q\n", delta) // printed as the answer is written
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	fmt.Println(resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// delta: "채널은 "
	// delta: "고루틴을 "
	// delta: "연결합니다."
	// 채널은 고루틴을 연결합니다.
	// stop 11 6
}

// A Request with a Schema is sent as strict structured output; what strict
// mode needs (every property required, additionalProperties false) is
// added, and the nulls it makes the model write for optional properties
// are removed from the reply.
func ExampleProvider_Complete_schema() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ResponseFormat json.RawMessage `json:"response_format"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		fmt.Printf("response_format: %s\n", req.ResponseFormat)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"{\"vendor\":\"ACME\",\"note\":null}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}}`)
	}))
	defer srv.Close()

	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "Extract the vendor: 'Invoice from ACME'"}},
		Schema: &refine.Schema{Name: "invoice", Schema: json.RawMessage(
			`{"type":"object","properties":{"vendor":{"type":"string"},"note":{"type":"string"}},"required":["vendor"]}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	// Output:
	// response_format: {"type":"json_schema","json_schema":{"name":"invoice","schema":{"type":"object","properties":{"vendor":{"type":"string"},"note":{"type":["string","null"]}},"required":["vendor","note"],"additionalProperties":false},"strict":true}}
	// {"vendor":"ACME"}
}

// Servers that do not accept json_schema get JSON mode and the schema as
// an instruction.
func ExampleWithSchemaMode() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ResponseFormat json.RawMessage `json:"response_format"`
			Messages       []struct{ Role string }
		}
		json.NewDecoder(r.Body).Decode(&req)
		fmt.Printf("response_format: %s, first message: %s\n", req.ResponseFormat, req.Messages[0].Role)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"{\"vendor\":\"ACME\"}"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()

	p := openai.New("llama3.2", openai.WithBaseURL(srv.URL+"/v1"), openai.WithSchemaMode(openai.SchemaInstruct))
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "Extract the vendor: 'Invoice from ACME'"}},
		Schema:   &refine.Schema{Name: "invoice", Schema: json.RawMessage(`{"type":"object","properties":{"vendor":{"type":"string"}}}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	// Output:
	// response_format: {"type":"json_object"}, first message: system
	// {"vendor":"ACME"}
}

// Azure OpenAI with Microsoft Entra ID: a token per request from the
// caller's credential (azidentity's GetToken in real use).
func ExampleWithTokenSource() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("Authorization:", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()

	p := openai.New("gpt-4o",
		openai.WithAzure(srv.URL, ""),
		openai.WithTokenSource(func(ctx context.Context) (string, error) {
			return "eyJ0eXAi.example.token", nil // cred.GetToken(ctx, ...) in real use
		}))
	if _, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "ping"}},
	}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Authorization: Bearer eyJ0eXAi.example.token
}

// WithTimeout bounds a call to a server that stopped answering, and
// WithMaxResponseBytes one that never stops.
func ExampleWithTimeout() {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-stop // a frozen server
	}))
	defer srv.Close()
	defer close(stop)

	p := openai.New("llama3.2", openai.WithBaseURL(srv.URL+"/v1"),
		openai.WithTimeout(50*time.Millisecond), openai.WithMaxResponseBytes(8<<20),
		openai.WithRetry(refine.RetryPolicy{MaxRetries: -1})) // one attempt, for the example
	_, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "ping"}},
	})
	fmt.Println(errors.Is(err, refine.ErrUnavailable))
	// Output:
	// true
}

func ExampleProvider_Model() {
	p := openai.New("qwen2.5:7b", openai.WithBaseURL("http://localhost:11434/v1"))
	fmt.Println(p.Model())
	// Output:
	// qwen2.5:7b
}

// The Provider retries transient failures by itself, by default 3 times,
// waiting as long as the server asks: here one 429 with a 10ms
// retry-after-ms, then the answer. Every way the Provider reaches a run
// (WithProvider, a judge built on it, the regression guard) is retried by
// this same rule. RetryPolicy{MaxRetries: -1} turns retries off.
func ExampleWithRetry() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("retry-after-ms", "10")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
			return
		}
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	defer srv.Close()
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "ping"}}}

	p := openai.New("llama3.2", openai.WithBaseURL(srv.URL+"/v1")) // retries on by default
	resp, err := p.Complete(context.Background(), req)
	fmt.Println(resp.Text, err, calls.Load())

	calls.Store(0)
	once := openai.New("llama3.2", openai.WithBaseURL(srv.URL+"/v1"),
		openai.WithRetry(refine.RetryPolicy{MaxRetries: -1}))
	_, err = once.Complete(context.Background(), req)
	fmt.Println(errors.Is(err, refine.ErrRateLimited), calls.Load())
	// Output:
	// pong <nil> 2
	// true 1
}
