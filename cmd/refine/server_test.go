package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatServer is an OpenAI-compatible server on loopback that answers as
// llama.cpp's llama-server does (WIRE.md): the reply's "model" is what
// the server runs (for llama-server, its model file's path), not the name
// sent; usage is reported; a stream ends with a usage chunk. The draft
// and refinement get a short answer, the judge a score of 6, the pairwise
// judge "[[A]]". reject, when set, may answer a request instead: a status,
// its headers and body.
type chatServer struct {
	*httptest.Server
	model  string
	reject func(n int) (status int, header http.Header, body string)

	mu     sync.Mutex
	n      int         // requests received
	starts []time.Time // when each arrived
}

func newChatServer(t *testing.T, model string) *chatServer {
	s := &chatServer{model: model}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
	var req struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"code":400,"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if s.reject != nil {
		if status, header, body := s.reject(n); status != 0 {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	system := req.Messages[0].Content
	text := fmt.Sprintf("A short answer about goroutines, take %d.", n)
	switch {
	case strings.Contains(system, "Two AI assistants, A and B"):
		text = "A is more complete.\n[[A]]"
	case strings.Contains(system, "impartial judge"):
		text = `{"score": 6, "issues": ["too short"], "suggestions": ["say more"], "assessment": "fair"}`
	}
	model, _ := json.Marshal(s.model)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		content, _ := json.Marshal(text)
		fmt.Fprintf(w, `{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":%s}}],"created":1764000000,"model":%s,"system_fingerprint":"b6100-3f2a1c9","object":"chat.completion","usage":{"completion_tokens":5,"prompt_tokens":10,"total_tokens":15},"id":"chatcmpl-%d"}`, content, model, n)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, piece := range strings.SplitAfter(text, " ") {
		content, _ := json.Marshal(piece)
		fmt.Fprintf(w, "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":%s}}],\"created\":1764000000,\"id\":\"chatcmpl-%d\",\"model\":%s,\"object\":\"chat.completion.chunk\"}\n\n", content, n, model)
	}
	fmt.Fprintf(w, "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1764000000,\"id\":\"chatcmpl-%d\",\"model\":%s,\"object\":\"chat.completion.chunk\"}\n\n", n, model)
	fmt.Fprintf(w, "data: {\"choices\":[],\"created\":1764000000,\"id\":\"chatcmpl-%d\",\"model\":%s,\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":5,\"prompt_tokens\":10,\"total_tokens\":15}}\n\n", n, model)
	io.WriteString(w, "data: [DONE]\n\n")
}

func (s *chatServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
