package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	control "github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/bedrock/internal/batchfake"
)

// batchEnv is a fake Bedrock for batch inference: an in-memory S3, the
// control plane (driven through the real service/bedrock client) and the
// runtime for the calls that go on demand.
type batchEnv struct {
	s3   *batchfake.MemS3
	ctl  *batchfake.Server
	conv *fakeBedrock
}

func newBatchEnv(t testing.TB) *batchEnv {
	t.Helper()
	e := &batchEnv{s3: batchfake.NewMemS3()}
	e.ctl = batchfake.New(e.s3)
	t.Cleanup(e.ctl.Close)
	e.conv = newFake(t, func(_ int, s seen) reply { return okReply("direct: "+s.Req.lastUser(), "end_turn", 5, 2) })
	return e
}

// options fills in what a test leaves out: the S3 locations, the role,
// the clients, a 1ms Poll, Idle and MaxWait an hour away (tests flush by
// MaxRequests unless they say otherwise), and MinRequests 1 (-1: leave it
// to the default).
func (e *batchEnv) options(o bedrock.BatchOptions) bedrock.BatchOptions {
	if o.Poll == 0 {
		o.Poll = time.Millisecond
	}
	if o.Idle == 0 {
		o.Idle = time.Hour
	}
	if o.MaxWait == 0 {
		o.MaxWait = time.Hour
	}
	switch o.MinRequests {
	case 0:
		o.MinRequests = 1
	case -1:
		o.MinRequests = 0
	}
	if o.RoleARN == "" {
		o.RoleARN = "arn:aws:iam::123456789012:role/batch"
	}
	if o.InputURI == "" {
		o.InputURI = "s3://in-bucket/records/"
	}
	if o.OutputURI == "" {
		o.OutputURI = "s3://out-bucket/results"
	}
	if o.S3 == nil {
		o.S3 = e.s3
	}
	if o.Control == nil {
		o.Control = e.ctl.Client()
	}
	return o
}

// provider returns a batch Provider, closed at the end of the test.
func (e *batchEnv) provider(t testing.TB, o bedrock.BatchOptions, opts ...bedrock.Option) *bedrock.Provider {
	t.Helper()
	p := bedrock.New(e.conv.client(t), novaLite, append([]bedrock.Option{bedrock.WithBatch(e.options(o)), bedrock.WithRetry(fastRetry(3))}, opts...)...)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func askBatch(text string) *refine.Request {
	return &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: text}}}
}

// completeAll calls p.Complete for each prompt concurrently.
func completeAll(ctx context.Context, p *bedrock.Provider, prompts []string) ([]*refine.Response, []error) {
	resps := make([]*refine.Response, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, q := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = p.Complete(ctx, askBatch(q))
		}()
	}
	wg.Wait()
	return resps, errs
}

func prompts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("q%d", i)
	}
	return out
}

