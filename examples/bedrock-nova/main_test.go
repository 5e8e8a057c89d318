package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/selfrefine/refine"
)

// converseRequest is the part of a Converse request body the test reads.
type converseRequest struct {
	Messages []struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"messages"`
	InferenceConfig struct {
		MaxTokens   int      `json:"maxTokens"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"topP"`
	} `json:"inferenceConfig"`
}

// The example as a user runs it, with AWS configured by the environment:
// the real Bedrock adapter talks to a loopback server speaking Converse,
// the sampling settings reach the wire, and both answers are printed.
func TestBedrockNovaConverse(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []converseRequest
	)
	sim := simulatedNova()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in converseRequest
		if r.URL.Path != "/model/us.amazon.nova-lite-v1:0/converse" || json.NewDecoder(r.Body).Decode(&in) != nil || len(in.Messages) == 0 {
			http.Error(w, "unexpected request "+r.URL.Path, http.StatusBadRequest)
			return
		}
		mu.Lock()
		reqs = append(reqs, in)
		mu.Unlock()
		var prompt strings.Builder
		for _, c := range in.Messages[len(in.Messages)-1].Content {
			prompt.WriteString(c.Text)
		}
		// The judge is the call sampled at temperature 0.
		judging := in.InferenceConfig.Temperature != nil && *in.InferenceConfig.Temperature == 0
		resp, err := sim.Complete(r.Context(), &refine.Request{JSON: judging, Messages: []refine.Message{{Role: refine.RoleUser, Content: prompt.String()}}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]string{"text": resp.Text}}}},
			"stopReason": "end_turn",
			"usage":      map[string]int{"inputTokens": 100, "outputTokens": 50, "totalTokens": 150},
		})
	}))
	defer srv.Close()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": srv.URL, "AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none",
		"AWS_PROFILE": "", "AWS_BEARER_TOKEN_BEDROCK": "", "BEDROCK_MODEL_ID": "", "REFINE_DEMO": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s\n%s", code, errOut.String(), out.String())
	}
	if len(reqs) != 4 {
		t.Fatalf("%d Converse calls, want 4 (draft, judge, refine, judge)", len(reqs))
	}
	for _, i := range []int{0, 2} { // the draft and the refinement
		ic := reqs[i].InferenceConfig
		if ic.Temperature == nil || math.Abs(*ic.Temperature-0.7) > 1e-6 || ic.TopP == nil || math.Abs(*ic.TopP-0.9) > 1e-6 || ic.MaxTokens != 500 {
			t.Errorf("call %d: inferenceConfig = %+v, want temperature 0.7, topP 0.9, maxTokens 500", i+1, ic)
		}
	}
	for _, want := range []string{"=== 초기 응답 (점수 6.0/10) ===", "requests.get에 타임아웃이 없어", "=== 개선된 최종 응답 (시도 2/2, 점수 9.0/10, 종료: threshold, 토큰 600)", "raise_for_status()"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "[simulated]") {
		t.Errorf("a run on Bedrock is labelled simulated:\n%s", out.String())
	}
}

func TestBedrockNovaDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	for _, want := range []string{"[simulated] === 초기 응답 (점수 6.0/10) ===", "[simulated] === 개선된 최종 응답 (시도 2/2, 점수 9.0/10, 종료: threshold"} {
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

func TestBedrockNovaNoCredentials(t *testing.T) {
	for k, v := range map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_ACCESS_KEY_ID": "", "REFINE_DEMO": "",
		"AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "AWS_REGION") || !strings.Contains(errOut.String(), "-demo") {
		t.Errorf("stdout %q, stderr %q; want nothing, and the variables to set", out.String(), errOut.String())
	}
}
