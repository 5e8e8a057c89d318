package refinetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

func TestSimulatorConforms(t *testing.T) {
	for _, s := range []*refinetest.Simulator{{}, refinetest.NewSimulator(refinetest.Turn{Answer: "a", Score: 5})} {
		if err := refinetest.TestProvider(s); err != nil {
			t.Errorf("TestProvider: %v", err)
		}
	}
}

// The generated answers are in the query's language, and the loop drafts,
// judges and refines with one Simulator; the same run twice is the same.
func TestSimulatorLanguageAndDeterminism(t *testing.T) {
	tests := []struct {
		query, draft, judged string
	}{
		{"What is a goroutine?", "A short first answer", "it lacks a concrete example"},
		{"고루틴은 언제 쓰면 안 되나요?", "짧은 첫 답변입니다", "구체적인 예시가 없습니다"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			run := func() *refine.Result {
				res, err := refine.Run(context.Background(), tt.query,
					refine.WithProvider(&refinetest.Simulator{}), refine.WithMaxIterations(2), refine.WithThreshold(10))
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			a, b := run(), run()
			if got := a.Attempts[0].Answer; !strings.HasPrefix(got, tt.draft) {
				t.Errorf("draft = %q, want it to start with %q", got, tt.draft)
			}
			if got := a.Attempts[0].Verdict.Issues; len(got) != 1 || got[0] != tt.judged {
				t.Errorf("draft issues = %q, want [%q]", got, tt.judged)
			}
			if len(a.Attempts) != 3 || !strings.Contains(a.Attempts[2].Answer, "revision 3") {
				t.Errorf("got %d attempts, last %q; want 3, the last revision 3", len(a.Attempts), a.Attempts[len(a.Attempts)-1].Answer)
			}
			for i := range a.Attempts {
				if a.Attempts[i].Answer != b.Attempts[i].Answer || a.Attempts[i].Verdict.Score != b.Attempts[i].Verdict.Score {
					t.Errorf("attempt %d differs between identical runs: %q %v vs %q %v", i,
						a.Attempts[i].Answer, a.Attempts[i].Verdict.Score, b.Attempts[i].Answer, b.Attempts[i].Verdict.Score)
				}
			}
		})
	}
}

// A script is played turn by turn, graded as scripted, and the last turn
// repeats; a typed request (Schema) is written, not judged.
func TestSimulatorScript(t *testing.T) {
	s := refinetest.NewSimulator(
		refinetest.Turn{Answer: `{"n": 1}`, Score: 4, Issues: []string{"n is too small"}},
		refinetest.Turn{Answer: `{"n": 2}`, Score: 9},
	)
	type out struct {
		N int `json:"n"`
	}
	res, err := refine.RunTyped[out](context.Background(), nil, "count", refine.WithProvider(s), refine.WithMaxIterations(3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value.N != 2 || res.Result.StopReason != refine.StopThreshold || len(res.Result.Attempts) != 2 {
		t.Errorf("value %+v, stop %s, %d attempts; want N=2, threshold, 2", res.Value, res.Result.StopReason, len(res.Result.Attempts))
	}
	if got := res.Result.Attempts[0].Verdict; got.Score != 4 || len(got.Issues) != 1 || got.Issues[0] != "n is too small" {
		t.Errorf("draft verdict = %v %q, want 4 [n is too small]", got.Score, got.Issues)
	}
}

// The pairwise judge prefers the better of two of its answers, whichever
// order they are shown in.
func TestSimulatorPairwise(t *testing.T) {
	ctx := context.Background()
	const q = "What is a goroutine?"
	res, err := refine.Run(ctx, q, refine.WithProvider(&refinetest.Simulator{}), refine.WithMaxIterations(1), refine.WithThreshold(10))
	if err != nil {
		t.Fatal(err)
	}
	draft, refined := res.Attempts[0].Answer, res.Attempts[1].Answer
	cmp, err := refine.NewPairwiseJudge((&refinetest.Simulator{}).Pairwise()).Compare(ctx, q, draft, refined)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Winner != refine.WinnerB || cmp.Orders != [2]string{refine.WinnerB, refine.WinnerB} {
		t.Errorf("winner %q, orders %q; want B in both orders (the refinement is better)", cmp.Winner, cmp.Orders)
	}
}

func TestSimulatorRefuses(t *testing.T) {
	s := &refinetest.Simulator{}
	if _, err := s.Complete(context.Background(), &refine.Request{}); !errors.Is(err, refine.ErrInvalidRequest) {
		t.Errorf("no messages: err = %v, want ErrInvalidRequest", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "q"}}}
	if _, err := s.Complete(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v, want context.Canceled", err)
	}
	v, err := s.Complete(context.Background(), &refine.Request{JSON: true, Messages: []refine.Message{{Content: "grade: not mine"}}})
	if err != nil || !strings.Contains(v.Text, `"score": 2`) {
		t.Errorf("an answer it did not write: %v %v, want a low score saying so", v, err)
	}
}

func TestSimulatedWriter(t *testing.T) {
	var buf bytes.Buffer
	w := refinetest.SimulatedWriter(&buf)
	for _, s := range []string{"one", " line\ntwo\n", "", "\nthree"} {
		fmt.Fprint(w, s)
	}
	if want := "[simulated] one line\n[simulated] two\n[simulated] \n[simulated] three"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	var wg sync.WaitGroup
	buf.Reset()
	w = refinetest.SimulatedWriter(&buf)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); fmt.Fprintln(w, "x") }()
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "[simulated] x\n"); got != 8 {
		t.Errorf("concurrent lines: %q", buf.String())
	}
}

func ExampleSimulator() {
	res, err := refine.Run(context.Background(), "고루틴은 언제 쓰면 안 되나요?",
		refine.WithProvider(&refinetest.Simulator{}), refine.WithMaxIterations(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range res.Attempts {
		fmt.Printf("round %d, score %g: %s\n", a.Round, a.Verdict.Score, strings.SplitN(a.Answer, "\n", 2)[0])
	}
	// Output:
	// round 0, score 5: 짧은 첫 답변입니다. 핵심은 다루지만 세부 사항과 예시가 빠져 있습니다.
	// round 1, score 7.5: 1차 수정 답변입니다. 앞선 비평에 따라 구체적인 예시를 덧붙이고 설명을 다듬었습니다.
}
