package main

import (
	"context"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// demoRun writes the results of a batch of the demo model on in, with the
// given flags, to dir/name.
func demoRun(t *testing.T, dir, name, in string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	a := newTestApp(nil)
	args := append([]string{"batch", "--provider", "demo", "--in", in, "--out", out}, flags...)
	if code := a.run(t, context.Background(), args...); code != exitOK {
		t.Fatalf("%v: exit %d; stderr:\n%s", args, code, a.errOut)
	}
	return out
}

// The CI gate: with the demo model, a candidate that stops at the first
// draft loses clearly to refined answers (exit 3 with --fail-if-worse, 0
// without), and a candidate run the same way as the baseline is not worse
// (exit 0). A better candidate never fails the gate.
func TestCompareFailIfWorse(t *testing.T) {
	dir := t.TempDir()
	in := writeTasks(t, dir, 30)
	refined := demoRun(t, dir, "refined.jsonl", in, "--max-iterations", "3")
	again := demoRun(t, dir, "again.jsonl", in, "--max-iterations", "3")
	drafts := demoRun(t, dir, "drafts.jsonl", in, "--max-iterations", "0")
	tests := []struct {
		name            string
		base, candidate string
		flags           []string
		want            int
		stdout          string
	}{
		{"worse candidate", refined, drafts, []string{"--fail-if-worse"}, exitWorse, "verdict: baseline wins significantly"},
		{"worse candidate, no gate", refined, drafts, nil, exitOK, "verdict: baseline wins significantly"},
		{"equal candidate", refined, again, []string{"--fail-if-worse"}, exitOK, "verdict: no difference found"},
		{"better candidate", drafts, refined, []string{"--fail-if-worse"}, exitOK, "verdict: candidate wins significantly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(nil)
			args := append([]string{"compare", "--provider", "demo", tt.base, tt.candidate}, tt.flags...)
			if code := a.run(t, context.Background(), args...); code != tt.want {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.want, a.out, a.errOut)
			}
			if !strings.Contains(a.out.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, a.out)
			}
			if tt.want == exitWorse && !strings.Contains(a.errOut.String(), "significantly worse") {
				t.Errorf("stderr does not say why it failed:\n%s", a.errOut)
			}
		})
	}
}

// writeResults writes result lines with the given ids and answers.
func writeResults(t *testing.T, dir, name string, lines ...resultLine) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		data, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func answerLine(id, query, answer string) resultLine {
	return resultLine{ID: id, Query: query, Result: &refine.Result{Answer: answer, Score: 7,
		Attempts: []refine.Attempt{{Answer: answer, Verdict: &refine.Verdict{Score: 7}}}, Usage: refine.Usage{InputTokens: 10, OutputTokens: 5}}}
}

// Input errors are found before any model call and exit 2: a repeated id
// (naming the file, the line and the id), a line that is not a result, a
// task with no query and no --in.
func TestCompareInputErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeResults(t, dir, "good.jsonl", answerLine("a", "q a", "x"), answerLine("b", "q b", "y"))
	dup := writeResults(t, dir, "dup.jsonl", answerLine("a", "q a", "x"), answerLine("b", "q b", "y"), answerLine("a", "q a", "z"))
	noQuery := writeResults(t, dir, "noquery.jsonl", answerLine("a", "", "x"), answerLine("b", "", "y"))
	notResults := filepath.Join(dir, "tasks.jsonl")
	os.WriteFile(notResults, []byte("not json\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"repeated id in the candidate", []string{good, dup}, dup + `:3: id "a" is already on line 1`},
		{"repeated id in the baseline", []string{dup, good}, dup + `:3: id "a" is already on line 1`},
		{"not a results file", []string{good, notResults}, notResults + ":1: not a result line"},
		{"no query", []string{noQuery, noQuery}, `task "a" has no query`},
		{"missing file", []string{good, filepath.Join(dir, "nope.jsonl")}, "nope.jsonl"},
		{"one file", []string{good}, "accepts 2 arg(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingModel{}
			a := newTestApp(pairwiseModel{m})
			code := a.run(t, context.Background(), append([]string{"compare"}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, a.errOut)
			}
			if !strings.Contains(a.errOut.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, a.errOut)
			}
			if m.count() != 0 {
				t.Errorf("%d model calls, want none", m.count())
			}
		})
	}
}

