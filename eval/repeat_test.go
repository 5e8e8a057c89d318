package eval_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
	"github.com/selfrefine/refine/refinetest"
)

// Under Repeat the trial index reaches the providers as Request.Seed, the
// trials of a task become one outcome (the majority of decisive trials),
// and the report measures agreement across trials and the judge's
// agreement with itself.
func TestCompareRepeat(t *testing.T) {
	// Per task, the winner of trials 0, 1, 2.
	script := [][3]string{
		{"A", "A", "B"},     // A, 2 of 3 agree
		{"A", "B", "tie"},   // tie, 1 of 3
		{"B", "B", "B"},     // B, 3 of 3
		{"tie", "tie", "A"}, // A: the only decisive trial, 1 of 3
	}
	armA, armB := &armModel{word: "alpha"}, &armModel{word: "beta"}
	jm := &judgeModel{decide: func(task, seed int) string { return script[task][seed] }}
	r, err := eval.Compare(context.Background(), makeTasks(len(script)), refine.NewPairwiseJudge(jm),
		eval.Arm{Provider: armA}, eval.Arm{Provider: armB}, eval.Repeat(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*armModel{armA, armB} {
		seeds := map[string][]int64{}
		for _, req := range m.requests() {
			if req.Seed == nil {
				t.Fatalf("%s: a request without a seed", m.word)
			}
			q := req.Messages[0].Content
			seeds[q] = append(seeds[q], *req.Seed)
		}
		for q, s := range seeds {
			slices.Sort(s)
			if !slices.Equal(s, []int64{0, 1, 2}) {
				t.Errorf("%s, %s: seeds %v, want [0 1 2]", m.word, q, s)
			}
		}
		if len(seeds) != len(script) {
			t.Errorf("%s: %d tasks called, want %d", m.word, len(seeds), len(script))
		}
	}
	wantOutcome := []string{refine.WinnerA, refine.Tie, refine.WinnerB, refine.WinnerA}
	wantAgree := []float64{2.0 / 3, 1.0 / 3, 1, 1.0 / 3}
	for i, res := range r.Results {
		if res.Outcome != wantOutcome[i] || res.Agreement != wantAgree[i] || res.Rejudge != script[i][0] && !(script[i][0] == "tie" && res.Rejudge == refine.Tie) {
			t.Errorf("task %d: outcome %q agreement %v rejudge %q, want %q %v %q", i, res.Outcome, res.Agreement, res.Rejudge, wantOutcome[i], wantAgree[i], script[i][0])
		}
	}
	if r.WinsA != 2 || r.WinsB != 1 || r.Ties != 1 || r.Repeat != 3 {
		t.Errorf("counts: got A %d B %d ties %d repeat %d, want 2 1 1 3", r.WinsA, r.WinsB, r.Ties, r.Repeat)
	}
	if want := (2.0/3 + 1.0/3 + 1 + 1.0/3) / 4; r.TrialAgreement != want {
		t.Errorf("TrialAgreement: got %v, want %v", r.TrialAgreement, want)
	}
	if r.JudgeAgreement == nil || r.JudgeAgreement.Estimate != 1 {
		t.Errorf("JudgeAgreement: got %+v, want 1 (a deterministic judge)", r.JudgeAgreement)
	}
	// 4 tasks × 3 trials × 2 orders, and the first trial of each judged again.
	if got, want := jm.Calls(), 4*3*2+4*2; got != want {
		t.Errorf("judge calls: got %d, want %d", got, want)
	}
	if want := 22 * (4*3 + 4); r.UsageJudge.Total() != want {
		t.Errorf("UsageJudge: got %d, want %d (second judgements included)", r.UsageJudge.Total(), want)
	}
}

// Bad input is an error naming what was wrong, before any model call.
func TestCompareBadInput(t *testing.T) {
	ok := makeTasks(2)
	for _, tc := range []struct {
		name  string
		tasks []eval.Task
		nilJ  bool
		badJ  bool
		a     func(m refine.Provider, l *refine.Loop) eval.Arm
		opts  []eval.CompareOption
		want  string
	}{
		{name: "no tasks", tasks: []eval.Task{}, want: "no tasks"},
		{name: "repeated id", tasks: []eval.Task{{ID: "x", Query: "a"}, {ID: "x", Query: "b"}}, want: `same id "x"`},
		{name: "blank id", tasks: []eval.Task{{ID: " ", Query: "a"}}, want: "blank id"},
		{name: "blank query", tasks: []eval.Task{{ID: "1", Query: "\u200b "}}, want: "blank query"},
		{name: "bad utf-8", tasks: []eval.Task{{ID: "1", Query: "a\xff"}}, want: "UTF-8"},
		{name: "nil judge", nilJ: true, want: "judge is nil"},
		{name: "misconfigured judge", badJ: true, want: "WithCriteria"},
		{name: "both", a: func(m refine.Provider, l *refine.Loop) eval.Arm { return eval.Arm{Provider: m, Loop: l} }, want: "both Loop and Provider"},
		{name: "neither", a: func(refine.Provider, *refine.Loop) eval.Arm { return eval.Arm{Name: "x"} }, want: `arm A ("x"): neither`},
		{name: "system on a loop", a: func(_ refine.Provider, l *refine.Loop) eval.Arm { return eval.Arm{Loop: l, System: "s"} }, want: "System applies"},
		{name: "bad temperature", a: func(m refine.Provider, _ *refine.Loop) eval.Arm {
			t := 3.0
			return eval.Arm{Provider: m, Sampling: refine.Sampling{Temperature: &t}}
		}, want: "Sampling.Temperature 3"},
		{name: "provider fails Validate", a: func(m refine.Provider, _ *refine.Loop) eval.Arm {
			return eval.Arm{Provider: invalidProvider{m}}
		}, want: "no region configured"},
		{name: "loop without a provider", a: func(refine.Provider, *refine.Loop) eval.Arm {
			l, err := refine.New()
			if err != nil {
				t.Fatal(err)
			}
			return eval.Arm{Loop: l}
		}, want: "no provider"},
		{name: "loop whose budget needs prices", a: func(m refine.Provider, _ *refine.Loop) eval.Arm {
			l, err := refine.New(refine.WithProvider(m), refine.WithStop(refine.CostBudget(1)))
			if err != nil {
				t.Fatal(err)
			}
			return eval.Arm{Loop: l}
		}, want: "CostBudget"},
		{name: "repeat 0", opts: []eval.CompareOption{eval.Repeat(0)}, want: "Repeat(0)"},
		{name: "confidence 95", opts: []eval.CompareOption{eval.Confidence(95)}, want: "Confidence(95)"},
		{name: "concurrency 0", opts: []eval.CompareOption{eval.Concurrency(0)}, want: "Concurrency(0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &armModel{word: "alpha"}
			jm := &judgeModel{decide: func(int, int) string { return "A" }}
			l, err := refine.New(refine.WithProvider(m))
			if err != nil {
				t.Fatal(err)
			}
			tasks := ok
			if tc.tasks != nil {
				tasks = tc.tasks
			}
			judge := refine.NewPairwiseJudge(jm)
			if tc.nilJ {
				judge = nil
			}
			if tc.badJ {
				judge = refine.NewPairwiseJudge(jm, refine.WithCriteria())
			}
			a := eval.Arm{Provider: m}
			if tc.a != nil {
				a = tc.a(m, l)
			}
			r, err := eval.Compare(context.Background(), tasks, judge, a, eval.Arm{Provider: m}, tc.opts...)
			if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) || r != nil {
				t.Errorf("got %v (report %v), want an ErrInvalidOption naming %q", err, r, tc.want)
			}
			if c := len(m.requests()) + jm.Calls(); c != 0 {
				t.Errorf("%d model calls, want none", c)
			}
		})
	}
}

