package refine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// wrap is a user's provider wrapper: it exposes Unwrap() Provider and
// nothing else.
type wrap struct{ p refine.Provider }

func (w wrap) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return w.p.Complete(ctx, req)
}
func (w wrap) Unwrap() refine.Provider { return w.p }

// misconfigured is a provider whose Validate fails, with a model name.
type misconfigured struct{ *refinetest.Provider }

var errMisconfigured = errors.New("misconfigured: no region")

func (misconfigured) Validate() error { return errMisconfigured }
func (misconfigured) Model() string   { return "model-inside" }

// selfWrap wraps itself: a walk down Unwrap must still end.
type selfWrap struct{ p refine.Provider }

func (s *selfWrap) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return s.p.Complete(ctx, req)
}
func (s *selfWrap) Unwrap() refine.Provider { return s }

// Capabilities are found through a user's wrapper (API.md, third release):
// Validate of the provider inside, its model in events, and a wrapper that
// wraps itself does not hang the walk.
func TestCapabilitiesThroughUserWrappers(t *testing.T) {
	t.Run("Validate", func(t *testing.T) {
		inner := misconfigured{refinetest.NewProvider("an answer")}
		if _, err := refine.New(refine.WithProvider(wrap{inner})); !errors.Is(err, errMisconfigured) {
			t.Errorf("New = %v, want the wrapped provider's Validate error", err)
		}
		if _, err := refine.New(refine.WithJudge(refine.NewLLMJudge(wrap{inner}))); !errors.Is(err, errMisconfigured) {
			t.Errorf("New with a judge on it = %v, want the wrapped provider's Validate error", err)
		}
		if inner.Calls() != 0 {
			t.Errorf("%d model calls, want none", inner.Calls())
		}
	})
	t.Run("Model", func(t *testing.T) {
		inner := &named{refinetest.NewProvider("an answer", `{"score": 9}`)}
		var models []string
		_, err := refine.Run(context.Background(), "q", refine.WithProvider(wrap{inner}),
			refine.WithObserver(func(ctx context.Context, e refine.Event) {
				if e.Kind == refine.EventCall {
					models = append(models, e.Model)
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		if len(models) == 0 || models[0] != "named-model" {
			t.Errorf("EventCall models = %q, want the wrapped provider's %q", models, "named-model")
		}
	})
	t.Run("a wrapper that wraps itself", func(t *testing.T) {
		p := &selfWrap{p: refinetest.NewProvider("an answer")}
		if got := refine.RetryProvider(p, refine.RetryPolicy{}); got == refine.Provider(p) {
			t.Errorf("RetryProvider returned p unchanged: it found a retrier in a self-wrapping chain")
		}
		if _, err := refine.New(refine.WithProvider(p)); err != nil {
			t.Errorf("New = %v", err)
		}
	})
}

type named struct{ *refinetest.Provider }

func (named) Model() string { return "named-model" }
