package refinetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/selfrefine/refine"
)

// Conformance checks in the manner of testing/fstest.TestFS: run them from
// your own test on your own Provider or Judge, and they report, in one
// error, every way it breaks what refine's loop relies on.
//
//	if err := refinetest.TestJudge(myJudge); err != nil {
//		t.Fatal(err)
//	}
//
// Run the test with -race: the checks call the implementation from several
// goroutines at once, and only the race detector sees unsynchronised state.

// concurrency is how many calls the checks make at the same time.
const concurrency = 8

// cancelWait is how long a call with a done context may take to return
// before it counts as ignoring its context. It is a limit, not a delay:
// an implementation that honours its context returns at once.
const cancelWait = 10 * time.Second

// TestProvider checks that p behaves as the loop needs a Provider to:
//
//   - a plain request gets a non-nil Response with non-blank Text and
//     non-negative token counts (CachedInputTokens within
//     InputTokens, ReasoningTokens within OutputTokens), or an error —
//     never (nil, nil);
//   - the request it is given is not modified;
//   - a canceled context, or one past its deadline, makes it return at
//     once an error wrapping context.Canceled or context.DeadlineExceeded,
//     and no response;
//   - it is safe for concurrent use: 8 simultaneous calls each get a
//     valid reply (run under -race to catch data races);
//   - it does not panic.
//
// It makes 1 + 8 calls that should succeed (with a scripted Provider, give
// it at least 9 replies) and 2 with a done context, and returns nil or an
// error joining every violation found (errors.Join). A call with a done
// context that never returns is reported after 10 seconds and left
// running.
func TestProvider(p refine.Provider) error {
	if p == nil {
		return errors.New("refinetest.TestProvider: the provider is nil")
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("refinetest.TestProvider: "+format, args...))
	}
	newReq := func(q string) *refine.Request {
		t := 0.0
		return &refine.Request{
			Messages:    []refine.Message{{Role: refine.RoleSystem, Content: "Answer in one short sentence."}, {Role: refine.RoleUser, Content: q}},
			Sampling:    refine.Sampling{Temperature: &t, MaxTokens: 64, Stop: []string{"\n\n\n"}},
			TopLogprobs: 0,
		}
	}
	complete := func(ctx context.Context, req *refine.Request) (resp *refine.Response, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			}
		}()
		return p.Complete(ctx, req)
	}
	checkReply := func(what string, resp *refine.Response, err error) {
		switch {
		case err != nil:
			fail("%s: failed: %v", what, err)
		case resp == nil:
			fail("%s: returned a nil Response and a nil error", what)
		default:
			u := resp.Usage
			if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
				fail("%s: negative token counts %+v", what, u)
			}
			if u.CachedInputTokens > u.InputTokens || u.ReasoningTokens > u.OutputTokens {
				fail("%s: usage %+v: cached tokens are part of InputTokens and reasoning tokens part of OutputTokens", what, u)
			}
			if refine.IsBlank(resp.Text) {
				fail("%s: returned blank Text (finish reason %q) and no error; the loop takes a blank answer for a failure", what, resp.FinishReason)
			}
		}
	}

	// A plain request, checked for changes made to it.
	req := newReq("What is the capital of France?")
	before := cloneRequest(req)
	resp, err := complete(context.Background(), req)
	checkReply("plain request", resp, err)
	if !reflect.DeepEqual(cloneRequest(req), before) {
		now, _ := json.Marshal(cloneRequest(req)) // JSON shows the values behind the pointers
		was, _ := json.Marshal(before)
		fail("plain request: the provider modified the request it was given: %s, was %s", now, was)
	}

	// Done contexts.
	checkDone(fail, "provider", "a Response; a call cut off returns none", func(ctx context.Context) (bool, error) {
		resp, err := complete(ctx, newReq("Name a colour."))
		return resp != nil, err
	})

	// Concurrent calls.
	var wg sync.WaitGroup
	resps := make([]*refine.Response, concurrency)
	cerrs := make([]error, concurrency)
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := "What is 2 + 2?"
			if i%2 == 1 {
				q = "대한민국의 수도는 어디인가요?"
			}
			resps[i], cerrs[i] = complete(context.Background(), newReq(q))
		}()
	}
	wg.Wait()
	for i := range concurrency {
		checkReply(fmt.Sprintf("concurrent call %d of %d", i+1, concurrency), resps[i], cerrs[i])
	}
	return errors.Join(errs...)
}

