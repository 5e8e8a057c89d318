package main

import (
	"context"
	"strings"

	"github.com/selfrefine/refine"
)

// simulatedNova stands in for Nova Lite on a machine without AWS: canned
// replies that show the loop, not a model's quality. As judge it wants a
// timeout and error handling; as refiner it adds them once criticised.
func simulatedNova() refine.Provider {
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prompt := req.Messages[len(req.Messages)-1].Content
		text := simReply(prompt, req.JSON)
		return &refine.Response{Text: text, Model: "simulated-nova-lite", FinishReason: refine.FinishStop,
			Usage: refine.Usage{InputTokens: len(strings.Fields(prompt)), OutputTokens: len(strings.Fields(text))}}, nil
	})
}

// simReply answers one prompt: a verdict when judging, the improved answer
// when the prompt carries a critique, else the first draft.
func simReply(prompt string, judging bool) string {
	switch {
	case judging && strings.Contains(prompt, "raise_for_status"):
		return `{"score": 9, "criteria": {"helpfulness": 9, "relevance": 9, "accuracy": 9, "depth": 8}, "issues": [], "suggestions": [], "assessment": "요청 실패와 타임아웃을 처리하는 실용적인 코드입니다."}`
	case judging:
		return `{"score": 6, "criteria": {"helpfulness": 7, "relevance": 9, "accuracy": 6, "depth": 5}, "issues": ["requests.get에 타임아웃이 없어 응답이 없는 서버에서 멈출 수 있습니다.", "네트워크 오류와 HTTP 오류를 처리하지 않습니다."], "suggestions": ["timeout을 지정하고 raise_for_status()로 HTTP 오류를 확인하세요.", "User-Agent 헤더를 보내고 예외를 처리하세요."], "assessment": "기본 예제로는 동작하지만 실제 사용에는 견고하지 않습니다."}`
	case strings.Contains(prompt, "critique"):
		return improvedAnswer
	default:
		return draftAnswer
	}
}

const draftAnswer = "물론입니다! `requests`와 `BeautifulSoup`으로 웹 페이지의 제목과 링크를 가져오는 예제입니다.\n\n" +
	"```python\nimport requests\nfrom bs4 import BeautifulSoup\n\nurl = 'https://example.com'\nresponse = requests.get(url)\n\n" +
	"if response.status_code == 200:\n    soup = BeautifulSoup(response.text, 'html.parser')\n    print(soup.title.string)\n" +
	"    for a in soup.find_all('a'):\n        print(a.get('href'))\n```\n\n설치: `pip install requests beautifulsoup4`"

const improvedAnswer = "`requests`와 `BeautifulSoup`으로 페이지 제목과 링크를 가져오는 예제입니다. 타임아웃, HTTP 오류, 네트워크 오류를 처리합니다.\n\n" +
	"```python\nimport sys\n\nimport requests\nfrom bs4 import BeautifulSoup\n\n\n" +
	"def scrape(url: str) -> None:\n    \"\"\"페이지 제목과 모든 링크를 출력합니다.\"\"\"\n" +
	"    headers = {'User-Agent': 'Mozilla/5.0 (compatible; example-scraper/1.0)'}\n" +
	"    try:\n        response = requests.get(url, headers=headers, timeout=10)\n        response.raise_for_status()  # 4xx/5xx는 예외\n" +
	"    except requests.RequestException as e:\n        sys.exit(f'페이지를 가져오지 못했습니다: {e}')\n\n" +
	"    soup = BeautifulSoup(response.text, 'html.parser')\n    print('제목:', soup.title.string if soup.title else '(없음)')\n" +
	"    for a in soup.find_all('a', href=True):\n        print(a['href'])\n\n\n" +
	"if __name__ == '__main__':\n    scrape(sys.argv[1] if len(sys.argv) > 1 else 'https://example.com')\n```\n\n" +
	"설치: `pip install requests beautifulsoup4`. 스크래핑 전에 사이트의 robots.txt와 이용 약관을 확인하세요."
