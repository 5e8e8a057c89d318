package eval_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

// armModel is a one-call arm's provider: it answers "<word> <query>" (and
// " s<seed>" when the request has a seed) and records every request.
// Queries in fail fail with an error carrying failUsage.
type armModel struct {
	word      string
	fail      map[string]bool
	failUsage refine.Usage
	panicOn   string

	mu   sync.Mutex
	reqs []refine.Request
}

func (m *armModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.reqs = append(m.reqs, *req)
	m.mu.Unlock()
	q := req.Messages[len(req.Messages)-1].Content
	if q == m.panicOn {
		panic("armModel: told to panic")
	}
	if m.fail[q] {
		return nil, refine.WithUsage(errors.New("armModel: scripted failure"), m.failUsage)
	}
	text := m.word + " " + q
	if req.Seed != nil {
		text += fmt.Sprintf(" s%d", *req.Seed)
	}
	return &refine.Response{Text: text, Model: "arm-model", FinishReason: refine.FinishStop,
		Usage: refine.Usage{InputTokens: 3, OutputTokens: 2}}, nil
}

func (m *armModel) requests() []refine.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]refine.Request(nil), m.reqs...)
}

var taskPattern = regexp.MustCompile(`task-(\d+)(?: s(\d+))?`)

// judgeModel is a pairwise judge's provider that knows which answer is
// better: decide gets the task number and seed of the answers and returns
// "A" (the alpha answer), "B" (the beta answer), "tie" or "unreadable".
// Every call reports 10 input and 1 output tokens.
type judgeModel struct {
	decide func(task, seed int) string

	mu    sync.Mutex
	calls int
}

func (m *judgeModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	user := req.Messages[1].Content
	ms := taskPattern.FindStringSubmatch(user[strings.Index(user, "alpha"):])
	var task, seed int
	fmt.Sscan(ms[1], &task)
	if ms[2] != "" {
		fmt.Sscan(ms[2], &seed)
	}
	alphaFirst := strings.Index(user, "alpha") < strings.Index(user, "beta")
	var reply string
	switch m.decide(task, seed) {
	case "A":
		reply = map[bool]string{true: "[[A]]", false: "[[B]]"}[alphaFirst]
	case "B":
		reply = map[bool]string{true: "[[B]]", false: "[[A]]"}[alphaFirst]
	case "tie":
		reply = "[[C]]"
	default:
		reply = "Both have merits; I cannot say."
	}
	return &refine.Response{Text: "Reasoning.\n" + reply, FinishReason: refine.FinishStop,
		Usage: refine.Usage{InputTokens: 10, OutputTokens: 1}}, nil
}

func (m *judgeModel) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func makeTasks(n int) []eval.Task {
	tasks := make([]eval.Task, n)
	for i := range tasks {
		tasks[i] = eval.Task{ID: fmt.Sprint(i), Query: fmt.Sprintf("task-%d", i)}
	}
	return tasks
}

