package refine

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by the loop for bad input. They are returned before any
// model call is made.
var (
	// ErrNoProvider: Run needs a model (for drafting, judging or refining)
	// and none was configured on the Loop or passed to Run.
	ErrNoProvider = errors.New("refine: no provider configured (use WithProvider, or SetDefault with a Loop that has one)")
	// ErrEmptyQuery: the query has no visible character (it is empty, or
	// only white space, zero-width or format characters, BOM or NUL).
	ErrEmptyQuery = errors.New("refine: empty query")
	// ErrInvalidOption is wrapped by every option validation error; the
	// error's text names the option and the bad value.
	ErrInvalidOption = errors.New("invalid option")
)

// Error kinds of provider failures. Adapters classify the SDK's errors into
// these kinds with a *ProviderError, so that errors.Is works on every
// provider alike. Rate limits and unavailability are transient:
// RetryProvider retries them. The others fail at once.
var (
	ErrRateLimited    = errors.New("rate limited")
	ErrAuth           = errors.New("authentication failed")
	ErrContextLength  = errors.New("context length exceeded")
	ErrUnavailable    = errors.New("provider unavailable")
	ErrInvalidRequest = errors.New("invalid request")
)

// ErrUnreadableVerdict is wrapped by a *VerdictError: a judge's reply held
// no score that could be read, even after one repair request.
var ErrUnreadableVerdict = errors.New("unreadable verdict")

// ProviderError is a classified provider failure. Kind is one of the
// sentinels (ErrRateLimited, ErrAuth, ErrContextLength, ErrUnavailable,
// ErrInvalidRequest); Err is the SDK's own error. Both are reachable:
// errors.Is(err, refine.ErrRateLimited) and errors.As(err, &sdkErr) work.
type ProviderError struct {
	Kind       error         // the classification sentinel
	Provider   string        // "openai", "bedrock", ...
	StatusCode int           // HTTP status, when there was one
	Code       string        // the provider's error code or type, e.g. "insufficient_quota"
	Message    string        // the provider's message, as it gave it
	Hint       string        // the adapter's advice on the usual cause, e.g. "use an inference-profile id"
	RetryAfter time.Duration // how long the provider asked us to wait; 0 if it did not say
	// Permanent marks an error of a transient kind that must not be
	// retried, such as a 429 for an exhausted quota. RetryProvider retries
	// an error wrapping ErrRateLimited or ErrUnavailable unless it is a
	// *ProviderError marked Permanent.
	Permanent bool
	Err       error // the underlying SDK error
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("provider error")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, ", %s", e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString("; hint: ")
		b.WriteString(e.Hint)
	}
	if e.Permanent {
		b.WriteString(" [not retryable]")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " [retry after %s]", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the kind and the SDK error.
func (e *ProviderError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// StepError says which round and stage of a run failed. It wraps the cause.
type StepError struct {
	Round     int    // 0 for the drafts, 1.. for refinement rounds
	Candidate int    // the draft's index when Round is 0 (named in the message when > 0)
	Stage     string // "draft", "judge", "refine", "guard" or "stop" (a stop rule that could not decide)
	// Usage is every token the run spent before it failed, as
	// Result.Usage would count them. It matters when no attempt was
	// judged: then Run returns no Result, and this is where the spent
	// tokens are told.
	Usage Usage
	Err   error
}

func (e *StepError) Error() string {
	if e.Round == 0 && e.Candidate > 0 {
		return fmt.Sprintf("refine: %s of candidate %d failed: %v", e.Stage, e.Candidate, e.Err)
	}
	if e.Round == 0 {
		return fmt.Sprintf("refine: %s failed: %v", e.Stage, e.Err)
	}
	return fmt.Sprintf("refine: round %d: %s failed: %v", e.Round, e.Stage, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// VerdictError is returned by the LLM judges when the model's reply could
// not be read as a verdict, even after asking once to restate it. It
// wraps ErrUnreadableVerdict.
//
// A judge's reply quotes the answer it grades, and answers hold what
// users asked about, so the reply's text is kept out of everything that
// travels on its own: Error and Reason are in the package's own words
// ("no JSON object with a score and no score in the text", "score is text
// that is not a number") and never quote the reply, so that logs, traces
// and error reports carry no answer text. Raw is the first reply and
// RepairRaw the reply to the repair request, verbatim, for the caller who
// chooses to look at what the model actually said.
type VerdictError struct {
	Raw       string
	RepairRaw string
	Reason    string // why the reply could not be read, in the package's words; never the reply's text
	Usage     Usage  // tokens spent on the judge's calls
}

func (e *VerdictError) Error() string {
	return "refine: judge reply unreadable (" + e.Reason + ")"
}

// Unwrap returns ErrUnreadableVerdict.
func (e *VerdictError) Unwrap() error { return ErrUnreadableVerdict }

// optionError builds an ErrInvalidOption error naming the option and value.
func optionError(option string, value any, why string) error {
	return fmt.Errorf("refine: %s(%v): %s: %w", option, value, why, ErrInvalidOption)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// WithUsage attaches the tokens a failed call spent to err, so that
// whoever counts usage (the Loop, eval, your own code) counts them: a
// composite judge whose second part failed, a sampling judge with one
// failed sample. UsageOf reads them back. errors.Is and errors.As see
// through the returned error, and its message is err's. A nil err stays
// nil.
func WithUsage(err error, u Usage) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err, usage: u}
}

type usageError struct {
	err   error
	usage Usage
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// UsageOf returns the tokens that err says were spent before it happened.
// Carriers are errors made by WithUsage, *StepError and *VerdictError.
// UsageOf walks err's chain in errors.As order (through Unwrap methods;
// an error's own As method is not consulted) and returns the first
// carrier's usage: a carrier's usage already includes what it wraps (a
// *StepError carries the whole run's). Where the chain forks (errors.Join,
// or any error whose Unwrap returns []error) it returns the sum of the
// first carrier of each branch. A nil error, or one with no carrier,
// gives the zero Usage.
func UsageOf(err error) Usage {
	u, _ := usageOf(err)
	return u
}

func usageOf(err error) (Usage, bool) {
	switch e := err.(type) {
	case nil:
		return Usage{}, false
	case *usageError:
		return e.usage, true
	case *StepError:
		return e.Usage, true
	case *VerdictError:
		return e.Usage, true
	case interface{ Unwrap() error }:
		return usageOf(e.Unwrap())
	case interface{ Unwrap() []error }:
		var sum Usage
		found := false
		for _, c := range e.Unwrap() {
			if u, ok := usageOf(c); ok {
				sum, found = sum.Add(u), true
			}
		}
		return sum, found
	}
	return Usage{}, false
}
