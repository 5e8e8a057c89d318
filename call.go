package refine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Retry defaults. go-openai never retries and the Bedrock adapter turns the
// AWS SDK's retryer off, so this is the only retry layer: a throttled call
// is attempted at most 1+DefaultRetries times, never 3 × 3.
const (
	DefaultRetries    = 3
	defaultBackoff    = 500 * time.Millisecond
	defaultBackoffMax = 20 * time.Second
	// A Retry-After longer than this is not waited out: the error is
	// returned at once (a quota reset hours away is no reason to block).
	maxRetryAfter = 2 * time.Minute
)

// callEnv is the per-run environment the built-in judges and refiners use to
// reach a Provider. It travels in the context so that judges built by the
// user (NewLLMJudge on another provider) get the same retries, limits and
// observation as the loop's own calls.
type callEnv struct {
	retries    int
	backoff    time.Duration
	backoffMax time.Duration
	sem        *semaphore.Weighted // nil: no limit on concurrent calls
	gate       *gate               // shared Retry-After gate of the Loop
	observe    func(context.Context, Event)
	logger     *slog.Logger
}

type envKey struct{}

var defaultEnv = &callEnv{retries: DefaultRetries, backoff: defaultBackoff, backoffMax: defaultBackoffMax}

func withEnv(ctx context.Context, e *callEnv) context.Context {
	return context.WithValue(ctx, envKey{}, e)
}

func envFrom(ctx context.Context) *callEnv {
	if e, ok := ctx.Value(envKey{}).(*callEnv); ok {
		return e
	}
	return defaultEnv
}

// Complete sends req to p the way the loop does: transient failures
// (ErrRateLimited, ErrUnavailable, network timeouts) are retried with capped
// exponential backoff and jitter, honouring the provider's Retry-After, and
// the Loop's limit on concurrent calls applies. Inside a Run (ctx is the
// context a Judge or Refiner was given) the Loop's settings are used;
// elsewhere the defaults. Custom judges and refiners call it to get the
// same behaviour for their own model calls.
//
// A nil Response comes back with every error. A reply with a nil Response
// and nil error from p is reported as an error.
func Complete(ctx context.Context, p Provider, req *Request) (*Response, error) {
	env := envFrom(ctx)
	for attempt := 0; ; attempt++ {
		if err := env.gate.wait(ctx); err != nil {
			return nil, err
		}
		resp, err := env.once(ctx, p, req)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (last provider error: %v)", context.Cause(ctx), err)
		}
		if !IsTransient(err) || attempt >= env.retries {
			if attempt > 0 {
				return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return nil, err
		}
		delay := env.backoffFor(attempt)
		if ra := retryAfter(err); ra > 0 {
			if ra > maxRetryAfter {
				return nil, fmt.Errorf("provider asked to retry after %s, longer than refine waits (%s): %w", ra, maxRetryAfter, err)
			}
			delay = ra
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, fmt.Errorf("retry in %s would pass the context deadline: %w", delay, err)
		}
		if ra := retryAfter(err); ra > 0 {
			env.gate.hold(ra) // the other runs of the Loop wait too
		}
		if env.observe != nil {
			env.observe(ctx, Event{Kind: EventRetry, Attempt: attempt + 1, Delay: delay, Err: err})
		}
		if env.logger != nil {
			env.logger.DebugContext(ctx, "refine: retrying model call", "attempt", attempt+1, "delay", delay, "error", err)
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// once makes a single call under the Loop's concurrency limit.
func (env *callEnv) once(ctx context.Context, p Provider, req *Request) (*Response, error) {
	if env.sem != nil {
		if err := env.sem.Acquire(ctx, 1); err != nil {
			return nil, err
		}
		defer env.sem.Release(1)
	}
	resp, err := p.Complete(ctx, req)
	if err == nil && resp == nil {
		err = errors.New("refine: provider returned a nil response and no error")
	}
	return resp, err
}

// backoffFor returns the wait before retry number attempt+1: exponential
// from env.backoff, capped at env.backoffMax, with "equal jitter" (half
// fixed, half random) so that concurrent runs do not retry in lockstep.
func (env *callEnv) backoffFor(attempt int) time.Duration {
	d := env.backoff
	for i := 0; i < attempt && d < env.backoffMax; i++ {
		d *= 2
	}
	d = min(d, env.backoffMax)
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

// gate holds back every call through a Loop after a provider asked for a
// pause with Retry-After, so that concurrent runs wait it out together
// instead of each hammering the API. A nil *gate never waits.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) hold(d time.Duration) {
	if g == nil {
		return
	}
	t := time.Now().Add(d)
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.mu.Unlock()
}

func (g *gate) wait(ctx context.Context) error {
	if g == nil {
		return ctx.Err()
	}
	g.mu.Lock()
	d := time.Until(g.until)
	g.mu.Unlock()
	return sleep(ctx, d)
}
