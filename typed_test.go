package refine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
	"github.com/selfrefine/refine/refinetest"
)

type invoiceLine struct {
	Item   string `json:"item" jsonschema:"what was sold, as written on the invoice"`
	Amount int    `json:"amount" jsonschema:"line total in the invoice's currency"`
}

type invoice struct {
	Number string        `json:"number"`
	Lines  []invoiceLine `json:"lines"`
	Total  int           `json:"total"`
	Note   string        `json:"note,omitempty"`
}

// sumsUp is the domain rule of the tests: the total is the sum of the lines.
func sumsUp(inv invoice) []string {
	sum := 0
	for _, l := range inv.Lines {
		sum += l.Amount
	}
	if sum != inv.Total {
		return []string{fmt.Sprintf("total is %d but the lines add up to %d", inv.Total, sum)}
	}
	return nil
}

// typedVerdict is a reply of the default LLM judge.
func typedVerdict(score float64) string {
	return fmt.Sprintf(`{"score": %g, "issues": [], "suggestions": [], "assessment": "graded %g"}`, score, score)
}

const (
	validInvoice = `{"number":"INV-7","lines":[{"item":"paper","amount":3000},{"item":"ink","amount":9000}],"total":12000}`
	// The second line's amount is a string, and a property is unknown.
	invalidInvoice = `{"number":"INV-7","lines":[{"item":"paper","amount":3000},{"item":"ink","amount":"9,000"}],"total":12000,"currency":"KRW"}`
)

var wantInvoice = invoice{Number: "INV-7", Lines: []invoiceLine{{"paper", 3000}, {"ink", 9000}}, Total: 12000}

// userPrompt returns the last user message of a request.
func userPrompt(r refine.Request) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == refine.RoleUser {
			return r.Messages[i].Content
		}
	}
	return ""
}

func TestRunTypedInvalidDraftIsRefinedIntoAValidValue(t *testing.T) {
	model := refinetest.NewProvider(invalidInvoice, validInvoice)
	judge := refinetest.NewJudge(9)
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice: INV-7, paper 3,000, ink 9,000, total 12,000.",
		refine.WithProvider(model), refine.WithJudge(judge))
	if err != nil {
		t.Fatalf("RunTyped: %v", err)
	}
	if !reflect.DeepEqual(res.Value, wantInvoice) {
		t.Errorf("Value = %+v, want %+v", res.Value, wantInvoice)
	}
	if res.Answer != validInvoice || res.Best != 1 || res.Score != 9 {
		t.Errorf("Answer, Best, Score = %q, %d, %v; want the valid attempt 1 scored 9", res.Answer, res.Best, res.Score)
	}

	// The invalid draft was never judged: one model call, score 0, the
	// problems with their places.
	if got := judge.Answers(); len(got) != 1 || got[0] != validInvoice {
		t.Errorf("judge saw %q, want only the valid answer", got)
	}
	draft := res.Attempts[0].Verdict
	wantIssues := []string{
		`$: unexpected additional properties ["currency"]`,
		`$.lines[1].amount: type: 9,000 has type "string", want "integer"`,
	}
	if draft.Score != 0 || !reflect.DeepEqual(draft.Issues, wantIssues) {
		t.Errorf("draft verdict = %v %q, want 0 %q", draft.Score, draft.Issues, wantIssues)
	}

	// The refine prompt carries exactly those problems, and every request
	// of the refiner carries the schema.
	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model calls = %d, want 2 (draft, refinement)", len(reqs))
	}
	prompt := userPrompt(reqs[1])
	for _, is := range wantIssues {
		if !strings.Contains(prompt, is) {
			t.Errorf("refine prompt lacks issue %q:\n%s", is, prompt)
		}
	}
	for i, r := range reqs {
		if r.Schema == nil || r.Schema.Name != "invoice" {
			t.Fatalf("request %d Schema = %+v, want the invoice schema", i, r.Schema)
		}
	}
	want := `{"type":"object","properties":{"number":{"type":"string"},"lines":{"type":["null","array"],"items":{"type":"object","properties":{"item":{"type":"string","description":"what was sold, as written on the invoice"},"amount":{"type":"integer","description":"line total in the invoice's currency"}},"required":["item","amount"],"additionalProperties":false}},"total":{"type":"integer"},"note":{"type":"string"}},"required":["number","lines","total"],"additionalProperties":false}`
	if got := string(reqs[0].Schema.Schema); got != want {
		t.Errorf("schema =\n%s\nwant\n%s", got, want)
	}
}

