package bedrock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
		refine.WithMaxTokens(500),
		refine.WithBackoff(time.Millisecond, 10*time.Millisecond))
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
// model from BEDROCK_MODEL_ID. (Not run: it needs AWS credentials.)
func ExampleFromEnv() {
	ctx := context.Background()
	p, err := bedrock.FromEnv(ctx) // AWS_REGION=us-east-1, AWS_PROFILE or AWS_ACCESS_KEY_ID/..., BEDROCK_MODEL_ID
	if err != nil {
		log.Fatal(err)
	}
	res, err := refine.Run(ctx, "파이썬으로 웹 스크래핑하는 코드를 작성해주세요.", refine.WithProvider(p))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Answer)
}
