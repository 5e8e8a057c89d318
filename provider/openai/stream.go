package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/wire"
)

// Stream sends the request as Complete does, with "stream": true and
// "stream_options": {"include_usage": true}, calls delta with each piece of
// the answer's text as it arrives (on the calling goroutine, in order), and
// returns what Complete would have returned: the whole text, the usage from
// the server's final chunk (exact, not estimated; 0 from a server that
// ignores include_usage), the model, the finish reason, and Logprobs when
// asked for.
//
// A stream that fails after some deltas returns no Response and an error
// classified as Complete's are: the deltas already delivered were not an
// answer. A stream that ends without a finish reason (the server closed the
// connection early) is an error wrapping refine.ErrUnavailable. An error
// the server sends inside the stream is classified as Complete's are,
// including llama.cpp's "error: {…}" event of its 2025 builds. A server
// that ignores "stream": true and answers with one JSON body (under any
// Content-Type but text/event-stream: application/json, text/plain, none)
// is answered from that body, delivered as one delta. delta may be nil.
//
// A failure before the first delta is retried as Complete's are
// (WithRetry); one after it is returned, never silently restarted.
//
// WithTimeout bounds how long the stream may go without data, before its
// reply begins or between two pieces of it, not its whole length: a slow
// server that keeps writing is never cut off, one that stalls is.
// WithMaxResponseBytes caps each event of the stream, and the whole stream
// at eight times that.
//
// With a Schema, the deltas are the model's raw text; the returned Text is
// fixed up as Complete's is (nulls of optional properties removed, see the
// package doc).
func (p *Provider) Stream(ctx context.Context, req *refine.Request, delta func(text string)) (*refine.Response, error) {
	if p.err == nil && p.retry != nil && p.batch == nil {
		return p.retry.Stream(ctx, req, delta)
	}
	return p.stream(ctx, req, delta, p.batch != nil)
}

// stream is one attempt of Stream: one HTTP request.
// With batch set it goes through the batch engine, as complete does.
func (p *Provider) stream(ctx context.Context, req *refine.Request, delta func(text string), batch bool) (*refine.Response, error) {
	st, creq, fix, err := p.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if delta == nil {
		delta = func(string) {}
	}
	if batch {
		if resp, direct, err := p.viaBatch(ctx, req, creq, st, fix); !direct {
			if err == nil && resp.Text != "" {
				delta(resp.Text) // the whole answer, as one delta
			}
			return resp, err
		}
		if p.retry != nil {
			return p.retry.Stream(ctx, req, delta)
		}
	}
	creq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	st.stream = true
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if p.timeout > 0 {
		idle := time.AfterFunc(p.timeout, func() { cancel(errIdle) })
		defer idle.Stop()
		st.alive = func() { idle.Reset(p.timeout) }
	}
	stream, err := p.client.CreateChatCompletionStream(context.WithValue(callCtx, callKey{}, st), creq)
	if err != nil {
		return nil, p.classify(ctx, callCtx, err, st)
	}
	defer stream.Close()

	var (
		text, refusal strings.Builder
		out           = &refine.Response{}
		finished      bool
	)
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, p.classify(ctx, callCtx, err, st)
		}
		if chunk.Usage != nil {
			out.Usage = usage(*chunk.Usage)
		}
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if c := ch.Delta.Content; c != "" {
				text.WriteString(c)
				delta(c)
			} else if r := ch.Delta.Refusal; r != "" {
				refusal.WriteString(r)
				if text.Len() == 0 {
					delta(r)
				}
			}
			if ch.FinishReason != "" {
				finished = true
				out.FinishReason = finishReason(string(ch.FinishReason))
			}
			if req.TopLogprobs > 0 && ch.Logprobs != nil {
				out.Logprobs = append(out.Logprobs, streamLogprobs(ch.Logprobs.Content)...)
			}
		}
	}
	if !finished && text.Len() == 0 && refusal.Len() == 0 {
		if resp, err, ok := p.notAStream(req, st, fix); ok {
			if err == nil && resp.Text != "" {
				delta(resp.Text)
			}
			return resp, err
		}
	}
	if !finished {
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: st.status,
			Message: "the stream from " + p.endpoint + " ended before the answer was finished (no finish_reason): the connection was closed early"}
	}
	out.Text = text.String()
	if out.Text == "" {
		// The model declined; its refusal is its answer.
		out.Text = refusal.String()
	}
	if out.Model == "" {
		out.Model = p.model
	}
	out.Text = fix.apply(out.Text)
	return out, nil
}

