// Package openaifake is a fake OpenAI Batch API server for tests and
// benchmarks: httptest on loopback, speaking the shapes of OpenAI's API
// reference (openai/openai-openapi, components OpenAIFile, Batch,
// BatchRequestInput, BatchRequestOutput, ListBatchesResponse) as go-openai
// reads and writes them.
//
// Routes: POST /v1/files (multipart, purpose=batch), POST /v1/batches,
// GET /v1/batches/{id}, GET /v1/batches (newest first, with metadata,
// after/limit paging), GET /v1/files/{id}/content. A batch finishes at the
// first poll once Ready says so; its output and error files list the
// lines in shuffled order, as the real API gives no order.
package openaifake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome is what the fake does with one request of a batch.
type Outcome struct {
	Status int    // the line's response.status_code (0: 200)
	Body   string // the line's response.body (a chat completion, or an error object)
	// ErrCode and ErrMessage, when ErrCode is set, make a line with
	// "response": null and this "error" (batch_expired...), in the error file.
	ErrCode, ErrMessage string
	Skip                bool // no line at all
}

// Batch is one batch the fake received.
type Batch struct {
	ID        string
	Metadata  map[string]any
	CustomIDs []string
	Bodies    []json.RawMessage // the "body" of each input line, as sent
	Lines     []map[string]any  // each input line, decoded
	Created   time.Time
	Status    string
	// End, when set before the batch finishes, is the status it ends
	// with: "completed" (default), "expired", "failed", "cancelled".
	End    string
	output string
	errors string
	seq    int
}

// Server is the fake. Set its fields before the first request.
type Server struct {
	*httptest.Server
	// Answer gives the outcome of one request; default: a chat completion
	// whose text is "answer: " and the last message's content.
	Answer func(b *Batch, customID string, body []byte) Outcome
	// Ready says whether a batch may finish at this poll; default:
	// Latency has passed since it was created.
	Ready   func(b *Batch) bool
	Latency time.Duration
	// OnCreate is called with each batch as POST /v1/batches receives it,
	// before it replies.
	OnCreate func(b *Batch)
	// Lean keeps only what the server needs (for benchmarks measuring
	// the client's heap): no Lines, no input file once read, Bodies
	// dropped once the batch has run, output files dropped once read.
	Lean bool

	mu      sync.Mutex
	files   map[string][]byte
	purpose map[string]string
	batches []*Batch
	seq     int
	uploads int
	polls   int
	chats   int
}

// New starts a fake; Close it when done.
func New() *Server {
	s := &Server{files: map[string][]byte{}, purpose: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", s.upload)
	mux.HandleFunc("GET /v1/files/{id}/content", s.content)
	mux.HandleFunc("POST /v1/batches", s.create)
	mux.HandleFunc("GET /v1/batches/{id}", s.retrieve)
	mux.HandleFunc("GET /v1/batches", s.list)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.Server = httptest.NewServer(mux)
	return s
}

// Configure runs fn with the server's lock held: for setting its fields
// while another process may already talk to it.
func (s *Server) Configure(fn func(*Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// BaseURL is the base URL to give WithBaseURL.
func (s *Server) BaseURL() string { return s.Server.URL + "/v1" }

// Batches returns the batches received so far, oldest first.
func (s *Server) Batches() []*Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Batch(nil), s.batches...)
}

// Counts returns how many files were uploaded, batches polled and
// on-demand chat requests answered.
func (s *Server) Counts() (uploads, polls, chats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads, s.polls, s.chats
}

// Completion is a chat completion response body with text.
func Completion(text string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1733000000, "model": "gpt-4o-mini-2024-07-18",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
	})
	return string(b)
}

// ErrorBody is an OpenAI error object.
func ErrorBody(code, typ, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
	return string(b)
}

