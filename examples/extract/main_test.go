package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// With -demo the simulator refines both invoices: the Korean draft fails
// the check, the English one the schema and then the judge, and both end
// with the right values.
func TestExtractDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"total is 433000, but lines (428000) + tax (0) = 428000",
		"[simulated] Invoice 2025-0311 from 한빛문구(주) (KRW)",
		"1 × 배송비 @ 5000 = 5000",
		`$: required: missing properties: [\"currency\"]`,
		`[simulated] round 1: score 6 ["vendor is \"Acme Tools\" but the invoice names \"Acme Tools Ltd.\""]`,
		"[simulated] round 2: score 9 []",
		"[simulated] Invoice A-1042 from Acme Tools Ltd. (USD)",
		"3 × Cordless drill @ 89.9 = 269.7",
		"tax 58.84, total 353.04",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "[simulated] ") {
			t.Errorf("line %d is not labelled: %q", i+1, line)
		}
	}
}

func TestExtractNoCredentials(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("REFINE_DEMO", "")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "OPENAI_API_KEY") || !strings.Contains(errOut.String(), "-demo") {
		t.Errorf("stdout %q, stderr %q; want nothing, and the variables to set", out.String(), errOut.String())
	}
}

func TestExtractAddsUp(t *testing.T) {
	drill := Line{Description: "drill", Quantity: 3, UnitPrice: 89.9, Amount: 269.7}
	tests := []struct {
		name string
		inv  Invoice
		want []string
	}{
		{"adds up, with float rounding", Invoice{Lines: []Line{drill}, Tax: 53.94, Total: 323.64}, nil},
		{"line amount wrong", Invoice{Lines: []Line{{Description: "drill", Quantity: 3, UnitPrice: 89.9, Amount: 296.7}}, Total: 296.7},
			[]string{"lines[0] (drill): 3 × 89.9 = 269.7, but amount is 296.7"}},
		{"total wrong", Invoice{Lines: []Line{drill}, Total: 300},
			[]string{"total is 300, but lines (269.7) + tax (0) = 269.7: is a line missing or an amount misread?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addsUp(tt.inv); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("addsUp = %q, want %q", got, tt.want)
			}
		})
	}
}

// With OPENAI_BASE_URL set, the example runs through the OpenAI adapter:
// here against a loopback server that answers each extraction (requests
// with a json_schema response format) correctly at once and grades 9.
func TestExtractThroughOpenAIServer(t *testing.T) {
	var schemaRequests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages       []struct{ Content string }
			ResponseFormat struct{ Type string } `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply := `{"score": 9, "issues": [], "suggestions": [], "assessment": "ok"}`
		if body.ResponseFormat.Type == "json_schema" {
			schemaRequests.Add(1)
			doc := documents[1]
			if strings.Contains(body.Messages[len(body.Messages)-1].Content, documents[0].text) {
				doc = documents[0]
			}
			s := scripts[doc.title]
			reply = s[len(s)-1].Answer
		}
		content, _ := json.Marshal(reply)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}`, content)
	}))
	defer srv.Close()
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_MODEL", "gpt-4o-mini")
	t.Setenv("REFINE_DEMO", "")

	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{"round 0: score 9 []", "tax 0, total 433000", "tax 58.84, total 353.04"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "[simulated]") {
		t.Errorf("a run on a model server is labelled simulated:\n%s", out.String())
	}
	if n := schemaRequests.Load(); n != 2 {
		t.Errorf("json_schema requests = %d, want 2 (one extraction per document)", n)
	}
}
