package refine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// The text of answers and judges' replies never leaves through WithLogger
// or an error's message: a *VerdictError says why in the package's words
// and keeps the reply in Raw and RepairRaw (issue 20, item 11).
func TestUnreadableReplyNeverLogged(t *testing.T) {
	const secret = "SECRET-XYZ"
	tests := []struct {
		name, reply string
		reason      string // part of the wanted Reason
	}{
		{"score as prose", `{"score":"N/A: the answer discloses SECRET-XYZ"}`, "score is text that is not a number"},
		{"score as a bare word", `{"score": SECRET-XYZ}`, "score is text that is not a number"},
		{"score as a malformed number", `{"score": 7SECRET-XYZ}`, "no JSON object with a score"},
		{"score with a zero scale", `{"score": "7/0 SECRET-XYZ"}`, "zero scale"},
		{"no score", `The answer discloses SECRET-XYZ.`, "no JSON object with a score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			gen := refinetest.NewProvider("an answer")
			judge := refinetest.NewProvider(tt.reply, tt.reply)
			_, err := refine.Run(context.Background(), "a question", refine.WithProvider(gen),
				refine.WithJudgeProvider(judge), refine.WithLogger(logger))
			var ve *refine.VerdictError
			if !errors.As(err, &ve) {
				t.Fatalf("Run error = %v, want a *VerdictError", err)
			}
			if !strings.Contains(buf.String(), "judge reply unreadable") {
				t.Errorf("log does not record the failure:\n%s", buf.String())
			}
			for what, text := range map[string]string{"log": buf.String(), "error": err.Error(), "%+v": fmt.Sprintf("%+v", err), "Reason": ve.Reason} {
				if strings.Contains(text, secret) {
					t.Errorf("%s holds the judge's reply text: %s", what, text)
				}
			}
			if !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to say %q", ve.Reason, tt.reason)
			}
			if ve.Raw != tt.reply || ve.RepairRaw != tt.reply {
				t.Errorf("Raw, RepairRaw = %q, %q; want the replies verbatim, %q", ve.Raw, ve.RepairRaw, tt.reply)
			}
		})
	}
}

// RunTyped's ErrInvalidAnswer counts the last attempt's problems without
// quoting the answer, whose values the schema's messages repeat.
func TestInvalidAnswerErrorQuotesNoAnswer(t *testing.T) {
	const secret = "SECRET-XYZ"
	bad := `{"number":"INV-7","lines":[{"item":"paper","amount":"SECRET-XYZ"}],"total":"SECRET-XYZ"}`
	model := refinetest.NewProvider(bad, bad)
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.",
		refine.WithProvider(model), refine.WithMaxIterations(1))
	if !errors.Is(err, refine.ErrInvalidAnswer) {
		t.Fatalf("err = %v, want ErrInvalidAnswer", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error quotes the answer: %v", err)
	}
	if !strings.Contains(err.Error(), "broke the schema, among 2 problems") {
		t.Errorf("error %q does not count the problems", err)
	}
	// The problems themselves stay where the caller reads them.
	if issues := strings.Join(res.Attempts[0].Verdict.Issues, "\n"); !strings.Contains(issues, "$.total") {
		t.Errorf("attempt issues = %q, want the place of each problem", issues)
	}
}

// MT-Bench's rating alone ("[[8.5]]"), or after a reasoning block, is a
// score: no repair call (issue 20, item 12).
func TestBracketRatingNeedsNoRepair(t *testing.T) {
	for _, reply := range []string{"[[8.5]]", "<think>Is it [[10]]? No.</think>\n[[8.5]]", "  [[8.5]]\n"} {
		t.Run(reply, func(t *testing.T) {
			judge := refinetest.NewProvider(reply, `{"score": 1}`)
			v, err := refine.NewLLMJudge(judge).Evaluate(context.Background(), "q", "a")
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if v.Score != 8.5 {
				t.Errorf("score = %v, want 8.5", v.Score)
			}
			if got := judge.Calls(); got != 1 {
				t.Errorf("judge calls = %d, want 1 (no repair)", got)
			}
		})
	}
}
