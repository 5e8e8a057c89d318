package main

import "github.com/selfrefine/refine/refinetest"

// simulatedCoder is what -demo runs on: refinetest's Simulator playing a
// script (it is not a model). Its draft forgets an import, which its own
// review misses and the compiler gate does not; the refinement compiles.
func simulatedCoder() *refinetest.Simulator {
	return refinetest.NewSimulator(
		refinetest.Turn{Answer: "```go\n" + draftCode + "```\nCounts words case-insensitively and prints the top ten.",
			Score: 8, Issues: []string{"read errors are ignored: check sc.Err() after the loop"}},
		refinetest.Turn{Answer: "```go\n" + fixedCode + "```\nImports strings, breaks ties alphabetically and reports read errors.", Score: 9},
	)
}

const draftCode = `package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
)

func main() {
	counts := map[string]int{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		counts[strings.ToLower(sc.Text())]++
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool { return counts[words[i]] > counts[words[j]] })
	for _, w := range words[:min(10, len(words))] {
		fmt.Printf("%7d %s\n", counts[w], w)
	}
}
`

const fixedCode = `package main

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	counts := map[string]int{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		counts[strings.ToLower(sc.Text())]++
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "reading input:", err)
		os.Exit(1)
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		return cmp.Or(counts[b]-counts[a], strings.Compare(a, b))
	})
	for _, w := range words[:min(10, len(words))] {
		fmt.Printf("%7d %s\n", counts[w], w)
	}
}
`
