package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch"
)

// BatchOptions configure WithBatch. Zero values take the defaults.
type BatchOptions struct {
	// MaxRequests sends a batch as soon as this many requests wait
	// (default 1,000; the API's cap, and the largest value allowed, is
	// 50,000).
	MaxRequests int
	// MaxWait sends a batch when its oldest request has waited this long
	// (default 1m).
	MaxWait time.Duration
	// Idle sends a batch when no request has arrived for this long
	// (default 2s): the runs that feed it are all waiting for answers.
	Idle time.Duration
	// Poll is how often a submitted batch is checked (default 30s).
	Poll time.Duration
	// MinRequests: a flush with fewer requests waiting sends them as
	// ordinary calls, at the on-demand price and at once (default 0:
	// always batch).
	MinRequests int
	// Journal is a file recording every batch before it is submitted,
	// with the hashes of its requests, so that a process restarted with
	// the same Journal and the same work re-attaches to its batches
	// instead of submitting and paying for them again ("" = none). It is
	// created when missing; its directory must exist. Finished batches
	// stay in it, so that work restarted from its beginning gets the
	// answers it already paid for: remove the file when the work is done.
	Journal string
}

// WithBatch sends every call through the OpenAI Batch API (POST /files
// with purpose "batch", POST /batches, polled with GET /batches/{id}),
// at the Batch API's price, about half the on-demand one, for work that
// can wait up to a day. It works with any server offering the same API
// at an OpenAI-compatible base URL (Together and Cerebras document it);
// Azure OpenAI's batch lines (deployment names, its own URLs) are not
// written here yet: WithBatch with WithAzure fails every call, saying so.
//
// The Provider collects the requests of every run that calls it
// concurrently and sends them as one batch when MaxRequests wait, when
// the oldest has waited MaxWait, or when none has arrived for Idle; a
// thousand runs started together advance round by round, each round one
// batch. Each request is one line of the batch file, with the same body
// Complete sends on demand. A Complete (or Stream, which delivers the
// whole answer as one delta) waits for its line; its Response has Batch
// set, so that a run prices it at the batch price. A line's error comes
// back to its own caller only, classified as Complete's are; a line that
// failed transiently or was not run (the batch expired, failed or was
// cancelled) is sent once more in a later batch, and then fails with
// refine.ErrUnavailable. WithTimeout bounds each HTTP request, not the
// wait for a batch; the caller's context bounds that: cancelling it
// withdraws a request not yet sent, and leaves a sent one to its batch.
//
// Close the Provider when done (Close ends its goroutines). Bad values
// are reported by every call, naming the field.
func WithBatch(b BatchOptions) Option {
	return func(c *config) { c.batch = &b }
}

// batchFileBytes caps a batch output file read: OpenAI caps the input at
// 200 MB, and the answers of 50,000 requests can be several times that.
const batchFileBytes = 4 << 30

// initBatch starts the batch engine. cfg is the client configuration
// Complete's client uses, hc the HTTP client under the adapter's doer.
func (p *Provider) initBatch(c *config, cfg goopenai.ClientConfig, hc goopenai.HTTPDoer) {
	b := c.batch
	o := batch.Options{MaxRequests: b.MaxRequests, MaxWait: b.MaxWait, Idle: b.Idle, Poll: b.Poll,
		MinRequests: b.MinRequests, Journal: b.Journal}
	if err := o.Check(); err != nil {
		p.err = optionError("WithBatch", "BatchOptions", err.Error())
		return
	}
	if c.azure {
		p.err = optionError("WithBatch", "WithAzure", "Azure OpenAI's batch lines (deployment names, its own URLs) are not supported yet: use WithBatch with an OpenAI-compatible base URL")
		return
	}
	// Output files are larger than any chat reply: they get their own cap.
	cfg.HTTPClient = &doer{next: hc, maxBody: batchFileBytes, token: c.token}
	e, err := batch.New(&batchBackend{p: p, files: goopenai.NewClientWithConfig(cfg)}, o)
	if err != nil {
		p.err = optionError("WithBatch", fmt.Sprintf("Journal: %q", b.Journal), err.Error())
		return
	}
	p.batch = e
}

// Close sends the requests still waiting for a batch, waits (as long as
// ctx allows) until they are submitted, and ends the goroutines of a
// WithBatch Provider. Batches still running are not waited for: their
// callers fail with refine.ErrUnavailable, and with a Journal a new
// Provider re-attaches to them. Calls after Close fail. Close of a
// Provider without WithBatch does nothing. It returns ctx's error when ctx
// ended first, or the first failure to write the journal.
func (p *Provider) Close(ctx context.Context) error {
	if p.batch == nil {
		return nil
	}
	return p.batch.Close(ctx)
}

