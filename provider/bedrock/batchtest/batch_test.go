// Package batchtest drives bedrock.WithBatch end to end through the real
// S3 client, against gofakes3 (an S3 server in memory), and the real
// service/bedrock client against the fake control plane of
// provider/bedrock/internal/batchfake. It is a module of its own so that
// the root module does not require the S3 fake.
package batchtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/bedrock/internal/batchfake"
)

const (
	model   = "us.amazon.nova-lite-v1:0"
	role    = "arn:aws:iam::123456789012:role/batch"
	s3Key   = "fake-s3-secret-never-print"
	inURI   = "s3://refine-in/records"
	outURI  = "s3://refine-out/results/"
	verdict = `{"score": 5, "criteria": {"helpfulness": 5, "relevance": 5, "accuracy": 5, "depth": 5}, "issues": ["thin"], "suggestions": ["add detail"], "assessment": "Thin."}`
)

func TestMain(m *testing.M) {
	// The runtime client switches to bearer auth when this is set, and
	// then refuses plain http.
	os.Unsetenv("AWS_BEARER_TOKEN_BEDROCK")
	os.Exit(m.Run())
}

// store is the fake control plane's view of S3: through the real client.
type store struct{ c *s3.Client }

func (s store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (s store) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

// env is gofakes3 behind the real S3 client, the fake control plane
// behind the real bedrock client, and a Converse server for the calls
// that go on demand.
type env struct {
	s3      *s3.Client
	ctl     *batchfake.Server
	direct  atomic.Int32 // on-demand Converse calls
	runtime *httptest.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	backend := s3mem.New()
	for _, b := range []string{"refine-in", "refine-out"} {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	e := &env{s3: s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s3srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDS3FAKE", s3Key, ""),
	})}
	e.ctl = batchfake.New(store{e.s3})
	e.ctl.Answer = func(_ *batchfake.Job, r batchfake.Record) batchfake.Outcome {
		return batchfake.Outcome{Output: answer(r.Input)}
	}
	t.Cleanup(e.ctl.Close)
	e.runtime = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.direct.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer(body))
	}))
	t.Cleanup(e.runtime.Close)
	return e
}

// answer is the model: a verdict that never reaches the threshold for the
// judge, and a new answer every round for the rest (never "converged").
func answer(input []byte) []byte {
	if bytes.Contains(input, []byte("impartial judge")) {
		return batchfake.Converse(verdict)
	}
	h := sha256.Sum256(input)
	return batchfake.Converse("Answer " + hex.EncodeToString(h[:6]) + " to " + batchfake.LastUser(input))
}

func (e *env) provider(t testing.TB, o bedrock.BatchOptions) *bedrock.Provider {
	t.Helper()
	o.RoleARN, o.InputURI, o.OutputURI = role, inURI, outURI
	o.S3, o.Control = e.s3, e.ctl.Client()
	if o.Poll == 0 {
		o.Poll = time.Millisecond
	}
	if o.MaxWait == 0 {
		o.MaxWait = time.Hour
	}
	if o.Idle == 0 {
		o.Idle = time.Hour
	}
	client := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.runtime.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	p := bedrock.New(client, model, bedrock.WithBatch(o))
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// engineGoroutines returns the stacks of goroutines still running in the
// batch engine.
func engineGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "refine/internal/batch.") {
			out = append(out, g)
		}
	}
	return out
}

// 120 concurrent 3-round runs through one batch Provider: one job per
// loop step (draft, judge, refine, judge, refine, judge), each answer to
// its own run, usage counted, every reply batched; one run whose draft
// fails gets its error, and only it. Close ends the engine's goroutines.
func TestLoopRunsOneJobPerStep(t *testing.T) {
	const runs, steps = 120, 6
	e := newEnv(t)
	e.ctl.Answer = func(_ *batchfake.Job, r batchfake.Record) batchfake.Outcome {
		if batchfake.LastUser(r.Input) == "poison" {
			return batchfake.Outcome{Code: 400, Message: "Input is too long for requested model."}
		}
		return batchfake.Outcome{Output: answer(r.Input)}
	}
	// The poisoned run leaves after the first step, so MaxRequests is
	// out of reach from the second on: Idle sends each step's job (the
	// runs' requests of one step arrive within microseconds).
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 10 * runs, Idle: 300 * time.Millisecond})
	loop, err := refine.New(refine.WithProvider(p), refine.WithMaxIterations(2))
	if err != nil {
		t.Fatal(err)
	}
	results := make([]*refine.Result, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := fmt.Sprintf("Describe item %d.", r)
			if r == 7 {
				q = "poison"
			}
			results[r], errs[r] = loop.Run(context.Background(), q)
		}()
	}
	wg.Wait()
	for r := range runs {
		if r == 7 {
			if !errors.Is(errs[r], refine.ErrContextLength) {
				t.Errorf("poisoned run: err = %v, want ErrContextLength", errs[r])
			}
			continue
		}
		res, err := results[r], errs[r]
		if err != nil {
			t.Fatalf("run %d: %v", r, err)
		}
		if len(res.Attempts) != 3 || !strings.HasSuffix(res.Attempts[0].Answer, fmt.Sprintf(" to Describe item %d.", r)) {
			t.Errorf("run %d: %d attempts, draft %q; want 3 attempts, the draft answering its own query", r, len(res.Attempts), res.Attempts[0].Answer)
		}
		if want := (refine.Usage{InputTokens: 10 * steps, OutputTokens: 3 * steps}); res.Usage != want {
			t.Errorf("run %d: Usage %+v, want %+v (every batched call counted)", r, res.Usage, want)
		}
	}
	if got := len(e.ctl.Jobs()); got != steps {
		t.Errorf("jobs = %d, want %d: one per loop step", got, steps)
	}
	if n := e.direct.Load(); n != 0 {
		t.Errorf("on-demand calls = %d, want 0", n)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if gs := engineGoroutines(); len(gs) != 0 {
		t.Errorf("after Close, %d engine goroutines run:\n%s", len(gs), strings.Join(gs, "\n\n"))
	}
}

