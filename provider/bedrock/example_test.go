package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
)

// exampleBedrock stands in for bedrock-runtime so that the examples run
// offline: it answers Converse calls with reply(system, lastUserTurn).
func exampleBedrock(reply func(system, user string) string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in wireRequest
		json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, mustJSON(map[string]any{
			"output": map[string]any{"message": map[string]any{
				"role": "assistant", "content": []any{map[string]any{"text": reply(in.systemText(), in.lastUser())}},
			}},
			"stopReason": "end_turn",
			"usage":      map[string]any{"inputTokens": 20, "outputTokens": 10, "totalTokens": 30},
		}))
	}))
}

// exampleClient is a real bedrockruntime client pointed at the stand-in.
// Against AWS, build it from the AWS configuration instead:
// bedrockruntime.NewFromConfig(cfg), or use bedrock.FromEnv.
func exampleClient(url string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
}

// The self-refine loop on Amazon Nova Lite: the draft is judged, refined
// with the judge's critique, and judged again.
func Example() {
	srv := exampleBedrock(func(system, user string) string {
		switch {
		case strings.Contains(system, "strict, impartial judge") && strings.Contains(user, "timeout="):
			return `{"score": 9, "issues": [], "suggestions": [], "assessment": "예외 처리와 timeout이 있어 실용적입니다."}`
		case strings.Contains(system, "strict, impartial judge"):
			return `{"score": 6, "issues": ["timeout이 없습니다."], "suggestions": ["requests.get에 timeout을 지정하세요."], "assessment": "기본 예제입니다."}`
		case strings.Contains(user, "Improve the answer"):
			return "requests.get(url, timeout=10)"
		default:
			return "requests.get(url)"
		}
	})
	defer srv.Close()

	p := bedrock.New(exampleClient(srv.URL), "us.amazon.nova-lite-v1:0")
	res, err := refine.Run(context.Background(), "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.",
		refine.WithProvider(p),
		refine.WithTemperature(0.7),
		refine.WithMaxTokens(500))
	if err != nil {
		log.Fatal(err)
	}
	for i, a := range res.Attempts {
		fmt.Printf("attempt %d: %q scored %v\n", i, a.Answer, a.Verdict.Score)
	}
	fmt.Println("answer:", res.Answer)
	fmt.Println("stop:", res.StopReason)
	// Output:
	// attempt 0: "requests.get(url)" scored 6
	// attempt 1: "requests.get(url, timeout=10)" scored 9
	// answer: requests.get(url, timeout=10)
	// stop: threshold
}

// One call, the seed sample's settings: a Korean system prompt,
// temperature 0.7, top-p 0.9 and 500 tokens. WithoutTopP would be needed
// for Claude 4.x models, which reject temperature and top-p together.
func ExampleNew() {
	srv := exampleBedrock(func(system, user string) string {
		return "물론입니다! requests와 BeautifulSoup을 사용합니다."
	})
	defer srv.Close()

	p := bedrock.New(exampleClient(srv.URL), "us.amazon.nova-lite-v1:0")
	temperature, topP := 0.7, 0.9
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{
			{Role: refine.RoleSystem, Content: "당신은 유능한 코드 생성 비서입니다."},
			{Role: refine.RoleUser, Content: "파이썬으로 웹 스크래핑하는 코드를 작성해주세요."},
		},
		Sampling: refine.Sampling{Temperature: &temperature, TopP: &topP, MaxTokens: 500},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text)
	fmt.Println(resp.Model, resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// 물론입니다! requests와 BeautifulSoup을 사용합니다.
	// us.amazon.nova-lite-v1:0 stop 20 10
}

// FromEnv reads the AWS configuration the way the AWS CLI does, and the
// model from BEDROCK_MODEL_ID; options override both. (Not run: it needs
// AWS credentials.)
func ExampleFromEnv() {
	ctx := context.Background()
	// AWS_REGION=us-east-1, AWS_PROFILE or AWS_ACCESS_KEY_ID/..., or AWS_BEARER_TOKEN_BEDROCK.
	p, err := bedrock.FromEnv(ctx,
		bedrock.WithModel("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
		bedrock.WithTimeout(2*time.Minute)) // default: bedrock.DefaultTimeout
	if err != nil {
		log.Fatal(err) // never holds a secret key or token
	}
	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Model(), res.Answer)
}

