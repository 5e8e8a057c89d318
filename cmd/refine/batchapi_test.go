package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// batchServer is a fake OpenAI Batch API on loopback, in the shapes of
// OpenAI's API reference (openai/openai-openapi: OpenAIFile, Batch,
// BatchRequestInput, BatchRequestOutput, ListBatchesResponse), as the
// adapter's go-openai client speaks them: POST /v1/files (multipart,
// purpose "batch"), POST /v1/batches, GET /v1/batches/{id}, GET
// /v1/batches (newest first, with metadata), GET /v1/files/{id}/content.
// A batch finishes at a poll once ready says so. Every reply reports
// usage of 100,000 input and 50,000 output tokens, so that costs show at
// four decimals. On-demand chat requests are counted, and refused.
type batchServer struct {
	*httptest.Server
	// created receives each batch as POST /v1/batches takes it.
	created chan *fakeBatch

	mu      sync.Mutex
	ready   func(b *fakeBatch) bool // nil: every batch is ready
	files   map[string][]byte
	batches []*fakeBatch
	seq     int
	uploads int
	chats   int
}

type fakeBatch struct {
	ID       string
	seq      int // 1 for the first batch the server received
	metadata map[string]any
	ids      []string
	bodies   [][]byte
	status   string
	output   string
}

func newBatchServer(t *testing.T) *batchServer {
	s := &batchServer{created: make(chan *fakeBatch, 100), files: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", s.upload)
	mux.HandleFunc("GET /v1/files/{id}/content", s.content)
	mux.HandleFunc("POST /v1/batches", s.create)
	mux.HandleFunc("GET /v1/batches/{id}", s.retrieve)
	mux.HandleFunc("GET /v1/batches", s.list)
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.chats++
		s.mu.Unlock()
		http.Error(w, `{"error":{"message":"the test wants every call batched","type":"invalid_request_error"}}`, http.StatusBadRequest)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *batchServer) setReady(f func(b *fakeBatch) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = f
}

func (s *batchServer) counts() (batches []*fakeBatch, uploads, chats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*fakeBatch(nil), s.batches...), s.uploads, s.chats
}

func (s *batchServer) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("purpose") != "batch" {
		http.Error(w, `{"error":{"message":"want a multipart upload with purpose batch"}}`, http.StatusBadRequest)
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, `{"error":{"message":"no file"}}`, http.StatusBadRequest)
		return
	}
	data, _ := io.ReadAll(f)
	s.mu.Lock()
	s.seq++
	id := "file-" + strconv.Itoa(s.seq)
	s.files[id] = data
	s.uploads++
	s.mu.Unlock()
	writeJSON(w, map[string]any{"id": id, "object": "file", "bytes": len(data), "created_at": 1764000000, "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})
}

func (s *batchServer) content(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":{"message":"No such File object"}}`, http.StatusNotFound)
		return
	}
	w.Write(data)
}

func (s *batchServer) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID string         `json:"input_file_id"`
		Endpoint    string         `json:"endpoint"`
		Window      string         `json:"completion_window"`
		Metadata    map[string]any `json:"metadata"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	data, ok := s.files[req.InputFileID]
	s.mu.Unlock()
	if !ok || req.Endpoint != "/v1/chat/completions" || req.Window != "24h" {
		http.Error(w, `{"error":{"message":"bad batch"}}`, http.StatusBadRequest)
		return
	}
	b := &fakeBatch{metadata: req.Metadata, status: "in_progress"}
	for _, raw := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var line struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		if json.Unmarshal(raw, &line) != nil || line.Method != "POST" || line.URL != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"bad input line"}}`, http.StatusBadRequest)
			return
		}
		b.ids, b.bodies = append(b.ids, line.CustomID), append(b.bodies, line.Body)
	}
	s.mu.Lock()
	s.seq++
	b.ID, b.seq = "batch_"+strconv.Itoa(s.seq), len(s.batches)+1
	s.batches = append(s.batches, b)
	obj := s.object(b)
	s.mu.Unlock()
	s.created <- b
	writeJSON(w, obj)
}