// With the default LLM judge on the same model, a valid answer costs two
// calls (answer, verdict) and an invalid one costs one (the answer only).
func TestRunTypedCallsPerRound(t *testing.T) {
	tests := []struct {
		name      string
		replies   []string
		opts      []refine.Option
		wantCalls int
		wantBest  int
		wantErr   error
	}{
		{"valid draft", []string{validInvoice, typedVerdict(9)}, nil, 2, 0, nil},
		{"fenced draft", []string{"```json\n" + validInvoice + "\n```", typedVerdict(9)}, nil, 2, 0, nil},
		{"invalid then valid", []string{invalidInvoice, validInvoice, typedVerdict(9)}, nil, 3, 1, nil},
		{"prose then valid", []string{"Sure! Here is the invoice.", validInvoice, typedVerdict(9)}, nil, 3, 1, nil},
		{"check fails then passes", []string{strings.Replace(validInvoice, "12000", "11000", 1), validInvoice, typedVerdict(9)},
			[]refine.Option{refine.Check(sumsUp)}, 3, 1, nil},
		// The loop's tie rule would pick the later, invalid attempt.
		{"valid scored 0, then invalid", []string{validInvoice, typedVerdict(0), invalidInvoice},
			[]refine.Option{refine.WithMaxIterations(1)}, 3, 0, nil},
		{"never valid", []string{"no", "still no", "{}", `{"number":1}`}, nil, 4, -1, refine.ErrInvalidAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := refinetest.NewProvider(tt.replies...)
			opts := append([]refine.Option{refine.WithProvider(model)}, tt.opts...)
			res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.", opts...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := model.Calls(); got != tt.wantCalls {
				t.Errorf("model calls = %d, want %d", got, tt.wantCalls)
			}
			if res == nil {
				t.Fatal("nil result")
			}
			if tt.wantBest < 0 {
				if !reflect.DeepEqual(res.Value, invoice{}) {
					t.Errorf("Value = %+v, want the zero value", res.Value)
				}
				for i, a := range res.Attempts {
					if a.Verdict.Score != 0 || len(a.Verdict.Issues) == 0 {
						t.Errorf("attempt %d verdict = %v %q, want 0 with issues", i, a.Verdict.Score, a.Verdict.Issues)
					}
				}
				return
			}
			if res.Best != tt.wantBest || res.Answer != validInvoice || !reflect.DeepEqual(res.Value, wantInvoice) {
				t.Errorf("Best, Answer, Value = %d, %q, %+v; want %d, the valid invoice", res.Best, res.Answer, res.Value, tt.wantBest)
			}
			if res.Answer != res.Attempts[res.Best].Answer || res.Score != res.Attempts[res.Best].Verdict.Score {
				t.Errorf("Answer/Score do not match Attempts[%d]", res.Best)
			}
		})
	}
}

func TestRunTypedNoValidAnswer(t *testing.T) {
	model := refinetest.NewProvider("I cannot read this invoice.", "```\nnot json either\n```")
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.",
		refine.WithProvider(model), refine.WithMaxIterations(1))
	if !errors.Is(err, refine.ErrInvalidAnswer) {
		t.Fatalf("err = %v, want ErrInvalidAnswer", err)
	}
	if res == nil || len(res.Attempts) != 2 {
		t.Fatalf("result = %+v, want both attempts", res)
	}
	if !strings.Contains(err.Error(), "refine_test.invoice") || !strings.Contains(err.Error(), "was not JSON") {
		t.Errorf("error %q should name the type and the last problem", err)
	}
	if res.StopReason != refine.StopMaxIterations {
		t.Errorf("StopReason = %q, want %q", res.StopReason, refine.StopMaxIterations)
	}
}