// exampleStreamBedrock answers ConverseStream calls with an event stream
// that writes pieces one event each, as bedrock-runtime does.
func exampleStreamBedrock(pieces ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		send := func(typ, payload string) {
			var m eventstream.Message
			m.Headers.Set(":message-type", eventstream.StringValue("event"))
			m.Headers.Set(":event-type", eventstream.StringValue(typ))
			m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
			m.Payload = []byte(payload)
			eventstream.NewEncoder().Encode(w, m)
			w.(http.Flusher).Flush()
		}
		send("messageStart", `{"role":"assistant"}`)
		for _, p := range pieces {
			send("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":`+mustJSON(p)+`}}`)
		}
		send("messageStop", `{"stopReason":"end_turn"}`)
		send("metadata", `{"usage":{"inputTokens":20,"outputTokens":7,"totalTokens":27},"metrics":{"latencyMs":300}}`)
	}))
}

// Stream delivers the answer as the model writes it, through ConverseStream.
func ExampleProvider_Stream() {
	srv := exampleStreamBedrock("requests로 ", "페이지를 ", "가져옵니다.")
	defer srv.Close()

	p := bedrock.New(exampleClient(srv.URL), "us.amazon.nova-lite-v1:0")
	resp, err := p.Stream(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "파이썬으로 웹 스크래핑하는 코드를 작성해주세요."}},
	}, func(piece string) {
		fmt.Printf("%q\n", piece)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text, resp.Usage.OutputTokens)
	// Output:
	// "requests로 "
	// "페이지를 "
	// "가져옵니다."
	// requests로 페이지를 가져옵니다. 7
}

// A Request with a Schema goes out as Converse's native structured output
// on the models that have it; WithStructuredOutput decides for others.
func ExampleWithStructuredOutput() {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OutputConfig json.RawMessage `json:"outputConfig"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		body = string(in.OutputConfig)
		fmt.Fprint(w, `{"output":{"message":{"role":"assistant","content":[{"text":"{\"total\":12000}"}]}},"stopReason":"end_turn","usage":{"inputTokens":30,"outputTokens":6}}`)
	}))
	defer srv.Close()

	// An open-weight model Bedrock offers structured output for, which the
	// Provider cannot tell from its id.
	p := bedrock.New(exampleClient(srv.URL), "qwen.qwen3-32b-v1:0", bedrock.WithStructuredOutput(true))
	resp, err := p.Complete(context.Background(), &refine.Request{
		Messages: []refine.Message{{Role: refine.RoleUser, Content: "영수증 합계: 12,000원"}},
		Schema: &refine.Schema{Name: "receipt", Schema: json.RawMessage(
			`{"type":"object","properties":{"total":{"type":"number"}},"required":["total"],"additionalProperties":false}`)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(body)
	fmt.Println(resp.Text)
	// Output:
	// {"textFormat":{"structure":{"jsonSchema":{"name":"receipt","schema":"{\"type\":\"object\",\"properties\":{\"total\":{\"type\":\"number\"}},\"required\":[\"total\"],\"additionalProperties\":false}"}},"type":"json_schema"}}
	// {"total":12000}
}

// The Provider retries transient failures by itself (by default 3 times),
// with the SDK's own retryer turned off so that there is one retry layer:
// here one ThrottlingException, then the answer, is two requests.
// RetryPolicy{MaxRetries: -1} turns retries off.
func ExampleWithRetry() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"Too many requests, please wait before trying again."}`)
			return
		}
		fmt.Fprint(w, `{"output":{"message":{"role":"assistant","content":[{"text":"안녕하세요"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5}}`)
	}))
	defer srv.Close()
	req := &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: "인사해 주세요."}}}

	p := bedrock.New(exampleClient(srv.URL), "us.amazon.nova-lite-v1:0",
		bedrock.WithRetry(refine.RetryPolicy{Base: 10 * time.Millisecond})) // the default count, shorter backoff
	resp, err := p.Complete(context.Background(), req)
	fmt.Println(resp.Text, err, calls.Load())

	calls.Store(0)
	once := bedrock.New(exampleClient(srv.URL), "us.amazon.nova-lite-v1:0",
		bedrock.WithRetry(refine.RetryPolicy{MaxRetries: -1}))
	_, err = once.Complete(context.Background(), req)
	fmt.Println(errors.Is(err, refine.ErrRateLimited), calls.Load())
	// Output:
	// 안녕하세요 <nil> 2
	// true 1
}

// New is handed a configured client, so the options that say what FromEnv
// loads are refused, loudly: Validate and every call name them, and no
// request is sent. Set the region on the client instead.
func ExampleProvider_Validate() {
	p := bedrock.New(exampleClient("http://127.0.0.1:9"), "us.amazon.nova-lite-v1:0",
		bedrock.WithRegion("eu-west-1"))
	err := p.Validate()
	fmt.Println(errors.Is(err, refine.ErrInvalidOption), strings.Contains(err.Error(), "WithRegion"))
	// Output:
	// true true
}
