package refine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// verdict returns a judge reply in the JSON shape the default prompt asks for.
func verdict(score float64, issue string) string {
	return fmt.Sprintf(`{"score": %g, "criteria": {"accuracy": %g}, "issues": [%q], "suggestions": ["fix: %s"], "assessment": "graded %g"}`,
		score, score, issue, issue, score)
}

// fast wraps p in retries with a short backoff: the Loop never wraps a
// provider, so retries in these tests are RetryProvider's.
func fast(p refine.Provider) refine.Provider {
	return refine.RetryProvider(p, refine.RetryPolicy{Base: time.Millisecond, Max: 4 * time.Millisecond})
}

func TestRunStopRules(t *testing.T) {
	tests := []struct {
		name       string
		scores     []float64
		opts       []refine.Option
		wantScores []float64 // scores of the attempts made
		wantBest   int
		wantReason refine.StopReason
	}{
		{"threshold reached on round 1", []float64{5, 9}, nil, []float64{5, 9}, 1, refine.StopThreshold},
		{"draft already good", []float64{8}, nil, []float64{8}, 0, refine.StopThreshold},
		{"max iterations (default 3)", []float64{3, 4, 5, 6}, nil, []float64{3, 4, 5, 6}, 3, refine.StopMaxIterations},
		{"zero iterations judges the draft only", []float64{3}, []refine.Option{refine.WithMaxIterations(0)}, []float64{3}, 0, refine.StopMaxIterations},
		{"best is not the last", []float64{7, 5, 6, 4}, nil, []float64{7, 5, 6, 4}, 0, refine.StopMaxIterations},
		{"a tie goes to the later attempt", []float64{6, 6}, []refine.Option{refine.WithMaxIterations(1)}, []float64{6, 6}, 1, refine.StopMaxIterations},
		{"threshold is inclusive", []float64{7.5}, []refine.Option{refine.WithThreshold(7.5)}, []float64{7.5}, 0, refine.StopThreshold},
		{"raised threshold keeps going", []float64{8.5, 8.5, 8.5, 8.5}, []refine.Option{refine.WithThreshold(9)}, []float64{8.5, 8.5, 8.5, 8.5}, 3, refine.StopMaxIterations},
		{"no improvement, patience 2", []float64{5, 6, 6, 5, 9}, []refine.Option{refine.WithStop(refine.NoImprovement(2)), refine.WithMaxIterations(10)},
			[]float64{5, 6, 6, 5}, 2, refine.StopNoImprovement},
		{"no improvement, patience 1", []float64{5, 4, 9}, []refine.Option{refine.WithStop(refine.NoImprovement(1))}, []float64{5, 4}, 0, refine.StopNoImprovement},
		{"custom stop rule", []float64{1, 2, 3, 4}, []refine.Option{refine.WithStop(refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
			if p.Round == 2 {
				return "mine", nil
			}
			return "", nil
		}))}, []float64{1, 2, 3}, 2, "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			judge := refinetest.NewJudge(tt.scores...)
			replies := make([]string, len(tt.scores))
			for i := range replies {
				replies[i] = fmt.Sprintf("answer %d", i)
			}
			p := refinetest.NewProvider(replies...)
			opts := append([]refine.Option{refine.WithProvider(p), refine.WithJudge(judge)}, tt.opts...)
			res, err := refine.Run(context.Background(), "question", opts...)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []float64
			for _, a := range res.Attempts {
				got = append(got, a.Verdict.Score)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantScores) {
				t.Errorf("attempt scores = %v, want %v", got, tt.wantScores)
			}
			if res.Best != tt.wantBest {
				t.Errorf("Best = %d, want %d", res.Best, tt.wantBest)
			}
			if want := fmt.Sprintf("answer %d", tt.wantBest); res.Answer != want {
				t.Errorf("Answer = %q, want %q", res.Answer, want)
			}
			if res.Score != tt.wantScores[tt.wantBest] {
				t.Errorf("Score = %v, want %v", res.Score, tt.wantScores[tt.wantBest])
			}
			if res.StopReason != tt.wantReason {
				t.Errorf("StopReason = %q, want %q", res.StopReason, tt.wantReason)
			}
			if p.Calls() != len(tt.wantScores) {
				t.Errorf("generation calls = %d, want %d", p.Calls(), len(tt.wantScores))
			}
		})
	}
}