// Below MinRequests (100 by default) the calls go out on demand, with
// nothing written to S3.
func TestBelowMinRequestsOnDemand(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, bedrock.BatchOptions{Idle: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: fmt.Sprint("q", i)}}})
			if err != nil || resp.Batch {
				t.Errorf("call %d: %v, %+v; want an on-demand answer", i, err, resp)
			}
		}()
	}
	wg.Wait()
	if n, jobs := e.direct.Load(), len(e.ctl.Jobs()); n != 3 || jobs != 0 {
		t.Errorf("on-demand calls %d, jobs %d; want 3 and 0", n, jobs)
	}
}

var journalWork = []string{"dup", "dup", "other"}

func ask(q string) *refine.Request {
	return &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: q}}}
}

func completeAll(p *bedrock.Provider, qs []string) ([]*refine.Response, []error) {
	resps, errs := make([]*refine.Response, len(qs)), make([]error, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Add(1)
		go func() { defer wg.Done(); resps[i], errs[i] = p.Complete(context.Background(), ask(q)) }()
	}
	wg.Wait()
	return resps, errs
}

// childEnv names the fake servers and the journal for the child process
// of TestRestartAfterKill.
const childEnv = "REFINE_BEDROCK_BATCH_CHILD"

// TestChild is the child process: it sends the work and is killed while
// the control plane creates its job, before it can record the job's ARN.
func TestChild(t *testing.T) {
	v := os.Getenv(childEnv)
	if v == "" {
		t.Skip("runs as the child of TestRestartAfterKill")
	}
	var c struct{ S3, Control, Runtime, Journal string }
	json.Unmarshal([]byte(v), &c)
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.S3), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDS3FAKE", s3Key, "")})
	ctl := (&batchfake.Server{Server: &httptest.Server{URL: c.Control}}).Client()
	client := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.Runtime),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	p := bedrock.New(client, model, bedrock.WithBatch(bedrock.BatchOptions{MaxRequests: len(journalWork), MinRequests: 1,
		Poll: time.Millisecond, Journal: c.Journal, RoleARN: role, InputURI: inURI, OutputURI: outURI, S3: s3c, Control: ctl}))
	completeAll(p, journalWork)
	t.Error("the child was not killed")
}

// A process killed between creating a job and recording its ARN: the
// restarted one finds the job by its clientRequestToken
// (ListModelInvocationJobs) and re-attaches. One job, one upload.
func TestRestartAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	e := newEnv(t)
	s3url := e.s3.Options().BaseEndpoint
	journal := filepath.Join(t.TempDir(), "jobs.json")
	cfg, _ := json.Marshal(map[string]string{"S3": *s3url, "Control": e.ctl.URL, "Runtime": e.runtime.URL, "Journal": journal})
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	exited := make(chan struct{})
	started := make(chan *os.Process, 1)
	var killed atomic.Bool
	e.ctl.Configure(func(s *batchfake.Server) {
		s.OnCreate = func(*batchfake.Job) {
			// The job exists; the child dies before it reads the reply,
			// so its journal has the job without an ARN.
			if !killed.CompareAndSwap(false, true) {
				return // a second job: the checks below report it
			}
			(<-started).Kill()
			<-exited
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started <- cmd.Process
	go func() { cmd.Wait(); close(exited) }()
	<-exited
	if !killed.Load() {
		t.Fatal("the child ended before it submitted its job")
	}
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: len(journalWork), MinRequests: 1, Journal: journal})
	resps, errs := completeAll(p, journalWork)
	for i, q := range journalWork {
		if errs[i] != nil || !resps[i].Batch || !strings.HasSuffix(resps[i].Text, " to "+q) {
			t.Errorf("call %d after restart: %v, %v; want its answer from the first job", i, resps[i], errs[i])
		}
	}
	if jobs := len(e.ctl.Jobs()); jobs != 1 {
		t.Errorf("jobs created = %d, want 1 (no request submitted twice)", jobs)
	}
	out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("refine-in")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Contents); n != 1 {
		t.Errorf("record files uploaded = %d, want 1", n)
	}
}
