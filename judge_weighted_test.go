package refine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// openAIReply reads a chat completion body in the OpenAI wire format
// (testdata/openai_judge_logprobs.json, with logprobs.content[i].{token,
// logprob, bytes, top_logprobs}) and converts it as the openai adapter
// does: one refine.TokenLogprob per generated token.
func openAIReply(t testing.TB, path string) *refine.Response {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type wireLogprob struct {
		Token       string        `json:"token"`
		Logprob     float64       `json:"logprob"`
		Bytes       []byte        `json:"bytes"`
		TopLogprobs []wireLogprob `json:"top_logprobs"`
	}
	var body struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			Logprobs *struct {
				Content []wireLogprob `json:"content"`
			} `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	c := body.Choices[0]
	resp := &refine.Response{
		Text: c.Message.Content, Model: body.Model, FinishReason: c.FinishReason,
		Usage: refine.Usage{InputTokens: body.Usage.PromptTokens, OutputTokens: body.Usage.CompletionTokens},
	}
	if c.Logprobs != nil {
		for _, lp := range c.Logprobs.Content {
			tl := refine.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob}
			for _, alt := range lp.TopLogprobs {
				tl.Top = append(tl.Top, refine.TokenLogprob{Token: alt.Token, Logprob: alt.Logprob})
			}
			resp.Logprobs = append(resp.Logprobs, tl)
		}
	}
	return resp
}

// The expectations of the fixture, renormalised over the score tokens
// among the alternatives ("eight" is not one):
//
//	score:    8 (.6), 7 (.3), 9 (.08), 10 (.01)  →  7.72 / .99
//	accuracy: 7 (.5), 6 (.5)                     →  6.5
//	depth:    9 (.9), 10 (.1)                    →  9.1
const (
	fixtureScore    = (8*.6 + 7*.3 + 9*.08 + 10*.01) / .99
	fixtureAccuracy = 6.5
	fixtureDepth    = 9.1
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

// logprobModel replies with resp to every request, recording them.
type logprobModel struct {
	resp  *refine.Response
	mu    sync.Mutex
	reqs  []refine.Request
	calls atomic.Int32
}

func (m *logprobModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	m.calls.Add(1)
	m.mu.Lock()
	m.reqs = append(m.reqs, *req)
	m.mu.Unlock()
	r := *m.resp
	return &r, nil
}

func TestWeightedScoreLogprobs(t *testing.T) {
	fixture := openAIReply(t, "testdata/openai_judge_logprobs.json")
	tests := []struct {
		name      string
		opts      []refine.JudgeOption
		wantScore float64
	}{
		{"expected overall score", nil, fixtureScore},
		{"weighted criteria use the expected criterion scores", []refine.JudgeOption{refine.WithCriteria(
			refine.Criterion{Name: "accuracy", Description: "right?", Weight: 3},
			refine.Criterion{Name: "depth", Description: "deep?", Weight: 1},
		)}, (3*fixtureAccuracy + fixtureDepth) / 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &logprobModel{resp: fixture}
			j := refine.NewLLMJudge(m, append(tc.opts, refine.WithWeightedScore(5))...)
			v, err := j.Evaluate(context.Background(), "Why is the sky blue?", "Rayleigh scattering.")
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if !near(v.Score, tc.wantScore) {
				t.Errorf("Score: got %v, want %v", v.Score, tc.wantScore)
			}
			if !near(v.Criteria["accuracy"], fixtureAccuracy) || !near(v.Criteria["depth"], fixtureDepth) {
				t.Errorf("Criteria: got %v, want accuracy %v, depth %v", v.Criteria, fixtureAccuracy, fixtureDepth)
			}
			if len(v.Issues) != 1 || v.Issues[0] != "No source is cited" || !strings.Contains(v.Feedback, "Accurate but unsourced.") {
				t.Errorf("critique: got issues %q, feedback %q; want the reply's", v.Issues, v.Feedback)
			}
			if v.Usage != fixture.Usage {
				t.Errorf("Usage: got %+v, want %+v (one call)", v.Usage, fixture.Usage)
			}
			if n := m.calls.Load(); n != 1 {
				t.Fatalf("calls: got %d, want 1", n)
			}
			r := m.reqs[0]
			if r.TopLogprobs < 5 || r.TopLogprobs > 20 || !r.JSON || r.Temperature == nil || *r.Temperature != 0 {
				t.Errorf("request: got TopLogprobs %d, JSON %v, temperature %v; want 5..20, JSON, 0", r.TopLogprobs, r.JSON, r.Temperature)
			}
		})
	}
}

// sampleModel answers verdict requests with scores in call order, and
// requests with TopLogprobs as told.
type sampleModel struct {
	logprobs func(req *refine.Request) (*refine.Response, error) // nil: like any other request
	scores   []float64

	next, calls, lpCalls atomic.Int32
	mu                   sync.Mutex
	temps                []float64
}

func (m *sampleModel) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	m.calls.Add(1)
	if req.TopLogprobs > 0 {
		m.lpCalls.Add(1)
		if m.logprobs != nil {
			return m.logprobs(req)
		}
	}
	if req.Temperature != nil {
		m.mu.Lock()
		m.temps = append(m.temps, *req.Temperature)
		m.mu.Unlock()
	}
	i := int(m.next.Add(1)) - 1
	s := m.scores[i%len(m.scores)]
	text := fmt.Sprintf(`{"score": %g, "criteria": {"accuracy": %g}, "issues": ["issue %d", "shared issue"], "suggestions": ["Shared suggestion"], "assessment": "sample %d"}`, s, s, i, i)
	return &refine.Response{Text: text, Usage: refine.Usage{InputTokens: 100, OutputTokens: 10}}, nil
}

func TestWeightedScoreFallback(t *testing.T) {
	unsupported := func(*refine.Request) (*refine.Response, error) {
		return nil, fmt.Errorf("bedrock: logprobs: %w", errors.ErrUnsupported)
	}
	noLogprobs := func(*refine.Request) (*refine.Response, error) {
		return &refine.Response{Text: `{"score": 2}`, Usage: refine.Usage{InputTokens: 100, OutputTokens: 5}}, nil
	}
	unlocatable := func(*refine.Request) (*refine.Response, error) {
		text := `{"score": "8/10"}` // a string fraction: no score token to weigh
		return &refine.Response{Text: text, Usage: refine.Usage{InputTokens: 100, OutputTokens: 5},
			Logprobs: []refine.TokenLogprob{{Token: text, Logprob: -0.1}}}, nil
	}
	tests := []struct {
		name      string
		logprobs  func(*refine.Request) (*refine.Response, error)
		wantFirst refine.Usage // usage of the logprobs call, counted
		// whether a second Evaluate asks for logprobs again
		wantRetryLogprobs bool
	}{
		{"provider rejects logprobs (ErrUnsupported)", unsupported, refine.Usage{}, false},
		{"provider returns no logprobs", noLogprobs, refine.Usage{InputTokens: 100, OutputTokens: 5}, false},
		{"score token not found", unlocatable, refine.Usage{InputTokens: 100, OutputTokens: 5}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &sampleModel{logprobs: tc.logprobs, scores: []float64{6, 7, 8, 9}}
			j := refine.NewLLMJudge(m, refine.WithWeightedScore(4))
			v, err := j.Evaluate(context.Background(), "q", "answer")
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if v.Score != 7.5 || v.Criteria["accuracy"] != 7.5 {
				t.Errorf("Score, accuracy: got %v, %v; want the sample mean 7.5", v.Score, v.Criteria["accuracy"])
			}
			if got := m.calls.Load(); got != 5 {
				t.Errorf("calls: got %d, want 1 with logprobs + 4 samples", got)
			}
			want := tc.wantFirst
			for range 4 {
				want = want.Add(refine.Usage{InputTokens: 100, OutputTokens: 10})
			}
			if v.Usage != want {
				t.Errorf("Usage: got %+v, want %+v", v.Usage, want)
			}
			// Issues merged, duplicates once; every sample's own issue kept.
			if len(v.Issues) != 5 || strings.Count(strings.Join(v.Issues, "|"), "shared issue") != 1 {
				t.Errorf("Issues: got %q, want 4 own issues and the shared one once", v.Issues)
			}
			if len(v.Suggestions) != 1 || !strings.Contains(v.Feedback, "shared issue") {
				t.Errorf("Suggestions %q, Feedback %q: want one suggestion and the issues in the feedback", v.Suggestions, v.Feedback)
			}
			for _, temp := range m.temps {
				if temp != 0.7 {
					t.Errorf("sample temperature: got %v, want 0.7", temp)
				}
			}

			// A second verdict: the judge remembers a provider without
			// logprobs, but not a reply it could not weigh.
			before := m.lpCalls.Load()
			if _, err := j.Evaluate(context.Background(), "q", "answer"); err != nil {
				t.Fatal(err)
			}
			if retried := m.lpCalls.Load() > before; retried != tc.wantRetryLogprobs {
				t.Errorf("second Evaluate asked for logprobs: got %v, want %v", retried, tc.wantRetryLogprobs)
			}
		})
	}
}

// A scripted provider has no logprobs: the judge samples. The replies are
// consumed in call order; the average does not depend on which sample got
// which.
func TestWeightedScoreRefinetestProvider(t *testing.T) {
	p := refinetest.NewProvider(`{"score": 1}`, `{"score": 4}`, `{"score": 6}`, `{"score": 8}`)
	v, err := refine.NewLLMJudge(p, refine.WithWeightedScore(3)).Evaluate(context.Background(), "q", "a")
	if err != nil {
		t.Fatal(err)
	}
	if v.Score != 6 || p.Calls() != 4 {
		t.Errorf("got score %v after %d calls; want 6 (the samples' mean) after 4", v.Score, p.Calls())
	}
}

func TestWeightedScoreErrors(t *testing.T) {
	t.Run("a failed sample fails the verdict", func(t *testing.T) {
		var n atomic.Int32
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			if req.TopLogprobs > 0 {
				return nil, errors.ErrUnsupported
			}
			if n.Add(1) == 2 {
				return nil, refinetest.Transient(refine.ErrAuth, 0)
			}
			return &refine.Response{Text: `{"score": 9}`}, nil
		})
		v, err := refine.NewLLMJudge(p, refine.WithWeightedScore(3)).Evaluate(context.Background(), "q", "a")
		if !errors.Is(err, refine.ErrAuth) || v != nil {
			t.Errorf("got %+v, %v; want no verdict and ErrAuth", v, err)
		}
	})
	t.Run("an unreadable sample carries the usage of all calls", func(t *testing.T) {
		p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
			if req.TopLogprobs > 0 {
				return nil, errors.ErrUnsupported
			}
			return &refine.Response{Text: "no score", Usage: refine.Usage{InputTokens: 10, OutputTokens: 1}}, nil
		})
		_, err := refine.NewLLMJudge(p, refine.WithWeightedScore(2)).Evaluate(context.Background(), "q", "a")
		var ve *refine.VerdictError
		if !errors.As(err, &ve) {
			t.Fatalf("got %v, want a *VerdictError", err)
		}
		if ve.Usage.InputTokens < 20 {
			t.Errorf("VerdictError usage: got %+v, want at least the failed sample's call and repair", ve.Usage)
		}
	})
	t.Run("provider error on the logprobs call", func(t *testing.T) {
		p := refinetest.NewProvider().FailAt(1, refinetest.Transient(refine.ErrContextLength, 0))
		if _, err := refine.NewLLMJudge(p, refine.WithWeightedScore(2)).Evaluate(context.Background(), "q", "a"); !errors.Is(err, refine.ErrContextLength) {
			t.Errorf("got %v, want ErrContextLength (only ErrUnsupported falls back)", err)
		}
	})
	for _, n := range []int{-1, 0, 1} {
		t.Run(fmt.Sprintf("WithWeightedScore(%d)", n), func(t *testing.T) {
			j := refine.NewLLMJudge(refinetest.NewProvider(), refine.WithWeightedScore(n))
			if _, err := j.Evaluate(context.Background(), "q", "a"); !errors.Is(err, refine.ErrInvalidOption) {
				t.Errorf("Evaluate: got %v, want ErrInvalidOption", err)
			}
			if _, err := refine.New(refine.WithJudge(j)); !errors.Is(err, refine.ErrInvalidOption) {
				t.Errorf("New: got %v, want ErrInvalidOption", err)
			}
		})
	}
}

// The Bedrock case, as a plain ProviderFunc: logprobs are unsupported, so
// the judge samples and averages.
func TestWeightedScoreFallbackProviderFunc(t *testing.T) {
	var samples atomic.Int32
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if req.TopLogprobs > 0 {
			return nil, fmt.Errorf("bedrock: converse has no logprobs: %w", errors.ErrUnsupported)
		}
		n := samples.Add(1)
		return &refine.Response{Text: fmt.Sprintf(`{"score": %d, "issues": ["issue %d"]}`, 4+2*(n%2), n%2)}, nil
	})
	v, err := refine.NewLLMJudge(p, refine.WithWeightedScore(6)).Evaluate(context.Background(), "q", "a")
	if err != nil {
		t.Fatal(err)
	}
	if v.Score != 5 || samples.Load() != 6 || len(v.Issues) != 2 {
		t.Errorf("got score %v from %d samples with issues %q; want 5 from 6 samples, 2 distinct issues", v.Score, samples.Load(), v.Issues)
	}
}