func TestTokenBudget(t *testing.T) {
	// Every generation costs 1 (query) + 2 (reply) words; judge usage is 0.
	p := refinetest.NewProvider("two words", "two words!", "two words?", "two words.")
	res, err := refine.Run(context.Background(), "question",
		refine.WithProvider(p), refine.WithJudge(refinetest.NewJudge(1, 2, 3, 4)),
		refine.WithStop(refine.TokenBudget(5)), refine.WithSystemPrompt(""))
	if err != nil {
		t.Fatal(err)
	}
	// The draft spends 3 tokens (< 5): round 1 starts; after it the
	// budget is spent and round 2 does not start.
	if res.StopReason != refine.StopBudget || len(res.Attempts) != 2 {
		t.Errorf("got %d attempts, reason %q; want 2 attempts, %q", len(res.Attempts), res.StopReason, refine.StopBudget)
	}
	if res.Usage.Total() < 5 {
		t.Errorf("Usage = %+v, want at least the 5-token budget spent", res.Usage)
	}
}

func TestConverged(t *testing.T) {
	p := refinetest.NewProvider("same answer", "  same answer\n")
	judge := refinetest.NewJudge(4, 9)
	res, err := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithJudge(judge))
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != refine.StopConverged {
		t.Errorf("StopReason = %q, want %q", res.StopReason, refine.StopConverged)
	}
	if judge.Calls() != 1 || len(res.Attempts) != 1 {
		t.Errorf("judge calls = %d, attempts = %d; want 1 and 1 (an unchanged answer is not judged again)", judge.Calls(), len(res.Attempts))
	}
	if res.Usage.OutputTokens != 4 {
		t.Errorf("Usage.OutputTokens = %d, want 4 (the converged call is counted)", res.Usage.OutputTokens)
	}
}

