package refine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

// fencedReference returns the reference fenced in a judge's user prompt,
// and whether there is one.
func fencedReference(user string) (string, bool) {
	m := tagPattern.FindStringSubmatch(user)
	if m == nil {
		return "", false
	}
	open, end := "<reference-"+m[1]+">\n", "\n</reference-"+m[1]+">"
	i := strings.Index(user, open)
	if i < 0 {
		return "", false
	}
	rest := user[i+len(open):]
	j := strings.Index(rest, end)
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

// A copy made by WithReference grades against its own reference, keeps the
// original's other options, and leaves the original as it was, even when
// copies are made and used concurrently.
func TestPairwiseWithReference(t *testing.T) {
	m := &pairwiseModel{decide: always("[[A]]")}
	crit := refine.Criterion{Name: "exactness", Description: "is the number right?"}
	orig := refine.NewPairwiseJudge(m, refine.WithCriteria(crit), refine.WithReference("original"))

	refs := []string{"", "forty-two", "7 × 6 = 42", "한강"}
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = orig.WithReference(ref).Compare(context.Background(), fmt.Sprintf("q%d", i), "a", "b")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if _, err := orig.Compare(context.Background(), "q-orig", "a", "b"); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"q-orig": "original"}
	for i, ref := range refs {
		want[fmt.Sprintf("q%d", i)] = ref
	}
	reqs := m.requests()
	if len(reqs) != 2*len(want) {
		t.Fatalf("calls: got %d, want %d (two orders per comparison)", len(reqs), 2*len(want))
	}
	for _, r := range reqs {
		user := r.Messages[1].Content
		var q string
		for k := range want {
			if strings.Contains(user, "\n"+k+"\n") {
				q = k
			}
		}
		if q == "" {
			t.Fatalf("no known question in %q", user)
		}
		got, ok := fencedReference(user)
		if w := want[q]; got != w || ok != (w != "") {
			t.Errorf("%s: reference got %q (fenced %v), want %q", q, got, ok, w)
		}
		if !strings.Contains(r.Messages[0].Content, "exactness") {
			t.Errorf("%s: the copy lost the criteria:\n%s", q, r.Messages[0].Content)
		}
	}
}

func TestLLMJudgeWithReference(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []refine.Request
	)
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		mu.Lock()
		reqs = append(reqs, *req)
		mu.Unlock()
		return &refine.Response{Text: `{"score": 7}`, FinishReason: refine.FinishStop}, nil
	})
	orig := refine.NewLLMJudge(p, refine.WithReference("original"))
	refs := []string{"", "42", "x = 3"}
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = orig.WithReference(ref).Evaluate(context.Background(), fmt.Sprintf("q%d", i), "an answer")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if _, err := orig.Evaluate(context.Background(), "q-orig", "an answer"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"q-orig": "original"}
	for i, ref := range refs {
		want[fmt.Sprintf("q%d", i)] = ref
	}
	if len(reqs) != len(want) {
		t.Fatalf("calls: got %d, want %d", len(reqs), len(want))
	}
	for _, r := range reqs {
		user := r.Messages[1].Content
		var q string
		for k := range want {
			if strings.Contains(user, "\n"+k+"\n") {
				q = k
			}
		}
		got, ok := fencedReference(user)
		if w := want[q]; q == "" || got != w || ok != (w != "") {
			t.Errorf("%q: reference got %q (fenced %v), want %q", q, got, ok, w)
		}
	}
}

// A copy of a misconfigured judge, or of a nil one, fails as the original
// would, before any call.
func TestWithReferenceKeepsErrors(t *testing.T) {
	calls := 0
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		calls++
		return &refine.Response{Text: "[[A]]"}, nil
	})
	bad := refine.NewPairwiseJudge(p, refine.WithCriteria()).WithReference("r")
	if _, err := bad.Compare(context.Background(), "q", "a", "b"); !errors.Is(err, refine.ErrInvalidOption) {
		t.Errorf("copy of a misconfigured judge: got %v, want ErrInvalidOption", err)
	}
	var nilJudge *refine.PairwiseJudge
	if _, err := nilJudge.WithReference("r").Compare(context.Background(), "q", "a", "b"); !errors.Is(err, refine.ErrInvalidOption) {
		t.Errorf("copy of a nil judge: got %v, want ErrInvalidOption", err)
	}
	var nilLLM *refine.LLMJudge
	if _, err := nilLLM.WithReference("r").Evaluate(context.Background(), "q", "a"); !errors.Is(err, refine.ErrInvalidOption) {
		t.Errorf("copy of a nil LLM judge: got %v, want ErrInvalidOption", err)
	}
	if calls != 0 {
		t.Errorf("calls: got %d, want 0", calls)
	}
}