// An id in one file only is counted as failed and listed, in the text,
// the JSON and the HTML report; the others are compared; the exit status
// says some tasks failed. --in gives the queries and references of
// results that lack them, and the reference reaches the judge.
func TestCompareOneFileOnly(t *testing.T) {
	dir := t.TempDir()
	base := writeResults(t, dir, "base.jsonl", answerLine("a", "", "base a"), answerLine("b", "", "base b"), answerLine("only-base", "", "x"))
	cand := writeResults(t, dir, "cand.jsonl", answerLine("a", "", "cand a"), answerLine("only-cand", "", "y"), answerLine("b", "", "cand b"))
	tasks := filepath.Join(dir, "tasks.jsonl")
	os.WriteFile(tasks, []byte(`{"id":"a","query":"qa","reference":"REF-A"}
{"id":"b","query":"qb"}
{"id":"only-base","query":"qc"}
{"id":"only-cand","query":"qd"}
`), 0o644)
	judge := refinetest.NewProvider(strings.Split(strings.Repeat("B is better.\n[[B]]|", 8), "|")[:8]...)
	report := filepath.Join(dir, "c.html")
	for _, asJSON := range []bool{false, true} {
		a := newTestApp(judge)
		args := []string{"compare", base, cand, "--in", tasks, "--report", report}
		if asJSON {
			args = append(args, "--json")
		}
		if code := a.run(t, context.Background(), args...); code != exitFailed {
			t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitFailed, a.out, a.errOut)
		}
		if !asJSON {
			for _, want := range []string{
				"candidate vs baseline: 0 wins, 2 ties, 0 losses (of 2 compared), 2 failed",
				"failed: only-base (only in " + base + ")",
				"failed: only-cand (only in " + cand + ")",
			} {
				if !strings.Contains(a.out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, a.out)
				}
			}
			html, _ := os.ReadFile(report)
			for _, want := range []string{"only-base (only in", "only-cand (only in", `class="failed"`} {
				if !strings.Contains(string(html), want) {
					t.Errorf("report lacks %q", want)
				}
			}
			continue
		}
		var got struct {
			Tasks   int      `json:"tasks"`
			Failed  int      `json:"failed"`
			Missing []string `json:"missing"`
			Worse   bool     `json:"worse"`
		}
		if err := json.Unmarshal(a.out.Bytes(), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, a.out)
		}
		if got.Tasks != 4 || got.Failed != 2 || len(got.Missing) != 2 || got.Worse {
			t.Errorf("JSON tasks %d, failed %d, missing %q, worse %v; want 4, 2, both ids, false", got.Tasks, got.Failed, got.Missing, got.Worse)
		}
	}
	// Each order of "a" and "b" was judged once per run (B, then B: a
	// split, so a tie), and "a"'s reference reached the judge in both.
	refs := 0
	for _, r := range judge.Requests() {
		for _, m := range r.Messages {
			if strings.Contains(m.Content, "REF-A") {
				refs++
				break
			}
		}
	}
	if judge.Calls() != 8 || refs != 4 {
		t.Errorf("%d judge calls, %d with the reference; want 8 and 4", judge.Calls(), refs)
	}
}