// With the default LLM judge and refiner a round costs two model calls:
// refine, then judge (score and critique from one call).
func TestTwoCallsPerRound(t *testing.T) {
	p := refinetest.NewProvider(
		"draft", verdict(4, "too short"),
		"better", verdict(6, "still vague"),
		"best", verdict(9, "none"),
	)
	res, err := refine.Run(context.Background(), "Explain goroutines.", refine.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Calls(), 2*len(res.Attempts); got != want {
		t.Errorf("model calls = %d for %d attempts, want %d (2 per round)", got, len(res.Attempts), want)
	}
	if res.Answer != "best" || res.Score != 9 || res.StopReason != refine.StopThreshold {
		t.Errorf("got answer %q score %v reason %q; want best 9 threshold", res.Answer, res.Score, res.StopReason)
	}
	if got := res.Attempts[0].FinishReason; got != refine.FinishStop {
		t.Errorf("Attempts[0].FinishReason = %q, want %q", got, refine.FinishStop)
	}
	var sum refine.Usage
	for _, a := range res.Attempts {
		sum = sum.Add(a.Usage)
	}
	if res.Usage != sum || res.Usage.InputTokens == 0 {
		t.Errorf("Result.Usage = %+v, want the sum of attempts %+v (judge included)", res.Usage, sum)
	}
	reqs := p.Requests()
	judgeReq, refineReq := reqs[1], reqs[2]
	if !judgeReq.JSON || judgeReq.Temperature == nil || *judgeReq.Temperature != 0 {
		t.Errorf("judge request: JSON=%v temperature=%v; want JSON mode at temperature 0", judgeReq.JSON, judgeReq.Temperature)
	}
	last := refineReq.Messages[len(refineReq.Messages)-1].Content
	for _, want := range []string{"Explain goroutines.", "draft", "too short", "fix: too short"} {
		if !strings.Contains(last, want) {
			t.Errorf("refine prompt lacks %q:\n%s", want, last)
		}
	}
}

func TestHistoryInRefinePrompt(t *testing.T) {
	run := func(opts ...refine.Option) []refine.Request {
		p := refinetest.NewProvider("draft-0", "answer-1", "answer-2", "answer-3")
		opts = append(opts, refine.WithProvider(p), refine.WithJudge(refinetest.NewJudge(1, 2, 3, 4)))
		if _, err := refine.Run(context.Background(), "q", opts...); err != nil {
			t.Fatal(err)
		}
		return p.Requests()
	}
	t.Run("default shows the last attempt only", func(t *testing.T) {
		reqs := run()
		last := reqs[3].Messages[len(reqs[3].Messages)-1].Content
		if !strings.Contains(last, "answer-2") || strings.Contains(last, "answer-1") || strings.Contains(last, "draft-0") {
			t.Errorf("round 3 prompt should hold answer-2 only:\n%s", last)
		}
		// Prompts stay flat: round 3's prompt is no longer than round 1's
		// plus the difference in answer length.
		l1, l3 := len(reqs[1].Messages[1].Content), len(reqs[3].Messages[1].Content)
		if l3 > l1+10 {
			t.Errorf("prompt grew from %d to %d bytes over rounds", l1, l3)
		}
	})
	t.Run("WithHistory(3) shows more rounds", func(t *testing.T) {
		reqs := run(refine.WithHistory(3))
		last := reqs[3].Messages[len(reqs[3].Messages)-1].Content
		for _, want := range []string{"draft-0", "answer-1", "answer-2"} {
			if !strings.Contains(last, want) {
				t.Errorf("round 3 prompt lacks %q", want)
			}
		}
	})
}

func TestSamplingReachesRequests(t *testing.T) {
	p := refinetest.NewProvider("draft", verdict(9, "x"))
	_, err := refine.Run(context.Background(), "q", refine.WithProvider(p),
		refine.WithTemperature(0), refine.WithTopP(0.9), refine.WithMaxTokens(500), refine.WithSystemPrompt("be brief"))
	if err != nil {
		t.Fatal(err)
	}
	draft := p.Requests()[0]
	if draft.Temperature == nil || *draft.Temperature != 0 {
		t.Errorf("draft temperature = %v, want an explicit 0", draft.Temperature)
	}
	if draft.TopP == nil || *draft.TopP != 0.9 || draft.MaxTokens != 500 {
		t.Errorf("draft sampling = %+v, want top-p 0.9, 500 max tokens", draft.Sampling)
	}
	if draft.Messages[0] != (refine.Message{Role: refine.RoleSystem, Content: "be brief"}) {
		t.Errorf("draft system message = %+v, want the user's system prompt", draft.Messages[0])
	}
	if draft.Messages[1] != (refine.Message{Role: refine.RoleUser, Content: "q"}) {
		t.Errorf("draft user message = %+v", draft.Messages[1])
	}
}

func TestBadInputMakesNoCall(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		query    string
		opts     []refine.Option
		wantErr  error
		wantText string // the option and the value
	}{
		{"blank query", " \n\t", nil, refine.ErrEmptyQuery, "empty query"},
		{"temperature too high", "q", []refine.Option{refine.WithTemperature(2.5)}, refine.ErrInvalidOption, "WithTemperature(2.5)"},
		{"negative temperature", "q", []refine.Option{refine.WithTemperature(-0.1)}, refine.ErrInvalidOption, "WithTemperature(-0.1)"},
		{"NaN temperature", "q", []refine.Option{refine.WithTemperature(nan)}, refine.ErrInvalidOption, "WithTemperature(NaN)"},
		{"top-p above 1", "q", []refine.Option{refine.WithTopP(1.5)}, refine.ErrInvalidOption, "WithTopP(1.5)"},
		{"negative max tokens", "q", []refine.Option{refine.WithMaxTokens(-1)}, refine.ErrInvalidOption, "WithMaxTokens(-1)"},
		{"negative iterations", "q", []refine.Option{refine.WithMaxIterations(-2)}, refine.ErrInvalidOption, "WithMaxIterations(-2)"},
		{"threshold above 10", "q", []refine.Option{refine.WithThreshold(11)}, refine.ErrInvalidOption, "WithThreshold(11)"},
		{"zero candidates", "q", []refine.Option{refine.WithCandidates(0)}, refine.ErrInvalidOption, "WithCandidates(0)"},
		{"zero history", "q", []refine.Option{refine.WithHistory(0)}, refine.ErrInvalidOption, "WithHistory(0)"},
		{"zero-width query", "\u200b\u200c\u200d\u2060", nil, refine.ErrEmptyQuery, "empty query"},
		{"BOM and spaces", "\ufeff \u3000\u00a0", nil, refine.ErrEmptyQuery, "empty query"},
		{"NUL bytes", "\x00\x00", nil, refine.ErrEmptyQuery, "empty query"},
		{"Hangul filler", "\u3164\u115f", nil, refine.ErrEmptyQuery, "empty query"},
		{"invalid UTF-8", "abc\xff", nil, refine.ErrInvalidOption, "byte 3 is 0xff"},
		{"iterations absurd", "q", []refine.Option{refine.WithMaxIterations(1_000_000_000)}, refine.ErrInvalidOption, "WithMaxIterations(1000000000)"},
		{"iterations just past the bound", "q", []refine.Option{refine.WithMaxIterations(101)}, refine.ErrInvalidOption, "within [0, 100]"},
		{"candidates absurd", "q", []refine.Option{refine.WithCandidates(100000)}, refine.ErrInvalidOption, "WithCandidates(100000)"},
		{"nil provider", "q", []refine.Option{refine.WithProvider(nil)}, refine.ErrInvalidOption, "WithProvider(nil)"},
		{"nil judge", "q", []refine.Option{refine.WithJudge(nil)}, refine.ErrInvalidOption, "WithJudge(nil)"},
		{"nil refiner", "q", []refine.Option{refine.WithRefiner(nil)}, refine.ErrInvalidOption, "WithRefiner(nil)"},
		{"patience 0", "q", []refine.Option{refine.WithStop(refine.NoImprovement(0))}, refine.ErrInvalidOption, "NoImprovement(0)"},
		{"budget 0", "q", []refine.Option{refine.WithStop(refine.TokenBudget(0))}, refine.ErrInvalidOption, "TokenBudget(0)"},
		{"judge option", "q", []refine.Option{refine.WithJudge(refine.NewLLMJudge(refinetest.NewProvider(), refine.WithCriteria()))},
			refine.ErrInvalidOption, "WithCriteria(none)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("never")
			l, err := refine.New(refine.WithProvider(p))
			if err != nil {
				t.Fatal(err)
			}
			res, err := l.Run(context.Background(), tt.query, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to name %q", err, tt.wantText)
			}
			if res != nil || p.Calls() != 0 {
				t.Errorf("result %v and %d calls; want no result and no model call", res, p.Calls())
			}
		})
	}
}

