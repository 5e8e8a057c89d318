package refine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// RetryPolicy says how RetryProvider retries a failed call. The zero value
// is the default policy: 3 retries, backoff from 500ms doubling up to 20s,
// and a Retry-After of up to 2 minutes waited out.
//
// Only transient failures are retried: errors wrapping ErrRateLimited or
// ErrUnavailable (unless a *ProviderError marks them Permanent, as for an
// exhausted quota) and network timeouts. Auth, invalid request and context
// length errors fail at once.
type RetryPolicy struct {
	MaxRetries int           // 0 = the default (3); negative = no retries
	Base, Max  time.Duration // exponential backoff with jitter; zero = defaults (500ms, 20s)
	// MaxRetryAfter is the longest Retry-After waited out; a provider that
	// asks for longer fails at once with its error. Zero = the default (2m).
	MaxRetryAfter time.Duration
}

// Defaults of the zero RetryPolicy.
const (
	defaultRetries       = 3
	defaultBackoff       = 500 * time.Millisecond
	defaultBackoffMax    = 20 * time.Second
	defaultMaxRetryAfter = 2 * time.Minute
)

// withDefaults fills the zero fields.
func (rp RetryPolicy) withDefaults() RetryPolicy {
	if rp.MaxRetries == 0 {
		rp.MaxRetries = defaultRetries
	} else if rp.MaxRetries < 0 {
		rp.MaxRetries = 0
	}
	if rp.Base == 0 {
		rp.Base = defaultBackoff
	}
	if rp.Max == 0 {
		rp.Max = max(defaultBackoffMax, rp.Base)
	}
	if rp.MaxRetryAfter == 0 {
		rp.MaxRetryAfter = defaultMaxRetryAfter
	}
	return rp
}

func (rp RetryPolicy) validate(name string) error {
	switch {
	case rp.Base < 0:
		return optionError(name, fmt.Sprintf("Base: %s", rp.Base), "must be >= 0")
	case rp.Max < 0:
		return optionError(name, fmt.Sprintf("Max: %s", rp.Max), "must be >= 0")
	case rp.Max != 0 && rp.Max < rp.Base:
		return optionError(name, fmt.Sprintf("Base: %s, Max: %s", rp.Base, rp.Max), "Max must be >= Base")
	case rp.MaxRetryAfter < 0:
		return optionError(name, fmt.Sprintf("MaxRetryAfter: %s", rp.MaxRetryAfter), "must be >= 0")
	}
	return nil
}

// RetryProvider returns a Provider that calls p and retries its transient
// failures under policy, with exponential backoff and jitter, waiting out
// the provider's Retry-After instead when it gives one (*ProviderError's
// RetryAfter).
//
// It is for providers of your own. The built-in adapters retry by
// default (openai.WithRetry and bedrock.WithRetry set their policy), and a
// Loop never wraps a provider, so retries are the provider's business on
// every path: WithProvider, WithJudgeProvider, a judge you built, a part
// of a composite judge, the regression guard. When p already retries (it
// is, or wraps through Unwrap() Provider methods, a Retrier whose Retries
// reports true: an adapter, or the result of RetryProvider), RetryProvider
// returns p itself and policy is not used: one layer of retries, so that
// a policy of N retries means N+1 requests per call, never (N+1)². Tune
// such a provider through its own options.
//
// A Retry-After pause belongs to the returned Provider: while it lasts,
// every call through it waits (so concurrent runs do not hammer a
// throttled API), and no other Provider does. A wait that cannot end
// before the caller's deadline fails at once with an error wrapping
// ErrRateLimited that names the wait. p itself is never changed.
//
// A stream (see StreamProvider) is retried only before its first delta was
// delivered: a failure after that is returned, never silently restarted.
// The returned Provider is a StreamProvider exactly when p is.
//
// Like http.MaxBytesHandler, RetryProvider cannot return an error: it
// panics on a nil p or an invalid policy (negative durations, Max < Base),
// which are programming errors.
func RetryProvider(p Provider, policy RetryPolicy) Provider {
	if p == nil {
		panic("refine: RetryProvider(nil, ...)")
	}
	if err := policy.validate("RetryProvider"); err != nil {
		panic(err.Error())
	}
	if hasRetry(p) {
		return p
	}
	r := &retryProvider{p: p, policy: policy.withDefaults()}
	if sp, ok := p.(StreamProvider); ok {
		return &retryStreamProvider{retryProvider: r, sp: sp}
	}
	return r
}