// A failure later in the run keeps the valid value found before it.
func TestRunTypedPartialResult(t *testing.T) {
	model := refinetest.NewProvider(validInvoice) // the refinement finds no reply
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.",
		refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(5)))
	if !errors.Is(err, refinetest.ErrExhausted) || errors.Is(err, refine.ErrInvalidAnswer) {
		t.Fatalf("err = %v, want the provider's error only", err)
	}
	if res == nil || !reflect.DeepEqual(res.Value, wantInvoice) {
		t.Fatalf("result = %+v, want the valid draft", res)
	}
}

type withChan struct {
	Name   string   `json:"name"`
	Notify chan int `json:"notify"`
}
type withFunc struct {
	Items []struct {
		Format func() string
	}
}
type withIntKeys struct {
	ByID map[int]string `json:"by_id"`
}
type node struct {
	Value    string  `json:"value"`
	Children []*node `json:"children"`
}

func TestRunTypedRejectsTypesWithoutObjectSchema(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, ...refine.Option) error
		want []string // in the error
	}{
		{"channel field", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[withChan](ctx, nil, "q", o...)
			return err
		}, []string{"refine_test.withChan", "withChan.Notify", "chan int"}},
		{"func in a slice of structs", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[withFunc](ctx, nil, "q", o...)
			return err
		}, []string{"refine_test.withFunc", "withFunc.Items[].Format", "func() string"}},
		{"map with int keys", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[withIntKeys](ctx, nil, "q", o...)
			return err
		}, []string{"refine_test.withIntKeys", "withIntKeys.ByID", "map[int]string"}},
		{"recursive type", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[node](ctx, nil, "q", o...)
			return err
		}, []string{"refine_test.node", "node.Children[]", "recursive"}},
		{"string", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[string](ctx, nil, "q", o...)
			return err
		}, []string{"RunTyped[string]", "JSON object"}},
		{"slice", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[[]invoice](ctx, nil, "q", o...)
			return err
		}, []string{"RunTyped[[]refine_test.invoice]", "JSON object"}},
		{"pointer", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[*invoice](ctx, nil, "q", o...)
			return err
		}, []string{"RunTyped[*refine_test.invoice]", "use refine_test.invoice"}},
		{"check of another type", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[invoice](ctx, nil, "q", append(o, refine.Check(func(withChan) []string { return nil }))...)
			return err
		}, []string{"Check(func(refine_test.withChan) []string)", "RunTyped[refine_test.invoice]", "invalid option"}},
		{"nil check", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[invoice](ctx, nil, "q", append(o, refine.Check[invoice](nil))...)
			return err
		}, []string{"Check(nil)", "invalid option"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := refinetest.NewProvider(validInvoice, typedVerdict(9))
			err := tt.run(context.Background(), refine.WithProvider(model))
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if errors.Is(err, refine.ErrInvalidAnswer) {
				t.Errorf("error %v is ErrInvalidAnswer; the type was at fault, not an answer", err)
			}
			if n := model.Calls(); n != 0 {
				t.Errorf("model calls = %d, want 0", n)
			}
		})
	}
}

// A Check given to New applies to every RunTyped of that type on the
// Loop; Loop.Run, which has no type, refuses it.
func TestTypedCheckOnLoop(t *testing.T) {
	loop, err := refine.New(refine.Check(sumsUp), refine.WithMaxIterations(1))
	if err != nil {
		t.Fatal(err)
	}
	wrongTotal := strings.Replace(validInvoice, "12000", "11000", 1)
	model := refinetest.NewProvider(wrongTotal, validInvoice)
	judge := refinetest.NewJudge(9)
	res, err := refine.RunTyped[invoice](context.Background(), loop, "Extract the invoice.",
		refine.WithProvider(model), refine.WithJudge(judge))
	if err != nil {
		t.Fatalf("RunTyped: %v", err)
	}
	want := "total is 11000 but the lines add up to 12000"
	if got := res.Attempts[0].Verdict.Issues; !reflect.DeepEqual(got, []string{want}) {
		t.Errorf("draft issues = %q, want [%q]", got, want)
	}
	if !strings.Contains(userPrompt(model.Requests()[1]), want) {
		t.Errorf("refine prompt lacks the check's message %q", want)
	}
	if judge.Calls() != 1 {
		t.Errorf("judge calls = %d, want 1 (the answer that passed the check)", judge.Calls())
	}

	plain := refinetest.NewProvider(validInvoice)
	_, err = loop.Run(context.Background(), "Extract the invoice.",
		refine.WithProvider(plain), refine.WithJudge(refinetest.NewJudge(9)))
	if !errors.Is(err, refine.ErrInvalidOption) || !strings.Contains(err.Error(), "RunTyped only") {
		t.Errorf("Loop.Run with a Check: err = %v, want ErrInvalidOption saying Check is for RunTyped", err)
	}
	if plain.Calls() != 0 {
		t.Errorf("Loop.Run with a Check made %d model calls, want none", plain.Calls())
	}
}

