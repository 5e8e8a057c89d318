package refine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// throttledOnce answers "ok" (or a verdict for JSON requests), except that
// its first call fails with a 429 asking for a pause of ra.
type throttledOnce struct {
	ra    time.Duration
	mu    sync.Mutex
	calls []time.Time
}

func (p *throttledOnce) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	first := len(p.calls) == 1
	p.mu.Unlock()
	if first {
		return nil, refinetest.Transient(refine.ErrRateLimited, p.ra)
	}
	if req.JSON {
		return &refine.Response{Text: `{"score": 9, "issues": []}`}, nil
	}
	return &refine.Response{Text: "ok"}, nil
}

func (p *throttledOnce) times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.calls...)
}

// model answers every call at once: "ok", or a passing verdict when the
// request asks for JSON.
var model = refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.JSON {
		return &refine.Response{Text: `{"score": 9, "issues": []}`}, nil
	}
	return &refine.Response{Text: "ok"}, nil
})

// retryEvents returns an observer that sends every EventRetry on a channel.
// The event is emitted after the pause was recorded, so a test that waits
// for it knows the provider is held back.
func retryEvents() (refine.Option, <-chan refine.Event) {
	ch := make(chan refine.Event, 16)
	return refine.WithObserver(func(_ context.Context, e refine.Event) {
		if e.Kind == refine.EventRetry {
			ch <- e
		}
	}), ch
}

// A Retry-After from provider A must not hold back provider B: not in a
// concurrent run, not in a later one, not through the same Loop and not
// through the package-level Run.
func TestRetryAfterStaysWithItsProvider(t *testing.T) {
	long := refine.RetryPolicy{MaxRetryAfter: time.Hour}
	a := &throttledOnce{ra: time.Minute}
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, opts ...refine.Option) (*refine.Result, error)
	}{
		{"same Loop", func() func(context.Context, ...refine.Option) (*refine.Result, error) {
			l, err := refine.New()
			if err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context, opts ...refine.Option) (*refine.Result, error) {
				return l.Run(ctx, "q", opts...)
			}
		}()},
		{"package-level Run", func(ctx context.Context, opts ...refine.Option) (*refine.Result, error) {
			return refine.Run(ctx, "q", opts...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &throttledOnce{ra: a.ra}
			obs, retries := retryEvents()
			ctxA, cancelA := context.WithCancel(context.Background())
			doneA := make(chan error, 1)
			go func() {
				_, err := tc.run(ctxA, refine.WithProvider(refine.RetryProvider(a, long)), obs)
				doneA <- err
			}()
			<-retries // A is paused for a minute now

			// A concurrent run on B: a deadline far shorter than A's pause
			// would make any wait on A's pause fail at once.
			ctxB, cancelB := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancelB()
			if res, err := tc.run(ctxB, refine.WithProvider(refine.RetryProvider(model, long))); err != nil || res.Answer != "ok" {
				t.Fatalf("run on B during A's pause = %v, %v; want it untouched", res, err)
			}
			cancelA()
			if err := <-doneA; !errors.Is(err, context.Canceled) {
				t.Errorf("run on A = %v, want canceled", err)
			}
			// A later run on B, after A's run was cancelled mid-pause.
			if res, err := tc.run(ctxB, refine.WithProvider(refine.RetryProvider(model, long))); err != nil || res.Answer != "ok" {
				t.Fatalf("later run on B = %v, %v; want it untouched", res, err)
			}
		})
	}
}

// Runs calling through one wrapped provider wait out its pause together.
func TestRetryAfterHoldsEveryRunOfTheProvider(t *testing.T) {
	const pause = 80 * time.Millisecond
	p := &throttledOnce{ra: pause}
	shared := refine.RetryProvider(p, refine.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond})
	l, err := refine.New(refine.WithProvider(shared), refine.WithJudge(refinetest.NewJudge(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	obs, retries := retryEvents()
	errc := make(chan error, 1)
	go func() { _, err := l.Run(context.Background(), "first", obs); errc <- err }()
	<-retries // the 429 came back and the pause is recorded
	if _, err := l.Run(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	calls := p.times()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (the 429, then one draft per run)", len(calls))
	}
	for _, c := range calls[1:] {
		if gap := c.Sub(calls[0]); gap < pause {
			t.Errorf("a call went out %s after the 429, before its %s Retry-After passed", gap, pause)
		}
	}
}

// With a separate judge model, the judge's 429 does not delay drafting.
func TestJudgePauseDoesNotDelayTheGenerator(t *testing.T) {
	judgeModel := &throttledOnce{ra: time.Minute}
	gen := refinetest.NewProvider("draft 1", "draft 2")
	l, err := refine.New(refine.WithProvider(gen),
		refine.WithJudgeProvider(refine.RetryProvider(judgeModel, refine.RetryPolicy{MaxRetryAfter: time.Hour})))
	if err != nil {
		t.Fatal(err)
	}
	obs, retries := retryEvents()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 2)
	go func() { _, err := l.Run(ctx, "first", obs); errc <- err }()
	<-retries // the judge model is paused for a minute

	drafted := make(chan struct{})
	go func() {
		_, err := l.Run(ctx, "second", refine.WithObserver(func(_ context.Context, e refine.Event) {
			if e.Kind == refine.EventDraft {
				close(drafted)
			}
		}))
		errc <- err
	}()
	<-drafted // the generator answered while the judge is paused
	cancel()
	for range 2 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("run = %v, want canceled while the judge waits", err)
		}
	}
	if gen.Calls() != 2 {
		t.Errorf("generator calls = %d, want 2", gen.Calls())
	}
}

