package refine_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/calibrate"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

// README's Go code runs. Every ```go block of README.md is the text of a
// region of a test, between a "// README:" and a "// :README" line, in
// this file (the otelrefine block in otelrefine/readme_test.go); the tests
// below run them against refinetest fakes. Edit a block here and in
// README.md together: TestREADMEBlocksAreTested fails when they differ.

// readmeFiles are the files that hold README regions.
var readmeFiles = []string{"readme_test.go", filepath.Join("otelrefine", "readme_test.go")}

// goBlocks returns the text of every ```go block of the Markdown in md.
func goBlocks(md string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// regions returns the README regions of a Go source file, without the
// indentation they share.
func regions(src string) []string {
	var out []string
	var cur []string
	in := false
	for _, line := range strings.Split(src, "\n") {
		switch strings.TrimSpace(line) {
		case "// README:":
			in, cur = true, nil
			continue
		case "// :README":
			in = false
			out = append(out, dedent(cur))
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	return out
}

func dedent(lines []string) string {
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, "\t")); indent < 0 || n < indent {
			indent = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		out[i] = l
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

func TestREADMEBlocksAreTested(t *testing.T) {
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(md))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block: the extraction is broken")
	}
	tested := map[string]bool{}
	for _, f := range readmeFiles {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range regions(string(src)) {
			tested[r] = true
		}
	}
	inREADME := map[string]bool{}
	for i, b := range blocks {
		inREADME[b] = true
		if !tested[b] {
			t.Errorf("README.md's go block %d is run by no test: copy it into a // README: region of %s\n%s", i+1, readmeFiles[0], b)
		}
	}
	for r := range tested {
		if !inREADME[r] {
			t.Errorf("a // README: region is no longer in README.md (update the region or README):\n%s", r)
		}
	}
}

func TestREADMEExtraction(t *testing.T) {
	md := "text\n```go\na := 1\n\tb := 2\n```\n```sh\nls\n```\n```go\nc\n```\n"
	if got, want := goBlocks(md), []string{"a := 1\n\tb := 2", "c"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("goBlocks = %q, want %q", got, want)
	}
	src := "func f() {\n\t// README:\n\tif x {\n\t\ty()\n\t}\n\t// :README\n}\n"
	if got, want := regions(src), []string{"if x {\n\ty()\n}"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("regions = %q, want %q", got, want)
	}
}

// captureStdout returns what f prints on os.Stdout, as README's blocks
// print there.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	read := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	func() {
		defer func() { os.Stdout = old; w.Close() }() // also when f panics
		f()
	}()
	return <-read
}