// LimitProvider returns a Provider through which at most n calls of p are
// in flight at once; further calls wait their turn (or until their context
// ends). Wrap a provider once and share the result to cap a whole service.
// The returned Provider is a StreamProvider exactly when p is. It panics on
// a nil p or n < 1.
func LimitProvider(p Provider, n int) Provider {
	if p == nil {
		panic("refine: LimitProvider(nil, ...)")
	}
	if n < 1 {
		panic(fmt.Sprintf("refine: LimitProvider(p, %d): n must be >= 1", n))
	}
	l := &limitProvider{p: p, slots: make(chan struct{}, n)}
	if sp, ok := p.(StreamProvider); ok {
		return &limitStreamProvider{limitProvider: l, sp: sp}
	}
	return l
}

// A Retrier is a provider that retries transient failures itself, as the
// built-in adapters do by default. Retries reports whether it does (an
// adapter built with RetryPolicy{MaxRetries: -1} does not). RetryProvider
// adds no second layer around a Retrier that retries, found directly or
// through the Unwrap() Provider methods of wrappers, so that a policy of N
// retries means N+1 requests per call, never (N+1)².
type Retrier interface {
	Provider
	Retries() bool
}

// hasRetry reports whether p, or a provider it wraps, retries by itself.
func hasRetry(p Provider) bool {
	return inChain(p, func(p Provider) bool {
		r, ok := p.(Retrier)
		return ok && r.Retries()
	})
}

// maxUnwrap bounds a walk down Unwrap() Provider methods, so that a
// wrapper that (by mistake) wraps itself cannot hang it.
const maxUnwrap = 64

// inChain reports whether match holds for p or for a provider it wraps,
// found through Unwrap() Provider methods (as http.ResponseController
// finds a response writer's capabilities), at most maxUnwrap deep.
func inChain(p Provider, match func(Provider) bool) bool {
	for range maxUnwrap {
		if p == nil {
			return false
		}
		if match(p) {
			return true
		}
		w, ok := p.(interface{ Unwrap() Provider })
		if !ok {
			return false
		}
		p = w.Unwrap()
	}
	return false
}

type retryProvider struct {
	p      Provider
	policy RetryPolicy
	gate   gate
}

// Unwrap returns the provider that r retries.
func (r *retryProvider) Unwrap() Provider { return r.p }

// Retries reports whether r retries: true unless its policy has
// MaxRetries < 0.
func (r *retryProvider) Retries() bool { return r.policy.MaxRetries > 0 }

// Validate validates the wrapped provider, when it is a Validator.
func (r *retryProvider) Validate() error { return validateProvider(r.p) }

// Model returns the model of the wrapped provider, when it names one.
func (r *retryProvider) Model() string { return modelOf(r.p) }

func (r *retryProvider) Complete(ctx context.Context, req *Request) (*Response, error) {
	return r.do(ctx, func(ctx context.Context) (*Response, bool, error) {
		resp, err := r.p.Complete(ctx, req)
		return resp, false, err
	})
}

type retryStreamProvider struct {
	*retryProvider
	sp StreamProvider
}

func (r *retryStreamProvider) Stream(ctx context.Context, req *Request, delta func(string)) (*Response, error) {
	if delta == nil {
		delta = func(string) {}
	}
	return r.do(ctx, func(ctx context.Context) (*Response, bool, error) {
		started := false
		resp, err := r.sp.Stream(ctx, req, func(s string) {
			started = true
			delta(s)
		})
		return resp, started, err
	})
}