// viaBatch answers a call through the batch engine. direct is true when
// the call must be made on demand (its flush held fewer than MinRequests).
func (p *Provider) viaBatch(ctx context.Context, req *refine.Request, creq goopenai.ChatCompletionRequest, st *call, fix *nullFix) (resp *refine.Response, direct bool, err error) {
	body, err := p.batchBody(ctx, creq, st)
	if err != nil {
		return nil, false, err
	}
	ans, err := p.batch.Do(ctx, body)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, false, fmt.Errorf("openai: waiting for a batch: %w", ctx.Err())
	case err != nil:
		return nil, false, err
	case ans.Direct:
		return nil, true, nil
	}
	var cr goopenai.ChatCompletionResponse
	if err := json.Unmarshal(ans.Body, &cr); err != nil {
		return nil, false, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName,
			Message: "unreadable batch line: " + p.scrub(describeBody(ans.Body, nil), st)}
	}
	st.head = ans.Body[:min(len(ans.Body), headBytes)]
	st.status = http.StatusOK
	out, err := p.response(req, &cr, st, fix)
	if out != nil {
		out.Batch = true
	}
	return out, false, err
}

// batchBody is the request body Complete would send: go-openai's JSON
// with the doer's additions (temperature 0...), written by the same code.
func (p *Provider) batchBody(ctx context.Context, creq goopenai.ChatCompletionRequest, st *call) ([]byte, error) {
	if err := goopenai.NewReasoningValidator().Validate(creq); err != nil {
		return nil, p.classify(ctx, ctx, err, st)
	}
	raw, err := json.Marshal(creq)
	if err != nil {
		return nil, fmt.Errorf("openai: encoding the request: %w", err)
	}
	if len(st.set) == 0 {
		return raw, nil
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://batch.invalid/", bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if hr, err = rewriteBody(hr, st.set); err != nil {
		return nil, err
	}
	return io.ReadAll(hr.Body)
}

// Metadata keys a batch carries (OpenAI allows 16 keys of 64 characters,
// values of 512).
const (
	metaJournal = "refine_journal"
	metaBatch   = "refine_batch"
)

// batchBackend speaks the OpenAI Batch API for the engine.
type batchBackend struct {
	p     *Provider
	files *goopenai.Client
}

func (b *batchBackend) Name() string { return providerName }

// do makes one HTTP request through go-openai with the Provider's
// per-call timeout and classifies its error as Complete's are.
func (b *batchBackend) do(ctx context.Context, fn func(ctx context.Context) error) error {
	st := &call{}
	callCtx, cancel := b.p.callContext(ctx)
	defer cancel()
	if err := fn(context.WithValue(callCtx, callKey{}, st)); err != nil {
		return b.p.classify(ctx, callCtx, err, st)
	}
	return nil
}

// inputLine is a line of the batch input file (OpenAI API reference,
// "The request input object": custom_id, method, url, body).
type inputLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

func (b *batchBackend) Submit(ctx context.Context, tag batch.Tag, items []batch.Item) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one object and "\n" per line
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(inputLine{CustomID: it.ID, Method: http.MethodPost, URL: string(goopenai.BatchEndpointChatCompletions), Body: it.Body}); err != nil {
			return "", fmt.Errorf("openai: encoding batch line %s: %w", it.ID, err)
		}
	}
	var f goopenai.File
	err := b.do(ctx, func(ctx context.Context) (err error) {
		f, err = b.files.CreateFileBytes(ctx, goopenai.FileBytesRequest{Name: "refine-" + tag.Batch + ".jsonl", Bytes: buf.Bytes(), Purpose: goopenai.PurposeBatch})
		return err
	})
	if err != nil {
		return "", err
	}
	buf = bytes.Buffer{}
	var br goopenai.BatchResponse
	err = b.do(ctx, func(ctx context.Context) (err error) {
		br, err = b.files.CreateBatch(ctx, goopenai.CreateBatchRequest{
			InputFileID: f.ID, Endpoint: goopenai.BatchEndpointChatCompletions, CompletionWindow: "24h",
			Metadata: map[string]any{metaJournal: tag.Journal, metaBatch: tag.Batch},
		})
		return err
	})
	if err != nil {
		return "", err
	}
	if br.ID == "" {
		return "", &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, Message: "the server created a batch without an id"}
	}
	return br.ID, nil
}

