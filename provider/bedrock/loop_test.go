package bedrock_test

import (
	"context"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// isJudge tells the default LLM judge's requests from drafts and refinements.
func isJudge(s seen) bool { return strings.Contains(s.Req.systemText(), "strict, impartial judge") }

// isRefinement tells the default refiner's second-round requests.
func isRefinement(s seen) bool { return strings.Contains(s.Req.lastUser(), "Improve the answer") }

const (
	draftAnswer   = "```python\nimport requests\nfrom bs4 import BeautifulSoup\n\nsoup = BeautifulSoup(requests.get('https://example.com').text, 'html.parser')\nprint(soup.title.string)\n```"
	betterAnswer  = "```python\nimport requests\nfrom bs4 import BeautifulSoup\n\ntry:\n    r = requests.get('https://example.com', timeout=10)\n    r.raise_for_status()\nexcept requests.RequestException as e:\n    print(f'요청 실패: {e}')\nelse:\n    print(BeautifulSoup(r.text, 'html.parser').title.string)\n```"
	firstVerdict  = `{"score": 6, "criteria": {"helpfulness": 6, "relevance": 8, "accuracy": 6, "depth": 5}, "issues": ["예외 처리가 없습니다."], "suggestions": ["requests 호출을 try/except로 감싸고 timeout을 지정하세요."], "assessment": "기본 예제로는 괜찮지만 견고하지 않습니다."}`
	secondVerdict = `{"score": 9, "criteria": {"helpfulness": 9, "relevance": 9, "accuracy": 9, "depth": 8}, "issues": [], "suggestions": [], "assessment": "예외 처리와 timeout이 추가되어 실용적입니다."}`
)

// The whole loop on Bedrock: a Korean query is drafted, judged (6/10),
// refined with the judge's critique, and judged again (9/10).
func TestRunLoopKorean(t *testing.T) {
	f := newFake(t, func(n int, s seen) reply {
		switch {
		case isJudge(s) && strings.Contains(s.Req.lastUser(), "raise_for_status"):
			return okReply(secondVerdict, "end_turn", 400, 60)
		case isJudge(s):
			return okReply(firstVerdict, "end_turn", 300, 80)
		case isRefinement(s):
			return okReply(betterAnswer, "end_turn", 500, 150)
		default:
			return okReply(draftAnswer, "end_turn", 40, 120)
		}
	})
	p := bedrock.New(f.client(t), novaLite, bedrock.WithRetry(fastRetry(3)))
	res, err := refine.Run(context.Background(), koreanQuery, refine.WithProvider(p))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if res.Answer != betterAnswer || res.Score != 9 || res.StopReason != refine.StopThreshold {
		t.Errorf("Run = %q scored %v (%s), want the refined answer scored 9 (%s)", res.Answer, res.Score, res.StopReason, refine.StopThreshold)
	}
	if len(res.Attempts) != 2 {
		t.Fatalf("attempts = %d, want 2", len(res.Attempts))
	}
	if want := (refine.Usage{InputTokens: 40 + 300 + 500 + 400, OutputTokens: 120 + 80 + 150 + 60}); res.Usage != want {
		t.Errorf("Usage = %+v, want %+v", res.Usage, want)
	}

	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("server hits = %d, want 4 (draft, judge, refine, judge)", len(reqs))
	}
	for i, s := range reqs {
		if s.Path != "/model/us.amazon.nova-lite-v1%3A0/converse" {
			t.Errorf("request %d path = %s", i, s.Path)
		}
	}
	draft, judge, refinement := reqs[0], reqs[1], reqs[2]

	t.Run("draft", func(t *testing.T) {
		if got := draft.Req.systemText(); got == "" || isJudge(draft) {
			t.Errorf("system = %q, want refine's default system prompt", got)
		}
		if got := turnsOf(draft.Req); len(got) != 1 || got[0] != (wantTurn{"user", koreanQuery}) {
			t.Errorf("messages = %q, want the query alone", got)
		}
	})
	t.Run("judge", func(t *testing.T) {
		if !isJudge(judge) {
			t.Fatalf("second request is not the judge's: system %q", judge.Req.systemText())
		}
		u := judge.Req.lastUser()
		for _, want := range []string{koreanQuery, "soup.title.string", "single valid JSON object"} {
			if !strings.Contains(u, want) {
				t.Errorf("judge's user turn does not contain %q:\n%s", want, u)
			}
		}
		if got := compactJSON(t, judge.Req.InferenceConfig["temperature"]); got != "0" {
			t.Errorf("judge temperature = %s, want 0", got)
		}
		if turns := turnsOf(judge.Req); turns[0].Role != "user" {
			t.Errorf("judge conversation starts with %q, want user", turns[0].Role)
		}
	})
	t.Run("refinement", func(t *testing.T) {
		if isJudge(refinement) || !isRefinement(refinement) {
			t.Fatalf("third request is not a refinement:\n%s", refinement.Req.lastUser())
		}
		u := refinement.Req.lastUser()
		for _, want := range []string{
			koreanQuery,
			"soup.title.string",        // the previous answer
			"예외 처리가 없습니다.",             // the judge's issue
			"try/except로 감싸고 timeout을", // the judge's suggestion
		} {
			if !strings.Contains(u, want) {
				t.Errorf("refinement request does not contain %q:\n%s", want, u)
			}
		}
	})
}
