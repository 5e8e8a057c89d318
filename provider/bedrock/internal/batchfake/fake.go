// Package batchfake is a fake Amazon Bedrock control plane for the tests
// of bedrock.WithBatch: batch inference jobs (CreateModelInvocationJob,
// GetModelInvocationJob, ListModelInvocationJobs) over the REST JSON
// protocol the service/bedrock SDK client speaks, reading each job's
// records from an S3 store and writing its results back, as the Bedrock
// user guide describes them. It also has MemS3, an in-memory S3 with the
// three calls bedrock.S3API needs.
//
// Shapes, from the Bedrock API reference and user guide:
//   - CreateModelInvocationJob: POST /model-invocation-job, body
//     {jobName, roleArn, modelId, clientRequestToken, modelInvocationType,
//     timeoutDurationInHours, inputDataConfig: {s3InputDataConfig: {s3Uri,
//     s3InputFormat}}, outputDataConfig: {s3OutputDataConfig: {s3Uri,
//     s3EncryptionKeyId}}}; reply {jobArn}. A repeated clientRequestToken
//     returns the first job ("Amazon Bedrock ignores the request").
//   - GetModelInvocationJob: GET /model-invocation-job/{jobIdentifier};
//     reply the job: jobArn, jobName, status, message, submitTime, …
//   - ListModelInvocationJobs: GET /model-invocation-jobs?nameContains=&
//     submitTimeAfter=&nextToken=; reply {invocationJobSummaries, nextToken}.
//   - Errors: the status, header X-Amzn-ErrorType, body {"message"}.
//   - Input: JSONL, one {"recordId", "modelInput"} per line. Output:
//     <output s3Uri>/<job id>/<input file name>.out, one {"recordId",
//     "modelInput", "modelOutput"} or {…, "error": {"errorCode",
//     "errorMessage"}} per line, in no particular order (this fake writes
//     them reversed), and manifest.json.out next to it.
package batchfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	control "github.com/aws/aws-sdk-go-v2/service/bedrock"
)

// Store is where the fake reads a job's records and writes its results.
type Store interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte) error
}

// Record is one input line of a job.
type Record struct {
	ID    string
	Input json.RawMessage // the modelInput, a Converse request body
}

// Outcome is what the fake makes of one record: Output (a Converse
// response body), or an error with Code and Message, or, with Skip, no
// line at all (the record was not run).
type Outcome struct {
	Output  json.RawMessage
	Code    int
	Message string
	Skip    bool
}

// Job is a batch inference job of the fake.
type Job struct {
	ARN, Name, Token, ModelID, RoleARN  string
	InputURI, OutputURI, KMSKeyID, Type string
	TimeoutHours                        *int32
	Submitted                           time.Time
	Records                             []Record
	// End is the status the job ends with ("" = Completed); Message is
	// its message.
	End, Message string
	status       string
}

// ID is the last part of the job's ARN, its results' folder.
func (j *Job) ID() string { return j.ARN[strings.LastIndexByte(j.ARN, '/')+1:] }

// Server is the fake control plane. Set its hooks before the first request.
type Server struct {
	*httptest.Server
	Store Store
	// Answer makes a record's outcome; the default answers "answer: " and
	// the text of the last user turn.
	Answer func(j *Job, r Record) Outcome
	// Ready reports whether a job ends when polled (default: at once).
	Ready func(j *Job) bool
	// OnCreate sees every job created, before the reply is sent; it may
	// edit the job (End, Message). It runs under the server's lock: it
	// must not call the Server's methods.
	OnCreate func(j *Job)
	// LoseReply, when it returns true, makes CreateModelInvocationJob
	// answer 500 after creating the job (the reply lost on the way).
	LoseReply func(j *Job) bool

	mu      sync.Mutex
	jobs    []*Job
	creates int
	gets    int
}

// New starts a fake reading and writing store.
func New(store Store) *Server {
	s := &Server{Store: store}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Secret is the secret key of Client's credentials.
const Secret = "fake-secret-never-print"

// Client returns a service/bedrock client for the fake, signing with
// static credentials (secret key Secret).
func (s *Server) Client(optFns ...func(*control.Options)) *control.Client {
	return control.New(control.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDBATCHFAKE", Secret, ""),
	}, optFns...)
}

// Configure changes the hooks while the server runs: a request of
// another process gives the race detector no order between the change
// and the handler's read.
func (s *Server) Configure(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// hooks returns the hooks, read under the lock Configure takes.
func (s *Server) hooks() (answer func(*Job, Record) Outcome, ready func(*Job) bool, onCreate func(*Job), lose func(*Job) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Answer, s.Ready, s.OnCreate, s.LoseReply
}

// Jobs returns the jobs created so far, oldest first.
func (s *Server) Jobs() []*Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Job(nil), s.jobs...)
}