// do runs once until it succeeds, fails for good, or the policy runs out.
// once reports whether output reached the caller: then no retry is made.
func (r *retryProvider) do(ctx context.Context, once func(context.Context) (*Response, bool, error)) (*Response, error) {
	for attempt := 0; ; attempt++ {
		if err := r.gate.wait(ctx, r.policy.MaxRetryAfter); err != nil {
			return nil, err
		}
		resp, delivered, err := once(ctx)
		if err == nil {
			if resp == nil {
				return nil, errors.New("refine: provider returned a nil response and no error")
			}
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (last provider error: %w)", context.Cause(ctx), err)
		}
		ra := retryAfterOf(err)
		if ra > 0 {
			// The pause holds for every call through this provider,
			// whether or not this call goes on to retry.
			r.gate.hold(ra)
		}
		if delivered || !retryable(err) || attempt >= r.policy.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return nil, err
		}
		delay := backoff(r.policy, attempt)
		if ra > 0 {
			if ra > r.policy.MaxRetryAfter {
				return nil, fmt.Errorf("provider asked to retry after %s, longer than the policy waits (%s): %w", ra, r.policy.MaxRetryAfter, err)
			}
			delay = ra
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, fmt.Errorf("retry in %s would pass the context deadline: %w", delay, err)
		}
		observeRetry(ctx, attempt+1, delay, err)
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// retryable reports whether err is worth retrying: a transient kind not
// marked Permanent, or a timeout. It is asked only while the caller's
// context is live, so a deadline error here is the provider's own timeout
// (an HTTP client's, say), not the caller's. A cancellation never is.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if pe := (*ProviderError)(nil); errors.As(err, &pe) && pe.Permanent {
		return false
	}
	if errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfterOf returns the pause a *ProviderError in err asks for, or 0.
func retryAfterOf(err error) time.Duration {
	if pe := (*ProviderError)(nil); errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// backoff returns the wait before retry number attempt+1: exponential from
// Base, capped at Max, with "equal jitter" (half fixed, half random) so that
// concurrent runs do not retry in lockstep.
func backoff(rp RetryPolicy, attempt int) time.Duration {
	d := rp.Base
	for i := 0; i < attempt && d < rp.Max; i++ {
		d *= 2
	}
	d = min(d, rp.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// gate holds back every call through one RetryProvider after the provider
// asked for a pause with Retry-After.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) hold(d time.Duration) {
	t := time.Now().Add(d)
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.mu.Unlock()
}

// wait blocks until the pause is over, however often it is extended
// meanwhile. A pause longer than max, or one that would outlast ctx's
// deadline, fails at once.
func (g *gate) wait(ctx context.Context, max time.Duration) error {
	for {
		g.mu.Lock()
		d := time.Until(g.until)
		g.mu.Unlock()
		if d <= 0 {
			return ctx.Err()
		}
		if d > max {
			return fmt.Errorf("refine: the provider asked to pause for %s more, longer than the policy waits (%s): %w", d.Round(time.Millisecond), max, ErrRateLimited)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fmt.Errorf("refine: the provider asked to pause for %s more, past the context deadline: %w", d.Round(time.Millisecond), ErrRateLimited)
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

type limitProvider struct {
	p     Provider
	slots chan struct{}
}

// Unwrap returns the provider that l limits.
func (l *limitProvider) Unwrap() Provider { return l.p }

// Model returns the model of the wrapped provider, when it names one.
func (l *limitProvider) Model() string { return modelOf(l.p) }

// Validate validates the wrapped provider, when it is a Validator.
func (l *limitProvider) Validate() error { return validateProvider(l.p) }

// validateProvider is the Validate of wrappers: a wrapper is as valid as
// what it wraps.
func validateProvider(p Provider) error {
	var err error
	inChain(p, func(p Provider) bool {
		v, ok := p.(Validator)
		if ok {
			err = v.Validate()
		}
		return ok
	})
	return err
}

func (l *limitProvider) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (l *limitProvider) Complete(ctx context.Context, req *Request) (*Response, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.p.Complete(ctx, req)
}

type limitStreamProvider struct {
	*limitProvider
	sp StreamProvider
}

func (l *limitStreamProvider) Stream(ctx context.Context, req *Request, delta func(string)) (*Response, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.sp.Stream(ctx, req, delta)
}