// A judge whose true win rate for A is 70% of decisive comparisons: the
// interval covers it, the counts are exact (failed arms and unreadable
// verdicts counted as failed, never scored), tokens of failures count, and
// each one-call arm makes exactly one call per task.
func TestCompareKnownWinRate(t *testing.T) {
	const n = 300
	rng := rand.New(rand.NewPCG(23, 23))
	truth := make([]string, n)
	for i := range truth {
		switch u := rng.Float64(); {
		case u < 0.15:
			truth[i] = "tie"
		case rng.Float64() < 0.7:
			truth[i] = "A"
		default:
			truth[i] = "B"
		}
	}
	failB := map[string]bool{}
	var want struct{ winsA, winsB, ties, failed, failedArm, unreadable int }
	for i := range truth {
		switch {
		case i%17 == 3:
			failB[fmt.Sprintf("task-%d", i)] = true
			want.failed++
			want.failedArm++
		case i%19 == 5:
			truth[i] = "unreadable"
			want.failed++
			want.unreadable++
		case truth[i] == "A":
			want.winsA++
		case truth[i] == "B":
			want.winsB++
		default:
			want.ties++
		}
	}
	armA := &armModel{word: "alpha"}
	armB := &armModel{word: "beta", fail: failB, failUsage: refine.Usage{InputTokens: 5}}
	jm := &judgeModel{decide: func(task, _ int) string { return truth[task] }}
	judge := refine.NewPairwiseJudge(jm)

	r, err := eval.Compare(context.Background(), makeTasks(n), judge,
		eval.Arm{Name: "alpha", Provider: armA}, eval.Arm{Name: "beta", Provider: armB})
	if err != nil {
		t.Fatal(err)
	}
	got := struct{ winsA, winsB, ties, failed int }{r.WinsA, r.WinsB, r.Ties, r.Failed}
	if w := (struct{ winsA, winsB, ties, failed int }{want.winsA, want.winsB, want.ties, want.failed}); got != w {
		t.Errorf("counts: got %+v, want %+v", got, w)
	}
	if r.Tasks != n || r.Compared != n-want.failed {
		t.Errorf("Tasks, Compared: got %d, %d, want %d, %d", r.Tasks, r.Compared, n, n-want.failed)
	}
	if !r.WinRateA.Contains(0.7) {
		t.Errorf("WinRateA %+v does not cover the true rate 0.7", r.WinRateA)
	}
	if w := eval.Wilson(want.winsA, want.winsA+want.winsB, 0.95); r.WinRateA != w {
		t.Errorf("WinRateA: got %+v, want %+v", r.WinRateA, w)
	}
	if w := eval.SignTest(want.winsA, want.winsB); r.P != w {
		t.Errorf("P: got %v, want %v", r.P, w)
	}
	// One call per task per one-call arm, no more.
	if got, got2 := len(armA.requests()), len(armB.requests()); got != n || got2 != n {
		t.Errorf("arm calls: got %d and %d, want %d each", got, got2, n)
	}
	if w := (refine.Usage{InputTokens: 3 * n, OutputTokens: 2 * n}); r.UsageA != w {
		t.Errorf("UsageA: got %+v, want %+v", r.UsageA, w)
	}
	okB := n - want.failedArm
	if w := (refine.Usage{InputTokens: 3*okB + 5*want.failedArm, OutputTokens: 2 * okB}); r.UsageB != w {
		t.Errorf("UsageB (failed calls included): got %+v, want %+v", r.UsageB, w)
	}
	// Readable comparisons cost two calls; unreadable ones at least one
	// order's call and repair (both orders once Compare's error carries them).
	compared := n - want.failed
	if lo, hi := 22*compared+22*want.unreadable, 22*compared+44*want.unreadable; r.UsageJudge.Total() < lo || r.UsageJudge.Total() > hi {
		t.Errorf("UsageJudge: got %d tokens, want %d..%d (failed comparisons counted)", r.UsageJudge.Total(), lo, hi)
	}
	var failedSeen int
	for i, res := range r.Results {
		if res.ID != fmt.Sprint(i) {
			t.Fatalf("Results[%d].ID = %q: want task order", i, res.ID)
		}
		tr := res.Trials[0]
		switch {
		case i%17 == 3:
			failedSeen++
			if res.Outcome != eval.OutcomeFailed || tr.B.Err == nil || tr.Winner != "" || res.UsageJudge.Total() != 0 {
				t.Errorf("task %d (arm B failed): outcome %q, B err %v, winner %q, judge tokens %d", i, res.Outcome, tr.B.Err, tr.Winner, res.UsageJudge.Total())
			}
		case i%19 == 5:
			failedSeen++
			if res.Outcome != eval.OutcomeFailed || !errors.Is(tr.Err(), refine.ErrUnreadableVerdict) || res.UsageJudge.Total() == 0 {
				t.Errorf("task %d (unreadable): outcome %q, err %v, judge tokens %d", i, res.Outcome, tr.Err(), res.UsageJudge.Total())
			}
		default:
			if w := map[string]string{"A": refine.WinnerA, "B": refine.WinnerB, "tie": refine.Tie}[truth[i]]; res.Outcome != w {
				t.Errorf("task %d: outcome %q, want %q", i, res.Outcome, w)
			}
		}
	}
	if failedSeen != want.failed {
		t.Errorf("failed tasks seen: %d, want %d", failedSeen, want.failed)
	}
	if r.OrderAgreement.Estimate != 1 {
		t.Errorf("OrderAgreement: got %+v, want 1 (the judge is consistent)", r.OrderAgreement)
	}
	if r.CostKnown {
		t.Errorf("CostKnown: got true without prices")
	}
}