// A pause that would outlast the caller's deadline fails at once, naming
// the wait, instead of sleeping into the deadline.
func TestPausePastDeadlineFailsAtOnce(t *testing.T) {
	p := &throttledOnce{ra: time.Minute}
	shared := refine.RetryProvider(p, refine.RetryPolicy{MaxRetryAfter: time.Hour})
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The first call gets the 429: its one-minute retry cannot fit the
	// deadline, so it fails at once, and the pause stays on the provider.
	if _, err := shared.Complete(ctx, req); !errors.Is(err, refine.ErrRateLimited) {
		t.Fatalf("first call: err = %v, want the 429", err)
	}
	start := time.Now()
	_, err := shared.Complete(ctx, req)
	if !errors.Is(err, refine.ErrRateLimited) || !strings.Contains(err.Error(), "pause") {
		t.Fatalf("err = %v, want ErrRateLimited naming the pause", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("waited %s; want an immediate failure", waited)
	}
	if n := len(p.times()); n != 1 {
		t.Errorf("%d calls reached the provider, want 1: the second must not", n)
	}
}

func TestRetryClassification(t *testing.T) {
	tests := []struct {
		err   error
		calls int // calls made with MaxRetries 2
	}{
		{&refine.ProviderError{Kind: refine.ErrRateLimited}, 3},
		{&refine.ProviderError{Kind: refine.ErrUnavailable}, 3},
		{fmt.Errorf("wrapped: %w", refine.ErrUnavailable), 3},
		{&refine.ProviderError{Kind: refine.ErrRateLimited, Code: "insufficient_quota", Permanent: true}, 1},
		{&refine.ProviderError{Kind: refine.ErrAuth}, 1},
		{&refine.ProviderError{Kind: refine.ErrContextLength}, 1},
		{&refine.ProviderError{Kind: refine.ErrInvalidRequest}, 1},
		{fmt.Errorf("the provider's own timeout: %w", context.DeadlineExceeded), 3},
		{fmt.Errorf("x: %w", context.Canceled), 1},
		{errors.New("plain"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			p := refinetest.NewProvider()
			for i := 1; i <= 5; i++ {
				p.FailAt(i, tt.err)
			}
			rp := refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: 2, Base: time.Microsecond, Max: time.Microsecond})
			_, err := rp.Complete(context.Background(), &refine.Request{})
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.err)
			}
			if p.Calls() != tt.calls {
				t.Errorf("calls = %d, want %d", p.Calls(), tt.calls)
			}
		})
	}
	t.Run("negative MaxRetries means none", func(t *testing.T) {
		p := refinetest.NewProvider().FailAt(1, refine.ErrUnavailable)
		rp := refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: -1})
		if _, err := rp.Complete(context.Background(), &refine.Request{}); !errors.Is(err, refine.ErrUnavailable) || p.Calls() != 1 {
			t.Errorf("err = %v after %d calls, want one call", err, p.Calls())
		}
	})
	t.Run("a Retry-After longer than the policy allows fails at once", func(t *testing.T) {
		p := refinetest.NewProvider("ok").FailAt(1, refinetest.Transient(refine.ErrRateLimited, time.Hour))
		rp := refine.RetryProvider(p, refine.RetryPolicy{})
		_, err := rp.Complete(context.Background(), &refine.Request{})
		if !errors.Is(err, refine.ErrRateLimited) || !strings.Contains(err.Error(), "1h0m0s") || p.Calls() != 1 {
			t.Errorf("err = %v after %d calls, want the 1h wait named after one call", err, p.Calls())
		}
	})
}