func TestBatchCoalescesConcurrentCalls(t *testing.T) {
	const n = 50
	e := newBatchEnv(t)
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: n, JobTimeout: 48 * time.Hour, KMSKeyID: "alias/results"})
	qs := prompts(n)
	resps, errs := completeAll(context.Background(), p, qs)
	for i := range qs {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		r := resps[i]
		if got, want := r.Text, "answer: "+qs[i]; got != want {
			t.Errorf("call %d: Text = %q, want %q (answers matched to the wrong caller?)", i, got, want)
		}
		if want := (refine.Usage{InputTokens: 10, OutputTokens: 3}); !r.Batch || r.Usage != want || r.FinishReason != refine.FinishStop || r.Model != novaLite {
			t.Errorf("call %d: Batch %v, Usage %+v, FinishReason %q, Model %q; want true, %+v, %q, %q", i, r.Batch, r.Usage, r.FinishReason, r.Model, want, refine.FinishStop, novaLite)
		}
	}
	jobs := e.ctl.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("jobs = %d, want 1 for %d concurrent calls", len(jobs), n)
	}
	j := jobs[0]
	if len(j.Records) != n {
		t.Errorf("records = %d, want %d", len(j.Records), n)
	}
	checks := []struct{ field, got, want string }{
		{"modelId", j.ModelID, novaLite},
		{"roleArn", j.RoleARN, "arn:aws:iam::123456789012:role/batch"},
		{"modelInvocationType", j.Type, "Converse"},
		{"outputDataConfig.s3Uri", j.OutputURI, "s3://out-bucket/results/"},
		{"s3EncryptionKeyId", j.KMSKeyID, "alias/results"},
		{"inputDataConfig.s3Uri", j.InputURI, "s3://in-bucket/records/" + j.Name + ".jsonl"},
		{"timeoutDurationInHours", fmt.Sprint(*j.TimeoutHours), "48"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("job %s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !strings.HasPrefix(j.Token, "rj-") || !strings.HasSuffix(j.Name, j.Token) {
		t.Errorf("clientRequestToken %q, jobName %q: want the journal's batch id in both", j.Token, j.Name)
	}
	if e.conv.hits() != 0 {
		t.Errorf("on-demand Converse calls = %d, want 0", e.conv.hits())
	}
}

// A record's modelInput is the body Converse sends on demand.
func TestBatchRecordIsConverseBody(t *testing.T) {
	schema := &refine.Schema{Name: "verdict", Schema: json.RawMessage(`{"type":"object","properties":{"score":{"type":"integer"}},"required":["score"]}`)}
	zero := 0.0
	tests := []struct {
		name, model string
		req         refine.Request
	}{
		{"temperature 0, top-p, max tokens, stop", novaLite, refine.Request{Sampling: refine.Sampling{Temperature: &zero, TopP: f64(0.9), MaxTokens: 256, Stop: []string{"END"}}}},
		{"json", novaLite, refine.Request{JSON: true}},
		{"native schema", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", refine.Request{Schema: schema}},
		{"schema as instruction", novaLite, refine.Request{Schema: schema}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Messages = []refine.Message{{Role: refine.RoleSystem, Content: "be terse"}, {Role: refine.RoleUser, Content: "hi"},
				{Role: refine.RoleUser, Content: "again"}, {Role: refine.RoleAssistant, Content: "yes?"}, {Role: refine.RoleUser, Content: "go"}}
			e := newBatchEnv(t)
			if _, err := bedrock.New(e.conv.client(t), tt.model).Complete(context.Background(), &req); err != nil {
				t.Fatalf("on demand: %v", err)
			}
			var want map[string]any
			json.Unmarshal(e.conv.requests()[0].Body, &want)

			p := bedrock.New(e.conv.client(t), tt.model, bedrock.WithBatch(e.options(bedrock.BatchOptions{MaxRequests: 1})))
			defer p.Close(context.Background())
			if _, err := p.Complete(context.Background(), &req); err != nil {
				t.Fatalf("batch: %v", err)
			}
			var got map[string]any
			json.Unmarshal(e.ctl.Jobs()[0].Records[0].Input, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("modelInput = %v\nwant the on-demand body %v", got, want)
			}
			if e.conv.hits() != 1 {
				t.Errorf("on-demand calls = %d, want 1 (the reference call only)", e.conv.hits())
			}
		})
	}
}

// Each record's error reaches its own caller only, classified; a
// transient one is sent once more, then fails with ErrUnavailable.
func TestBatchRecordErrors(t *testing.T) {
	e := newBatchEnv(t)
	var mu sync.Mutex
	sent := map[string]int{}
	e.ctl.Answer = func(_ *batchfake.Job, r batchfake.Record) batchfake.Outcome {
		q := batchfake.LastUser(r.Input)
		mu.Lock()
		sent[q]++
		n := sent[q]
		mu.Unlock()
		switch {
		case q == "long":
			return batchfake.Outcome{Code: 400, Message: "Input is too long for requested model."}
		case q == "bad":
			return batchfake.Outcome{Code: 400, Message: "Malformed input request: temperature and top_p cannot both be specified"}
		case q == "denied":
			return batchfake.Outcome{Code: 403, Message: "You don't have access to the model"}
		case q == "flaky" && n == 1, q == "down":
			return batchfake.Outcome{Code: 500, Message: "Internal server error"}
		case q == "throttled":
			return batchfake.Outcome{Code: 429, Message: "Too many requests"}
		case q == "unrun" && n == 1:
			return batchfake.Outcome{Skip: true}
		}
		return batchfake.Outcome{Output: batchfake.Converse("answer: " + q)}
	}
	qs := []string{"fine", "long", "bad", "denied", "flaky", "down", "throttled", "unrun"}
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: len(qs), Idle: 5 * time.Millisecond})
	resps, errs := completeAll(context.Background(), p, qs)
	tests := []struct {
		prompt string
		kind   error // nil: answered
		sent   int
	}{
		{"fine", nil, 1},
		{"long", refine.ErrContextLength, 1},
		{"bad", refine.ErrInvalidRequest, 1},
		{"denied", refine.ErrAuth, 1},
		{"flaky", nil, 2},
		{"down", refine.ErrUnavailable, 2},
		{"throttled", refine.ErrUnavailable, 2},
		{"unrun", nil, 2},
	}
	for i, tt := range tests {
		resp, err := resps[i], errs[i]
		if got := sent[tt.prompt]; got != tt.sent {
			t.Errorf("%s: sent in %d jobs, want %d", tt.prompt, got, tt.sent)
		}
		if tt.kind == nil {
			if err != nil || resp.Text != "answer: "+tt.prompt || !resp.Batch {
				t.Errorf("%s: got %v, %v; want its answer from a job", tt.prompt, resp, err)
			}
			continue
		}
		var pe *refine.ProviderError
		if !errors.As(err, &pe) || !errors.Is(err, tt.kind) {
			t.Errorf("%s: err = %v, want a *refine.ProviderError of kind %v", tt.prompt, err, tt.kind)
		}
	}
	if e.conv.hits() != 0 {
		t.Errorf("on-demand calls = %d, want 0: a batched record is never retried on demand", e.conv.hits())
	}
}