// LastContent is the content of the last message of a chat request body.
func LastContent(body []byte) string {
	var r struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(body, &r)
	if len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[len(r.Messages)-1].Content
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, ErrorBody("", "invalid_request_error", msg))
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// upload is POST /v1/files: multipart/form-data with "purpose" and "file";
// the reply is a File object.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		fail(w, http.StatusBadRequest, "not multipart: "+err.Error())
		return
	}
	purpose := r.FormValue("purpose")
	f, hdr, err := r.FormFile("file")
	if err != nil || purpose != "batch" {
		fail(w, http.StatusBadRequest, fmt.Sprintf("want a file with purpose batch, got purpose %q (%v)", purpose, err))
		return
	}
	data, _ := io.ReadAll(f)
	s.mu.Lock()
	s.seq++
	id := "file-" + strconv.Itoa(s.seq)
	s.files[id], s.purpose[id] = data, purpose
	s.uploads++
	s.mu.Unlock()
	reply(w, map[string]any{"id": id, "object": "file", "bytes": len(data), "created_at": time.Now().Unix(),
		"filename": hdr.Filename, "purpose": purpose, "status": "processed"})
}

func (s *Server) content(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.PathValue("id")]
	if s.Lean {
		delete(s.files, r.PathValue("id"))
	}
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, "No such File object: "+r.PathValue("id"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}