func TestNewValidatesOnce(t *testing.T) {
	if _, err := refine.New(refine.WithThreshold(-1)); !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), "WithThreshold(-1)") {
		t.Errorf("New(WithThreshold(-1)) err = %v, want ErrInvalidOption naming the value", err)
	}
	// Last option wins.
	if _, err := refine.New(refine.WithProvider(nil), refine.WithProvider(refinetest.NewProvider())); err != nil {
		t.Errorf("a later WithProvider should replace the nil one: %v", err)
	}
}

func TestNoProvider(t *testing.T) {
	if _, err := refine.Default().Run(context.Background(), "q"); !errors.Is(err, refine.ErrNoProvider) {
		t.Errorf("Default().Run with no provider: err = %v, want ErrNoProvider", err)
	}
	// A custom judge and refiner need no provider.
	ref := refine.RefinerFunc(func(ctx context.Context, q string, h []refine.Attempt) (*refine.Response, error) {
		return &refine.Response{Text: fmt.Sprint("v", len(h))}, nil
	})
	res, err := refine.Run(context.Background(), "q", refine.WithRefiner(ref), refine.WithJudge(refinetest.NewJudge(9)))
	if err != nil || res.Answer != "v0" {
		t.Errorf("Run with custom judge and refiner = %v, %v; want v0", res, err)
	}
	// A custom judge alone still needs a provider for the refiner.
	if _, err := refine.Run(context.Background(), "q", refine.WithJudge(refinetest.NewJudge(9))); !errors.Is(err, refine.ErrNoProvider) {
		t.Errorf("err = %v, want ErrNoProvider", err)
	}
}