// Go has no upper-case Hangul, so the fields are English and the JSON
// names Korean.
type 회의록 struct {
	Title string `json:"제목" jsonschema:"회의 제목"`
	Tasks []할일   `json:"할일"`
}
type 할일 struct {
	Owner string `json:"담당자"`
	Task  string `json:"내용"`
	Due   string `json:"기한,omitempty" jsonschema:"YYYY-MM-DD"`
}

// Korean keys and values travel unchanged, issues name Korean keys, and
// the judge sees the Korean JSON without the fence the model put around it.
func TestRunTypedKorean(t *testing.T) {
	bad := `{"제목":"주간 회의","할일":[{"담당자":"김민수"}]}`
	good := `{"제목":"주간 회의","할일":[{"담당자":"김민수","내용":"견적서 보내기","기한":"2025-03-07"}]}`
	model := refinetest.NewProvider(bad, "```json\n"+good+"\n```")
	judge := refinetest.NewJudge(9)
	res, err := refine.RunTyped[회의록](context.Background(), nil, "회의록에서 할 일을 뽑아 주세요: 김민수 님이 금요일까지 견적서를 보내기로 함.",
		refine.WithProvider(model), refine.WithJudge(judge))
	if err != nil {
		t.Fatalf("RunTyped: %v", err)
	}
	want := 회의록{Title: "주간 회의", Tasks: []할일{{Owner: "김민수", Task: "견적서 보내기", Due: "2025-03-07"}}}
	if !reflect.DeepEqual(res.Value, want) || res.Answer != good {
		t.Errorf("Value, Answer = %+v, %q; want %+v, %q", res.Value, res.Answer, want, good)
	}
	wantIssue := `$.할일[0]: required: missing properties: ["내용"]`
	if got := res.Attempts[0].Verdict.Issues; !reflect.DeepEqual(got, []string{wantIssue}) {
		t.Errorf("issues = %q, want [%q]", got, wantIssue)
	}
	if !strings.Contains(userPrompt(model.Requests()[1]), wantIssue) {
		t.Error("the refine prompt lacks the Korean issue")
	}
	if got := judge.Answers(); len(got) != 1 || got[0] != good {
		t.Errorf("judge saw %q, want [%q]", got, good)
	}
	if name := model.Requests()[0].Schema.Name; name != "answer" {
		t.Errorf("Schema.Name = %q, want %q for a type with no ASCII name", name, "answer")
	}
	var schema map[string]any
	if err := json.Unmarshal(model.Requests()[0].Schema.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	if d := schema["properties"].(map[string]any)["제목"].(map[string]any)["description"]; d != "회의 제목" {
		t.Errorf("description of 제목 = %v, want 회의 제목", d)
	}
}

// Candidates are checked concurrently; the run keeps the best valid one.
func TestRunTypedCandidates(t *testing.T) {
	model := refinetest.NewProvider(invalidInvoice, validInvoice, "nonsense")
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.",
		refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(9)), refine.WithCandidates(3))
	if err != nil {
		t.Fatalf("RunTyped: %v", err)
	}
	if !reflect.DeepEqual(res.Value, wantInvoice) || res.Answer != validInvoice {
		t.Errorf("Value, Answer = %+v, %q; want the one valid candidate", res.Value, res.Answer)
	}
}