// A job that failed, expired or was stopped fails its callers the way a
// failed record does: sent once more, then ErrUnavailable.
func TestBatchJobEndsWithoutAnswers(t *testing.T) {
	for _, end := range []string{"Failed", "Expired", "Stopped", "PartiallyCompleted"} {
		for _, always := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s always=%v", end, always), func(t *testing.T) {
				e := newBatchEnv(t)
				var mu sync.Mutex
				jobs := 0
				e.ctl.OnCreate = func(j *batchfake.Job) {
					mu.Lock()
					jobs++
					first := jobs == 1
					mu.Unlock()
					if always || first {
						j.End, j.Message = end, "the job ended: "+batchfake.Secret
					}
				}
				e.ctl.Answer = func(j *batchfake.Job, r batchfake.Record) batchfake.Outcome {
					if j.End != "" { // an ended job wrote no record (PartiallyCompleted: none of these)
						return batchfake.Outcome{Skip: true}
					}
					return batchfake.Outcome{Output: batchfake.Converse("answer: " + batchfake.LastUser(r.Input))}
				}
				p := e.provider(t, bedrock.BatchOptions{MaxRequests: 2})
				resps, errs := completeAll(context.Background(), p, []string{"a", "b"})
				records := 0
				for _, j := range e.ctl.Jobs() {
					records += len(j.Records)
				}
				if records != 4 {
					t.Errorf("records sent = %d, want 4 (each request in two jobs)", records)
				}
				for i, err := range errs {
					switch {
					case always:
						var pe *refine.ProviderError
						if !errors.As(err, &pe) || !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), end) {
							t.Errorf("call %d: err = %v, want ErrUnavailable naming status %s", i, err, end)
						}
						if err != nil && strings.Contains(err.Error(), batchfake.Secret) {
							t.Errorf("call %d: error shows the secret key: %v", i, err)
						}
					case err != nil || !resps[i].Batch:
						t.Errorf("call %d: %v, want an answer from the second job", i, err)
					}
				}
			})
		}
	}
}

