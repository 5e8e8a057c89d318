package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
)

// Stream sends req with one ConverseStream call and calls delta with each
// piece of the answer's text as the model writes it, from the calling
// goroutine and in order; reasoning and other non-text blocks are not
// delivered. It returns what Complete would: the whole text, the usage
// from the stream's metadata event, and the finish reason from its
// messageStop event. A stream that breaks off, or ends without those two
// events, fails with an error wrapping refine.ErrUnavailable; the text
// delivered until then is not an answer. Requests are built, refused and
// classified as for Complete.
//
// When the client given to New has no ConverseStream method (it implements
// only ConverseAPI), Stream calls Complete and delivers the answer as one
// piece.
//
// The timeout (WithTimeout) bounds the wait for the response and for each
// event after it, so a long answer that keeps arriving is never cut off,
// while a stream that stalls is. A failure before the first delta is
// retried as Complete's are (WithRetry); one after it is returned, never
// silently restarted. delta may be nil, for a caller that wants
// only the stream's exact usage and its per-event timeout.
func (p *Provider) Stream(ctx context.Context, req *refine.Request, delta func(text string)) (*refine.Response, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.batch != nil {
		// As Complete: batched outside the retry layer, the whole answer
		// delivered as one delta.
		if resp, direct, err := p.viaBatch(ctx, req); !direct {
			if err == nil && resp.Text != "" && delta != nil {
				delta(resp.Text)
			}
			return resp, err
		}
	}
	if p.retry != nil {
		return p.retry.Stream(ctx, req, delta)
	}
	return p.streamOnce(ctx, req, delta)
}

// streamOnce is one attempt of Stream: one ConverseStream request.
func (p *Provider) streamOnce(ctx context.Context, req *refine.Request, delta func(text string)) (*refine.Response, error) {
	if delta == nil {
		delta = func(string) {}
	}
	if p.stream == nil {
		resp, err := p.complete(ctx, req)
		if err == nil && resp.Text != "" {
			delta(resp.Text)
		}
		return resp, err
	}
	if err := p.check(req); err != nil {
		return nil, err
	}
	in, err := p.input(req)
	if err != nil {
		return nil, err
	}

	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var idle *time.Timer
	if p.cfg.timeout > 0 {
		idle = time.AfterFunc(p.cfg.timeout, func() { cancel(errTimeout) })
		defer idle.Stop()
	}
	creds := &seenCreds{}
	out, err := p.stream.ConverseStream(callCtx, streamInput(in), p.callOptions, creds.record)
	p = p.with(creds) // every error below is scrubbed of the call's credentials
	if err != nil {
		return nil, p.classify(ctx, callCtx, err)
	}
	if out == nil || out.GetStream() == nil || out.GetStream().Reader == nil {
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName,
			Message: "ConverseStream returned no event stream"}
	}
	es := out.GetStream()
	defer es.Close()

	var (
		text              strings.Builder
		resp              = &refine.Response{Model: p.modelID}
		stopped, metadata bool
		began             bool // an event arrived
	)
	events := es.Events()
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			began = true
			if idle != nil {
				idle.Reset(p.cfg.timeout)
			}
			switch v := ev.(type) {
			case *types.ConverseStreamOutputMemberContentBlockDelta:
				if t, ok := v.Value.Delta.(*types.ContentBlockDeltaMemberText); ok && t.Value != "" {
					text.WriteString(t.Value)
					delta(t.Value)
				}
			case *types.ConverseStreamOutputMemberMessageStop:
				resp.FinishReason = finishReason(v.Value.StopReason)
				stopped = true
			case *types.ConverseStreamOutputMemberMetadata:
				resp.Usage = usage(v.Value.Usage)
				metadata = true
			}
		case <-callCtx.Done():
			err := p.classify(ctx, callCtx, context.Cause(callCtx))
			var pe *refine.ProviderError
			if began && context.Cause(callCtx) == errTimeout && errors.As(err, &pe) {
				pe.Message = fmt.Sprintf("timeout: the stream stopped in the middle of the reply, no event for %s (bedrock.WithTimeout)", p.cfg.timeout)
			}
			return nil, err
		}
	}
	if err := es.Err(); err != nil {
		return nil, p.classify(ctx, callCtx, err)
	}
	if err := callCtx.Err(); err != nil {
		return nil, p.classify(ctx, callCtx, context.Cause(callCtx))
	}
	if !stopped || !metadata {
		// The SDK ends a stream cut inside a frame as if it were complete
		// (an unexpected EOF reads as the end): only the missing events
		// tell.
		missing := "messageStop and metadata events"
		switch {
		case stopped:
			missing = "metadata event"
		case metadata:
			missing = "messageStop event"
		}
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: providerName, StatusCode: http.StatusOK,
			Message: "the stream ended without its " + missing + " (cut off?)"}
	}
	resp.Text = text.String()
	return resp, nil
}
