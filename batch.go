package refine

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// BatchResult is the outcome of one query of a batch: the Result, the
// error, or both (a partial result), as Run returns them.
type BatchResult struct {
	Query  string
	Result *Result
	Err    error
}

// RunBatch runs every query through the Loop, at most concurrency at a time,
// and returns one BatchResult per query, in input order. A failing query
// does not stop the others. When ctx ends, runs in flight return promptly
// with the context's error and queries not yet started get it without any
// model call.
//
// opts apply to every query, as in Run. RunBatch returns an error, and no
// results, only for bad input that concerns the whole batch: concurrency < 1,
// an invalid option (ErrInvalidOption), a part whose Validate fails, or a
// stop condition that refuses the run before the first call (CostBudget
// without prices). A blank query is that query's ErrEmptyQuery. Progress
// can be followed with WithObserver (EventStopped ends each query). The
// queries share the Loop's providers, so a Retry-After one of them
// receives pauses them all; to cap the model calls in flight across the
// batch (and anything else using the provider), give it a LimitProvider.
func (l *Loop) RunBatch(ctx context.Context, queries []string, concurrency int, opts ...Option) ([]BatchResult, error) {
	if l == nil {
		l = Default()
	}
	if concurrency < 1 {
		return nil, optionError("RunBatch concurrency", concurrency, "must be >= 1")
	}
	// One Loop for the whole batch: opts are validated once, and the
	// queries share the judge and refiner built from them.
	c := l.cfg
	c.apply(opts)
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.precheck(); err != nil { // refuses every query alike
		return nil, err
	}
	bl := &Loop{cfg: c}
	bl.judge, bl.refiner = c.parts()
	out := make([]BatchResult, len(queries))
	var g errgroup.Group // no WithContext: one failure must not cancel the rest
	g.SetLimit(concurrency)
	for i, q := range queries {
		out[i].Query = q
		if ctx.Err() != nil {
			out[i].Err = context.Cause(ctx)
			continue
		}
		g.Go(func() error {
			out[i].Err = protect(fmt.Sprintf("query %d", i), func() error {
				var err error
				out[i].Result, err = bl.Run(ctx, q)
				return err
			})
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through out
	return out, nil
}
