package main

import (
	"context"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

// A newcomer's first eval: the shipped sample with the demo model writes
// results and a report with the outcome, the charts and the tables.
func TestEvalSample(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	a := newTestApp(nil)
	code := a.run(t, context.Background(), "eval", "--provider", "demo", "--in", "sample/tasks.jsonl",
		"--prices", "sample/demo-prices.json", "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
	}
	if want := "refined vs first draft: 7 wins, 2 ties, 1 losses (of 10 compared)"; !strings.Contains(a.out.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, a.out)
	}
	lines := readLines(t, filepath.Join(dir, "report.jsonl"))
	if len(lines) != 10 {
		t.Fatalf("%d result lines, want 10", len(lines))
	}
	for _, l := range lines {
		e := l.Eval
		if e == nil || l.Result == nil || e.Winner == "" || e.SingleCall.Usage.Total() == 0 || !e.SingleCall.CostKnown {
			t.Fatalf("line %s: eval %+v; want a winner and the single call's usage and cost", l.ID, e)
		}
		// Winner is the verdict of both orders: it agrees with them or is a tie.
		if e.Orders[0] != e.Orders[1] && e.Winner != "tie" {
			t.Errorf("line %s: orders %v but winner %q", l.ID, e.Orders, e.Winner)
		}
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIMULATED", `id="summary"`, `id="rounds"`, `id="cost"`, `id="stops"`, `class="case"`, "<svg"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\p{Hangul}`).Match(html) {
		t.Errorf("report lacks the Korean tasks")
	}
	if n := strings.Count(string(html), "<svg"); n != 4 {
		t.Errorf("report has %d charts, want 4", n)
	}
	for _, banned := range []string{"<script", "<link", "@import", "url("} {
		if strings.Contains(string(html), banned) {
			t.Errorf("report contains %q: it must be self-contained and static", banned)
		}
	}
	if m := regexp.MustCompile(`(?:src|href)="https?:`).FindString(string(html)); m != "" {
		t.Errorf("report fetches %q: it must be self-contained", m)
	}
}

// Answers are untrusted: the report escapes them, and long unbroken text
// wraps instead of widening the page.
func TestReportEscapesAnswers(t *testing.T) {
	html, err := renderReport(hostileStats())
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	if strings.Contains(s, "<script>alert") || strings.Contains(s, `<img src=x`) {
		t.Errorf("report contains an answer's markup unescaped")
	}
	if !strings.Contains(s, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("report lacks the escaped answer")
	}
}

// hostileStats is a report's input with markup, long unbroken text and
// Korean in the answers.
func hostileStats() *evalStats {
	tasks := []task{{ID: "x1", Query: "<script>alert(1)</script> 질문"}, {ID: strings.Repeat("long-id-", 30), Query: strings.Repeat("가", 400)}}
	lines := map[string]*resultLine{}
	for i, t := range tasks {
		draft := refine.Attempt{Answer: `<img src=x onerror=alert(2)>` + strings.Repeat("W", 600), Verdict: &refine.Verdict{Score: 6}}
		final := refine.Attempt{Answer: "<script>alert(1)</script>\n" + strings.Repeat("한국어답변", 200), Verdict: &refine.Verdict{Score: 4}, Round: 1}
		lines[t.ID] = &resultLine{ID: t.ID, Result: &refine.Result{Answer: final.Answer, Score: 4, Best: 1,
			Attempts: []refine.Attempt{draft, final}, StopReason: refine.StopMaxIterations, Usage: refine.Usage{InputTokens: 900, OutputTokens: 100}},
			Eval: &evalOutcome{Winner: []string{"draft", "tie"}[i], Explanations: [2]string{"<b>bold</b> " + strings.Repeat("x", 500)}}}
		lines[t.ID].Eval.SingleCall.Usage = refine.Usage{InputTokens: 10, OutputTokens: 90}
	}
	st := computeStats(tasks, lines, false)
	st.Model, st.Generated, st.Options = "test <model>", time.Unix(0, 0).UTC(), "threshold 8"
	return st
}