// object is the Batch object of b. Callers hold mu.
func (s *batchServer) object(b *fakeBatch) map[string]any {
	o := map[string]any{"id": b.ID, "object": "batch", "endpoint": "/v1/chat/completions", "completion_window": "24h",
		"status": b.status, "created_at": 1764000000 + b.seq, "metadata": b.metadata, "output_file_id": nil, "error_file_id": nil,
		"request_counts": map[string]int{"total": len(b.ids)}}
	if b.output != "" {
		o["output_file_id"] = b.output
	}
	return o
}

func (s *batchServer) retrieve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b *fakeBatch
	for _, x := range s.batches {
		if x.ID == r.PathValue("id") {
			b = x
		}
	}
	if b == nil {
		http.Error(w, `{"error":{"message":"No such Batch"}}`, http.StatusNotFound)
		return
	}
	if b.status == "in_progress" && (s.ready == nil || s.ready(b)) {
		var out bytes.Buffer
		for i, id := range b.ids {
			line, _ := json.Marshal(map[string]any{"id": "batch_req_" + strconv.Itoa(i), "custom_id": id, "error": nil,
				"response": map[string]any{"status_code": 200, "request_id": "req_" + strconv.Itoa(i), "body": json.RawMessage(fakeAnswer(b.bodies[i]))}})
			out.Write(line)
			out.WriteByte('\n')
		}
		s.seq++
		b.output = "file-" + strconv.Itoa(s.seq)
		s.files[b.output] = out.Bytes()
		b.status = "completed"
	}
	writeJSON(w, s.object(b))
}

func (s *batchServer) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []any{}
	for i := len(s.batches) - 1; i >= 0; i-- {
		data = append(data, s.object(s.batches[i]))
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "has_more": false})
}

// fakeAnswer is a chat completion for a request body: a score of 6 for
// the judge, "[[A]]" for the pairwise judge, else an answer echoing the
// question.
func fakeAnswer(body []byte) []byte {
	var req struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(body, &req)
	text := "an answer"
	if n := len(req.Messages); n > 0 {
		text = "an answer to: " + clip(req.Messages[n-1].Content, 60)
		switch system := req.Messages[0].Content; {
		case strings.Contains(system, "Two AI assistants, A and B"):
			text = "A is more complete.\n[[A]]"
		case strings.Contains(system, "impartial judge"):
			text = `{"score": 6, "issues": ["too short"], "suggestions": ["say more"], "assessment": "fair"}`
		}
	}
	out, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1764000000, "model": "gpt-4o-mini",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 100000, "completion_tokens": 50000, "total_tokens": 150000}})
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// batchAPIApp is the command line configured for the fake, as the
// environment configures it: OpenAI at its base URL, with a key the
// outputs must never show.
func batchAPIApp(t *testing.T, s *batchServer) *testApp {
	t.Setenv("OPENAI_API_KEY", "sk-batch-secret-123")
	t.Setenv("OPENAI_BASE_URL", s.URL+"/v1")
	t.Setenv("OPENAI_MODEL", "")
	a := newTestApp(nil)
	a.getenv = os.Getenv
	return a
}

