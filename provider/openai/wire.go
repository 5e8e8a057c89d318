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
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine/internal/wire"
)

// The adapter's HTTP layer. go-openai leaves several things to its caller:
//
//   - ChatCompletionRequest.Temperature and TopP are float32 fields tagged
//     omitempty, so an explicit 0 never reaches the wire and the API uses
//     its default of 1.0 (go-openai issues #9 and #678). A judge that asks
//     for greedy decoding would silently sample.
//   - Its errors carry no response headers, so Retry-After is lost.
//   - It reads response bodies to the end, however long they are.
//   - Its Azure Entra ID mode takes one fixed token; real tokens expire.
//
// All four are handled by a goopenai.HTTPDoer installed in the client the
// Provider builds. Complete and Stream put a *call in the request's context;
// the doer writes the fields go-openai dropped into the JSON body, sets the
// bearer token from the token source, caps the response body and copies
// the response status, headers and the first bytes of the body back into
// the *call. The doer sends each request exactly once: retries belong to
// the Provider's retry layer, around whole calls.

// headBytes is how much of a response body the doer keeps for error
// messages and for recognising an error object sent with status 200.
const headBytes = 4 << 10

// call is the per-request state shared by Complete (or Stream) and the
// doer. go-openai calls Do synchronously on the goroutine that runs
// Complete, and the stream's body is read on that goroutine too, so it needs
// no lock.
type call struct {
	// set holds JSON fields to write into the request body, with values
	// go-openai cannot express (temperature 0, top_p 0).
	set map[string]any
	// Filled in by the doer once a response arrived.
	status int
	header http.Header
	head   []byte // the first headBytes of the body, as read
	// bodyErr is the first error reading the body other than its end: a
	// connection reset or closed in the middle of the reply.
	bodyErr error
	// token is the bearer token sent, so that messages can scrub it.
	token string

	// Stream calls only.
	stream bool
	// alive, when set, is called as the response headers and each piece
	// of the body arrive: it restarts the stream's idle timer.
	alive func()
	// whole is the body of a success response that is JSON, not an event
	// stream: a server that ignores "stream": true. The doer reads it
	// (capped) and go-openai's stream reader gets an empty body.
	whole    []byte
	wholeErr error
}

// streamCapFactor is how many times WithMaxResponseBytes a whole stream
// may be; the option itself caps each line (one event) of it. Framing
// costs a stream a few hundred bytes per token of text, so a long answer
// streamed is many times the size of the same answer in one body.
const streamCapFactor = 8

// put records a field for the doer to write into the body.
func (c *call) put(key string, v any) {
	if c.set == nil {
		c.set = make(map[string]any, 2)
	}
	c.set[key] = v
}

type callKey struct{}

// doer wraps the HTTP client go-openai sends requests through.
type doer struct {
	next    goopenai.HTTPDoer
	maxBody int64
	token   func(context.Context) (string, error) // nil: none
}

// tokenError is a failure of the WithTokenSource function.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "token source: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(callKey{}).(*call)
	if c != nil && len(c.set) > 0 {
		r, err := rewriteBody(req, c.set)
		if err != nil {
			return nil, err
		}
		req = r
	}
	if d.token != nil {
		tok, err := d.token(req.Context())
		if err == nil && tok == "" {
			err = errors.New("returned an empty token")
		}
		if err != nil {
			return nil, &tokenError{err}
		}
		if c != nil {
			c.token = tok
		}
		req = req.Clone(req.Context())
		req.Header.Del(goopenai.AzureAPIKeyHeader) // go-openai sets it, empty, for Azure
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := d.next.Do(req)
	if resp == nil {
		return resp, err
	}
	if c == nil {
		resp.Body = wire.LimitBody(resp.Body, d.maxBody)
		return resp, err
	}
	c.status, c.header = resp.StatusCode, resp.Header
	if !c.stream {
		resp.Body = &headBody{ReadCloser: wire.LimitBody(resp.Body, d.maxBody), c: c}
		return resp, err
	}
	if c.alive != nil {
		c.alive()
	}
	if resp.StatusCode < 300 && !isEventStream(resp.Header) {
		// A server may ignore "stream": true and send the whole answer
		// as one JSON body, under whatever type it likes (llama.cpp
		// proxies and gateways say text/plain). A body that starts with
		// "{" is read whole (with the cap for one body), and Stream
		// answers from it; anything else (an event stream under the
		// wrong type) goes on to go-openai's stream reader.
		br := bufio.NewReader(resp.Body)
		rest := readCloser{Reader: br, Closer: resp.Body}
		if !startsJSON(br) {
			resp.Body = rest
		} else {
			body := &headBody{ReadCloser: wire.LimitBody(rest, d.maxBody), c: c}
			c.whole, c.wholeErr = io.ReadAll(body)
			body.Close()
			if c.wholeErr != nil && !isTooLarge(c.wholeErr) {
				// Stalled (WithTimeout) or broken off: classified as any
				// body that fails in the middle of the reply.
				return nil, c.wholeErr
			}
			resp.Body = http.NoBody
			return resp, err
		}
	}
	limit := d.maxBody * streamCapFactor
	if limit/streamCapFactor != d.maxBody {
		limit = 0 // overflow: no total cap beyond the per-line one
	}
	resp.Body = &headBody{ReadCloser: wire.LimitStream(resp.Body, d.maxBody, limit), c: c}
	return resp, err
}

// isEventStream reports a response whose Content-Type says it is a
// server-sent event stream.
func isEventStream(h http.Header) bool {
	ct := strings.ToLower(h.Get("Content-Type"))
	ct, _, _ = strings.Cut(ct, ";")
	return strings.TrimSpace(ct) == "text/event-stream"
}

// maxLeadingSpace is how much white space startsJSON looks past.
const maxLeadingSpace = 4 << 10

// startsJSON reports whether the first byte of br after white space is
// "{", without consuming anything.
func startsJSON(br *bufio.Reader) bool {
	for n := 1; n <= maxLeadingSpace; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return false
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			if err != nil {
				return false
			}
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

type readCloser struct {
	io.Reader
	io.Closer
}

// headBody copies the first headBytes it reads into its call.
type headBody struct {
	io.ReadCloser
	c *call
}

func (b *headBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && b.c.alive != nil {
		b.c.alive()
	}
	if err != nil && err != io.EOF && b.c.bodyErr == nil {
		b.c.bodyErr = err
	}
	if room := headBytes - len(b.c.head); room > 0 && n > 0 {
		b.c.head = append(b.c.head, p[:min(n, room)]...)
	}
	return n, err
}

// rewriteBody returns a copy of req whose JSON body has the fields in set
// written over (or added to) what go-openai marshalled.
func rewriteBody(req *http.Request, set map[string]any) (*http.Request, error) {
	if req.Body == nil {
		return req, nil
	}
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openai: reading the request body: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("openai: request body is not a JSON object: %w", err)
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("openai: encoding %s: %w", k, err)
		}
		fields[k] = b
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("openai: encoding the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return r, nil
}
