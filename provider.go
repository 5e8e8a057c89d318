package refine

import (
	"context"
	"encoding/json"
	"math"
)

// Provider is the model behind every step: drafting, judging and refining.
//
// Complete sends one chat request and returns the model's reply. It must be
// safe for concurrent use: a Loop calls it from many goroutines (parallel
// candidates, pairwise judges, concurrent runs). Implementations should
// return errors that wrap one of the classification sentinels
// (ErrRateLimited, ErrUnavailable, ErrAuth, ...) so that RetryProvider
// knows what to retry; a *ProviderError does that and carries the detail.
// The Loop calls a provider as it is given and never retries: retries are
// the provider's own (the built-in adapters retry by default).
type Provider interface {
	Complete(ctx context.Context, req *Request) (*Response, error)
}

// ProviderFunc adapts an ordinary function to the Provider interface, as
// http.HandlerFunc does for handlers.
type ProviderFunc func(ctx context.Context, req *Request) (*Response, error)

// Complete calls f(ctx, req).
func (f ProviderFunc) Complete(ctx context.Context, req *Request) (*Response, error) {
	return f(ctx, req)
}

// Role is the author of a Message.
type Role string

// The roles of a chat conversation.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of a chat conversation.
type Message struct {
	Role    Role
	Content string
}

// Sampling holds the sampling settings of a request. The zero value means
// "the provider's defaults" throughout: a nil pointer or a zero MaxTokens is
// not sent. Temperature and TopP are pointers because an explicit 0 is a
// real value (greedy decoding) that must reach the wire.
type Sampling struct {
	Temperature *float64 // 0..2; nil: provider default
	TopP        *float64 // 0..1; nil: provider default
	MaxTokens   int      // > 0: cap on generated tokens; 0: provider default
	Stop        []string // stop sequences
	Seed        *int64   // best-effort determinism where the provider supports it
}

// Request is one call to a Provider.
type Request struct {
	Messages []Message
	Sampling
	// TopLogprobs > 0 asks for per-token log-probabilities with this many
	// alternatives. A provider that never returns them (Bedrock) fails with
	// an error wrapping errors.ErrUnsupported; one whose model ignores the
	// request may answer with no Logprobs. Callers handle both.
	TopLogprobs int
	// JSON asks for a JSON object as the reply. Providers use a native JSON
	// mode where they have one and otherwise instruct the model.
	JSON bool
	// Schema, when set, asks for a JSON reply valid against it. Providers
	// use the model's native structured output where they have it (OpenAI
	// response_format json_schema, Bedrock Converse outputConfig) and an
	// instruction carrying the schema otherwise. Schema implies JSON.
	Schema *Schema
}

// Schema is a JSON Schema the answer must be valid against.
type Schema struct {
	Name   string          // short identifier, e.g. "invoice"
	Schema json.RawMessage // the JSON Schema object
}

// StreamProvider is a Provider that can stream. The loop uses Stream for
// drafts and refinements when someone listens for EventDelta, and Complete
// otherwise.
type StreamProvider interface {
	Provider
	// Stream calls delta with each piece of the answer's text as it
	// arrives, in order and from one goroutine, and returns what Complete
	// would have returned (the whole text, usage, finish reason). When it
	// fails after some deltas, the error comes back and the text delivered
	// so far is not an answer. A nil delta is allowed: nothing listens.
	Stream(ctx context.Context, req *Request, delta func(text string)) (*Response, error)
}

// Usage counts the tokens of one or more calls.
//
// Counts are never negative, and the parts are never larger than their
// wholes: CachedInputTokens <= InputTokens and ReasoningTokens <=
// OutputTokens. The loop rejects a provider's response that breaks these
// rules (the call fails with an error naming the counts, as
// refinetest.TestProvider reports it) rather than clamping it, since a
// server that miscounts one field cannot be trusted on the others; Cost
// clamps the cached part to InputTokens all the same, so no Usage prices
// below zero. Sums saturate at math.MaxInt rather than wrap, so a budget
// on tokens always fires.
type Usage struct {
	InputTokens  int
	OutputTokens int
	// CachedInputTokens is the part of InputTokens read from the
	// provider's prompt cache (billed at a lower price).
	CachedInputTokens int
	// ReasoningTokens is the part of OutputTokens a reasoning model spent
	// thinking before it answered.
	ReasoningTokens int
}

// Total returns InputTokens + OutputTokens, at most math.MaxInt.
func (u Usage) Total() int { return addCount(u.InputTokens, u.OutputTokens) }

// Add returns the sum of u and v, field by field. A sum past math.MaxInt
// stays at math.MaxInt instead of wrapping to a negative number, and a
// negative count (which the loop never accepts from a provider or judge)
// adds nothing, so a running total never goes down.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:       addCount(u.InputTokens, v.InputTokens),
		OutputTokens:      addCount(u.OutputTokens, v.OutputTokens),
		CachedInputTokens: addCount(u.CachedInputTokens, v.CachedInputTokens),
		ReasoningTokens:   addCount(u.ReasoningTokens, v.ReasoningTokens),
	}
}

// addCount adds two token counts, saturating at math.MaxInt; a negative
// operand counts as zero.
func addCount(a, b int) int {
	a, b = max(a, 0), max(b, 0)
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// Response is a Provider's reply.
type Response struct {
	Text  string
	Usage Usage
	Model string
	// FinishReason is normalised by the adapters: "stop", "length" (cut off
	// by the token limit), "content_filter", or the provider's own word.
	FinishReason string
	// Logprobs holds one entry per generated token, only when the request
	// asked for TopLogprobs and the provider supports them.
	Logprobs []TokenLogprob
	// Batch says the reply came from a batch API (provider/openai's
	// WithBatch): a run prices it at the model's batch price (see
	// Price.BatchInput). A provider of your own that batches can set it.
	Batch bool
}

// The normalised finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length" // cut off by the token limit or the context window
	FinishContentFilter = "content_filter"
)

// TokenLogprob is the log-probability of one generated token, with the most
// likely alternatives at that position in Top.
type TokenLogprob struct {
	Token   string
	Logprob float64
	Top     []TokenLogprob
}

// Validator is implemented by any part that can be checked before a run:
// New and Run call Validate on every provider, judge (composite parts and
// the regression guard included), refiner and stop condition that has
// it, before any model call, and fail with its error (wrapped, so that
// errors.Is finds it). Every built-in part implements it. Validate must
// not call a model.
type Validator interface {
	Validate() error
}
