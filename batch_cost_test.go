package refine_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

func TestLoadPricesReadsBatchPrices(t *testing.T) {
	prices, err := refine.LoadPrices(strings.NewReader(`{
		"gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
		                "input_cost_per_token_batches": 7.5e-08, "output_cost_per_token_batches": 3e-07, "mode": "chat"},
		"no-batch": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "mode": "chat"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]refine.Price{
		"gpt-4o-mini": {Input: 0.15, Output: 0.6, BatchInput: 0.075, BatchOutput: 0.3},
		"no-batch":    {Input: 1, Output: 2},
	}
	for k, w := range want {
		if got := prices[k]; got != w {
			t.Errorf("%s: got %+v, want %+v", k, got, w)
		}
	}
	if _, err := refine.LoadPrices(strings.NewReader(`{"m": {"input_cost_per_token": 1, "output_cost_per_token": 1, "input_cost_per_token_batches": "x"}}`)); err == nil || !strings.Contains(err.Error(), "input_cost_per_token_batches") {
		t.Errorf("a batch price that is not a number: err = %v, want one naming the field", err)
	}
}

// A batched reply is priced at the batch price, or at the on-demand price
// (an upper bound, said in the Result) when the model has none.
func TestBatchedRepliesPricedAtBatchPrice(t *testing.T) {
	tests := []struct {
		name      string
		batch     bool
		price     refine.Price
		wantCost  float64
		wantUpper bool
	}{
		// Two calls (draft, judge) of 1000 input and 250 output tokens.
		{"batched, batch price", true, refine.Price{Input: 2, Output: 8, BatchInput: 1, BatchOutput: 4}, 0.004, false},
		{"batched, no batch price", true, refine.Price{Input: 2, Output: 8}, 0.008, true},
		{"on demand", false, refine.Price{Input: 2, Output: 8, BatchInput: 1, BatchOutput: 4}, 0.008, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := refinetest.NewProvider("A draft.", `{"score": 10, "issues": [], "suggestions": [], "assessment": "Good."}`).
				WithUsage(refine.Usage{InputTokens: 1000, OutputTokens: 250})
			p := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
				resp, err := model.Complete(ctx, req)
				if resp != nil {
					resp.Batch = tt.batch
				}
				return resp, err
			})
			res, err := refine.Run(context.Background(), "Write it.", refine.WithProvider(p),
				refine.WithPrices(map[string]refine.Price{"refinetest": tt.price}))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Cost-tt.wantCost) > 1e-12 || res.CostUpperBound != tt.wantUpper || !res.CostKnown {
				t.Errorf("Cost %v, CostUpperBound %v, CostKnown %v; want %v, %v, true", res.Cost, res.CostUpperBound, res.CostKnown, tt.wantCost, tt.wantUpper)
			}
		})
	}
}