// TestJudge checks that j behaves as the loop needs a Judge to:
//
//   - it returns a non-nil Verdict or an error — never (nil, nil);
//   - the score is a number within 0..10, token counts are not negative,
//     and Dist, when set, holds 11 probabilities (scores 0..10) summing to 1;
//   - a canceled context, or one past its deadline, makes it return at
//     once an error wrapping context.Canceled or context.DeadlineExceeded,
//     and no verdict;
//   - it is safe for concurrent use: 8 simultaneous evaluations each get a
//     valid verdict (run under -race to catch data races);
//   - it does not panic.
//
// It makes 2 + 8 evaluations that should succeed (with a scripted Judge,
// give it at least 10 scores) and 2 with a done context, and returns nil
// or an error joining every violation found (errors.Join). An evaluation
// with a done context that never returns is reported after 10 seconds and
// left running.
func TestJudge(j refine.Judge) error {
	if j == nil {
		return errors.New("refinetest.TestJudge: the judge is nil")
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("refinetest.TestJudge: "+format, args...))
	}
	evaluate := func(ctx context.Context, q, a string) (v *refine.Verdict, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return j.Evaluate(ctx, q, a)
	}
	checkVerdict := func(what string, v *refine.Verdict, err error) {
		switch {
		case err != nil:
			fail("%s: failed: %v", what, err)
		case v == nil:
			fail("%s: returned a nil Verdict and a nil error", what)
		default:
			if !(v.Score >= 0 && v.Score <= 10) {
				fail("%s: score %v is outside 0..10", what, v.Score)
			}
			if u := v.Usage; u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
				fail("%s: negative token counts %+v", what, u)
			}
			if v.Dist != nil {
				sum, ok := 0.0, len(v.Dist) == 11
				for _, p := range v.Dist {
					ok = ok && p >= 0 && p <= 1
					sum += p
				}
				if !ok || math.Abs(sum-1) > 1e-6 {
					fail("%s: Dist %v is not 11 probabilities (scores 0..10) summing to 1", what, v.Dist)
				}
			}
		}
	}

	cases := [][2]string{
		{"What is the capital of France?", "Paris is the capital of France."},
		{"대한민국의 수도는 어디인가요?", "부산입니다."},
	}
	for i, c := range cases {
		v, err := evaluate(context.Background(), c[0], c[1])
		checkVerdict(fmt.Sprintf("evaluation %d", i+1), v, err)
	}

	checkDone(fail, "judge", "a Verdict; a judgement cut off returns none", func(ctx context.Context) (bool, error) {
		v, err := evaluate(ctx, cases[0][0], cases[0][1])
		return v != nil, err
	})

	var wg sync.WaitGroup
	vs := make([]*refine.Verdict, concurrency)
	verrs := make([]error, concurrency)
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cases[i%len(cases)]
			vs[i], verrs[i] = evaluate(context.Background(), c[0], c[1])
		}()
	}
	wg.Wait()
	for i := range concurrency {
		checkVerdict(fmt.Sprintf("concurrent evaluation %d of %d", i+1, concurrency), vs[i], verrs[i])
	}
	return errors.Join(errs...)
}

// checkDone calls call with a canceled and with an expired context and
// reports, through fail, a call that does not return at once with the
// context's error, or that returns a result (named by result) as well.
func checkDone(fail func(string, ...any), part, result string, call func(context.Context) (gotResult bool, err error)) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{{"canceled context", canceled, context.Canceled}, {"expired deadline", expired, context.DeadlineExceeded}} {
		done := make(chan struct{})
		var got bool
		var err error
		go func() {
			defer close(done)
			got, err = call(tc.ctx)
		}()
		t := time.NewTimer(cancelWait)
		select {
		case <-done:
			t.Stop()
			if !errors.Is(err, tc.want) {
				fail("%s: got error %v, want one wrapping %v", tc.name, err, tc.want)
			}
			if got {
				fail("%s: returned %s", tc.name, result)
			}
		case <-t.C:
			fail("%s: did not return within %v; a %s must honour its context", tc.name, cancelWait, part)
		}
	}
}