func TestBatchStreamDeliversOneDelta(t *testing.T) {
	e := newBatchEnv(t)
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 1})
	var deltas []string
	resp, err := p.Stream(context.Background(), askBatch("hello"), func(s string) { deltas = append(deltas, s) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"answer: hello"}; !reflect.DeepEqual(deltas, want) || resp.Text != want[0] || !resp.Batch {
		t.Errorf("deltas %q, text %q, Batch %v; want %q as one delta, Batch true", deltas, resp.Text, resp.Batch, want)
	}
	if e.conv.hits() != 0 {
		t.Errorf("on-demand calls = %d, want 0", e.conv.hits())
	}
}

// Below MinRequests (100 by default) a flush goes out as ordinary
// Converse calls, through the retry layer.
func TestBatchBelowMinRequestsGoesOnDemand(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			e := newBatchEnv(t)
			e.conv.handle = func(n int, s seen) reply {
				switch {
				case n == 0:
					return errorReply(429, "ThrottlingException", "Too many requests", true)
				case stream:
					return streamReply(streamEvents(t, "direct: ", s.Req.lastUser()), nil, nil)
				}
				return okReply("direct: "+s.Req.lastUser(), "end_turn", 5, 2)
			}
			p := e.provider(t, bedrock.BatchOptions{MinRequests: -1, Idle: time.Millisecond})
			call := p.Complete
			if stream {
				call = func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
					return p.Stream(ctx, req, nil)
				}
			}
			resp, err := call(context.Background(), askBatch("alone"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Batch || len(e.ctl.Jobs()) != 0 || e.s3.Puts() != 0 || resp.Text != "direct: alone" || e.conv.hits() != 2 {
				t.Errorf("Batch %v, jobs %d, uploads %d, text %q, Converse calls %d; want one on-demand call retried once",
					resp.Batch, len(e.ctl.Jobs()), e.s3.Puts(), resp.Text, e.conv.hits())
			}
		})
	}
}

// Cancelling a call whose job was sent leaves the job to finish for the
// others in it; cancelling one not yet sent withdraws it.
func TestBatchCancel(t *testing.T) {
	e := newBatchEnv(t)
	created := make(chan struct{})
	release := make(chan struct{})
	e.ctl.OnCreate = func(*batchfake.Job) { close(created) }
	e.ctl.Ready = func(*batchfake.Job) bool {
		select {
		case <-release:
			return true
		default:
			return false
		}
	}
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 2})
	ctx, cancel := context.WithCancel(context.Background())
	leaving, staying := make(chan error), make(chan error)
	go func() { _, err := p.Complete(ctx, askBatch("leaves")); leaving <- err }()
	go func() { _, err := p.Complete(context.Background(), askBatch("stays")); staying <- err }()
	<-created
	cancel()
	if err := <-leaving; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-staying; err != nil {
		t.Errorf("the other call of the job: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := p.Complete(ctx, askBatch("never sent")); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if jobs := len(e.ctl.Jobs()); jobs != 1 {
		t.Errorf("jobs = %d, want 1: a withdrawn request must not be sent", jobs)
	}
}