// compare --json prints the Report's fields in snake_case, with the
// verdict, on one line.
func TestCompareJSONFields(t *testing.T) {
	dir := t.TempDir()
	in := writeTasks(t, dir, 6)
	refined := demoRun(t, dir, "refined.jsonl", in, "--max-iterations", "2")
	drafts := demoRun(t, dir, "drafts.jsonl", in, "--max-iterations", "0")
	a := newTestApp(nil)
	if code := a.run(t, context.Background(), "compare", "--provider", "demo", "--json", drafts, refined); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	if n := strings.Count(strings.TrimSpace(a.out.String()), "\n"); n != 0 {
		t.Errorf("stdout has %d lines, want 1:\n%s", n+1, a.out)
	}
	var got map[string]any
	if err := json.Unmarshal(a.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "b", "tasks", "compared", "wins_a", "wins_b", "ties", "failed", "win_rate_a", "p",
		"usage_a", "usage_judge", "cost_a", "cost_known", "order_agreement", "results", "verdict", "same_judge", "worse", "missing", "judge"} {
		if _, ok := got[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
	if wr, ok := got["win_rate_a"].(map[string]any); !ok || wr["low"] == nil || wr["high"] == nil || wr["estimate"] == nil {
		t.Errorf("win_rate_a = %v, want estimate, low and high", got["win_rate_a"])
	}
	if got["a"] != "baseline" || got["b"] != "candidate" {
		t.Errorf("arms %v and %v, want baseline and candidate", got["a"], got["b"])
	}
}

// contentJudge is a pairwise judge that prefers the loop's answers
// ("answer N") to the baseline's ("BASELINE"): it finds which is shown
// first. Other requests go to the model.
type contentJudge struct{ refine.Provider }

var loopAnswer = regexp.MustCompile(`answer \d+`)

func (p contentJudge) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if !isPairwise(req) {
		return p.Provider.Complete(ctx, req)
	}
	last := req.Messages[len(req.Messages)-1].Content
	verdict := "[[A]]"
	if i := strings.Index(last, "BASELINE"); i >= 0 {
		if j := loopAnswer.FindStringIndex(last); j != nil && i < j[0] {
			verdict = "[[B]]"
		}
	}
	return &refine.Response{Text: "Reasons.\n" + verdict, Model: "counting", FinishReason: refine.FinishStop,
		Usage: refine.Usage{InputTokens: 30, OutputTokens: 7}}, nil
}

// --baseline-model adds a one-call arm: exactly one call per task and
// trial, with the trial index as the seed under --repeat, compared with
// the refined answers by the same judge; --repeat runs the loop k times
// per task and the report aggregates the trials.
func TestEvalBaselineAndRepeat(t *testing.T) {
	const tasks = 4
	for _, repeat := range []int{1, 3} {
		t.Run(fmt.Sprintf("repeat %d", repeat), func(t *testing.T) {
			dir := t.TempDir()
			m := &countingModel{}
			base := refinetest.NewProvider(strings.Split(strings.Repeat("BASELINE reply|", tasks*repeat), "|")...)
			a := newTestApp(contentJudge{m})
			a.models.baseline = base
			report := filepath.Join(dir, "r.html")
			code := a.run(t, context.Background(), "eval", "--in", writeTasks(t, dir, tasks), "--report", report, "--json",
				"--max-iterations", "1", "--threshold", "9", "--repeat", fmt.Sprint(repeat), "--concurrency", "2")
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			if got, want := base.Calls(), tasks*repeat; got != want {
				t.Errorf("%d baseline calls, want %d (one per task and trial)", got, want)
			}
			seeds := map[int64]int{}
			for _, r := range base.Requests() {
				if r.Seed != nil {
					seeds[*r.Seed]++
				}
			}
			if repeat > 1 && (len(seeds) != repeat || seeds[0] != tasks || seeds[int64(repeat-1)] != tasks) {
				t.Errorf("baseline seeds %v, want each trial index 0..%d %d times", seeds, repeat-1, tasks)
			}
			if repeat == 1 && len(seeds) != 0 {
				t.Errorf("baseline seeds %v without --repeat, want none", seeds)
			}
			if m.count() != tasks*repeat*callsPerTask {
				t.Errorf("%d calls of the loop's model, want %d", m.count(), tasks*repeat*callsPerTask)
			}
			lines := strings.Split(strings.TrimSpace(a.out.String()), "\n")
			var got struct {
				Repeat     int `json:"repeat"`
				WinsA      int `json:"wins_a"`
				VsBaseline struct {
					B       string `json:"b"`
					WinsA   int    `json:"wins_a"`
					Repeat  int    `json:"repeat"`
					Results []struct {
						Trials []json.RawMessage `json:"trials"`
					} `json:"results"`
				} `json:"vs_baseline"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("last line is not the report: %v\n%s", err, a.out)
			}
			vb := got.VsBaseline
			if got.Repeat != repeat || vb.Repeat != repeat || vb.WinsA != tasks || len(vb.Results) != tasks || len(vb.Results[0].Trials) != repeat {
				t.Errorf("repeat %d, vs baseline %+v; want %d trials per task and %d refined wins", got.Repeat, vb, repeat, tasks)
			}
			if !strings.HasPrefix(vb.B, "one call of") {
				t.Errorf("baseline arm named %q, want one call of ...", vb.B)
			}
		})
	}
}

// The comparison judge is --compare-model, by default the loop's judge
// model; when it is the loop's judge or a model that wrote the answers,
// the text (right under the verdict) and the report (next to the verdict)
// say that it overstates the gain.
func TestSameJudgeWarning(t *testing.T) {
	tests := []struct {
		name     string
		flags    []string
		warning  string // "" for none
		judgedBy string
	}{
		{"default: the loop's judge", nil, "the comparison judge is the loop's own judge model (gpt-4o-mini)", "gpt-4o-mini"},
		{"default with a judge model", []string{"--judge-model", "gpt-4o"}, "the comparison judge is the loop's own judge model (gpt-4o)", "gpt-4o"},
		{"the answer model, which judges too", []string{"--compare-model", "gpt-4o-mini"}, "the comparison judge (gpt-4o-mini) is the loop's own judge model", "gpt-4o-mini"},
		{"the answer model", []string{"--judge-model", "gpt-4o", "--compare-model", "gpt-4o-mini"}, "the comparison judge (gpt-4o-mini) wrote answers it grades", "gpt-4o-mini"},
		{"the baseline model", []string{"--compare-model", "gpt-4.1", "--baseline-model", "gpt-4.1"}, "the comparison judge (gpt-4.1) wrote answers it grades", "gpt-4.1"},
		{"an independent judge", []string{"--compare-model", "gpt-4.1"}, "", "gpt-4.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newChatServer(t, "llama-server-model")
			t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
			t.Setenv("OPENAI_API_KEY", "")
			t.Setenv("OPENAI_MODEL", "")
			dir := t.TempDir()
			a := newTestApp(nil)
			a.getenv = os.Getenv
			report := filepath.Join(dir, "r.html")
			args := append([]string{"eval", "--provider", "openai", "--model", "gpt-4o-mini", "--in", writeTasks(t, dir, 2),
				"--report", report, "--max-iterations", "1", "--threshold", "9"}, tt.flags...)
			if code := a.run(t, context.Background(), args...); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			out := a.out.String()
			html, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			if tt.warning == "" {
				if strings.Contains(out, "WARNING") || strings.Contains(string(html), "same-judge") {
					t.Errorf("a warning for an independent judge:\n%s", out)
				}
			} else {
				if !regexp.MustCompile(`(?m)^  verdict: .*\n  WARNING: ` + regexp.QuoteMeta(tt.warning)).MatchString(out) {
					t.Errorf("stdout lacks the warning %q under the verdict:\n%s", tt.warning, out)
				}
				if !regexp.MustCompile(`<p class="says">[^<]*</p>\s*<p class="warn same-judge"><strong>Same judge:</strong> ` + regexp.QuoteMeta(stdhtml.EscapeString(tt.warning))).Match(html) {
					t.Errorf("report lacks the warning %q next to the verdict", tt.warning)
				}
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.judgedBy) != 1 || srv.judgedBy[tt.judgedBy] == 0 {
				t.Errorf("pairwise requests by model %v, want all by %s", srv.judgedBy, tt.judgedBy)
			}
		})
	}
}

// compare warns when its judge answered calls of the runs it compares,
// and not otherwise.
func TestCompareSameJudgeWarning(t *testing.T) {
	dir := t.TempDir()
	l := answerLine("a", "q", "x")
	l.Models = []string{"gpt-4o-mini"}
	base := writeResults(t, dir, "base.jsonl", l)
	l = answerLine("a", "q", "y")
	l.Models = []string{"gpt-4o-mini"}
	cand := writeResults(t, dir, "cand.jsonl", l)
	for _, tt := range []struct {
		model, want string
	}{
		{"gpt-4o-mini", "WARNING: the comparison judge (gpt-4o-mini) answered calls of the runs it compares"},
		{"gpt-4.1", ""},
	} {
		t.Run(tt.model, func(t *testing.T) {
			srv := newChatServer(t, "served")
			t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
			t.Setenv("OPENAI_API_KEY", "")
			a := newTestApp(nil)
			a.getenv = os.Getenv
			if code := a.run(t, context.Background(), "compare", "--provider", "openai", "--model", tt.model, base, cand); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			if got := strings.Contains(a.out.String(), "WARNING"); got != (tt.want != "") || !strings.Contains(a.out.String(), tt.want) {
				t.Errorf("stdout, want warning %q:\n%s", tt.want, a.out)
			}
		})
	}
}

// refPairwise records whether the pairwise judge's requests carry a
// reference answer.
type refPairwise struct {
	pairwiseModel
	mu   sync.Mutex
	seen map[bool]int
}

func (p *refPairwise) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	if isPairwise(req) {
		has := false
		for _, m := range req.Messages {
			has = has || strings.Contains(m.Content, "REF-ANSWER-42")
		}
		p.mu.Lock()
		p.seen[has]++
		p.mu.Unlock()
	}
	return p.pairwiseModel.Complete(ctx, req)
}

// A task's reference reaches eval's comparison judge, for that task only.
func TestEvalReferenceReachesComparisonJudge(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "tasks.jsonl")
	os.WriteFile(in, []byte(`{"id":"r","query":"what is 6*7?","reference":"REF-ANSWER-42"}
{"id":"n","query":"what is 2+2?"}
`), 0o644)
	p := &refPairwise{pairwiseModel: pairwiseModel{&countingModel{}}, seen: map[bool]int{}}
	a := newTestApp(p)
	if code := a.run(t, context.Background(), "eval", "--in", in, "--report", filepath.Join(dir, "r.html"),
		"--max-iterations", "1", "--threshold", "9", "--concurrency", "1"); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	if p.seen[true] != 2 || p.seen[false] != 2 {
		t.Errorf("pairwise requests with the reference %d, without %d; want 2 and 2 (both orders of each task)", p.seen[true], p.seen[false])
	}
}