// RetryProvider adds no second layer around a provider that already
// retries, found directly or through Unwrap (under a LimitProvider or a
// wrapper of your own): the first policy is kept, not stacked.
func TestRetryProviderDoesNotWrapTwice(t *testing.T) {
	again := refine.RetryPolicy{MaxRetries: 5, Base: time.Microsecond, Max: time.Microsecond}
	tests := []struct {
		name      string
		wrap      func(p refine.Provider) refine.Provider
		wantCalls int
		wantSame  bool // RetryProvider returns its argument
	}{
		{"raw provider: wrapped", func(p refine.Provider) refine.Provider { return p }, 6, false},
		{"RetryProvider", func(p refine.Provider) refine.Provider {
			return refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: 1, Base: time.Microsecond, Max: time.Microsecond})
		}, 2, true},
		{"under LimitProvider", func(p refine.Provider) refine.Provider {
			return refine.LimitProvider(refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: 1, Base: time.Microsecond, Max: time.Microsecond}), 2)
		}, 2, true},
		{"under a wrapper of your own", func(p refine.Provider) refine.Provider {
			return unwrapper{refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: 1, Base: time.Microsecond, Max: time.Microsecond})}
		}, 2, true},
		{"an adapter that retries", func(p refine.Provider) refine.Provider { return retrier{p, true} }, 1, true},
		{"an adapter with retries off: wrapped", func(p refine.Provider) refine.Provider { return retrier{p, false} }, 6, false},
		{"retries off: wrapped", func(p refine.Provider) refine.Provider {
			return refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: -1})
		}, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("draft")
			for i := 1; i <= 10; i++ {
				p.FailAt(i, refine.ErrUnavailable)
			}
			inner := tt.wrap(p)
			outer := refine.RetryProvider(inner, again)
			if same := outer == inner; same != tt.wantSame {
				t.Errorf("RetryProvider returned its argument: %v, want %v", same, tt.wantSame)
			}
			_, err := refine.Run(context.Background(), "q", refine.WithProvider(outer))
			if !errors.Is(err, refine.ErrUnavailable) || p.Calls() != tt.wantCalls {
				t.Errorf("err = %v after %d calls; want ErrUnavailable after %d", err, p.Calls(), tt.wantCalls)
			}
		})
	}
}

// unwrapper is a provider wrapper of a user's own that exposes what it
// wraps.
type unwrapper struct{ p refine.Provider }

func (u unwrapper) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return u.p.Complete(ctx, req)
}
func (u unwrapper) Unwrap() refine.Provider { return u.p }

// retrier stands for an adapter: a Retrier that says whether it retries
// (this one never does, whatever it says).
type retrier struct {
	refine.Provider
	on bool
}

func (r retrier) Retries() bool { return r.on }

// Wrappers are as valid as what they wrap: RetryProvider and LimitProvider
// pass Validate through, so New refuses a bad provider under them.
func TestWrappersValidate(t *testing.T) {
	bad := errors.New("bad provider")
	p := invalidProvider{refinetest.NewProvider("x"), bad}
	for _, w := range []refine.Provider{
		refine.RetryProvider(p, refine.RetryPolicy{}),
		refine.LimitProvider(p, 1),
		refine.LimitProvider(refine.RetryProvider(p, refine.RetryPolicy{}), 1),
	} {
		_, err := refine.New(refine.WithProvider(w))
		if !errors.Is(err, bad) {
			t.Errorf("New(WithProvider(%T)) = %v, want an error wrapping %v", w, err, bad)
		}
	}
}

// invalidProvider is a provider whose Validate fails.
type invalidProvider struct {
	*refinetest.Provider
	err error
}

func (p invalidProvider) Validate() error { return p.err }

func TestMiddlewareBadInput(t *testing.T) {
	p := refinetest.NewProvider()
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"retry nil", func() { refine.RetryProvider(nil, refine.RetryPolicy{}) }, "RetryProvider(nil"},
		{"retry negative base", func() { refine.RetryProvider(p, refine.RetryPolicy{Base: -time.Second}) }, "Base: -1s"},
		{"retry negative max", func() { refine.RetryProvider(p, refine.RetryPolicy{Max: -time.Second}) }, "Max: -1s"},
		{"retry max below base", func() { refine.RetryProvider(p, refine.RetryPolicy{Base: time.Second, Max: time.Millisecond}) }, "Max must be >= Base"},
		{"retry negative retry-after", func() { refine.RetryProvider(p, refine.RetryPolicy{MaxRetryAfter: -1}) }, "MaxRetryAfter"},
		{"limit nil", func() { refine.LimitProvider(nil, 1) }, "LimitProvider(nil"},
		{"limit zero", func() { refine.LimitProvider(p, 0) }, "LimitProvider(p, 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if v == nil || !strings.Contains(fmt.Sprint(v), tt.want) {
					t.Errorf("panic = %v, want one naming %q", v, tt.want)
				}
			}()
			tt.f()
		})
	}
}