func (b *batchBackend) Status(ctx context.Context, remote string) (batch.Status, error) {
	var br goopenai.BatchResponse
	err := b.do(ctx, func(ctx context.Context) (err error) {
		br, err = b.files.RetrieveBatch(ctx, remote)
		return err
	})
	if err != nil {
		return batch.Status{}, err
	}
	var st batch.Status
	switch br.Status {
	case "completed":
	case "expired":
		st.Err = b.batchError(br, "expired", "the batch expired (24h) before running this request")
	case "failed":
		st.Err = b.batchError(br, "failed", "the batch failed")
	case "cancelled":
		st.Err = b.batchError(br, "cancelled", "the batch was cancelled")
	default: // validating, in_progress, finalizing, cancelling
		return st, nil
	}
	st.Done = true
	st.Lines = map[string]batch.Line{}
	for _, id := range []*string{br.OutputFileID, br.ErrorFileID} {
		if id == nil || *id == "" {
			continue
		}
		if err := b.readLines(ctx, *id, st.Lines); err != nil {
			return batch.Status{}, err
		}
	}
	return st, nil
}

// batchError says why a whole batch ended without answers: the first of
// its errors (validation failures of the input file) when it has some.
func (b *batchBackend) batchError(br goopenai.BatchResponse, code, msg string) error {
	pe := &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, Code: "batch_" + code,
		Message: fmt.Sprintf("%s (batch %s)", msg, br.ID)}
	if br.Errors != nil && len(br.Errors.Data) > 0 {
		e := br.Errors.Data[0]
		pe.Code = b.p.scrub(e.Code, nil)
		pe.Message += ": " + b.p.scrub(e.Message, nil)
	}
	return pe
}

// outputLine is a line of a batch output or error file (OpenAI API
// reference, "The request output object": id, custom_id, response
// {status_code, request_id, body} or null, error {code, message} or null).
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readLines reads a result file into lines, by custom_id.
func (b *batchBackend) readLines(ctx context.Context, fileID string, lines map[string]batch.Line) error {
	return b.do(ctx, func(ctx context.Context) error {
		raw, err := b.files.GetFileContent(ctx, fileID)
		if err != nil {
			return err
		}
		defer raw.Close()
		r := bufio.NewReader(raw)
		for {
			text, err := r.ReadBytes('\n')
			if t := bytes.TrimSpace(text); len(t) > 0 {
				var ol outputLine
				if json.Unmarshal(t, &ol) == nil && ol.CustomID != "" {
					lines[ol.CustomID] = b.line(&ol)
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

// line maps one output line: a 2xx response is the answer; anything else
// is classified as an on-demand reply with that status and body would be.
func (b *batchBackend) line(ol *outputLine) batch.Line {
	r := ol.Response
	if r != nil && r.StatusCode >= 200 && r.StatusCode < 300 && ol.Error == nil {
		return batch.Line{Body: r.Body}
	}
	var f fault
	ok := false
	if r != nil {
		f, ok = parseFault(r.StatusCode, r.Body)
		if !ok && len(r.Body) > 0 {
			f.message = describeBody(r.Body, nil)
		}
		f.status = r.StatusCode
	}
	if e := ol.Error; e != nil && !ok {
		f.code, f.message = codeWord(e.Code), e.Message
	}
	pe := &refine.ProviderError{Provider: providerName}
	b.p.fromFault(pe, f, nil)
	if pe.Message == "" {
		pe.Message = "a batch line with neither an answer nor an error"
	}
	retry := (errors.Is(pe, refine.ErrUnavailable) || errors.Is(pe, refine.ErrRateLimited)) && !pe.Permanent
	return batch.Line{Err: pe, Retry: retry}
}

func (b *batchBackend) Find(ctx context.Context, journal string, since time.Time) (map[string]string, error) {
	out := map[string]string{}
	limit := 100
	var after *string
	oldest := since.Add(-time.Hour).Unix() // clocks differ
	for {
		var page goopenai.ListBatchResponse
		err := b.do(ctx, func(ctx context.Context) (err error) {
			page, err = b.files.ListBatch(ctx, after, &limit)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, bt := range page.Data {
			if j, _ := bt.Metadata[metaJournal].(string); j == journal {
				if k, _ := bt.Metadata[metaBatch].(string); k != "" {
					out[k] = bt.ID
				}
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		last := page.Data[len(page.Data)-1]
		if int64(last.CreatedAt) < oldest { // listed newest first
			return out, nil
		}
		after = &last.ID
	}
}

// batchEngine is the engine's type under a name provider.go can use
// without importing the engine's package.
type batchEngine = batch.Engine
