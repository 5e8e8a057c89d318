package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	goopenai "github.com/sashabaranov/go-openai"
)

// The adapter's HTTP layer. go-openai gives us two problems it cannot solve
// itself:
//
//   - ChatCompletionRequest.Temperature and TopP are float32 fields tagged
//     omitempty, so an explicit 0 never reaches the wire and the API uses
//     its default of 1.0 (go-openai issues #9 and #678). A judge that asks
//     for greedy decoding would silently sample.
//   - Its errors carry no response headers, so Retry-After is lost.
//
// Both are solved by a goopenai.HTTPDoer installed in the client this
// package builds. Complete puts a *call in the request's context; the doer
// writes the fields go-openai dropped into the JSON body and copies the
// response headers back into the *call. The doer sends each request exactly
// once: the only retry layer of the project is refine.Complete.

// call is the per-request state shared by Complete and the doer. It is only
// touched by the goroutine running Complete (go-openai calls Do
// synchronously), so it needs no lock.
type call struct {
	// set holds JSON fields to write into the request body, with values
	// go-openai cannot express (temperature 0, top_p 0).
	set map[string]any
	// header is the response's header, once a response arrived.
	header http.Header
}

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
	next goopenai.HTTPDoer
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(callKey{}).(*call)
	if c == nil {
		return d.next.Do(req)
	}
	if len(c.set) > 0 {
		r, err := rewriteBody(req, c.set)
		if err != nil {
			return nil, err
		}
		req = r
	}
	resp, err := d.next.Do(req)
	if resp != nil {
		c.header = resp.Header
	}
	return resp, err
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