// Creates counts CreateModelInvocationJob requests, repeats included.
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case r.Method == http.MethodPost && path == "/model-invocation-job":
		s.create(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/model-invocation-job/"):
		id, err := url.PathUnescape(strings.TrimPrefix(path, "/model-invocation-job/"))
		if err != nil {
			apiError(w, 400, "ValidationException", err.Error())
			return
		}
		s.get(w, r, id)
	case r.Method == http.MethodGet && path == "/model-invocation-jobs":
		s.list(w, r)
	default:
		apiError(w, 404, "UnknownOperationException", r.Method+" "+path)
	}
}

// createBody is CreateModelInvocationJob's request body.
type createBody struct {
	JobName             string `json:"jobName"`
	RoleArn             string `json:"roleArn"`
	ModelID             string `json:"modelId"`
	ClientRequestToken  string `json:"clientRequestToken"`
	ModelInvocationType string `json:"modelInvocationType"`
	TimeoutHours        *int32 `json:"timeoutDurationInHours"`
	InputDataConfig     struct {
		S3 *struct {
			URI    string `json:"s3Uri"`
			Format string `json:"s3InputFormat"`
		} `json:"s3InputDataConfig"`
	} `json:"inputDataConfig"`
	OutputDataConfig struct {
		S3 *struct {
			URI string `json:"s3Uri"`
			KMS string `json:"s3EncryptionKeyId"`
		} `json:"s3OutputDataConfig"`
	} `json:"outputDataConfig"`
}