// The report in a real browser: headless Chromium renders it at a desktop
// and a phone width; the charts and tables are there and drawn, and no
// element is wider than its box. The screenshot is kept in the test's
// directory (REFINE_REPORT_SCREENSHOT names a file to copy it to).
func TestReportInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install -y chromium): the report is not checked in a browser")
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	a := newTestApp(nil)
	if code := a.run(t, context.Background(), "eval", "--provider", "demo", "--in", "sample/tasks.jsonl",
		"--prices", "sample/demo-prices.json", "--report", report); code != exitOK {
		t.Fatalf("eval: exit %d; stderr:\n%s", code, a.errOut)
	}
	sample, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	hostile, err := renderReport(hostileStats())
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct {
		name         string
		html         []byte
		svgs, tables int
	}{{"sample", sample, 4, 3}, {"hostile", hostile, 4, 3}} {
		// Headless Chromium makes windows at least 500 px wide.
		for _, width := range []int{1280, 500} {
			t.Run(fmt.Sprintf("%s-%d", page.name, width), func(t *testing.T) {
				got := inspect(t, browser, dir, page.name, page.html, width)
				if got.SVGs < page.svgs || got.DrawnSVGs < page.svgs {
					t.Errorf("%d charts, %d drawn with a size; want %d", got.SVGs, got.DrawnSVGs, page.svgs)
				}
				if got.Tables < page.tables {
					t.Errorf("%d tables, want at least %d", got.Tables, page.tables)
				}
				if got.PageWidth > got.WindowWidth {
					t.Errorf("page is %d px wide in a %d px window", got.PageWidth, got.WindowWidth)
				}
				if len(got.Overflows) > 0 {
					t.Errorf("elements wider than their box: %v", got.Overflows)
				}
				if got.Scripts != 1 {
					t.Errorf("%d scripts ran, want only the test's", got.Scripts)
				}
			})
		}
	}
}

type pageCheck struct {
	SVGs, DrawnSVGs, Tables, PageWidth, WindowWidth, Scripts int
	Overflows                                                []string
}