// writeBatchPrices writes a LiteLLM price file for gpt-4o-mini, with its batch
// prices when batch is set.
func writeBatchPrices(t *testing.T, batch bool) string {
	t.Helper()
	p := map[string]any{"input_cost_per_token": 0.15e-6, "output_cost_per_token": 0.6e-6}
	if batch {
		p["input_cost_per_token_batches"], p["output_cost_per_token_batches"] = 0.075e-6, 0.3e-6
	}
	data, _ := json.Marshal(map[string]any{"gpt-4o-mini": p})
	path := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// batchAPIArgs runs every task at once (the default with --batch-api);
// a step's n requests fill a batch of --batch-max n, sent at once. The
// long --batch-wait and --batch-idle make a batch that is not full (a step
// split by a cap) visible in the counts instead of sent anyway.
func batchAPIArgs(cmd, in, out string, n int, extra ...string) []string {
	return append([]string{cmd, "--batch-api", "--model", "gpt-4o-mini", "--in", in, "--out", out,
		"--max-iterations", "1", "--threshold", "9", "--batch-max", strconv.Itoa(n),
		"--batch-wait", "1h", "--batch-idle", "3s", "--batch-poll", "5ms"}, extra...)
}

// checkBatches asserts that the server received steps batches of n
// requests, one upload each, no request twice and no on-demand call.
func checkBatches(t *testing.T, s *batchServer, steps, n int) {
	t.Helper()
	batches, uploads, chats := s.counts()
	if len(batches) != steps || uploads != steps {
		t.Errorf("server received %d batches and %d uploads, want %d of each (one per loop step)", len(batches), uploads, steps)
	}
	seen := map[string]string{}
	for _, b := range batches {
		if len(b.ids) != n {
			t.Errorf("%s has %d requests, want %d (every task's request of its step)", b.ID, len(b.ids), n)
		}
		for _, body := range b.bodies {
			if first, ok := seen[string(body)]; ok {
				t.Errorf("a request of %s was already submitted in %s: paid twice", b.ID, first)
			}
			seen[string(body)] = b.ID
		}
	}
	if chats != 0 {
		t.Errorf("server answered %d on-demand calls, want 0", chats)
	}
}

// A batch --batch-api interrupted while a batch runs, then started again
// with the same command, re-attaches to its batches through the journal
// next to --out: every task is answered and no request is submitted (or
// paid for) twice. Interrupted in the second step, the first step's batch
// has answered tasks that are then cut short: resumed, they ask again, and
// the answers must come from that batch.
func TestBatchAPIResumeReattaches(t *testing.T) {
	const n, steps = 4, 4 // draft, judge, refinement, judge
	for _, tt := range []struct {
		name string
		stop int // interrupt when the server receives this batch
	}{
		{"during the first batch", 1},
		{"during the second batch", 2},
		{"during the last batch", steps},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := writeTasks(t, dir, n), filepath.Join(dir, "results.jsonl")
			s := newBatchServer(t)
			s.setReady(func(b *fakeBatch) bool { return b.seq < tt.stop })
			a := batchAPIApp(t, s)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for b := range s.created {
					if b.seq == tt.stop {
						cancel()
						return
					}
				}
			}()
			if code := a.run(t, ctx, batchAPIArgs("batch", in, out, n)...); code != exitInterrupted {
				t.Fatalf("interrupted run: exit %d, want %d; stderr:\n%s", code, exitInterrupted, a.errOut)
			}
			if !strings.Contains(a.errOut.String(), "rerun the same command to resume") {
				t.Errorf("stderr does not say how to resume:\n%s", a.errOut)
			}
			journal := out + ".batches.json"
			batches, _, _ := s.counts()
			if len(batches) != tt.stop {
				t.Fatalf("server received %d batches before the interruption, want %d", len(batches), tt.stop)
			}
			for _, b := range batches {
				if data, err := os.ReadFile(journal); err != nil || !strings.Contains(string(data), `"`+b.ID+`"`) {
					t.Errorf("journal %s after the interruption: %v, %s; want it to name %s", journal, err, data, b.ID)
				}
			}

			s.setReady(nil)
			if code := a.run(t, context.Background(), batchAPIArgs("batch", in, out, n)...); code != exitOK {
				t.Fatalf("resumed run: exit %d; stderr:\n%s", code, a.errOut)
			}
			checkComplete(t, out, n)
			checkBatches(t, s, steps, n)
			if _, err := os.Stat(journal); !os.IsNotExist(err) {
				t.Errorf("journal after a complete run: %v; want it removed", err)
			}
			for _, l := range readLines(t, out) {
				if l.Batch == nil || l.Batch.Replies != steps {
					t.Errorf("line %s: batch %+v, want %d batched replies", l.ID, l.Batch, steps)
				}
			}
			if strings.Contains(a.out.String()+a.errOut.String(), "sk-batch-secret-123") {
				t.Errorf("output shows the API key")
			}
		})
	}
}