// splitS3 splits s3://bucket/key.
func splitS3(uri string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	return bucket, key
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in createBody
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, 400, "ValidationException", err.Error())
		return
	}
	if in.JobName == "" || in.RoleArn == "" || in.ModelID == "" || in.InputDataConfig.S3 == nil || in.OutputDataConfig.S3 == nil {
		apiError(w, 400, "ValidationException", "missing required field")
		return
	}
	s.mu.Lock()
	s.creates++
	for _, j := range s.jobs {
		if in.ClientRequestToken != "" && j.Token == in.ClientRequestToken {
			s.mu.Unlock()
			reply(w, map[string]string{"jobArn": j.ARN})
			return
		}
	}
	n := len(s.jobs)
	s.mu.Unlock()
	bucket, key := splitS3(in.InputDataConfig.S3.URI)
	raw, err := s.Store.Get(r.Context(), bucket, key)
	if err != nil {
		apiError(w, 400, "ValidationException", "cannot read the input: "+err.Error())
		return
	}
	j := &Job{ARN: fmt.Sprintf("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/job%06d", n+1),
		Name: in.JobName, Token: in.ClientRequestToken, ModelID: in.ModelID, RoleARN: in.RoleArn,
		InputURI: in.InputDataConfig.S3.URI, OutputURI: in.OutputDataConfig.S3.URI, KMSKeyID: in.OutputDataConfig.S3.KMS,
		Type: in.ModelInvocationType, TimeoutHours: in.TimeoutHours, Submitted: time.Now().UTC(), status: "Submitted"}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			RecordID   string          `json:"recordId"`
			ModelInput json.RawMessage `json:"modelInput"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			apiError(w, 400, "ValidationException", "a record is not JSON: "+err.Error())
			return
		}
		j.Records = append(j.Records, Record{ID: rec.RecordID, Input: rec.ModelInput})
	}
	_, _, onCreate, lose := s.hooks()
	s.mu.Lock()
	s.jobs = append(s.jobs, j)
	if onCreate != nil {
		onCreate(j) // under the lock: its edits of j race with no reader
	}
	s.mu.Unlock()
	if lose != nil && lose(j) {
		apiError(w, 500, "InternalServerException", "reply lost")
		return
	}
	reply(w, map[string]string{"jobArn": j.ARN})
}

func (s *Server) find(id string) *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.ARN == id {
			return j
		}
	}
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	j := s.find(id)
	if j == nil {
		apiError(w, 404, "ResourceNotFoundException", "no job "+id)
		return
	}
	s.mu.Lock()
	s.gets++
	st := j.status
	s.mu.Unlock()
	if st == "Submitted" || st == "InProgress" {
		if _, ready, _, _ := s.hooks(); ready == nil || ready(j) {
			if err := s.finish(r.Context(), j); err != nil {
				apiError(w, 500, "InternalServerException", err.Error())
				return
			}
		} else {
			s.mu.Lock()
			j.status = "InProgress"
			s.mu.Unlock()
		}
	}
	reply(w, s.view(j))
}

// finish runs a job's records and writes its results.
func (s *Server) finish(ctx context.Context, j *Job) error {
	var out bytes.Buffer
	ok, failed := 0, 0
	answer, _, _, _ := s.hooks()
	for i := len(j.Records) - 1; i >= 0; i-- { // output order is not input order
		rec := j.Records[i]
		var o Outcome
		if answer != nil {
			o = answer(j, rec)
		} else {
			o = Outcome{Output: Converse("answer: " + LastUser(rec.Input))}
		}
		line := map[string]any{"recordId": rec.ID, "modelInput": rec.Input}
		switch {
		case o.Skip:
			continue
		case o.Output != nil:
			line["modelOutput"] = o.Output
			ok++
		default:
			line["error"] = map[string]any{"errorCode": o.Code, "errorMessage": o.Message}
			failed++
		}
		b, _ := json.Marshal(line)
		out.Write(append(b, '\n'))
	}
	bucket, prefix := splitS3(j.OutputURI)
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	_, in := splitS3(j.InputURI)
	name := in[strings.LastIndexByte(in, '/')+1:]
	if err := s.Store.Put(ctx, bucket, prefix+j.ID()+"/"+name+".out", out.Bytes()); err != nil {
		return err
	}
	manifest, _ := json.Marshal(map[string]int{"totalRecordCount": len(j.Records), "processedRecordCount": ok + failed,
		"successRecordCount": ok, "errorRecordCount": failed})
	if err := s.Store.Put(ctx, bucket, prefix+j.ID()+"/manifest.json.out", manifest); err != nil {
		return err
	}
	s.mu.Lock()
	j.status = "Completed"
	if j.End != "" {
		j.status = j.End
	}
	s.mu.Unlock()
	return nil
}

// view is the job as GetModelInvocationJob and the job summaries show it.
func (s *Server) view(j *Job) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := map[string]any{
		"jobArn": j.ARN, "jobName": j.Name, "modelId": j.ModelID, "roleArn": j.RoleARN, "status": j.status,
		"submitTime": j.Submitted.Format(time.RFC3339Nano), "lastModifiedTime": time.Now().UTC().Format(time.RFC3339Nano),
		"inputDataConfig":  map[string]any{"s3InputDataConfig": map[string]any{"s3Uri": j.InputURI, "s3InputFormat": "JSONL"}},
		"outputDataConfig": map[string]any{"s3OutputDataConfig": map[string]any{"s3Uri": j.OutputURI}},
	}
	if j.Token != "" {
		v["clientRequestToken"] = j.Token
	}
	if j.Type != "" {
		v["modelInvocationType"] = j.Type
	}
	if j.Message != "" && j.status == j.End {
		v["message"] = j.Message
	}
	return v
}

// pageSize is the fake's page of job summaries, small so that the
// client's paging is exercised.
const pageSize = 2

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after time.Time
	if a := q.Get("submitTimeAfter"); a != "" {
		t, err := time.Parse(time.RFC3339Nano, a)
		if err != nil {
			apiError(w, 400, "ValidationException", "submitTimeAfter: "+err.Error())
			return
		}
		after = t
	}
	var match []*Job
	for _, j := range s.Jobs() {
		if strings.Contains(j.Name, q.Get("nameContains")) && j.Submitted.After(after) {
			match = append(match, j)
		}
	}
	sort.SliceStable(match, func(a, b int) bool { return match[a].Submitted.After(match[b].Submitted) }) // newest first
	start := 0
	if t := q.Get("nextToken"); t != "" {
		fmt.Sscanf(t, "page%d", &start)
	}
	end := min(start+pageSize, len(match))
	sums := []map[string]any{}
	for _, j := range match[min(start, end):end] {
		sums = append(sums, s.view(j))
	}
	out := map[string]any{"invocationJobSummaries": sums}
	if end < len(match) {
		out["nextToken"] = fmt.Sprintf("page%d", end)
	}
	reply(w, out)
}

// Converse returns a Converse response body answering text.
func Converse(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]string{"text": text}}}},
		"stopReason": "end_turn",
		"usage":      map[string]int{"inputTokens": 10, "outputTokens": 3, "totalTokens": 13},
		"metrics":    map[string]int{"latencyMs": 42},
	})
	return b
}

// LastUser returns the text of the last user turn of a Converse request body.
func LastUser(input []byte) string {
	var in struct {
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(input, &in)
	for i := len(in.Messages) - 1; i >= 0; i-- {
		if in.Messages[i].Role == "user" {
			var b strings.Builder
			for _, c := range in.Messages[i].Content {
				b.WriteString(c.Text)
			}
			return b.String()
		}
	}
	return ""
}

// readAll reads a body for MemS3.
func readAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}
