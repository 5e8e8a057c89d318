package refinetest

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/selfrefine/refine"
)

// TestJudgeOn checks what a judge built on a model owes the loop when the
// model fails: build is called with providers TestJudgeOn makes (so that
// it can make them fail part-way) and must return a judge that calls the
// provider it is given, as build(p) = refine.NewLLMJudge(p) does.
//
//   - the judge implements refine.Validator; Validate returns nil on a
//     working provider and, on a provider whose own Validate fails, an
//     error wrapping that provider's (errors.Is), so that New and Run
//     refuse a bad model inside your judge before any call;
//   - on a working provider Evaluate returns a verdict (score within
//     0..10) whose Usage is exactly the tokens of the calls it made;
//   - for each call k of that evaluation, on a provider whose calls fail
//     from the k-th on (a permanent error), Evaluate returns no verdict
//     and an error that wraps the provider's, and whose refine.UsageOf is
//     exactly the tokens of the calls that succeeded before: tokens spent
//     are never lost, and never counted twice (see refine.WithUsage);
//   - it does not panic.
//
// The working provider answers every request with a JSON verdict
// ({"score": 7, ...}) and 100 input and 10 output tokens, and names no
// logprobs. TestJudgeOn returns nil or an error joining every violation
// found (errors.Join).
func TestJudgeOn(build func(refine.Provider) refine.Judge) error {
	if build == nil {
		return errors.New("refinetest.TestJudgeOn: build is nil")
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("refinetest.TestJudgeOn: "+format, args...))
	}
	newJudge := func(p refine.Provider) (j refine.Judge, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("build panicked: %v\n%s", v, debug.Stack())
			}
		}()
		j = build(p)
		if j == nil {
			return nil, errors.New("build returned a nil judge")
		}
		return j, nil
	}
	evaluate := func(j refine.Judge) (v *refine.Verdict, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return j.Evaluate(context.Background(), "What is the capital of France?", "Paris is the capital of France.")
	}

	// Validation.
	j, err := newJudge(&failingProvider{failFrom: 0})
	if err != nil {
		return fmt.Errorf("refinetest.TestJudgeOn: %w", err)
	}
	if v, ok := j.(refine.Validator); !ok {
		fail("the judge (%T) does not implement refine.Validator: New and Run cannot check it, or the model inside it, before a run", j)
	} else {
		if err := v.Validate(); err != nil {
			fail("Validate on a working provider: %v", err)
		}
		bad, err := newJudge(&failingProvider{invalid: errInvalidProvider})
		if err != nil {
			fail("%v", err)
		} else if bv, ok := bad.(refine.Validator); !ok {
			fail("the judge built on a misconfigured provider (%T) does not implement refine.Validator", bad)
		} else if err := bv.Validate(); !errors.Is(err, errInvalidProvider) {
			fail("Validate on a provider whose Validate fails: got %v, want an error wrapping the provider's (%v)", err, errInvalidProvider)
		}
	}

	// A working provider: how many calls an evaluation makes.
	ok := &failingProvider{}
	if j, err = newJudge(ok); err != nil {
		fail("%v", err)
		return errors.Join(errs...)
	}
	v, err := evaluate(j)
	calls := ok.successes()
	switch {
	case err != nil:
		fail("evaluation on a working provider: failed: %v", err)
	case v == nil:
		fail("evaluation on a working provider: returned a nil Verdict and a nil error")
	case !(v.Score >= 0 && v.Score <= 10):
		fail("evaluation on a working provider: score %v is outside 0..10", v.Score)
	case calls == 0:
		fail("the judge made no call to the provider it was built on; TestJudgeOn needs one that does")
	case v.Usage != ok.spent():
		fail("evaluation on a working provider: Verdict.Usage = %+v, want %+v (the tokens of the %d call(s) it made)", v.Usage, ok.spent(), calls)
	}
	if err != nil || calls == 0 {
		return errors.Join(errs...)
	}

	// The k-th call fails, and every later one.
	for k := 1; k <= calls; k++ {
		p := &failingProvider{failFrom: k}
		j, err := newJudge(p)
		if err != nil {
			fail("%v", err)
			continue
		}
		v, err := evaluate(j)
		what := fmt.Sprintf("calls failing from call %d of %d", k, calls)
		switch {
		case err == nil:
			fail("%s: returned a verdict (score %v) and no error; a score made without the model is made up", what, v.Score)
		case v != nil:
			fail("%s: returned a verdict with its error %v; return one or the other", what, err)
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, errInjected) {
			fail("%s: the error %v does not wrap the provider's (errors.Is fails)", what, err)
		}
		if got, want := refine.UsageOf(err), p.spent(); got != want {
			fail("%s: refine.UsageOf(err) = %+v, want %+v (the tokens of the %d call(s) that succeeded and what the failed ones reported with their errors; see refine.WithUsage and refine.UsageOf)", what, got, want, p.successes())
		}
	}
	return errors.Join(errs...)
}

var (
	errInjected        = &refine.ProviderError{Kind: refine.ErrInvalidRequest, Provider: "refinetest", Message: "injected permanent fault"}
	errInvalidProvider = errors.New("refinetest: this provider is misconfigured")
)

// perCall is the usage of every successful call of a failingProvider;
// perFailure what each of its failed calls reports with its error (a
// prompt read, no answer): a judge must count both.
var (
	perCall    = refine.Usage{InputTokens: 100, OutputTokens: 10}
	perFailure = refine.Usage{InputTokens: 100}
)

// failingProvider answers with a verdict until call failFrom (1-based; 0
// never fails), and fails from there on. It counts its successes, so the
// tokens it spent are known however calls interleave.
type failingProvider struct {
	failFrom int
	invalid  error // what Validate returns

	mu     sync.Mutex
	calls  int
	ok     int
	failed int
}

func (p *failingProvider) Validate() error { return p.invalid }

func (p *failingProvider) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.failFrom > 0 && p.calls >= p.failFrom {
		p.failed++
		return nil, refine.WithUsage(errInjected, perFailure)
	}
	p.ok++
	return &refine.Response{
		Text:         `{"score": 7, "criteria": {}, "issues": ["a small issue"], "suggestions": ["a fix"], "assessment": "good"}`,
		Usage:        perCall,
		Model:        "refinetest",
		FinishReason: refine.FinishStop,
	}, nil
}

func (p *failingProvider) successes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok
}

// spent is what the provider's calls spent: the successful ones' usage and
// what the failed ones reported with their errors.
func (p *failingProvider) spent() refine.Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return refine.Usage{
		InputTokens:  p.ok*perCall.InputTokens + p.failed*perFailure.InputTokens,
		OutputTokens: p.ok*perCall.OutputTokens + p.failed*perFailure.OutputTokens,
	}
}
