package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/selfrefine/refine"
)

// providerName is ProviderError.Provider for this adapter.
const providerName = "openai"

// Error codes (or types) of the OpenAI API that decide a classification.
// Everything else is classified by HTTP status: messages are never parsed.
const (
	codeInsufficientQuota  = "insufficient_quota"
	codeContextLength      = "context_length_exceeded"
	codeDeploymentNotFound = "DeploymentNotFound" // Azure
)

// classify turns an error of CreateChatCompletion into the error Complete
// returns: the context's error when ctx is done (so errors.Is(err,
// context.Canceled) holds), else a *refine.ProviderError, sometimes wrapped
// with advice (hintError). hdr is the response's header, when one arrived.
func (p *Provider) classify(ctx context.Context, err error, hdr http.Header) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("openai: %w", err)
		}
		return fmt.Errorf("openai: %w (%w)", cerr, err)
	}
	pe := &refine.ProviderError{Provider: providerName, Err: err, RetryAfter: retryAfter(hdr, time.Now())}
	var (
		reqErr *goopenai.RequestError
		apiErr *goopenai.APIError
	)
	// RequestError first: it may wrap a partly decoded APIError, whose
	// status is then 0.
	switch {
	case errors.As(err, &reqErr):
		// A failure status with a body that is not an OpenAI error object:
		// an HTML page from a proxy or load balancer, a plain-text 404 from
		// a server at the wrong path, an empty body.
		pe.StatusCode = reqErr.HTTPStatusCode
		pe.Message = "non-JSON error response: " + snippet(reqErr.Body)
		if errors.As(reqErr.Err, &apiErr) {
			pe.Code, pe.Message = errorCode(apiErr), apiErr.Message
		}
		pe.Kind, pe.Permanent = kindOf(pe.StatusCode, pe.Code, "")
	case errors.As(err, &apiErr):
		pe.StatusCode = apiErr.HTTPStatusCode
		pe.Code = errorCode(apiErr)
		pe.Message = apiErr.Message
		pe.Kind, pe.Permanent = kindOf(pe.StatusCode, pe.Code, apiErr.Type)
	case unreachable(err):
		pe.Kind = refine.ErrUnavailable
		pe.Message = "cannot reach " + p.endpoint
	case hdr != nil || malformed(err):
		// A response arrived, with a success status, and could not be read.
		pe.Kind = refine.ErrUnavailable
		pe.Message = "unreadable response from " + p.endpoint
	default:
		// go-openai refused the request before sending it (for instance a
		// model only its legacy completions endpoint serves).
		pe.Kind = refine.ErrInvalidRequest
		pe.Message = "request refused by go-openai before sending it"
	}
	pe.Hint = p.hint(pe, reqErr != nil && apiErr == nil)
	return pe
}

// kindOf classifies by error code (or type) first, then by HTTP status.
func kindOf(status int, code, typ string) (kind error, permanent bool) {
	is := func(c string) bool { return code == c || typ == c }
	switch {
	case is(codeInsufficientQuota):
		// A 429 that waiting will not fix: the account is out of credit.
		return refine.ErrRateLimited, true
	case is(codeContextLength):
		return refine.ErrContextLength, false
	case status == http.StatusTooManyRequests:
		return refine.ErrRateLimited, false
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return refine.ErrAuth, false
	case status == http.StatusRequestTimeout:
		return refine.ErrUnavailable, false
	case status >= 400 && status < 500:
		return refine.ErrInvalidRequest, false
	}
	// 5xx, and failure statuses outside 400..599 (go-openai treats < 200 as
	// failure too).
	return refine.ErrUnavailable, false
}

// hint returns advice for errors whose cause is usually the caller's
// configuration, or "".
func (p *Provider) hint(pe *refine.ProviderError, nonJSON bool) string {
	switch {
	case pe.Permanent && pe.Kind == refine.ErrRateLimited:
		return "quota exhausted, not retryable: check the plan and billing of the account"
	case p.azure && (pe.Code == codeDeploymentNotFound || pe.StatusCode == http.StatusNotFound):
		return fmt.Sprintf("Azure deployment %q not found for model %q: check the deployment name mapping (WithAzureDeployment) and the endpoint %s",
			p.deployment, p.model, p.endpoint)
	case pe.StatusCode == http.StatusNotFound && nonJSON && p.owned:
		return fmt.Sprintf("nothing answers at %s/chat/completions: check the base URL; OpenAI-compatible servers usually need the /v1 suffix (Ollama: http://localhost:11434/v1)",
			strings.TrimRight(p.endpoint, "/"))
	}
	return ""
}

// errorCode returns the error's code as a string (the API sends strings,
// Azure sometimes numbers), or its type when it has no code. go-openai
// decodes "code": null, which the API often sends, as the int 0.
func errorCode(e *goopenai.APIError) string {
	switch c := e.Code.(type) {
	case nil:
	case string:
		if c != "" {
			return c
		}
	case int:
		if c != 0 {
			return strconv.Itoa(c)
		}
	default:
		return fmt.Sprint(c)
	}
	return e.Type
}

// unreachable reports a failure to get any response: refused connections,
// DNS failures, resets, timeouts of the HTTP client.
func unreachable(err error) bool {
	var (
		ue *url.Error
		ne net.Error
	)
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// malformed reports a success response whose JSON could not be decoded.
func malformed(err error) bool {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.EOF)
}

// snippet returns the start of an error body, on one line, for messages.
func snippet(body []byte) string {
	const max = 200
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return "(empty body)"
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// maxRetryAfter bounds the delays read from headers so that absurd values
// cannot overflow a time.Duration. refine.Complete refuses to wait anything
// near this long anyway.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads how long the server asked us to wait: retry-after-ms
// (OpenAI and Azure, milliseconds), else Retry-After in seconds or as an
// HTTP date (RFC 9110). It returns 0 when there is no usable value.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			return clampDelay(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return clampDelay(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampDelay(float64(t.Sub(now)))
	}
	return 0
}

// clampDelay converts nanoseconds to a Duration in [0, maxRetryAfter].
func clampDelay(ns float64) time.Duration {
	if math.IsNaN(ns) || ns <= 0 {
		return 0
	}
	if ns >= float64(maxRetryAfter) {
		return maxRetryAfter
	}
	return time.Duration(ns)
}