// openAIServer is a loopback server speaking OpenAI's chat completions,
// answering with the simulator: a request with a response_format asks for
// JSON, as the adapter sends the judge's requests.
func openAIServer(t *testing.T, sim *refinetest.Simulator) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat *struct {
				Type string `json:"type"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := &refine.Request{JSON: body.ResponseFormat != nil && body.ResponseFormat.Type != "text"}
		for _, m := range body.Messages {
			req.Messages = append(req.Messages, refine.Message{Role: refine.Role(m.Role), Content: m.Content})
		}
		resp, err := sim.Complete(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		content, _ := json.Marshal(resp.Text)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":%q,
			"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
			body.Model, content, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.Usage.Total())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The first block, as a user runs it: openai.FromEnv finds the server in
// OPENAI_BASE_URL, and the best answer is printed.
func TestREADMEUse(t *testing.T) {
	srv := openAIServer(t, &refinetest.Simulator{})
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_MODEL", "")
	ctx := context.Background()
	out := captureStdout(t, func() {
		// README:
		p, err := openai.FromEnv() // or bedrock.FromEnv(ctx), or openai.New("llama3.2", openai.WithBaseURL("http://localhost:11434/v1"))
		if err != nil {
			log.Fatal(err)
		}
		res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.",
			refine.WithProvider(p), refine.WithThreshold(9), refine.WithMaxIterations(3))
		if res == nil {
			log.Fatal(err) // no attempt was judged
		}
		fmt.Println(res.Answer, res.Score, res.StopReason) // the best so far, even when err != nil
		// :README
	})
	if !strings.Contains(out, "차 수정 답변입니다") || !strings.Contains(out, "max_iterations") {
		t.Errorf("output = %q, want a Korean refinement and its stop reason", out)
	}
}

// The Events block, when the run works and when the first draft fails: it
// prints the error, and does not panic on the nil Result.
func TestREADMEEvents(t *testing.T) {
	tests := []struct {
		name string
		p    refine.Provider
		want []string
	}{
		{"runs", &refinetest.Simulator{}, []string{"A short first answer", "score 5.0", "Revised answer (round 1)"}},
		{"first draft fails", refinetest.NewProvider().FailAt(1, &refine.ProviderError{Kind: refine.ErrAuth, Provider: "test", Message: "invalid key"}),
			[]string{"error:", "invalid key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, query := context.Background(), "What is a goroutine?"
			loop, err := refine.New(refine.WithProvider(tt.p), refine.WithMaxIterations(1))
			if err != nil {
				t.Fatal(err)
			}
			out := captureStdout(t, func() {
				// README:
				for e, err := range loop.Events(ctx, query) {
					switch e.Kind {
					case refine.EventDelta:
						fmt.Print(e.Delta) // the draft or refinement, as the model writes it
					case refine.EventJudged:
						fmt.Printf("\nscore %.1f\n", e.Score)
					case refine.EventStopped: // last; e.Result is what Run returns
						if e.Result != nil { // nil when not even the first draft was judged
							fmt.Println(e.Result.Answer)
						}
						if err != nil {
							fmt.Println("error:", err)
						}
					}
				}
				// :README
			})
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestREADMECalls(t *testing.T) {
	myProvider := refinetest.NewProvider("an answer", `{"score": 9, "issues": [], "suggestions": []}`)
	err := func() error {
		// README:
		mine := refine.RetryProvider(myProvider, refine.RetryPolicy{MaxRetries: 5})
		shared := refine.LimitProvider(mine, 32) // at most 32 calls in flight, for every run that shares it
		loop, err := refine.New(refine.WithProvider(shared))
		if err != nil {
			return err
		}
		// :README
		res, err := loop.Run(context.Background(), "q")
		if err == nil && res.Answer != "an answer" {
			err = fmt.Errorf("answer %q", res.Answer)
		}
		return err
	}()
	if err != nil {
		t.Error(err)
	}
}

func TestREADMETyped(t *testing.T) {
	ctx, text := context.Background(), "INVOICE A-1 Acme: 1 x drill @ $10 = $10; tax $2; total $12"
	p := refinetest.NewSimulator(refinetest.Turn{
		Answer: `{"vendor":"Acme","currency":"USD","lines":[{"description":"drill","quantity":1,"unit_price":10,"amount":10}],"tax":2,"total":12}`,
		Score:  9,
	})
	var err error
	out := captureStdout(t, func() {
		err = func() error {
			// README:
			type Line struct {
				Description string  `json:"description" jsonschema:"the item as written, in the document's language"`
				Quantity    float64 `json:"quantity"`
				UnitPrice   float64 `json:"unit_price"`
				Amount      float64 `json:"amount"`
			}
			type Invoice struct {
				Vendor   string  `json:"vendor" jsonschema:"the seller's name exactly as the document writes it"`
				Currency string  `json:"currency" jsonschema:"ISO 4217 code, such as KRW or USD"`
				Lines    []Line  `json:"lines"`
				Tax      float64 `json:"tax"`
				Total    float64 `json:"total"`
			}

			// The domain rule a schema cannot say: the lines and the total add up.
			addsUp := refine.Check(func(inv Invoice) []string {
				sum := inv.Tax
				for _, l := range inv.Lines {
					sum += l.Amount
				}
				if math.Abs(sum-inv.Total) > 0.005 {
					return []string{fmt.Sprintf("total is %g, but lines + tax = %g", inv.Total, sum)}
				}
				return nil
			})

			res, err := refine.RunTyped[Invoice](ctx, nil, "Extract the invoice:\n"+text, refine.WithProvider(p), addsUp)
			if err != nil {
				return err // errors.Is(err, refine.ErrInvalidAnswer) when no attempt was valid; res still holds them all
			}
			fmt.Println(res.Value.Total, res.Score) // res.Answer is the same value as JSON
			// :README
			return nil
		}()
	})
	if err != nil || out != "12 9\n" {
		t.Errorf("output %q, error %v; want 12 9 and no error", out, err)
	}
}

func TestREADMEPrices(t *testing.T) {
	t.Chdir(t.TempDir())
	litellm := `{"gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "litellm_provider": "openai"}}`
	if err := os.WriteFile("model_prices_and_context_window.json", []byte(litellm), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, query, model := context.Background(), "What is a goroutine?", &refinetest.Simulator{Model: "gpt-4o-mini"}
	var err error
	out := captureStdout(t, func() {
		err = func() error {
			// README:
			f, err := os.Open("model_prices_and_context_window.json")
			if err != nil {
				return err
			}
			prices, err := refine.LoadPrices(f) // dollars per token → Price, in dollars per million tokens
			f.Close()
			if err != nil {
				return err // a malformed entry is named with its key, field and line
			}

			loop, err := refine.New(
				refine.WithProvider(model),
				refine.WithPrices(prices),                // or your own map[string]refine.Price{"gpt-4o-mini": {Input: 0.15, CachedInput: 0.075, Output: 0.6}}
				refine.WithStop(refine.CostBudget(0.05)), // US dollars per run
			)
			if err != nil {
				return err
			}
			res, err := loop.Run(ctx, query)
			if res == nil {
				return err
			}
			fmt.Printf("$%.4f (known: %v)\n", res.Cost, res.CostKnown)
			for _, a := range res.Attempts {
				fmt.Printf("round %d: score %.1f, $%.4f\n", a.Round, a.Verdict.Score, a.Cost)
			}
			// :README
			return err
		}()
	})
	if err != nil || !strings.Contains(out, "(known: true)") || !strings.Contains(out, "round 1: score") {
		t.Errorf("output %q, error %v; want known dollars per round", out, err)
	}
}

func TestREADMESimulate(t *testing.T) {
	recorded, err := refine.Run(context.Background(), "What is a goroutine?", refine.WithProvider(&refinetest.Simulator{}),
		refine.WithThreshold(10), refine.WithMaxIterations(3))
	if err != nil {
		t.Fatal(err)
	}
	out := captureStdout(t, func() {
		err = func() error {
			// README:
			// recorded with the loosest settings: refine.WithThreshold(10), refine.WithMaxIterations(3)
			for t := 6.0; t <= 10; t++ {
				sim, err := refine.Simulate(recorded, refine.WithThreshold(t), refine.WithMaxIterations(3))
				if err != nil {
					return err
				}
				// what Run would have returned: sim.Score, sim.StopReason, sim.Attempts, sim.Usage, sim.Cost
				fmt.Printf("threshold %g: score %.1f after %d attempts, %d tokens\n", t, sim.Score, len(sim.Attempts), sim.Usage.Total())
			}
			// :README
			return nil
		}()
	})
	if err != nil || strings.Count(out, "threshold ") != 5 || !strings.Contains(out, "threshold 6: score") {
		t.Errorf("output %q, error %v; want a line per threshold", out, err)
	}
}

// TestREADMECassette re-records testdata/summary.jsonl, which TestSummary
// replays, with the simulator: run it with -update after changing a
// prompt (as for the golden files).
func TestREADMECassette(t *testing.T) {
	if f := flag.Lookup("update"); f == nil || f.Value.String() != "true" {
		t.Skip("re-records testdata/summary.jsonl with -update")
	}
	rec := refinetest.Record(refinetest.NewSimulator(
		refinetest.Turn{Answer: "The release adds typed answers.", Score: 6, Issues: []string{"it omits the breaking changes"}},
		refinetest.Turn{Answer: "The release adds typed answers and removes WithRetry: adapters retry by default.", Score: 9},
	), filepath.Join("testdata", "summary.jsonl"))
	if _, err := refine.Run(context.Background(), "Summarise the release notes.", refine.WithProvider(rec)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

// README:
func TestSummary(t *testing.T) {
	p := refinetest.UseCassette(t, "testdata/summary.jsonl", func() (refine.Provider, error) {
		return openai.FromEnv() // only called when recording
	})
	res, err := refine.Run(context.Background(), "Summarise the release notes.", refine.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	if res.Score < 8 {
		t.Errorf("score %.1f, want 8 or more", res.Score)
	}
}

// :README

// NewMyJudge stands for the judge a user writes.
func NewMyJudge() refine.Judge {
	return refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return &refine.Verdict{Score: min(10, float64(len(strings.Fields(answer))))}, nil
	})
}

// README:
func TestMyJudge(t *testing.T) {
	if err := refinetest.TestJudge(NewMyJudge()); err != nil {
		t.Fatal(err)
	}
}

// :README

// The calibration blocks, in order, with a judge model that grades each
// labelled answer with its human score.
func TestREADMECalibrate(t *testing.T) {
	f := strings.NewReader(`{"query": "2+2?", "answer": "4", "human": 10}
{"query": "2+2?", "answer": "5", "human": 1}
{"query": "Capital of Korea?", "answer": "Seoul", "reference": "Seoul", "human": 9}
{"query": "Capital of Korea?", "answer": "Busan", "human": 0}
`)
	p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		score := 0
		for _, a := range []struct {
			answer string
			score  int
		}{{"4", 10}, {"5", 1}, {"Seoul", 9}, {"Busan", 0}} {
			if strings.Contains(req.Messages[len(req.Messages)-1].Content, "\n"+a.answer+"\n") {
				score = a.score
			}
		}
		return &refine.Response{Text: fmt.Sprintf(`{"score": %d, "issues": [], "suggestions": []}`, score), Model: "judge"}, nil
	})
	ctx := context.Background()
	var err error
	out := captureStdout(t, func() { err = calibrateBlocks(ctx, f, p) })
	if err != nil || !strings.Contains(out, "spearman      1.000") {
		t.Errorf("output %q, error %v; want a report of perfect agreement", out, err)
	}
}

func calibrateBlocks(ctx context.Context, f io.Reader, p refine.Provider) error {
	{
		// README:
		data, err := calibrate.ReadExamples(f)
		if err != nil {
			return err // names the line that is wrong
		}
		judge := refine.NewLLMJudge(p)
		report, err := calibrate.Judge(ctx, judge, data,
			calibrate.WithRepeats(3),   // judge each answer 3 times: how consistent is it?
			calibrate.WithGoodScore(8), // a human 8 or more is a good answer
			calibrate.WithReferenceJudge(func(ref string) refine.Judge {
				return refine.NewLLMJudge(p, refine.WithReference(ref))
			}))
		if err != nil {
			return err
		}
		fmt.Print(report)
		// :README
		// README:
		threshold, err := report.Threshold(0.9) // answers the judge passes are good at least 90% of the time
		if err != nil {
			return err
		}
		loop, err := refine.New(refine.WithProvider(p), refine.WithJudge(judge), refine.WithThreshold(threshold))
		// :README
		if err == nil && threshold > 9 {
			err = fmt.Errorf("threshold %v, want at most 9 for a judge that agrees with people", threshold)
		}
		_ = loop
		return err
	}
}

func TestREADMEConfident(t *testing.T) {
	p := &refinetest.Simulator{}
	// README:
	loop, err := refine.New(
		refine.WithProvider(p),
		refine.WithJudge(refine.NewLLMJudge(p, refine.WithWeightedScore(5))), // 5 samples where there are no logprobs
		refine.WithStop(
			refine.Confident(0.9),                   // stop once P(score >= threshold) >= 0.9
			refine.NoSignificantImprovement(2, 0.8), // stop after 2 rounds with no P(better) >= 0.8
		),
	)
	// :README
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loop.Run(context.Background(), "What is a goroutine?"); err != nil {
		t.Fatal(err)
	}
}