// Close stops following running jobs: their callers fail, later calls
// fail at once.
func TestBatchClose(t *testing.T) {
	e := newBatchEnv(t)
	created := make(chan struct{})
	e.ctl.OnCreate = func(*batchfake.Job) { close(created) }
	e.ctl.Ready = func(*batchfake.Job) bool { return false }
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 1})
	done := make(chan error)
	go func() { _, err := p.Complete(context.Background(), askBatch("running")); done <- err }()
	<-created
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("waiting call: err = %v, want ErrUnavailable saying the Provider was closed", err)
	}
	if _, err := p.Complete(context.Background(), askBatch("late")); !errors.Is(err, refine.ErrUnavailable) {
		t.Errorf("call after Close: err = %v, want ErrUnavailable", err)
	}
	if gs := engineGoroutines(); len(gs) != 0 {
		t.Errorf("after Close, %d engine goroutines run:\n%s", len(gs), strings.Join(gs, "\n\n"))
	}
}

// engineGoroutines returns the stacks of goroutines running in the batch
// engine.
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

// WithTimeout bounds each HTTP request, not the wait for the job.
func TestBatchTimeoutIsPerRequest(t *testing.T) {
	const timeout = 50 * time.Millisecond
	e := newBatchEnv(t)
	e.ctl.Ready = func(j *batchfake.Job) bool { return time.Since(j.Submitted) > 5*timeout }
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 1}, bedrock.WithTimeout(timeout))
	start := time.Now()
	resp, err := p.Complete(context.Background(), askBatch("slow job"))
	if err != nil {
		t.Fatalf("err = %v after %s, want the answer", err, time.Since(start))
	}
	if d := time.Since(start); d < 5*timeout || !resp.Batch {
		t.Errorf("answered after %s (Batch %v), want after the job's %s", d, resp.Batch, 5*timeout)
	}
}

func TestWithBatchRejectsBadOptions(t *testing.T) {
	e := newBatchEnv(t)
	full := e.options(bedrock.BatchOptions{})
	tests := []struct {
		name string
		edit func(o *bedrock.BatchOptions)
		want string
	}{
		{"no role", func(o *bedrock.BatchOptions) { o.RoleARN = "" }, "RoleARN"},
		{"no S3", func(o *bedrock.BatchOptions) { o.S3 = nil }, "BatchOptions.S3 nil"},
		{"no control", func(o *bedrock.BatchOptions) { o.Control = nil }, "BatchOptions.Control nil"},
		{"input not s3", func(o *bedrock.BatchOptions) { o.InputURI = "https://bucket/x" }, `InputURI "https://bucket/x"`},
		{"output without bucket", func(o *bedrock.BatchOptions) { o.OutputURI = "s3://" }, `OutputURI "s3://"`},
		{"job timeout too short", func(o *bedrock.BatchOptions) { o.JobTimeout = 5 * time.Hour }, "JobTimeout 5h0m0s"},
		{"job timeout not whole hours", func(o *bedrock.BatchOptions) { o.JobTimeout = 30*time.Hour + time.Minute }, "JobTimeout 30h1m0s"},
		{"min above max", func(o *bedrock.BatchOptions) { o.MinRequests, o.MaxRequests = 0, 50 }, "MinRequests 100"},
		{"max requests", func(o *bedrock.BatchOptions) { o.MaxRequests = 50001 }, "MaxRequests 50001"},
		{"journal dir missing", func(o *bedrock.BatchOptions) { o.Journal = filepath.Join(t.TempDir(), "missing", "j.json") }, "Journal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := full
			tt.edit(&o)
			p := bedrock.New(e.conv.client(t), novaLite, bedrock.WithBatch(o))
			err := p.Validate()
			if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want ErrInvalidOption naming %q", err, tt.want)
			}
			if _, cerr := p.Complete(context.Background(), askBatch("x")); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Complete: %v, want Validate's error", cerr)
			}
		})
	}
	if e.conv.hits()+len(e.ctl.Jobs())+e.s3.Puts() != 0 {
		t.Errorf("requests sent with a bad configuration")
	}
}