// A done context runs nothing: every task is failed and the context's
// error comes back with the report.
func TestCompareCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &armModel{word: "alpha"}
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	r, err := eval.Compare(ctx, makeTasks(3), refine.NewPairwiseJudge(jm), eval.Arm{Provider: m}, eval.Arm{Provider: m})
	if !errors.Is(err, context.Canceled) || r == nil || r.Failed != 3 || r.Compared != 0 {
		t.Fatalf("got %v, report %+v; want context.Canceled with 3 failed tasks", err, r)
	}
	if c := len(m.requests()) + jm.Calls(); c != 0 {
		t.Errorf("%d model calls, want none", c)
	}
}

// A panicking provider fails its task, not the process nor the others.
func TestComparePanic(t *testing.T) {
	m := &armModel{word: "alpha", panicOn: "task-1"}
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	r, err := eval.Compare(context.Background(), makeTasks(3), refine.NewPairwiseJudge(jm), eval.Arm{Provider: m}, eval.Arm{Provider: &armModel{word: "beta"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed != 1 || r.WinsA != 2 || !strings.Contains(r.Results[1].Trials[0].Error, "panic: armModel: told to panic") {
		t.Errorf("got failed %d, wins %d, error %q; want task 1 failed with the panic", r.Failed, r.WinsA, r.Results[1].Trials[0].Error)
	}
}

// The JSON form is snake_case throughout, usages included, and reads back.
func TestReportJSON(t *testing.T) {
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	r, err := eval.Compare(context.Background(), makeTasks(3), refine.NewPairwiseJudge(jm),
		eval.Arm{Provider: &armModel{word: "alpha", panicOn: "task-2"}}, eval.Arm{Provider: &armModel{word: "beta"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "tasks", "compared", "wins_a", "wins_b", "ties", "failed", "win_rate_a", "p",
		"usage_a", "usage_b", "usage_judge", "cost_a", "cost_b", "cost_known", "token_ratio", "order_agreement", "results"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if wr := m["win_rate_a"].(map[string]any); wr["low"] == nil || wr["high"] == nil || wr["estimate"] == nil {
		t.Errorf("win_rate_a: got %v", wr)
	}
	if u := m["usage_a"].(map[string]any); u["input_tokens"] != 6.0 || u["total_tokens"] != 10.0 {
		t.Errorf("usage_a: got %v", u)
	}
	for _, bad := range []string{"InputTokens", "WinsA", "Estimate"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("JSON has a Go name %q: %s", bad, b)
		}
	}
	task := m["results"].([]any)[2].(map[string]any)
	if task["outcome"] != "failed" || !strings.Contains(string(b), `"error":"arm A: eval: panic`) {
		t.Errorf("failed task: got %v", task)
	}
	var back eval.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.UsageA != r.UsageA || back.WinRateA != r.WinRateA || back.Results[2].Trials[0].A.Err == nil || back.Results[0].UsageJudge != r.Results[0].UsageJudge {
		t.Errorf("round trip: got %+v, want %+v", back, *r)
	}
}

// invalidProvider is a provider whose configuration is wrong, as
// refine.Validator reports before any call.
type invalidProvider struct{ refine.Provider }

func (invalidProvider) Validate() error { return errors.New("no region configured") }

// A Loop arm's trials reach its provider with the trial index as
// Request.Seed too (refine.WithSeed), on drafts and refinements alike.
func TestCompareRepeatSeedsLoopArm(t *testing.T) {
	var mu sync.Mutex
	var seeds []int64
	writer := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if req.Seed == nil {
			seeds = append(seeds, -1)
		} else {
			seeds = append(seeds, *req.Seed)
		}
		return &refine.Response{Text: "answer", Usage: refine.Usage{InputTokens: 1, OutputTokens: 1}}, nil
	})
	loop, err := refine.New(refine.WithProvider(writer), refine.WithJudge(refinetest.NewJudge(9)), refine.WithMaxIterations(0))
	if err != nil {
		t.Fatal(err)
	}
	jm := &judgeModel{decide: func(task, seed int) string { return "A" }}
	if _, err := eval.Compare(context.Background(), makeTasks(1), refine.NewPairwiseJudge(jm),
		eval.Arm{Loop: loop}, eval.Arm{Provider: &armModel{word: "beta"}}, eval.Repeat(3), eval.Concurrency(1)); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seeds)
	if !slices.Equal(seeds, []int64{0, 1, 2}) {
		t.Errorf("the Loop arm's requests had seeds %v, want [0 1 2] (-1: none)", seeds)
	}
}