// inspect loads html in headless Chromium with a small script appended
// that measures the page and writes what it found into the DOM, which
// --dump-dom prints; it also takes a screenshot.
func inspect(t *testing.T, browser, dir, name string, html []byte, width int) pageCheck {
	t.Helper()
	const probe = `<script>
(function () {
  var over = [];
  document.querySelectorAll('body *').forEach(function (el) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') return;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' && el.clientWidth > 0) {
      over.push(el.tagName + '.' + el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
    }
  });
  var drawn = 0;
  document.querySelectorAll('svg').forEach(function (s) { var r = s.getBoundingClientRect(); if (r.width > 50 && r.height > 50 && r.right <= window.innerWidth + 1) drawn++; });
  var out = document.createElement('pre');
  out.id = 'refine-check';
  out.textContent = JSON.stringify({SVGs: document.querySelectorAll('svg').length, DrawnSVGs: drawn,
    Tables: document.querySelectorAll('table').length, PageWidth: document.documentElement.scrollWidth, WindowWidth: window.innerWidth,
    Scripts: document.scripts.length, Overflows: over});
  document.body.appendChild(out);
})();
</script>`
	page := strings.Replace(string(html), "</body>", probe+"</body>", 1)
	file := filepath.Join(dir, fmt.Sprintf("%s-%d.html", name, width))
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + filepath.Join(dir, "profile"), fmt.Sprintf("--window-size=%d,1000", width), "--virtual-time-budget=3000"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := exec.CommandContext(ctx, browser, append(args, "--dump-dom", "file://"+file)...).Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v", browser, err)
	}
	m := regexp.MustCompile(`<pre id="refine-check">([^<]*)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's check did not run; DOM:\n%.2000s", dom)
	}
	var got pageCheck
	if err := json.Unmarshal([]byte(stdhtml.UnescapeString(string(m[1]))), &got); err != nil {
		t.Fatalf("reading the page's check %q: %v", m[1], err)
	}
	if width != 1280 {
		return got
	}
	shot := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))
	// The screenshot is of the report as users see it, without the probe.
	plain := filepath.Join(dir, fmt.Sprintf("%s-%d-plain.html", name, width))
	os.WriteFile(plain, html, 0o644)
	if out, err := exec.CommandContext(ctx, browser, append(args, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,3200", width), "file://"+plain)...).CombinedOutput(); err != nil {
		t.Fatalf("%s --screenshot: %v\n%s", browser, err, out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s missing or nearly empty (%v)", shot, err)
	}
	if to := os.Getenv("REFINE_REPORT_SCREENSHOT"); to != "" && name == "sample" {
		if data, err := os.ReadFile(shot); err == nil {
			os.WriteFile(to, data, 0o644)
		}
	}
	return got
}

// namedModel is countingModel with a name, as the adapters have.
type namedModel struct{ *countingModel }

func (namedModel) Model() string { return "counting" }

// writePrices writes a LiteLLM prices file with the given models.
func writePrices(t *testing.T, models ...string) string {
	t.Helper()
	prices := map[string]any{}
	for _, m := range models {
		prices[m] = map[string]any{"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
	}
	data, _ := json.Marshal(prices)
	path := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A comparison whose second order fails after the first succeeded still
// counts what it spent: the first order's tokens and a failed call's own
// (refine.UsageOf), in the results file, the dollars and the progress
// line (issue 20, item 21).
func TestEvalCountsFailedComparison(t *testing.T) {
	first := refine.Usage{InputTokens: 100, OutputTokens: 20}
	failed := refine.Usage{InputTokens: 40}
	m := namedModel{&countingModel{}}
	answered := make(chan struct{})
	var once sync.Once
	p := struct {
		refine.ProviderFunc
		namedModel
	}{ProviderFunc: func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if !isPairwise(req) {
			return m.Complete(ctx, req)
		}
		isFirst := false
		once.Do(func() { isFirst = true })
		if isFirst {
			defer close(answered)
			return &refine.Response{Text: "A is better.\n[[A]]", Model: "counting", FinishReason: refine.FinishStop, Usage: first}, nil
		}
		<-answered // the other order fails after this one succeeded
		return nil, refine.WithUsage(fmt.Errorf("reply cut off: %w", refine.ErrInvalidRequest), failed)
	}, namedModel: m}
	dir := t.TempDir()
	in := writeTasks(t, dir, 1)
	a := newTestApp(p)
	code := a.run(t, context.Background(), "eval", "--in", in, "--report", filepath.Join(dir, "r.html"),
		"--max-iterations", "1", "--threshold", "9", "--prices", writePrices(t, "counting"))
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, a.errOut)
	}
	lines := readLines(t, filepath.Join(dir, "r.jsonl"))
	if len(lines) != 1 || lines[0].Eval == nil {
		t.Fatalf("lines %+v, want one with an eval outcome", lines)
	}
	e := lines[0].Eval
	want := first.Add(failed)
	wantCost, _ := refine.Cost(map[string]refine.Price{"counting": {Input: 1, Output: 2}}, "counting", want)
	if e.Usage != want || math.Abs(e.Cost-wantCost) > 1e-12 || !e.CostKnown {
		t.Errorf("eval usage %+v, cost %g (known %v); want %+v, %g, known", e.Usage, e.Cost, e.CostKnown, want, wantCost)
	}
	if !strings.Contains(lines[0].Error, "comparing with the first draft") || e.Error == "" {
		t.Errorf("line error %q, eval error %q; want the comparison's failure", lines[0].Error, e.Error)
	}
	loop := lines[0].Result.Usage.Total()
	if wantLine := fmt.Sprintf("%d tokens", loop+want.Total()); !strings.Contains(a.out.String(), wantLine) {
		t.Errorf("progress lacks %q (loop %d + comparison %d):\n%s", wantLine, loop, want.Total(), a.out)
	}
}

// The report's header names the model that answered (Response.Model, a
// llama.cpp server's model file) next to the one requested when they
// differ, and only the requested one when they agree (issue 20, item 23).
func TestEvalReportNamesAnsweringModel(t *testing.T) {
	const gguf = "/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
	tests := []struct {
		served       string
		want, banned []string
	}{
		{gguf, []string{"OpenAI-compatible at", ", gpt-4o-mini", "answered by: " + gguf}, nil},
		{"gpt-4o-mini", []string{", gpt-4o-mini"}, []string{"answered by"}},
	}
	for _, tt := range tests {
		t.Run(tt.served, func(t *testing.T) {
			srv := newChatServer(t, tt.served)
			t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
			t.Setenv("OPENAI_API_KEY", "")
			t.Setenv("OPENAI_MODEL", "")
			dir := t.TempDir()
			a := newTestApp(nil)
			a.getenv = os.Getenv
			report := filepath.Join(dir, "r.html")
			code := a.run(t, context.Background(), "eval", "--provider", "openai", "--model", "gpt-4o-mini", "--in", writeTasks(t, dir, 2),
				"--report", report, "--max-iterations", "1", "--threshold", "9")
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, a.errOut)
			}
			html, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			header := regexp.MustCompile(`<p class="meta">.*?</p>`).FindString(string(html))
			for _, w := range tt.want {
				if !strings.Contains(header, stdhtml.EscapeString(w)) {
					t.Errorf("header %q lacks %q", header, w)
				}
			}
			for _, b := range tt.banned {
				if strings.Contains(header, b) {
					t.Errorf("header %q has %q", header, b)
				}
			}
			for _, l := range readLines(t, filepath.Join(dir, "r.jsonl")) {
				if !slices.Equal(l.Models, []string{tt.served}) {
					t.Errorf("line %s: models %q, want [%q]", l.ID, l.Models, tt.served)
				}
			}
		})
	}
}