// streamer streams "a", "b", "c" and can fail before or after its deltas.
type streamer struct {
	mu        sync.Mutex
	calls     int
	failFirst error // returned by the first call before any delta
	failAfter error // returned by the first call after its deltas
}

func (s *streamer) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return s.Stream(ctx, req, func(string) {})
}

func (s *streamer) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first && s.failFirst != nil {
		return nil, s.failFirst
	}
	for _, d := range []string{"a", "b", "c"} {
		delta(d)
	}
	if first && s.failAfter != nil {
		return nil, s.failAfter
	}
	return &refine.Response{Text: "abc"}, nil
}

// Middleware passes streams through; a stream is retried only before its
// first delta, never restarted after text was delivered.
func TestMiddlewareStreams(t *testing.T) {
	policy := refine.RetryPolicy{Base: time.Microsecond, Max: time.Microsecond}
	t.Run("retried before the first delta", func(t *testing.T) {
		s := &streamer{failFirst: refine.ErrUnavailable}
		sp, ok := refine.LimitProvider(refine.RetryProvider(s, policy), 2).(refine.StreamProvider)
		if !ok {
			t.Fatal("wrapping a StreamProvider must give a StreamProvider")
		}
		var got strings.Builder
		resp, err := sp.Stream(context.Background(), &refine.Request{}, func(d string) { got.WriteString(d) })
		if err != nil || resp.Text != "abc" || got.String() != "abc" || s.calls != 2 {
			t.Errorf("Stream = %v, %v, deltas %q, %d calls; want abc after one retry", resp, err, got.String(), s.calls)
		}
	})
	t.Run("not retried after a delta", func(t *testing.T) {
		s := &streamer{failAfter: refine.ErrUnavailable}
		sp := refine.RetryProvider(s, policy).(refine.StreamProvider)
		var got strings.Builder
		_, err := sp.Stream(context.Background(), &refine.Request{}, func(d string) { got.WriteString(d) })
		if !errors.Is(err, refine.ErrUnavailable) || s.calls != 1 || got.String() != "abc" {
			t.Errorf("err = %v, %d calls, deltas %q; want the error after one call", err, s.calls, got.String())
		}
	})
	t.Run("a provider that cannot stream stays so", func(t *testing.T) {
		if _, ok := refine.RetryProvider(refinetest.NewProvider(), policy).(refine.StreamProvider); ok {
			t.Error("RetryProvider of a plain Provider claims to stream")
		}
		if _, ok := refine.LimitProvider(refinetest.NewProvider(), 1).(refine.StreamProvider); ok {
			t.Error("LimitProvider of a plain Provider claims to stream")
		}
	})
}

// A pause is kept even when the call that received it gives up (no
// retries left, or a pause longer than the policy waits): the next call
// through the provider must not go out before it is over.
func TestPauseOutlivesTheCallThatGaveUp(t *testing.T) {
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}
	t.Run("no retries", func(t *testing.T) {
		const pause = 100 * time.Millisecond
		p := &throttledOnce{ra: pause}
		rp := refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: -1})
		if _, err := rp.Complete(context.Background(), req); !errors.Is(err, refine.ErrRateLimited) {
			t.Fatalf("first call: %v, want the 429", err)
		}
		if _, err := rp.Complete(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		calls := p.times()
		if len(calls) != 2 || calls[1].Sub(calls[0]) < pause {
			t.Errorf("calls at %v; want the second %s after the first", calls, pause)
		}
	})
	t.Run("longer than the policy waits", func(t *testing.T) {
		p := &throttledOnce{ra: time.Hour}
		rp := refine.RetryProvider(p, refine.RetryPolicy{})
		if _, err := rp.Complete(context.Background(), req); !errors.Is(err, refine.ErrRateLimited) {
			t.Fatalf("first call: %v, want the 429", err)
		}
		_, err := rp.Complete(context.Background(), req)
		if !errors.Is(err, refine.ErrRateLimited) || !strings.Contains(err.Error(), "longer than the policy waits") {
			t.Errorf("second call: %v, want an immediate ErrRateLimited naming the pause", err)
		}
		if n := len(p.times()); n != 1 {
			t.Errorf("%d calls reached the provider, want 1", n)
		}
	})
}
