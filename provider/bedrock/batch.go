package bedrock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	control "github.com/aws/aws-sdk-go-v2/service/bedrock"
	ctypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch"
	"github.com/selfrefine/refine/internal/wire"
)

// S3API is the part of the S3 client a batch Provider uses: the records
// go up with PutObject, the results are found with ListObjectsV2 and read
// with GetObject. *s3.Client satisfies it.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ControlAPI is the part of the Bedrock control-plane client
// (github.com/aws/aws-sdk-go-v2/service/bedrock) a batch Provider uses:
// it creates and follows batch inference jobs, and lists them to find a
// job again after a restart. *bedrock.Client of that package satisfies it.
type ControlAPI interface {
	CreateModelInvocationJob(ctx context.Context, in *control.CreateModelInvocationJobInput, optFns ...func(*control.Options)) (*control.CreateModelInvocationJobOutput, error)
	GetModelInvocationJob(ctx context.Context, in *control.GetModelInvocationJobInput, optFns ...func(*control.Options)) (*control.GetModelInvocationJobOutput, error)
	ListModelInvocationJobs(ctx context.Context, in *control.ListModelInvocationJobsInput, optFns ...func(*control.Options)) (*control.ListModelInvocationJobsOutput, error)
}

// DefaultBatchMinRequests is BatchOptions.MinRequests when it is 0: the
// number of records a Bedrock batch inference job needs at least (a
// per-model quota, 100 by default).
const DefaultBatchMinRequests = 100

// BatchOptions configure WithBatch. Zero values take the defaults.
type BatchOptions struct {
	// MaxRequests sends a job as soon as this many requests wait (default
	// 1,000; at most 50,000, the default quota of records per job).
	MaxRequests int
	// MaxWait sends a job when its oldest request has waited this long
	// (default 1m).
	MaxWait time.Duration
	// Idle sends a job when no request has arrived for this long (default
	// 2s): the runs that feed it are all waiting for answers.
	Idle time.Duration
	// Poll is how often a submitted job is checked (default 30s).
	Poll time.Duration
	// MinRequests: a flush with fewer requests waiting sends them as
	// ordinary Converse calls, at the on-demand price and at once
	// (default DefaultBatchMinRequests, the service's minimum; lower it
	// only if your account's quota for the model is lower).
	MinRequests int
	// Journal is a file recording every job before it is submitted, with
	// the hashes of its requests, so that a process restarted with the
	// same Journal and the same work re-attaches to its jobs instead of
	// submitting and paying for them again ("" = none). It is created
	// when missing; its directory must exist. Finished jobs stay in it, so
	// that work restarted from its beginning gets the answers it already
	// paid for: remove the file when the work is done.
	Journal string

	// RoleARN is the service role the job runs as; it must be able to
	// read InputURI and write OutputURI (required).
	RoleARN string
	// InputURI is where the records go, s3://bucket or s3://bucket/prefix
	// (required): each job writes one JSONL object under it.
	InputURI string
	// OutputURI is where Bedrock writes the results, s3://bucket or
	// s3://bucket/prefix (required), under a folder named by the job id.
	OutputURI string
	// JobTimeout is how long a job may take before Bedrock stops it,
	// whole hours from 24h to 168h (0: the service's default, 168h).
	JobTimeout time.Duration
	// KMSKeyID encrypts the output with this KMS key ("" = the bucket's
	// default encryption).
	KMSKeyID string

	// S3 makes the S3 calls. FromEnv builds one from the AWS configuration
	// when nil; New needs it.
	S3 S3API
	// Control makes the control-plane calls. FromEnv builds one from the
	// AWS configuration when nil; New needs it.
	Control ControlAPI
}

