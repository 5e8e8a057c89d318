package openai_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// isJudge tells the judge's requests apart: they ask for JSON mode.
func isJudge(h hit) bool {
	rf, _ := h.Body["response_format"].(map[string]any)
	return rf["type"] == "json_object"
}

// verdict is a judge's reply in the shape the default judge prompt asks for.
func verdict(score float64, issue string) string {
	b, _ := json.Marshal(map[string]any{
		"score":       score,
		"criteria":    map[string]float64{"helpfulness": score, "relevance": score, "accuracy": score, "depth": score},
		"issues":      []string{issue},
		"suggestions": []string{"fix: " + issue},
		"assessment":  "graded by the fake",
	})
	return string(b)
}

// TestRunLoop runs the whole refine loop on the adapter against a fake
// server: a draft, its verdict, a refinement, its verdict. The first judge
// call is rate limited once, so the adapter's retry layer is exercised too.
func TestRunLoop(t *testing.T) {
	var (
		mu                  sync.Mutex
		answers, judgements int
		rateLimited         bool
	)
	srv := newFake(t, func(_ int, h hit) reply {
		mu.Lock()
		defer mu.Unlock()
		if isJudge(h) {
			if !rateLimited {
				rateLimited = true
				return apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"Retry-After": "0"})
			}
			judgements++
			score, issue := 5.0, "too vague"
			if judgements > 1 {
				score, issue = 9, "none"
			}
			return reply{body: completion{text: verdict(score, issue), in: 100, out: 40}.json()}
		}
		answers++
		text := "A draft answer."
		if answers > 1 {
			text = "A refined answer."
		}
		return reply{body: completion{text: text, in: 20, out: 10}.json()}
	})
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("sk-test"),
		openai.WithRetry(refine.RetryPolicy{Base: time.Millisecond, Max: 5 * time.Millisecond}))

	res, err := refine.Run(context.Background(), "What does the select statement do in Go?",
		refine.WithProvider(p))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Answer != "A refined answer." {
		t.Errorf("Answer = %q, want %q", res.Answer, "A refined answer.")
	}
	if res.Score != 9 {
		t.Errorf("Score = %v, want 9", res.Score)
	}
	if len(res.Attempts) != 2 {
		t.Errorf("len(Attempts) = %d, want 2", len(res.Attempts))
	}
	if res.StopReason != refine.StopThreshold {
		t.Errorf("StopReason = %q, want %q", res.StopReason, refine.StopThreshold)
	}
	if want := (refine.Usage{InputTokens: 2*20 + 2*100, OutputTokens: 2*10 + 2*40}); res.Usage != want {
		t.Errorf("Usage = %+v, want %+v", res.Usage, want)
	}
	if len(res.Attempts) > 0 && res.Attempts[0].Verdict != nil && !strings.Contains(res.Attempts[0].Verdict.Feedback+strings.Join(res.Attempts[0].Verdict.Issues, " "), "too vague") {
		t.Errorf("first verdict = %+v, want the judge's critique", res.Attempts[0].Verdict)
	}

	hits := srv.Hits()
	if len(hits) != 5 { // draft, judge (429), judge, refinement, judge
		t.Errorf("server received %d requests, want 5", len(hits))
	}
	for i, h := range hits {
		if !isJudge(h) {
			continue
		}
		// The judge asks for temperature 0: it must reach the wire.
		if temp, ok := h.Body["temperature"]; !ok || temp != 0.0 {
			t.Errorf("judge request %d: temperature = %v (present %v), want 0", i, temp, ok)
		}
	}
	if len(hits) >= 4 {
		refinement := hits[3]
		msgs, _ := refinement.Body["messages"].([]any)
		if b, _ := json.Marshal(msgs); !strings.Contains(string(b), "too vague") || !strings.Contains(string(b), "A draft answer.") {
			t.Errorf("refinement request does not show the draft and its critique: %s", b)
		}
	}
}