// batch --batch-api shows what batch pricing saved: the same tokens at
// batch and at on-demand prices, or an upper bound when --prices has no
// batch price. Every task runs at once, whatever --concurrency's default,
// so each step is one full batch.
func TestBatchAPISaving(t *testing.T) {
	const n, steps = 10, 4 // more tasks than --concurrency's default of 8
	// Each reply: 100,000 input and 50,000 output tokens; on demand
	// $0.015 + $0.030, at batch prices half that; 40 replies.
	for _, tt := range []struct {
		name       string
		batchPrice bool
		want       []string
		wantJSON   saving
	}{
		{"batch prices", true,
			[]string{"$0.9000,", "batch API saved $0.9000 (50%): $0.9000 at batch prices vs $1.8000 on demand"},
			saving{Replies: n * steps, Cost: 0.9, OnDemand: 1.8, Saved: 0.9, Known: true}},
		{"no batch price", false,
			[]string{"$1.8000 (an upper bound", "batch API saved $0.0000 (0%): $1.8000 at batch prices vs $1.8000 on demand (upper bound"},
			saving{Replies: n * steps, Cost: 1.8, OnDemand: 1.8, Known: true, UpperBound: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := writeTasks(t, dir, n), filepath.Join(dir, "results.jsonl")
			s := newBatchServer(t)
			a := batchAPIApp(t, s)
			prices := writeBatchPrices(t, tt.batchPrice)
			if code := a.run(t, context.Background(), batchAPIArgs("batch", in, out, n, "--prices", prices)...); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			checkBatches(t, s, steps, n)
			for _, w := range tt.want {
				if !strings.Contains(a.out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, a.out)
				}
			}
			if code := a.run(t, context.Background(), batchAPIArgs("batch", in, filepath.Join(dir, "again.jsonl"), n, "--prices", prices, "--json")...); code != exitOK {
				t.Fatalf("--json: exit %d; stderr:\n%s", code, a.errOut)
			}
			lines := strings.Split(strings.TrimSpace(a.out.String()), "\n")
			var last struct {
				Event string `json:"event"`
				Batch saving `json:"batch"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Event != "done" {
				t.Fatalf("last JSON line %q: %v", lines[len(lines)-1], err)
			}
			if !closeSaving(last.Batch, tt.wantJSON) {
				t.Errorf("JSON batch = %+v, want %+v", last.Batch, tt.wantJSON)
			}
		})
	}
}

func closeSaving(got, want saving) bool {
	near := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return got.Replies == want.Replies && near(got.Cost, want.Cost) && near(got.OnDemand, want.OnDemand) &&
		near(got.Saved, want.Saved) && got.Known == want.Known && got.UpperBound == want.UpperBound
}

// eval --batch-api batches the loop's calls and the comparison judge's,
// and its text, JSON and HTML report say what batch pricing saved.
func TestEvalBatchAPISaving(t *testing.T) {
	const n = 3
	dir := t.TempDir()
	in, report := writeTasks(t, dir, n), filepath.Join(dir, "report.html")
	s := newBatchServer(t)
	a := batchAPIApp(t, s)
	prices := writeBatchPrices(t, true)
	args := batchAPIArgs("eval", in, filepath.Join(dir, "runs.jsonl"), n, "--prices", prices, "--report", report)
	if code := a.run(t, context.Background(), args...); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	// 4 loop steps and the comparison judge's two orders, each a batch
	// of n (or, for the judge, n, one per task and order).
	batches, _, chats := s.counts()
	if len(batches) < 5 || chats != 0 {
		t.Errorf("server received %d batches and %d on-demand calls; want the loop's 4 steps and the comparisons, all batched", len(batches), chats)
	}
	// 4 loop replies per task plus 2 comparison replies per task.
	want := fmt.Sprintf("batch API saved $%.4f (50%%)", 0.0225*6*n)
	if !strings.Contains(a.out.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, a.out)
	}
	html, err := os.ReadFile(report)
	if err != nil || !strings.Contains(string(html), want) {
		t.Errorf("report lacks %q (%v)", want, err)
	}

	if code := a.run(t, context.Background(), append(args[:len(args):len(args)], "--json")...); code != exitOK {
		t.Fatalf("--json: exit %d; stderr:\n%s", code, a.errOut)
	}
	lines := strings.Split(strings.TrimSpace(a.out.String()), "\n")
	var last struct {
		Event string `json:"event"`
		Batch saving `json:"batch"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Event != "report" {
		t.Fatalf("last JSON line %q: %v", lines[len(lines)-1], err)
	}
	// The runs were resumed from runs.jsonl; the comparisons were made
	// again, so they count twice over both runs but once in this report.
	wantJSON := saving{Replies: 6 * n, Cost: 0.0225 * 6 * n, OnDemand: 0.045 * 6 * n, Saved: 0.0225 * 6 * n, Known: true}
	if !closeSaving(last.Batch, wantJSON) {
		t.Errorf("JSON batch = %+v, want %+v", last.Batch, wantJSON)
	}
}

// What --batch-api cannot do is refused before any model call, naming the
// flag and the value.
func TestBatchAPIBadFlags(t *testing.T) {
	dir := t.TempDir()
	in, out := writeTasks(t, dir, 2), filepath.Join(dir, "results.jsonl")
	tasks, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	asJournal := filepath.Join(dir, "x.jsonl.batches.json") // a tasks file with a journal's name
	if err := os.WriteFile(asJournal, tasks, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bedrock", []string{"batch", "--batch-api", "--provider", "bedrock", "--in", in, "--out", out}, "--batch-api with --provider bedrock is not yet supported by the CLI"},
		{"demo", []string{"batch", "--batch-api", "--provider", "demo", "--in", in, "--out", out}, "the demo model has none"},
		{"ollama", []string{"batch", "--batch-api", "--provider", "ollama", "--in", in, "--out", out}, "Ollama serves no batch API"},
		{"not a regular file", []string{"batch", "--batch-api", "--in", in, "--out", os.DevNull}, "--batch-api needs --out to be a regular file"},
		{"journal not a regular file", []string{"batch", "--batch-api", "--in", in, "--out", filepath.Join(dir, "j.jsonl")}, "j.jsonl.batches.json is not"},
		{"max too large", []string{"batch", "--batch-api", "--batch-max", "50001", "--in", in, "--out", out}, "--batch-max 50001: want 1 to 50000"},
		{"negative poll", []string{"eval", "--batch-api", "--batch-poll", "-1s", "--in", in, "--report", filepath.Join(dir, "r.html")}, "--batch-poll -1s"},
		{"min above max", []string{"batch", "--batch-api", "--batch-max", "10", "--batch-min", "11", "--in", in, "--out", out}, "--batch-min 11: want 0 to --batch-max (10)"},
		{"without --batch-api", []string{"batch", "--batch-max", "10", "--in", in, "--out", out}, "--batch-max applies only with --batch-api"},
		// The tasks file named as a journal would be overwritten, then
		// removed after the run.
		{"input is a journal", []string{"batch", "--batch-api", "--in", asJournal, "--out", filepath.Join(dir, "x.jsonl")}, "is the input file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(dir, "j.jsonl.batches.json"), 0o755); err != nil {
				t.Fatal(err)
			}
			s := newBatchServer(t)
			a := batchAPIApp(t, s)
			if code := a.run(t, context.Background(), tt.args...); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, a.errOut)
			}
			if !strings.Contains(a.errOut.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, a.errOut)
			}
			if batches, uploads, chats := s.counts(); len(batches)+uploads+chats != 0 {
				t.Errorf("server received %d batches, %d uploads, %d calls; want none", len(batches), uploads, chats)
			}
		})
	}
}