// WithBatch sends every call through Bedrock batch inference
// (CreateModelInvocationJob with the Converse record format, input and
// output in S3), at the batch price, about half the on-demand one, for
// work that can wait: a job may take up to JobTimeout.
//
// The Provider collects the requests of every run that calls it
// concurrently and sends them as one job when MaxRequests wait, when the
// oldest has waited MaxWait, or when none has arrived for Idle; a thousand
// runs started together advance round by round, each round one job. A
// flush of fewer than MinRequests requests (100 by default, the service's
// minimum) goes out as ordinary Converse calls instead. Each request is
// one record whose modelInput is the body Complete sends on demand. A
// Complete (or Stream, which delivers the whole answer as one delta) waits
// for its record; its Response has Batch set, so that a run prices it at
// the batch price. A record's error comes back to its own caller only,
// classified as Complete's are; a record that failed transiently or was
// not run (the job failed, expired or was stopped) is sent once more in a
// later job, and then fails with refine.ErrUnavailable. WithTimeout bounds
// each HTTP request, not the wait for a job; the caller's context bounds
// that: cancelling it withdraws a request not yet sent, and leaves a sent
// one to its job.
//
// Close the Provider when done (Close ends its goroutines). Bad values,
// and with New a missing S3 or Control, are reported by Validate and every
// call, naming the field.
func WithBatch(b BatchOptions) Option {
	return func(c *config) { c.batch = &b }
}

// s3Location is a parsed s3:// URI.
type s3Location struct{ bucket, prefix string }

// key joins the prefix and name.
func (l s3Location) key(name string) string {
	if l.prefix == "" {
		return name
	}
	return l.prefix + "/" + name
}

func (l s3Location) uri(name string) string { return "s3://" + l.bucket + "/" + l.key(name) }

func parseS3(field, uri string) (s3Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return s3Location{}, fmt.Errorf("bedrock: WithBatch: BatchOptions.%s %q: want s3://bucket or s3://bucket/prefix: %w", field, uri, refine.ErrInvalidOption)
	}
	return s3Location{bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
}

// batchSetup is what checkBatch derives from BatchOptions.
type batchSetup struct {
	o        batch.Options
	in, out  s3Location
	hours    *int32
	s3       S3API
	control  ControlAPI
	role     string
	kms      string
	encoding *bedrockruntime.Client // serializes records (see batchBody)
}

// checkBatch validates b; the error names the field and its value.
func checkBatch(b *BatchOptions) (*batchSetup, error) {
	bad := func(field string, value any, why string) error {
		return fmt.Errorf("bedrock: WithBatch: BatchOptions.%s %v: %s: %w", field, value, why, refine.ErrInvalidOption)
	}
	o := batch.Options{MaxRequests: b.MaxRequests, MaxWait: b.MaxWait, Idle: b.Idle, Poll: b.Poll,
		MinRequests: b.MinRequests, Journal: b.Journal}
	if o.MinRequests == 0 {
		o.MinRequests = DefaultBatchMinRequests
	}
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("bedrock: WithBatch: BatchOptions.%s: %w", err, refine.ErrInvalidOption)
	}
	s := &batchSetup{o: o, s3: b.S3, control: b.Control, role: b.RoleARN, kms: b.KMSKeyID}
	var err error
	switch {
	case b.RoleARN == "":
		return nil, bad("RoleARN", `""`, "the service role the job runs as is required")
	case b.S3 == nil:
		return nil, bad("S3", "nil", "an S3 client is required with bedrock.New (FromEnv builds one)")
	case b.Control == nil:
		return nil, bad("Control", "nil", "a Bedrock control-plane client (service/bedrock) is required with bedrock.New (FromEnv builds one)")
	}
	if s.in, err = parseS3("InputURI", b.InputURI); err != nil {
		return nil, err
	}
	if s.out, err = parseS3("OutputURI", b.OutputURI); err != nil {
		return nil, err
	}
	if d := b.JobTimeout; d != 0 {
		if d%time.Hour != 0 || d < 24*time.Hour || d > 168*time.Hour {
			return nil, bad("JobTimeout", d, "want whole hours from 24h to 168h (0: the service's default)")
		}
		h := int32(d / time.Hour)
		s.hours = &h
	}
	// Never sends anything: batchBody stops each call before it is signed.
	s.encoding = bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1"})
	return s, nil
}

// initBatch starts the batch engine; a bad configuration becomes p.err.
func (p *Provider) initBatch() {
	s, err := checkBatch(p.cfg.batch)
	if err != nil {
		p.err = err
		return
	}
	e, err := batch.New(&batchBackend{p: p, s: s}, s.o)
	if err != nil {
		p.err = fmt.Errorf("bedrock: WithBatch: BatchOptions.Journal %q: %v: %w", s.o.Journal, err, refine.ErrInvalidOption)
		return
	}
	p.batch, p.batchSetup = e, s
}