// Through the OpenAI adapter's real client against a loopback server: the
// extraction requests carry the inferred schema as strict structured
// output, the judge's request JSON mode, and the invalid draft's problems
// reach the refinement's prompt.
func TestRunTypedThroughOpenAI(t *testing.T) {
	replies := []string{
		invalidInvoice, // draft: broken, never judged
		validInvoice,   // refinement
		typedVerdict(9),
	}
	var (
		mu     sync.Mutex
		bodies []map[string]any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		t.Logf("request body: %s", raw)
		mu.Lock()
		n := len(bodies)
		bodies = append(bodies, body)
		mu.Unlock()
		if n >= len(replies) {
			http.Error(w, `{"error":{"message":"no reply left","type":"server_error"}}`, http.StatusInternalServerError)
			return
		}
		content, _ := json.Marshal(replies[n])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini-2024-07-18",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}`, n, content)
	}))
	defer srv.Close()

	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("sk-test"))
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice: INV-7, paper 3,000, ink 9,000, total 12,000.",
		refine.WithProvider(p))
	if err != nil {
		t.Fatalf("RunTyped: %v", err)
	}
	if !reflect.DeepEqual(res.Value, wantInvoice) || res.Score != 9 {
		t.Errorf("Value, Score = %+v, %v; want the valid invoice, 9", res.Value, res.Score)
	}
	if len(bodies) != 3 {
		t.Fatalf("requests = %d, want 3 (draft, refinement, judge of the refinement)", len(bodies))
	}

	// Messages are the prompts' business; the rest of each body is exact.
	messages := make([][]any, len(bodies))
	for i, b := range bodies {
		messages[i], _ = b["messages"].([]any)
		delete(b, "messages")
	}
	// Strict mode: the optional "note" becomes required and nullable (the
	// adapter removes a null again before RunTyped sees the reply).
	extraction := `{
		"model": "gpt-4o-mini",
		"stream": false,
		"response_format": {"type": "json_schema", "json_schema": {"name": "invoice", "strict": true, "schema": {
			"type": "object",
			"properties": {
				"number": {"type": "string"},
				"lines": {"type": ["null", "array"], "items": {
					"type": "object",
					"properties": {
						"item": {"type": "string", "description": "what was sold, as written on the invoice"},
						"amount": {"type": "integer", "description": "line total in the invoice's currency"}
					},
					"required": ["item", "amount"],
					"additionalProperties": false
				}},
				"total": {"type": "integer"},
				"note": {"type": ["string", "null"]}
			},
			"required": ["number", "lines", "total", "note"],
			"additionalProperties": false
		}}}
	}`
	judge := `{"model": "gpt-4o-mini", "stream": false, "temperature": 0, "response_format": {"type": "json_object"}}`
	for i, want := range []string{extraction, extraction, judge} {
		var w map[string]any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(bodies[i], w) {
			got, _ := json.Marshal(bodies[i])
			t.Errorf("request %d body (without messages) =\n%s\nwant\n%s", i, got, want)
		}
	}
	refinePrompt, _ := messages[1][len(messages[1])-1].(map[string]any)["content"].(string)
	for _, issue := range []string{`$.lines[1].amount: type: 9,000 has type "string", want "integer"`, `unexpected additional properties ["currency"]`} {
		if !strings.Contains(refinePrompt, issue) {
			t.Errorf("refinement prompt lacks %q:\n%s", issue, refinePrompt)
		}
	}
}

// BenchmarkRunTyped is a whole typed run on fakes (draft, check, judge):
// compare with BenchmarkTypedSchema/infer to see that the schema is not
// inferred per run.
func BenchmarkRunTyped(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		model := refinetest.NewProvider(validInvoice)
		_, err := refine.RunTyped[invoice](ctx, nil, "Extract the invoice.",
			refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(9)), refine.Check(sumsUp))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// A typed result saved as JSON keeps its value, and reads back.
func TestTypedResultJSON(t *testing.T) {
	model := refinetest.NewProvider(validInvoice)
	res, err := refine.RunTyped[invoice](context.Background(), nil, "Extract the invoice.",
		refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(9)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":{`) || !strings.Contains(string(b), `"stop_reason":"threshold"`) {
		t.Fatalf("JSON = %s, want the Result's fields and the value", b)
	}
	var back refine.TypedResult[invoice]
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Value, res.Value) || back.Result == nil || back.Answer != res.Answer || back.Score != res.Score {
		t.Errorf("round trip = %+v, want %+v", back, res)
	}
}
