package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// exampleServer stands in for an OpenAI-compatible server, so that the
// examples run offline. Judge requests (JSON mode) get a verdict, others an
// answer.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ResponseFormat *struct{ Type string } `json:"response_format"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &req)
		text := ""
		if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object" {
			text = `{"score": 9, "issues": [], "suggestions": [], "assessment": "Correct and concise."}`
		} else {
			text = "Channels connect goroutines."
		}
		reply, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini-2024-07-18",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": text}}},
			"usage": map[string]any{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	}))
}

func ExampleNew() {
	srv := exampleServer() // in real use: https://api.openai.com/v1, or a local server
	defer srv.Close()

	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"))
	zero := 0.0
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "What connects goroutines?"}},
		Sampling: refine.Sampling{Temperature: &zero, MaxTokens: 100}, // temperature 0 is sent as 0
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	fmt.Println(resp.Model, resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// Channels connect goroutines.
	// gpt-4o-mini-2024-07-18 stop 12 5
}

// The whole refine loop on an OpenAI-compatible server: draft, judge, and
// refine until the judge is satisfied.
func ExampleNew_refineRun() {
	srv := exampleServer()
	defer srv.Close()

	p := openai.New("llama3.2", openai.WithBaseURL(srv.URL+"/v1")) // as with Ollama: no key
	res, err := refine.Run(context.Background(), "What connects goroutines?", refine.WithProvider(p))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Answer)
	fmt.Println(res.Score, res.StopReason, len(res.Attempts))
	// Output:
	// Channels connect goroutines.
	// 9 threshold 1
}

func ExampleFromEnv() {
	srv := exampleServer()
	defer srv.Close()

	// Usually set outside the program, e.g. for Ollama:
	//   OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2
	defer restoreEnv("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL")()
	os.Unsetenv("OPENAI_API_KEY") // a local server needs no key
	os.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	os.Setenv("OPENAI_MODEL", "llama3.2")

	p, err := openai.FromEnv()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "What connects goroutines?"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)

	// Without a base URL, the official endpoint needs a key:
	os.Unsetenv("OPENAI_BASE_URL")
	_, err = openai.FromEnv()
	fmt.Println(strings.SplitN(err.Error(), ";", 2)[0])
	// Output:
	// Channels connect goroutines.
	// openai: OPENAI_API_KEY is not set, and https://api.openai.com/v1 needs a key
}

func ExampleWithAzure() {
	srv := exampleServer() // in real use: https://my-resource.openai.azure.com
	defer srv.Close()

	p := openai.New("gpt-4o",
		openai.WithAzure(srv.URL, "2024-10-21"),
		openai.WithAPIKey("azure-key"),           // sent as the api-key header
		openai.WithAzureDeployment("prod-gpt4o")) // POST /openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "What connects goroutines?"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	// Output:
	// Channels connect goroutines.
}

// restoreEnv returns a function putting the variables back as they were.
func restoreEnv(names ...string) func() {
	saved := map[string]*string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			saved[n] = &v
		} else {
			saved[n] = nil
		}
	}
	return func() {
		for n, v := range saved {
			if v == nil {
				os.Unsetenv(n)
			} else {
				os.Setenv(n, *v)
			}
		}
	}
}