// Close sends the requests still waiting for a job, waits (as long as ctx
// allows) until they are submitted, and ends the goroutines of a WithBatch
// Provider. Jobs still running are not waited for: their callers fail with
// refine.ErrUnavailable, and with a Journal a new Provider re-attaches to
// them. Calls after Close fail. Close of a Provider without WithBatch does
// nothing. It returns ctx's error when ctx ended first, or the first
// failure to write the journal.
func (p *Provider) Close(ctx context.Context) error {
	if p.batch == nil {
		return nil
	}
	return p.batch.Close(ctx)
}

// viaBatch answers a call through the batch engine. direct is true when
// the call must be made on demand (its flush held fewer than MinRequests).
// The retry layer is not around it: the engine sends a record that failed
// transiently once more by itself.
func (p *Provider) viaBatch(ctx context.Context, req *refine.Request) (resp *refine.Response, direct bool, err error) {
	if err := p.check(req); err != nil {
		return nil, false, err
	}
	in, err := p.input(req)
	if err != nil {
		return nil, false, err
	}
	body, err := p.batchBody(ctx, in)
	if err != nil {
		return nil, false, err
	}
	ans, err := p.batch.Do(ctx, body)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, false, fmt.Errorf("bedrock: waiting for a batch job: %w", ctx.Err())
	case err != nil:
		return nil, false, err
	case ans.Direct:
		return nil, true, nil
	}
	out, err := decodeOutput(ans.Body)
	if err != nil {
		return nil, false, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName,
			Message: "unreadable batch record output: " + p.scrub(wire.Snippet(string(ans.Body))) + ": " + err.Error()}
	}
	resp = p.response(out)
	resp.Batch = true
	return resp, false, nil
}

// errEncoded stops the encoding client's call once the body is built.
type errEncoded struct{ body []byte }

func (e *errEncoded) Error() string { return "bedrock: request encoded (never sent)" }

// batchBody is the JSON body Converse would send for in: the SDK's own
// serializer writes it (the Converse API reference's camelCase shape:
// messages[].content[].text, system[].text, inferenceConfig, outputConfig,
// and whatever WithConverseInput added), and a build-step middleware takes
// it and ends the call before it is signed or sent. The model id travels
// in the job, not in the record.
func (p *Provider) batchBody(ctx context.Context, in *bedrockruntime.ConverseInput) ([]byte, error) {
	capture := middleware.BuildMiddlewareFunc("refineBatchRecord", func(ctx context.Context, bi middleware.BuildInput, _ middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		r, ok := bi.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", bi.Request)
		}
		var body []byte
		if s := r.GetStream(); s != nil {
			b, err := io.ReadAll(s)
			if err != nil {
				return middleware.BuildOutput{}, middleware.Metadata{}, err
			}
			body = b
		}
		return middleware.BuildOutput{}, middleware.Metadata{}, &errEncoded{body: body}
	})
	_, err := p.batchSetup.encoding.Converse(ctx, in, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Build.Add(capture, middleware.After) })
	})
	var enc *errEncoded
	if errors.As(err, &enc) && len(enc.body) > 0 {
		return enc.body, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("bedrock: %w", ctx.Err())
	}
	return nil, localError(fmt.Sprintf("cannot encode the request as a batch record: %v", err))
}