// create is POST /v1/batches {input_file_id, endpoint, completion_window,
// metadata}.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID      string         `json:"input_file_id"`
		Endpoint         string         `json:"endpoint"`
		CompletionWindow string         `json:"completion_window"`
		Metadata         map[string]any `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	s.mu.Lock()
	data, ok := s.files[req.InputFileID]
	s.mu.Unlock()
	if !ok || req.Endpoint != "/v1/chat/completions" || req.CompletionWindow != "24h" {
		fail(w, http.StatusBadRequest, fmt.Sprintf("bad batch: file %q (known %v), endpoint %q, window %q", req.InputFileID, ok, req.Endpoint, req.CompletionWindow))
		return
	}
	b := &Batch{Metadata: req.Metadata, Created: time.Now(), Status: "in_progress"}
	seen := map[string]bool{}
	for _, raw := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var line struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		var all map[string]any
		if json.Unmarshal(raw, &line) != nil || (!s.Lean && json.Unmarshal(raw, &all) != nil) || line.Method != "POST" || line.URL != "/v1/chat/completions" || seen[line.CustomID] {
			fail(w, http.StatusBadRequest, "bad input line: "+string(raw))
			return
		}
		seen[line.CustomID] = true
		b.CustomIDs = append(b.CustomIDs, line.CustomID)
		b.Bodies = append(b.Bodies, line.Body)
		if !s.Lean {
			b.Lines = append(b.Lines, all)
		}
	}
	s.mu.Lock()
	if s.Lean {
		delete(s.files, req.InputFileID)
	}
	s.seq++
	b.seq = s.seq
	b.ID = "batch_" + strconv.Itoa(s.seq)
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.mu.Lock()
	hook := s.OnCreate
	s.mu.Unlock()
	if hook != nil {
		hook(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reply(w, s.object(b, req.InputFileID))
}

// object is the Batch object of b. Callers hold mu.
func (s *Server) object(b *Batch, input string) map[string]any {
	o := map[string]any{"id": b.ID, "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": input,
		"completion_window": "24h", "status": b.Status, "created_at": b.Created.Unix(), "metadata": b.Metadata,
		"output_file_id": nil, "error_file_id": nil, "errors": nil,
		"request_counts": map[string]int{"total": len(b.CustomIDs), "completed": 0, "failed": 0}}
	if b.output != "" {
		o["output_file_id"] = b.output
	}
	if b.errors != "" {
		o["error_file_id"] = b.errors
	}
	if b.Status == "failed" {
		o["errors"] = map[string]any{"object": "list", "data": []any{map[string]any{"code": "invalid_request", "message": "the fake was told to fail this batch", "line": 1}}}
	}
	return o
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.polls++
	var b *Batch
	for _, x := range s.batches {
		if x.ID == r.PathValue("id") {
			b = x
		}
	}
	s.mu.Unlock()
	if b == nil {
		fail(w, http.StatusNotFound, "No such Batch: "+r.PathValue("id"))
		return
	}
	s.mu.Lock()
	running := b.Status == "in_progress"
	s.mu.Unlock()
	if running && s.ready(b) {
		s.finish(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reply(w, s.object(b, ""))
}

func (s *Server) ready(b *Batch) bool {
	if s.Ready != nil {
		return s.Ready(b)
	}
	return time.Since(b.Created) >= s.Latency
}

// finish runs a batch: its output file holds the 2xx lines, its error file
// the others and, when it expired, the requests it did not run.
func (s *Server) finish(b *Batch) {
	s.mu.Lock()
	end := b.End
	s.mu.Unlock()
	if end == "" {
		end = "completed"
	}
	var out, errs []string
	if end != "failed" {
		for i, id := range b.CustomIDs {
			o := Outcome{}
			if end == "cancelled" {
				o.Skip = true
			} else if s.Answer != nil {
				o = s.Answer(b, id, b.Bodies[i])
			} else {
				o.Body = Completion("answer: " + LastContent(b.Bodies[i]))
			}
			if end == "expired" && o.Skip {
				o = Outcome{ErrCode: "batch_expired", ErrMessage: "This request could not be executed before the completion window expired."}
			}
			if o.Skip {
				continue
			}
			line := map[string]any{"id": "batch_req_" + strconv.Itoa(i), "custom_id": id, "response": nil, "error": nil}
			if o.ErrCode != "" {
				line["error"] = map[string]string{"code": o.ErrCode, "message": o.ErrMessage}
			} else {
				if o.Status == 0 {
					o.Status = 200
				}
				line["response"] = map[string]any{"status_code": o.Status, "request_id": "req_" + strconv.Itoa(i), "body": json.RawMessage(o.Body)}
			}
			raw, _ := json.Marshal(line)
			if o.ErrCode == "" && o.Status < 300 {
				out = append(out, string(raw))
			} else {
				errs = append(errs, string(raw))
			}
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	rand.Shuffle(len(errs), func(i, j int) { errs[i], errs[j] = errs[j], errs[i] })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Lean {
		b.Bodies = nil
	}
	b.Status = end
	if len(out) > 0 {
		s.seq++
		b.output = "file-" + strconv.Itoa(s.seq)
		s.files[b.output] = []byte(strings.Join(out, "\n") + "\n")
	}
	if len(errs) > 0 {
		s.seq++
		b.errors = "file-" + strconv.Itoa(s.seq)
		s.files[b.errors] = []byte(strings.Join(errs, "\n") + "\n")
	}
}

// list is GET /v1/batches?after=&limit=: newest first.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 20
	}
	after := r.URL.Query().Get("after")
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []any
	skipping := after != ""
	more := false
	for i := len(s.batches) - 1; i >= 0; i-- {
		b := s.batches[i]
		if skipping {
			skipping = b.ID != after
			continue
		}
		if len(data) == limit {
			more = true
			break
		}
		data = append(data, s.object(b, ""))
	}
	resp := map[string]any{"object": "list", "data": data, "has_more": more}
	if len(data) > 0 {
		resp["first_id"] = data[0].(map[string]any)["id"]
		resp["last_id"] = data[len(data)-1].(map[string]any)["id"]
	}
	reply(w, resp)
}

// chat answers on-demand requests (below MinRequests) as Answer would.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.chats++
	s.mu.Unlock()
	o := Outcome{Body: Completion("answer: " + LastContent(body))}
	if s.Answer != nil {
		o = s.Answer(nil, "", body)
	}
	w.Header().Set("Content-Type", "application/json")
	if o.Status != 0 {
		w.WriteHeader(o.Status)
	}
	io.WriteString(w, o.Body)
}
