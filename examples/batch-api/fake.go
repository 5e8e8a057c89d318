package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// fakeBatchServer is a [simulated] OpenAI Batch API on loopback, for -demo:
// POST /v1/files (multipart, purpose=batch), POST /v1/batches, GET
// /v1/batches/{id} (done at the first poll), GET /v1/files/{id}/content,
// with the shapes of OpenAI's API reference. Its "model" drafts, judges
// and refines with canned text: it shows the plumbing, not a model.
func fakeBatchServer() *httptest.Server {
	var mu sync.Mutex
	files := map[string][]byte{}
	n := 0
	id := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }
	send := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("file")
		if err != nil || r.FormValue("purpose") != "batch" {
			http.Error(w, `{"error":{"message":"want a file with purpose batch"}}`, http.StatusBadRequest)
			return
		}
		data, _ := io.ReadAll(f)
		mu.Lock()
		defer mu.Unlock()
		fid := id("file")
		files[fid] = data
		send(w, map[string]any{"id": fid, "object": "file", "purpose": "batch", "bytes": len(data)})
	})
	mux.HandleFunc("POST /v1/batches", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			InputFileID string         `json:"input_file_id"`
			Metadata    map[string]any `json:"metadata"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		var out bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(files[req.InputFileID]))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var line struct {
				CustomID string          `json:"custom_id"`
				Body     json.RawMessage `json:"body"`
			}
			json.Unmarshal(sc.Bytes(), &line)
			resp := map[string]any{"status_code": 200, "body": completion(string(line.Body))}
			json.NewEncoder(&out).Encode(map[string]any{"custom_id": line.CustomID, "response": resp, "error": nil})
		}
		outID, bid := id("file"), id("batch")
		files[outID] = out.Bytes()
		files[bid] = []byte(outID) // the batch is done at once: its output file
		send(w, map[string]any{"id": bid, "object": "batch", "status": "in_progress", "metadata": req.Metadata})
	})
	mux.HandleFunc("GET /v1/batches/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		send(w, map[string]any{"id": r.PathValue("id"), "object": "batch", "status": "completed", "output_file_id": string(files[r.PathValue("id")])})
	})
	mux.HandleFunc("GET /v1/files/{id}/content", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Write(files[r.PathValue("id")])
	})
	return httptest.NewServer(mux)
}

// completion is the [simulated] model's chat completion for a request body.
func completion(body string) map[string]any {
	text := "A short answer."
	switch {
	case strings.Contains(body, `"response_format"`) && strings.Contains(body, "(refined)"):
		text = `{"score": 9, "issues": [], "suggestions": [], "assessment": "Clear."}`
	case strings.Contains(body, `"response_format"`):
		text = `{"score": 6, "issues": ["too short"], "suggestions": ["add an example"], "assessment": "Thin."}`
	case strings.Contains(body, "A short answer."):
		text = "A short answer, with an example (refined)."
	}
	return map[string]any{"id": "chatcmpl-sim", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 200, "completion_tokens": 40, "total_tokens": 240}}
}