// outputBody is the part of a Converse response body (the Converse API
// reference: output.message.content[], stopReason, usage) a reply is read
// from; the record's modelOutput has this shape for Converse jobs.
type outputBody struct {
	Output *struct {
		Message *struct {
			Role    string `json:"role"`
			Content []struct {
				Text *string `json:"text"`
			} `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      *struct {
		InputTokens           *int32 `json:"inputTokens"`
		OutputTokens          *int32 `json:"outputTokens"`
		TotalTokens           *int32 `json:"totalTokens"`
		CacheReadInputTokens  *int32 `json:"cacheReadInputTokens"`
		CacheWriteInputTokens *int32 `json:"cacheWriteInputTokens"`
	} `json:"usage"`
}

// decodeOutput reads a record's modelOutput into the SDK's ConverseOutput,
// so that it is mapped by the same code as an on-demand reply.
func decodeOutput(raw []byte) (*bedrockruntime.ConverseOutput, error) {
	var ob outputBody
	if err := json.Unmarshal(raw, &ob); err != nil {
		return nil, err
	}
	if ob.Output == nil || ob.Output.Message == nil {
		return nil, errors.New("no output message")
	}
	msg := types.Message{Role: types.ConversationRole(ob.Output.Message.Role)}
	for _, c := range ob.Output.Message.Content {
		if c.Text != nil { // reasoning and other blocks are skipped, as on demand
			msg.Content = append(msg.Content, &types.ContentBlockMemberText{Value: *c.Text})
		}
	}
	out := &bedrockruntime.ConverseOutput{Output: &types.ConverseOutputMemberMessage{Value: msg}, StopReason: types.StopReason(ob.StopReason)}
	if u := ob.Usage; u != nil {
		out.Usage = &types.TokenUsage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
			CacheReadInputTokens: u.CacheReadInputTokens, CacheWriteInputTokens: u.CacheWriteInputTokens}
	}
	return out, nil
}

// batchBackend speaks Bedrock batch inference for the engine.
type batchBackend struct {
	p *Provider
	s *batchSetup
}

func (b *batchBackend) Name() string { return providerName }

// do makes one control-plane or S3 call under the Provider's per-call
// timeout and classifies its error as Complete's are, scrubbed of the
// credentials the call was signed with. The clients' own retryers stay on
// for these calls: the adapter has no retry layer around them.
func (b *batchBackend) do(ctx context.Context, fn func(ctx context.Context, creds *seenCreds) error) error {
	callCtx, cancel := ctx, context.CancelFunc(func() {})
	if b.p.cfg.timeout > 0 {
		callCtx, cancel = context.WithTimeoutCause(ctx, b.p.cfg.timeout, errTimeout)
	}
	defer cancel()
	creds := &seenCreds{}
	if err := fn(callCtx, creds); err != nil {
		return b.p.with(creds).classify(ctx, callCtx, err)
	}
	return nil
}

// s3Creds and controlCreds put creds in front of a call's credentials,
// as seenCreds.record does for Converse.
func s3Creds(creds *seenCreds) func(*s3.Options) {
	return func(o *s3.Options) { creds.wrap(&o.Credentials, o.BaseEndpoint) }
}

func controlCreds(creds *seenCreds) func(*control.Options) {
	return func(o *control.Options) { creds.wrap(&o.Credentials, o.BaseEndpoint) }
}

// wrap records the credentials of a client's options (see record).
func (c *seenCreds) wrap(cp *aws.CredentialsProvider, endpoint *string) {
	if *cp != nil {
		c.next, *cp = *cp, c
	}
	if endpoint != nil {
		if s := wire.URLSecrets(*endpoint); len(s) > 0 {
			c.mu.Lock()
			c.secrets = append(c.secrets, s...)
			c.mu.Unlock()
		}
	}
}

// record is one line of a job's input (Bedrock user guide, "Format and
// upload your batch inference data": {"recordId", "modelInput"}).
type record struct {
	RecordID   string          `json:"recordId"`
	ModelInput json.RawMessage `json:"modelInput"`
}

// jobName is the job's name and clientRequestToken: the journal id and the
// batch's key, so that Find can tell its jobs (names allow letters,
// digits and hyphens, up to 63 characters; tokens up to 256).
func jobName(tag batch.Tag) string { return "refine-" + tag.Journal + "-" + tag.Batch }

func (b *batchBackend) Submit(ctx context.Context, tag batch.Tag, items []batch.Item) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one object and "\n" per line
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(record{RecordID: it.ID, ModelInput: it.Body}); err != nil {
			return "", fmt.Errorf("bedrock: encoding batch record %s: %w", it.ID, err)
		}
	}
	name := jobName(tag)
	file := name + ".jsonl"
	err := b.do(ctx, func(ctx context.Context, creds *seenCreds) error {
		_, err := b.s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.s.in.bucket), Key: aws.String(b.s.in.key(file)),
			Body: bytes.NewReader(buf.Bytes()), ContentType: aws.String("application/jsonl")}, s3Creds(creds))
		return err
	})
	if err != nil {
		return "", err
	}
	buf = bytes.Buffer{}
	in := &control.CreateModelInvocationJobInput{
		JobName:             aws.String(name),
		ClientRequestToken:  aws.String(tag.Journal + "-" + tag.Batch),
		ModelId:             aws.String(b.p.modelID),
		RoleArn:             aws.String(b.s.role),
		ModelInvocationType: ctypes.ModelInvocationTypeConverse,
		InputDataConfig: &ctypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{Value: ctypes.ModelInvocationJobS3InputDataConfig{
			S3Uri: aws.String(b.s.in.uri(file)), S3InputFormat: ctypes.S3InputFormatJsonl}},
		OutputDataConfig: &ctypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{Value: ctypes.ModelInvocationJobS3OutputDataConfig{
			S3Uri: aws.String(b.s.out.uri("")), S3EncryptionKeyId: optional(b.s.kms)}},
		TimeoutDurationInHours: b.s.hours,
	}
	var out *control.CreateModelInvocationJobOutput
	err = b.do(ctx, func(ctx context.Context, creds *seenCreds) (err error) {
		out, err = b.s.control.CreateModelInvocationJob(ctx, in, controlCreds(creds))
		return err
	})
	if err != nil {
		return "", err
	}
	if out == nil || aws.ToString(out.JobArn) == "" {
		return "", &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, Message: "CreateModelInvocationJob returned no job ARN"}
	}
	return *out.JobArn, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (b *batchBackend) Status(ctx context.Context, remote string) (batch.Status, error) {
	var (
		job  *control.GetModelInvocationJobOutput
		seen *seenCreds
	)
	err := b.do(ctx, func(ctx context.Context, creds *seenCreds) (err error) {
		seen = creds
		job, err = b.s.control.GetModelInvocationJob(ctx, &control.GetModelInvocationJobInput{JobIdentifier: aws.String(remote)}, controlCreds(creds))
		return err
	})
	if err != nil {
		return batch.Status{}, err
	}
	q := b.p.with(seen) // the job's message is scrubbed of the call's credentials
	var st batch.Status
	switch job.Status {
	case ctypes.ModelInvocationJobStatusCompleted:
	case ctypes.ModelInvocationJobStatusPartiallyCompleted:
		st.Err = jobError(q, job, "the job ended before it ran this record")
	case ctypes.ModelInvocationJobStatusFailed:
		st.Err = jobError(q, job, "the job failed")
	case ctypes.ModelInvocationJobStatusExpired:
		st.Err = jobError(q, job, "the job expired (its JobTimeout passed) before it ran this record")
	case ctypes.ModelInvocationJobStatusStopped:
		st.Err = jobError(q, job, "the job was stopped")
	default: // Submitted, Validating, Scheduled, InProgress, Stopping
		return st, nil
	}
	st.Done = true
	st.Lines = map[string]batch.Line{}
	out := b.s.out
	if c, ok := job.OutputDataConfig.(*ctypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig); ok && c.Value.S3Uri != nil {
		if l, err := parseS3("OutputURI", *c.Value.S3Uri); err == nil {
			out = l
		}
	}
	if err := b.readOutputs(ctx, out, jobID(remote), st.Lines); err != nil {
		return batch.Status{}, err
	}
	return st, nil
}

// jobID is the last part of a job ARN, the folder Bedrock writes the
// job's results to.
func jobID(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// jobError says why a job ended without some of its answers.
func jobError(p *Provider, job *control.GetModelInvocationJobOutput, msg string) error {
	msg = fmt.Sprintf("%s (batch job %s, status %s)", msg, aws.ToString(job.JobArn), job.Status)
	if m := aws.ToString(job.Message); m != "" {
		msg += ": " + p.scrub(m)
	}
	return &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, Code: "Job" + string(job.Status), Message: msg}
}

// readOutputs reads every output object of a job (Bedrock user guide,
// "View the results of a batch inference job": one <input file>.out per
// input file under <OutputURI>/<job id>/, next to manifest.json.out).
func (b *batchBackend) readOutputs(ctx context.Context, out s3Location, id string, lines map[string]batch.Line) error {
	prefix := out.key(id) + "/"
	var token *string
	for {
		var page *s3.ListObjectsV2Output
		err := b.do(ctx, func(ctx context.Context, creds *seenCreds) (err error) {
			page, err = b.s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(out.bucket), Prefix: aws.String(prefix), ContinuationToken: token}, s3Creds(creds))
			return err
		})
		if err != nil {
			return err
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if !strings.HasSuffix(key, ".out") || strings.HasSuffix(key, "/manifest.json.out") {
				continue
			}
			if err := b.readOutput(ctx, out.bucket, key, lines); err != nil {
				return err
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// outputRecord is a line of a job's output: the record with modelOutput
// (a Converse response body) or error {errorCode, errorMessage}. The
// user guide's example gives errorCode as a number (400); a string is
// taken too.
type outputRecord struct {
	RecordID    string          `json:"recordId"`
	ModelOutput json.RawMessage `json:"modelOutput"`
	Error       *struct {
		Code    json.RawMessage `json:"errorCode"`
		Message string          `json:"errorMessage"`
	} `json:"error"`
}

func (b *batchBackend) readOutput(ctx context.Context, bucket, key string, lines map[string]batch.Line) error {
	return b.do(ctx, func(ctx context.Context, creds *seenCreds) error {
		obj, err := b.s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3Creds(creds))
		if err != nil {
			return err
		}
		q := b.p.with(creds)
		defer obj.Body.Close()
		r := bufio.NewReader(obj.Body)
		for {
			text, err := r.ReadBytes('\n')
			if t := bytes.TrimSpace(text); len(t) > 0 {
				var or outputRecord
				if json.Unmarshal(t, &or) == nil && or.RecordID != "" {
					lines[or.RecordID] = recordLine(q, &or)
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
}

// line maps one output record: modelOutput is the answer; an error is
// classified as an on-demand reply with that status and message would be.
func recordLine(p *Provider, or *outputRecord) batch.Line {
	if or.Error == nil && len(or.ModelOutput) > 0 && string(or.ModelOutput) != "null" {
		return batch.Line{Body: or.ModelOutput}
	}
	pe := &refine.ProviderError{Provider: providerName, Message: "a batch record with neither modelOutput nor error"}
	if e := or.Error; e != nil {
		code := strings.Trim(string(e.Code), `"`)
		pe.Message = p.scrub(e.Message)
		if pe.Message == "" {
			pe.Message = "batch record error " + code
		}
		if n, err := strconv.Atoi(code); err == nil {
			pe.StatusCode = n
		} else {
			pe.Code = code
		}
	}
	pe.Kind, pe.Permanent = kindOf(nil, pe.Code, pe.StatusCode, pe.Message)
	switch {
	case pe.Kind == nil:
		pe.Kind = refine.ErrUnavailable
	case pe.Kind == refine.ErrInvalidRequest && inputTooLong(pe.Message):
		pe.Kind = refine.ErrContextLength
	}
	pe.Hint = hint(pe, p.modelID)
	retry := (pe.Kind == refine.ErrUnavailable || pe.Kind == refine.ErrRateLimited) && !pe.Permanent
	return batch.Line{Err: pe, Retry: retry}
}

// Find lists the jobs submitted since a little before since whose name
// holds the journal id, as batch key → job ARN.
func (b *batchBackend) Find(ctx context.Context, journal string, since time.Time) (map[string]string, error) {
	out := map[string]string{}
	after := since.Add(-time.Hour) // clocks differ
	prefix := journal + "-"
	var token *string
	for {
		var page *control.ListModelInvocationJobsOutput
		err := b.do(ctx, func(ctx context.Context, creds *seenCreds) (err error) {
			page, err = b.s.control.ListModelInvocationJobs(ctx, &control.ListModelInvocationJobsInput{
				NameContains: aws.String(journal), SubmitTimeAfter: &after, NextToken: token}, controlCreds(creds))
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, j := range page.InvocationJobSummaries {
			if key, ok := strings.CutPrefix(aws.ToString(j.ClientRequestToken), prefix); ok && key != "" && j.JobArn != nil {
				out[key] = *j.JobArn
			}
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		token = page.NextToken
	}
}

// batchEngine is the engine's type under a name bedrock.go can use.
type batchEngine = batch.Engine
