package main

import "github.com/selfrefine/refine/refinetest"

// simulatedNova is what -demo runs on: refinetest's Simulator playing a
// script (it is not a model). The draft has no timeout or error handling;
// its judge says so, and the refinement adds them.
func simulatedNova() *refinetest.Simulator {
	return &refinetest.Simulator{Model: "simulated-nova-lite", Script: []refinetest.Turn{
		{Answer: draftAnswer, Score: 6, Issues: []string{
			"requests.get에 타임아웃이 없어 응답이 없는 서버에서 멈출 수 있습니다.",
			"네트워크 오류와 HTTP 오류를 처리하지 않습니다.",
		}},
		{Answer: improvedAnswer, Score: 9},
	}}
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