// A one-call arm sends System and Sampling, and nothing else; prices give
// its cost.
func TestCompareProviderArmRequest(t *testing.T) {
	temp := 0.3
	armA := &armModel{word: "alpha"}
	armB := &armModel{word: "beta"}
	jm := &judgeModel{decide: func(int, int) string { return "A" }}
	r, err := eval.Compare(context.Background(), makeTasks(4), refine.NewPairwiseJudge(jm),
		eval.Arm{Provider: armA, System: "Be brief.", Sampling: refine.Sampling{Temperature: &temp, MaxTokens: 50}},
		eval.Arm{Provider: armB},
		eval.Prices(map[string]refine.Price{"arm-model": {Input: 1e6, Output: 2e6}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range armA.requests() {
		if len(req.Messages) != 2 || req.Messages[0].Role != refine.RoleSystem || req.Messages[0].Content != "Be brief." ||
			req.Temperature == nil || *req.Temperature != 0.3 || req.MaxTokens != 50 || req.Seed != nil {
			t.Errorf("arm A request: got %+v", req)
		}
	}
	for _, req := range armB.requests() {
		if len(req.Messages) != 1 || req.Messages[0].Role != refine.RoleUser {
			t.Errorf("arm B request: got %+v", req)
		}
	}
	if r.A != "A" || r.B != "B" {
		t.Errorf("default names: got %q, %q, want A, B", r.A, r.B)
	}
	// 3 input tokens at $1 and 2 output tokens at $2 per token, 4 tasks.
	if !r.CostKnown || r.CostA != 4*7 || r.CostB != 4*7 {
		t.Errorf("cost: got %v, %v (known %v), want 28, 28", r.CostA, r.CostB, r.CostKnown)
	}
	if r.CostRatio == nil || r.CostRatio.Estimate != 1 || r.TokenRatio == nil || *r.TokenRatio != (eval.Interval{Estimate: 1, Low: 1, High: 1}) {
		t.Errorf("ratios: got cost %+v, tokens %+v, want 1 in [1, 1]", r.CostRatio, r.TokenRatio)
	}
}

// batchModel answers every call as a batch API would: Response.Batch set,
// 1M input and 1M output tokens, so that dollars are the $/M prices.
type batchModel struct{ model string }

func (m batchModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return &refine.Response{Text: "alpha " + req.Messages[len(req.Messages)-1].Content, Model: m.model, Batch: true,
		Usage: refine.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}}, nil
}

// A one-call arm's batched replies are priced at the batch price, and at
// the on-demand price, flagged as an upper bound, when the model has none.
func TestCompareBatchPricing(t *testing.T) {
	prices := map[string]refine.Price{
		"cheap": {Input: 1, Output: 2, BatchInput: 0.5, BatchOutput: 1},
		"dear":  {Input: 1, Output: 2},
	}
	for _, tt := range []struct {
		model string
		want  float64
		upper bool
	}{{"cheap", 1.5, false}, {"dear", 3, true}} {
		t.Run(tt.model, func(t *testing.T) {
			jm := &judgeModel{decide: func(int, int) string { return "A" }}
			r, err := eval.Compare(context.Background(), makeTasks(1), refine.NewPairwiseJudge(jm),
				eval.Arm{Provider: batchModel{tt.model}}, eval.Arm{Provider: &armModel{word: "beta"}}, eval.Prices(prices))
			if err != nil {
				t.Fatal(err)
			}
			if r.CostA != tt.want || r.CostUpperBound != tt.upper {
				t.Errorf("CostA = %v, CostUpperBound = %v; want %v, %v", r.CostA, r.CostUpperBound, tt.want, tt.upper)
			}
		})
	}
}