// A job created whose reply was lost is found again by its token
// (ListModelInvocationJobs): no second job.
func TestBatchFindsJobAfterLostReply(t *testing.T) {
	e := newBatchEnv(t)
	var once sync.Once
	e.ctl.LoseReply = func(*batchfake.Job) bool {
		lost := false
		once.Do(func() { lost = true })
		return lost
	}
	// One attempt per call: the client's retryer would resend the same
	// token and find the job by idempotency instead.
	ctl := e.ctl.Client(func(o *control.Options) { o.RetryMaxAttempts = 1 })
	p := e.provider(t, bedrock.BatchOptions{MaxRequests: 3, Control: ctl})
	resps, errs := completeAll(context.Background(), p, []string{"a", "b", "c"})
	for i, err := range errs {
		if err != nil || !resps[i].Batch {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if jobs, creates := len(e.ctl.Jobs()), e.ctl.Creates(); jobs != 1 || creates != 1 {
		t.Errorf("jobs %d, create requests %d; want 1 and 1 (found by ListModelInvocationJobs)", jobs, creates)
	}
}

// The same work, twice the same body among it: the journal matches
// requests by body hash as a multiset.
var journalWork = []string{"dup", "dup", "other"}

// A Provider closed while its job runs leaves the job in the journal; a
// new Provider with the same journal and the same work re-attaches to it:
// no second CreateModelInvocationJob.
func TestBatchJournalReattaches(t *testing.T) {
	e := newBatchEnv(t)
	release := make(chan struct{})
	e.ctl.Ready = func(*batchfake.Job) bool {
		select {
		case <-release:
			return true
		default:
			return false
		}
	}
	created := make(chan struct{}, 1)
	e.ctl.OnCreate = func(*batchfake.Job) {
		select {
		case created <- struct{}{}:
		default: // a second job: the checks below report it
		}
	}
	o := bedrock.BatchOptions{MaxRequests: len(journalWork), Journal: filepath.Join(t.TempDir(), "jobs.json")}

	first := e.provider(t, o)
	done := make(chan []error)
	go func() { _, errs := completeAll(context.Background(), first, journalWork); done <- errs }()
	<-created
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, err := range <-done {
		if !errors.Is(err, refine.ErrUnavailable) {
			t.Errorf("call %d of the closed Provider: err = %v, want ErrUnavailable", i, err)
		}
	}

	second := e.provider(t, o)
	close(release)
	resps, errs := completeAll(context.Background(), second, journalWork)
	for i := range journalWork {
		if errs[i] != nil || resps[i].Text != "answer: "+journalWork[i] || !resps[i].Batch {
			t.Errorf("call %d after restart: %v, %v; want %q from the first job", i, resps[i], errs[i], "answer: "+journalWork[i])
		}
	}
	if creates, puts := e.ctl.Creates(), e.s3.Puts(); creates != 1 || puts != 1 {
		t.Errorf("create requests %d, uploads %d; want 1 and 1: a request was submitted twice", creates, puts)
	}
}

// FromEnv builds the control-plane and S3 clients from the AWS
// configuration when BatchOptions leaves them nil.
func TestBatchFromEnvDefaults(t *testing.T) {
	e := newBatchEnv(t)
	awsEnv(t, e.conv.URL, map[string]string{"AWS_ENDPOINT_URL_BEDROCK": e.ctl.URL})
	o := e.options(bedrock.BatchOptions{MaxRequests: 1})
	o.Control = nil // from the environment: the fake, by AWS_ENDPOINT_URL_BEDROCK
	p, err := bedrock.FromEnv(context.Background(), bedrock.WithBatch(o))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	resp, err := p.Complete(context.Background(), askBatch("env"))
	if err != nil || !resp.Batch || resp.Text != "answer: env" || len(e.ctl.Jobs()) != 1 {
		t.Errorf("Complete = %+v, %v, %d jobs; want the answer from one job", resp, err, len(e.ctl.Jobs()))
	}

	o.S3, o.Control = nil, nil
	p, err = bedrock.FromEnv(context.Background(), bedrock.WithBatch(o))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil: FromEnv supplies S3 and Control", err)
	}
}
