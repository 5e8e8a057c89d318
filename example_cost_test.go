package refine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// LoadPrices reads LiteLLM's price list; Bedrock inference-profile ids and
// OpenAI dated snapshots find their base model's price.
func ExampleLoadPrices() {
	// In a program: f, err := os.Open("model_prices_and_context_window.json")
	file := strings.NewReader(`{
		"sample_spec": {"input_cost_per_token": 0.0, "mode": "one of: chat, embedding, ..."},
		"gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
		                "cache_read_input_token_cost": 7.5e-08, "mode": "chat"},
		"amazon.nova-lite-v1:0": {"input_cost_per_token": 6e-08, "output_cost_per_token": 2.4e-07, "mode": "chat"},
		"text-embedding-3-small": {"input_cost_per_token": 2e-08, "mode": "embedding"}
	}`)
	prices, err := refine.LoadPrices(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d chat models\n", len(prices))
	fmt.Printf("gpt-4o-mini: %+v per million tokens\n", prices["gpt-4o-mini"])

	// A run on us.amazon.nova-lite-v1:0 or gpt-4o-mini-2024-07-18 is
	// priced by these entries.
	loop, err := refine.New(refine.WithPrices(prices))
	fmt.Println(loop != nil, err)
	// Output:
	// 2 chat models
	// gpt-4o-mini: {Input:0.15 CachedInput:0.075 Output:0.6 BatchInput:0 BatchOutput:0} per million tokens
	// true <nil>
}

// With prices, a Result says what the run cost, judge included, and
// CostBudget stops before a round that would pass the budget.
func ExampleCostBudget() {
	model := refinetest.NewProvider(
		"A draft.", `{"score": 4, "issues": ["vague"], "suggestions": ["be specific"], "assessment": "Vague."}`,
		"A better draft.", `{"score": 6, "issues": ["short"], "suggestions": ["add detail"], "assessment": "Short."}`,
		"An even better draft.", `{"score": 7, "issues": [], "suggestions": [], "assessment": "Good."}`,
	).WithUsage(refine.Usage{InputTokens: 1000, OutputTokens: 250}) // every call: $0.004
	prices := map[string]refine.Price{"refinetest": {Input: 2, Output: 8}} // dollars per million tokens
	res, err := refine.Run(context.Background(), "Write the release note.",
		refine.WithProvider(model), refine.WithPrices(prices),
		refine.WithStop(refine.CostBudget(0.02)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, a := range res.Attempts {
		fmt.Printf("attempt %d: score %.0f, $%.3f\n", i, a.Verdict.Score, a.Cost)
	}
	fmt.Printf("total $%.3f (known: %v), stopped: %s\n", res.Cost, res.CostKnown, res.StopReason)
	// Output:
	// attempt 0: score 4, $0.008
	// attempt 1: score 6, $0.008
	// total $0.016 (known: true), stopped: budget
}

// Simulate tunes the threshold on runs recorded once: each run is replayed
// under every threshold from 6 to 10, without a model call, and the table
// shows what the extra rounds buy.
func ExampleSimulate() {
	scripts := [][]string{
		{"Go has goroutines.", "A goroutine is a lightweight thread.", "A goroutine is a function run concurrently by the Go runtime.", "Goroutines are functions the Go runtime multiplexes onto OS threads."},
		{"채널은 파이프입니다.", "채널은 고루틴 사이의 통로입니다.", "채널은 고루틴 사이에서 값을 주고받는 타입이 있는 통로입니다.", "채널은 고루틴 사이에서 값을 안전하게 주고받는 타입이 있는 통로입니다."},
		{"Use a mutex.", "Use sync.Mutex to guard shared state.", "Guard shared state with sync.Mutex, or pass it over a channel.", "Guard shared state with sync.Mutex; prefer channels to hand over ownership."},
	}
	judged := [][]float64{{5, 7, 8, 9}, {6, 8, 8, 9}, {4, 6, 9, 9}}
	prices := map[string]refine.Price{"refinetest": {Input: 3, Output: 15}}

	// Record each run with the loosest settings: all three rounds.
	var recorded []*refine.Result
	for i, answers := range scripts {
		var replies []string
		for k, a := range answers {
			replies = append(replies, a, fmt.Sprintf(`{"score": %g, "issues": [], "suggestions": ["more"], "assessment": "ok"}`, judged[i][k]))
		}
		res, err := refine.Run(context.Background(), "Explain Go concurrency.",
			refine.WithProvider(refinetest.NewProvider(replies...).WithUsage(refine.Usage{InputTokens: 800, OutputTokens: 200})),
			refine.WithPrices(prices),
			refine.WithThreshold(10), refine.WithMaxIterations(3))
		if err != nil {
			fmt.Println(err)
			return
		}
		// Results survive encoding/json: save them, simulate later.
		saved, err := json.Marshal(res)
		if err != nil {
			fmt.Println(err)
			return
		}
		var loaded refine.Result
		if err := json.Unmarshal(saved, &loaded); err != nil {
			fmt.Println(err)
			return
		}
		recorded = append(recorded, &loaded)
	}

	fmt.Println("threshold  mean score  mean attempts  mean cost")
	for threshold := 6.0; threshold <= 10; threshold++ {
		var score, attempts, cost float64
		for _, rec := range recorded {
			sim, err := refine.Simulate(rec, refine.WithThreshold(threshold), refine.WithMaxIterations(3))
			if err != nil {
				fmt.Println(err)
				return
			}
			score += sim.Score
			attempts += float64(len(sim.Attempts))
			cost += sim.Cost
		}
		n := float64(len(recorded))
		fmt.Printf("%9.0f  %10.2f  %13.2f  $%.4f\n", threshold, score/n, attempts/n, cost/n)
	}
	// Output:
	// threshold  mean score  mean attempts  mean cost
	//         6        6.33           1.67  $0.0180
	//         7        8.00           2.33  $0.0252
	//         8        8.33           2.67  $0.0288
	//         9        9.00           3.67  $0.0396
	//        10        9.00           4.00  $0.0432
}

// Cost prices a call made outside a run by the same model-id rules as the
// Loop: here an inference-profile id finds the base model's price.
func ExampleCost() {
	prices := map[string]refine.Price{"amazon.nova-lite-v1:0": {Input: 0.06, Output: 0.24}}
	usd, known := refine.Cost(prices, "us.amazon.nova-lite-v1:0", refine.Usage{InputTokens: 1000, OutputTokens: 500})
	fmt.Printf("$%.5f %v\n", usd, known)
	_, known = refine.Cost(prices, "gpt-4o-mini", refine.Usage{InputTokens: 1000})
	fmt.Println("gpt-4o-mini priced:", known)
	// Output:
	// $0.00018 true
	// gpt-4o-mini priced: false
}

// ReplyCost prices one reply outside a run: at the batch price when it
// came from a batch API, and flags an upper bound when the model has no
// batch price.
func ExampleReplyCost() {
	prices := map[string]refine.Price{
		"gpt-4o-mini": {Input: 0.15, Output: 0.6, BatchInput: 0.075, BatchOutput: 0.3},
		"local":       {Input: 0.1, Output: 0.1},
	}
	u := refine.Usage{InputTokens: 2_000_000, OutputTokens: 1_000_000}
	for _, resp := range []*refine.Response{
		{Model: "gpt-4o-mini", Usage: u},
		{Model: "gpt-4o-mini", Usage: u, Batch: true},
		{Model: "local", Usage: u, Batch: true},
	} {
		usd, known, upper := refine.ReplyCost(prices, resp)
		fmt.Printf("%s batch=%v: $%.2f known=%v upper bound=%v\n", resp.Model, resp.Batch, usd, known, upper)
	}
	// Output:
	// gpt-4o-mini batch=false: $0.90 known=true upper bound=false
	// gpt-4o-mini batch=true: $0.45 known=true upper bound=false
	// local batch=true: $0.30 known=true upper bound=true
}