// errIdle is the cause of a stream's context when WithTimeout passed with
// no data.
var errIdle = errors.New("openai: no data within the timeout")

// notAStream reads a stream that delivered nothing as what it was instead,
// and reports ok when it was something:
//
//   - a JSON error object with status 200 (LM Studio answers an unknown
//     path with one);
//   - an "error: {…}" line, which llama.cpp's server sent for a failure
//     after the 200 until its 2025 fixes (it now answers 400 first), and
//     which go-openai skips as a line that is not data;
//   - a whole chat.completion: a server or gateway that ignores
//     "stream": true. Its answer is returned as Complete would return it;
//     one too large to read is a Permanent error naming the cause.
func (p *Provider) notAStream(req *refine.Request, st *call, fix *nullFix) (*refine.Response, error, bool) {
	body := st.whole
	if body == nil {
		body = st.head
	}
	if f, ok := parseFault(0, body); ok {
		return nil, p.faultError(f, st), true
	}
	if f, ok := errorEvent(st.head); ok {
		return nil, p.faultError(f, st), true
	}
	var tooBig *wire.TooLargeError
	if errors.As(st.wholeErr, &tooBig) {
		// The doer returns every other read error as the call's.
		pe := &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: st.status, Permanent: true,
			Err: st.wholeErr,
			Message: fmt.Sprintf("%s answered with one JSON body, not an event stream (it ignores \"stream\": true), and the body is larger than the %d-byte limit (WithMaxResponseBytes raises it)",
				p.endpoint, tooBig.Limit)}
		return nil, pe, true
	}
	if st.whole == nil {
		return nil, nil, false
	}
	var resp goopenai.ChatCompletionResponse
	if err := json.Unmarshal(st.whole, &resp); err != nil || len(resp.Choices) == 0 {
		pe := &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: st.status,
			Message: fmt.Sprintf("%s answered with JSON that is neither an event stream nor a chat completion: %s",
				p.endpoint, p.scrub(describeBody(st.whole, st.header), st))}
		return nil, pe, true
	}
	out, err := p.response(req, &resp, st, fix)
	return out, err, true
}

// faultError is the error for a server error found in a stream's body.
func (p *Provider) faultError(f fault, st *call) error {
	pe := &refine.ProviderError{Provider: providerName}
	p.fromFault(pe, f, st)
	pe.StatusCode = st.status
	return pe
}

// errorEvent finds an "error: {…}" line in the start of a stream and reads
// its JSON: the error object itself ({"code":400,"message":…,"type":…},
// llama.cpp's shape) or one wrapped as {"error":{…}}.
func errorEvent(head []byte) (fault, bool) {
	for line := range bytes.Lines(head) {
		rest, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("error:"))
		if !ok {
			continue
		}
		rest = bytes.TrimSpace(rest)
		if f, ok := parseFault(0, rest); ok {
			return f, true
		}
		wrapped := append(append([]byte(`{"error":`), rest...), '}')
		if f, ok := parseFault(0, wrapped); ok {
			return f, true
		}
	}
	return fault{}, false
}

func streamLogprobs(content []goopenai.ChatCompletionTokenLogprob) []refine.TokenLogprob {
	out := make([]refine.TokenLogprob, len(content))
	for i, lp := range content {
		out[i] = refine.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob}
		if len(lp.TopLogprobs) > 0 {
			out[i].Top = make([]refine.TokenLogprob, len(lp.TopLogprobs))
			for j, alt := range lp.TopLogprobs {
				out[i].Top[j] = refine.TokenLogprob{Token: alt.Token, Logprob: alt.Logprob}
			}
		}
	}
	return out
}