func TestPerCallOptionsDoNotLeak(t *testing.T) {
	p := refinetest.NewProvider("a", "b", "c", "d", "e")
	l, err := refine.New(refine.WithProvider(p), refine.WithJudge(refine.JudgeFunc(func(context.Context, string, string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: 1}, nil
	})))
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Run(context.Background(), "q", refine.WithMaxIterations(0))
	if err != nil || len(res.Attempts) != 1 {
		t.Fatalf("per-call WithMaxIterations(0): %d attempts, %v", len(res.Attempts), err)
	}
	res, err = l.Run(context.Background(), "q")
	if err != nil || len(res.Attempts) != 1+refine.DefaultMaxIterations {
		t.Errorf("next call: %d attempts, err %v; want %d (the Loop's default)", len(res.Attempts), err, 1+refine.DefaultMaxIterations)
	}
}

func TestPartialResultOnFailure(t *testing.T) {
	auth := &refine.ProviderError{Kind: refine.ErrAuth, Provider: "fake", StatusCode: 401}
	tests := []struct {
		name         string
		failAt       int
		wantAttempts int
		wantRound    int
		wantStage    string
	}{
		{"draft fails", 1, 0, 0, "draft"},
		{"judge of the draft fails", 2, 0, 0, "judge"},
		{"round 1 refine fails", 3, 1, 1, "refine"},
		{"round 2 judge fails", 6, 2, 2, "judge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("draft", verdict(3, "a"), "r1", verdict(5, "b"), "r2", verdict(7, "c")).FailAt(tt.failAt, auth)
			res, err := refine.Run(context.Background(), "q", refine.WithProvider(fast(p)))
			if !errors.Is(err, refine.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			var pe *refine.ProviderError
			if !errors.As(err, &pe) || pe.StatusCode != 401 {
				t.Errorf("errors.As(*ProviderError) failed on %v", err)
			}
			var se *refine.StepError
			if !errors.As(err, &se) || se.Round != tt.wantRound || se.Stage != tt.wantStage {
				t.Errorf("step error = %+v, want round %d stage %q", se, tt.wantRound, tt.wantStage)
			}
			if p.Calls() != tt.failAt {
				t.Errorf("calls = %d, want %d (auth errors are not retried)", p.Calls(), tt.failAt)
			}
			if tt.wantAttempts == 0 {
				if res != nil {
					t.Errorf("result = %+v, want nil when no attempt completed", res)
				}
				return
			}
			if res == nil || len(res.Attempts) != tt.wantAttempts {
				t.Fatalf("result = %+v, want %d attempts", res, tt.wantAttempts)
			}
			if res.StopReason != refine.StopError || res.Answer != res.Attempts[res.Best].Answer || res.Answer == "" {
				t.Errorf("partial result: reason %q answer %q; want the best answer so far", res.StopReason, res.Answer)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Run("transient error is retried", func(t *testing.T) {
		var events []refine.Event
		var mu sync.Mutex
		p := refinetest.NewProvider("draft", verdict(9, "x")).FailAt(1, refinetest.Transient(refine.ErrRateLimited, 0)).FailAt(2, refinetest.Transient(refine.ErrUnavailable, 0))
		res, err := refine.Run(context.Background(), "q", refine.WithProvider(fast(p)),
			refine.WithObserver(func(_ context.Context, e refine.Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}))
		if err != nil || res.Answer != "draft" {
			t.Fatalf("Run = %v, %v", res, err)
		}
		if p.Calls() != 4 {
			t.Errorf("calls = %d, want 4 (2 failures + draft + judge)", p.Calls())
		}
		retries := 0
		for _, e := range events {
			if e.Kind == refine.EventRetry {
				retries++
			}
		}
		if retries != 2 {
			t.Errorf("retry events = %d, want 2", retries)
		}
	})
	t.Run("retries are bounded", func(t *testing.T) {
		p := refinetest.NewProvider("draft")
		for i := 1; i <= 10; i++ {
			p.FailAt(i, refinetest.Transient(refine.ErrUnavailable, 0))
		}
		_, err := refine.Run(context.Background(), "q",
			refine.WithProvider(refine.RetryProvider(p, refine.RetryPolicy{MaxRetries: 2, Base: time.Millisecond, Max: time.Millisecond})))
		if !errors.Is(err, refine.ErrUnavailable) || p.Calls() != 3 {
			t.Errorf("err = %v after %d calls; want ErrUnavailable after 3", err, p.Calls())
		}
	})
	t.Run("permanent errors fail at once", func(t *testing.T) {
		for _, perr := range []error{
			&refine.ProviderError{Kind: refine.ErrRateLimited, Code: "insufficient_quota", Permanent: true},
			&refine.ProviderError{Kind: refine.ErrContextLength},
			&refine.ProviderError{Kind: refine.ErrInvalidRequest},
			errors.New("some custom failure"),
		} {
			p := refinetest.NewProvider("draft").FailAt(1, perr)
			_, err := refine.Run(context.Background(), "q", refine.WithProvider(fast(p)))
			if !errors.Is(err, perr) || p.Calls() != 1 {
				t.Errorf("%v: err = %v after %d calls; want it after 1 call", perr, err, p.Calls())
			}
		}
	})
	t.Run("retry-after is honoured", func(t *testing.T) {
		p := refinetest.NewProvider("draft", verdict(9, "x")).FailAt(1, refinetest.Transient(refine.ErrRateLimited, 30*time.Millisecond))
		start := time.Now()
		if _, err := refine.Run(context.Background(), "q", refine.WithProvider(fast(p))); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 30*time.Millisecond {
			t.Errorf("run took %s, want at least the 30ms Retry-After", waited)
		}
	})
	t.Run("a retry past the deadline is not attempted", func(t *testing.T) {
		p := refinetest.NewProvider("draft").FailAt(1, refinetest.Transient(refine.ErrRateLimited, time.Minute))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := refine.Run(ctx, "q", refine.WithProvider(refine.RetryProvider(p, refine.RetryPolicy{})))
		if !errors.Is(err, refine.ErrRateLimited) || p.Calls() != 1 {
			t.Errorf("err = %v after %d calls; want the rate-limit error at once", err, p.Calls())
		}
	})
}

// The Loop never wraps a provider: retries are the provider's own, so a
// provider that does not retry is called once per step on every path.
func TestLoopNeverRetries(t *testing.T) {
	rateLimited := refinetest.Transient(refine.ErrRateLimited, 0)
	tests := []struct {
		name string
		opts func(p refine.Provider) []refine.Option
	}{
		{"WithProvider", func(p refine.Provider) []refine.Option {
			return []refine.Option{refine.WithProvider(p)}
		}},
		{"WithJudgeProvider", func(p refine.Provider) []refine.Option {
			return []refine.Option{refine.WithProvider(refinetest.NewProvider("draft")), refine.WithJudgeProvider(p)}
		}},
		{"WithJudge(NewLLMJudge)", func(p refine.Provider) []refine.Option {
			return []refine.Option{refine.WithProvider(refinetest.NewProvider("draft")), refine.WithJudge(refine.NewLLMJudge(p))}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := refinetest.NewProvider("draft", verdict(9, "x")).FailAt(1, rateLimited)
			loop, err := refine.New(tt.opts(p)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = loop.Run(context.Background(), "q")
			if !errors.Is(err, refine.ErrRateLimited) || p.Calls() != 1 {
				t.Errorf("err = %v after %d calls; want the rate-limit error after 1 call (no retry by the Loop)", err, p.Calls())
			}
		})
	}
}

func TestCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	p := refinetest.NewProvider("draft", verdict(2, "x"), "r1", verdict(3, "y")).WithLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var judged atomic.Int32
	obs := refine.WithObserver(func(_ context.Context, e refine.Event) {
		if e.Kind == refine.EventDraft {
			judged.Add(1)
		}
	})
	done := make(chan struct{})
	var res *refine.Result
	var err error
	go func() {
		defer close(done)
		res, err = refine.Run(ctx, "q", refine.WithProvider(p), refine.WithCandidates(3), obs)
	}()
	for p.Calls() < 3 { // all three drafts are in flight
		runtime.Gosched()
	}
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if res != nil {
		t.Errorf("result = %+v, want nil (no attempt completed)", res)
	}
	waitGoroutines(t, before)
}

func TestCancelKeepsResultSoFar(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := refinetest.NewProvider("draft", verdict(3, "x"), "r1")
	p := refine.ProviderFunc(func(c context.Context, req *refine.Request) (*refine.Response, error) {
		if slow.Calls() == 2 {
			cancel() // cancel while round 1 is asked for
			<-c.Done()
			return nil, c.Err()
		}
		return slow.Complete(c, req)
	})
	res, err := refine.Run(ctx, "q", refine.WithProvider(p))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Answer != "draft" || res.StopReason != refine.StopCanceled {
		t.Errorf("result = %+v, want the draft with StopCanceled", res)
	}
}

// waitGoroutines fails if the goroutine count does not return to before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCandidates(t *testing.T) {
	// The three drafts must be in flight together: each blocks until all
	// three have started, so a sequential loop would deadlock (and time out).
	var started sync.WaitGroup
	started.Add(3)
	var n atomic.Int32
	ref := refine.RefinerFunc(func(ctx context.Context, q string, h []refine.Attempt) (*refine.Response, error) {
		if len(h) > 0 {
			return &refine.Response{Text: "refined from " + h[0].Answer}, nil
		}
		i := n.Add(1)
		started.Done()
		started.Wait()
		return &refine.Response{Text: fmt.Sprintf("draft %d", i), Usage: refine.Usage{OutputTokens: 1}}, nil
	})
	judge := refine.JudgeFunc(func(ctx context.Context, q, a string) (*refine.Verdict, error) {
		scores := map[string]float64{"draft 1": 3, "draft 2": 6, "draft 3": 4}
		if s, ok := scores[a]; ok {
			return &refine.Verdict{Score: s}, nil
		}
		return &refine.Verdict{Score: 9}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := refine.Run(ctx, "q", refine.WithRefiner(ref), refine.WithJudge(judge), refine.WithCandidates(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attempts) != 4 {
		t.Fatalf("%d attempts, want 3 drafts + 1 refinement", len(res.Attempts))
	}
	if got := res.Attempts[3].Answer; got != "refined from draft 2" {
		t.Errorf("refinement = %q, want it to start from the best draft (draft 2)", got)
	}
	if res.Usage.OutputTokens != 3 {
		t.Errorf("Usage = %+v, want every candidate counted", res.Usage)
	}
}

func TestJudgeOutOfRangeIsAnError(t *testing.T) {
	bad := refine.JudgeFunc(func(context.Context, string, string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: 11}, nil
	})
	_, err := refine.Run(context.Background(), "q", refine.WithProvider(refinetest.NewProvider("a")), refine.WithJudge(bad))
	if err == nil || !strings.Contains(err.Error(), "score 11") {
		t.Errorf("err = %v, want a judge error naming score 11", err)
	}
}

func TestEmptyAnswerIsAnError(t *testing.T) {
	_, err := refine.Run(context.Background(), "q", refine.WithProvider(refinetest.NewProvider("  ")), refine.WithJudge(refinetest.NewJudge(5)))
	if err == nil || !strings.Contains(err.Error(), "empty answer") {
		t.Errorf("err = %v, want an empty-answer error", err)
	}
}

func TestObserverEvents(t *testing.T) {
	var kinds []string
	p := refinetest.NewProvider("draft", verdict(5, "x"), "r1", verdict(9, "y"))
	_, err := refine.Run(context.Background(), "q", refine.WithProvider(p), refine.WithObserver(func(_ context.Context, e refine.Event) {
		if e.Kind != refine.EventCall {
			kinds = append(kinds, fmt.Sprintf("%s/%d", e.Kind, e.Round))
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := "[draft/0 judged/0 refined/1 judged/1 stopped/0]"
	if got := fmt.Sprint(kinds); got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
}

func TestConcurrentRunsShareALoop(t *testing.T) {
	l, err := refine.New(refine.WithJudge(refine.JudgeFunc(func(_ context.Context, q, a string) (*refine.Verdict, error) {
		return &refine.Verdict{Score: float64(len(a) % 10)}, nil
	})), refine.WithMaxIterations(2))
	if err != nil {
		t.Fatal(err)
	}
	var inflight, peak atomic.Int32
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		return &refine.Response{Text: req.Messages[len(req.Messages)-1].Content[:1] + "x"}, nil
	})
	limited := refine.LimitProvider(p, 4) // one cap shared by every run
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Run(context.Background(), fmt.Sprint("question ", i), refine.WithProvider(limited)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 4 {
		t.Errorf("peak concurrent calls = %d, want <= 4 (LimitProvider)", peak.Load())
	}
}
