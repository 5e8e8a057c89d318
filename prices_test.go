package refine

import (
	"math"
	"strings"
	"testing"
)

// litellmExcerpt has the shapes of entries found in LiteLLM's
// model_prices_and_context_window.json: the documentation entry, chat
// models with and without cache prices, a regional Bedrock entry priced
// differently from its base model, a provider-prefixed key, and entries
// that price no text generation.
const litellmExcerpt = `{
    "sample_spec": {
        "input_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "max_tokens": "LEGACY parameter.",
        "mode": "one of: chat, embedding, completion, image_generation",
        "output_cost_per_token": 0.0
    },
    "1024-x-1024/dall-e-2": {
        "input_cost_per_pixel": 1.9e-08,
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_pixel": 0.0
    },
    "gpt-4o-mini": {
        "cache_read_input_token_cost": 7.5e-08,
        "input_cost_per_token": 1.5e-07,
        "litellm_provider": "openai",
        "max_input_tokens": 128000,
        "mode": "chat",
        "output_cost_per_token": 6e-07
    },
    "text-embedding-3-small": {
        "input_cost_per_token": 2e-08,
        "litellm_provider": "openai",
        "mode": "embedding",
        "output_cost_per_token": 0.0
    },
    "amazon.nova-lite-v1:0": {
        "input_cost_per_token": 6e-08,
        "litellm_provider": "bedrock_converse",
        "mode": "chat",
        "output_cost_per_token": 2.4e-07
    },
    "eu.amazon.nova-2-lite-v1:0": {
        "cache_read_input_token_cost": 8.25e-08,
        "input_cost_per_token": 3.3e-07,
        "mode": "chat",
        "output_cost_per_token": 2.75e-06
    },
    "amazon.nova-2-lite-v1:0": {
        "cache_read_input_token_cost": 7.5e-08,
        "input_cost_per_token": 3e-07,
        "mode": "chat",
        "output_cost_per_token": 2.5e-06
    },
    "bedrock/anthropic.claude-3-haiku-20240307-v1:0": {
        "input_cost_per_token": 2.5e-07,
        "output_cost_per_token": 1.25e-06
    },
    "no-output-price": {
        "input_cost_per_token": 1e-06,
        "mode": "chat"
    }
}`

func TestLoadPrices(t *testing.T) {
	got, err := LoadPrices(strings.NewReader(litellmExcerpt))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Price{
		"gpt-4o-mini":                                    {Input: 0.15, CachedInput: 0.075, Output: 0.6},
		"amazon.nova-lite-v1:0":                          {Input: 0.06, Output: 0.24},
		"eu.amazon.nova-2-lite-v1:0":                     {Input: 0.33, CachedInput: 0.0825, Output: 2.75},
		"amazon.nova-2-lite-v1:0":                        {Input: 0.3, CachedInput: 0.075, Output: 2.5},
		"bedrock/anthropic.claude-3-haiku-20240307-v1:0": {Input: 0.25, Output: 1.25},
	}
	if len(got) != len(want) {
		t.Errorf("got %d prices %v, want %d", len(got), got, len(want))
	}
	for m, w := range want {
		// Exact equality: per-token dollars are converted by moving the
		// decimal point, so 1.5e-07 is 0.15 as a per-million list says.
		if g, ok := got[m]; !ok || g != w {
			t.Errorf("price of %q = %+v (found %v), want %+v", m, g, ok, w)
		}
	}
}

func TestLoadPricesBadInput(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // parts of the error
	}{
		{"not JSON", "{\n  \"gpt\": {\n    \"input_cost_per_token\": 1e-6,,\n  }\n}", []string{"line 3"}},
		{"truncated", "{\n  \"gpt\": {\"input_cost_per_token\": 1e-6", []string{"line 2", "end of the file"}},
		{"an array", `[{"input_cost_per_token": 1}]`, []string{"want a JSON object"}},
		{"price as text", "{\n\"a\": {},\n\"gpt-x\": {\"input_cost_per_token\": \"0.1\", \"output_cost_per_token\": 1e-6}}",
			[]string{`"gpt-x"`, "line 3", "input_cost_per_token", `"0.1"`}},
		{"negative", `{"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": -2e-6}}`,
			[]string{`"gpt-x"`, "output_cost_per_token", "negative", "-2e-6"}},
		{"NaN as a string", `{"gpt-x": {"input_cost_per_token": "NaN", "output_cost_per_token": 1e-6}}`,
			[]string{"input_cost_per_token", "NaN"}},
		{"out of range", `{"gpt-x": {"input_cost_per_token": 1e307, "output_cost_per_token": 1e-6}}`,
			[]string{"input_cost_per_token", "out of range"}},
		// Exponents that overflow or underflow while scaling to $/M (issue 20, item 16).
		{"exponent past MaxInt64", `{"gpt-x": {"input_cost_per_token": 1e9223372036854775807, "output_cost_per_token": 1e-6}}`,
			[]string{`"gpt-x"`, "input_cost_per_token", "out of range"}},
		{"exponent past MaxInt64 with a sign", `{"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2.5E+9223372036854775807}}`,
			[]string{`"gpt-x"`, "output_cost_per_token", "out of range"}},
		{"exponent that wraps when scaled", `{"gpt-x": {"input_cost_per_token": 1e9223372036854775805, "output_cost_per_token": 1e-6}}`,
			[]string{`"gpt-x"`, "input_cost_per_token", "out of range"}},
		{"exponent below MinInt64", `{"gpt-x": {"input_cost_per_token": 1e-9223372036854775809, "output_cost_per_token": 1e-6}}`,
			[]string{`"gpt-x"`, "input_cost_per_token", "out of range"}},
		{"underflow to zero", `{"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-400}}`,
			[]string{`"gpt-x"`, "output_cost_per_token", "too small"}},
		{"cached price out of range", `{"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "cache_read_input_token_cost": 1e400}}`,
			[]string{`"gpt-x"`, "cache_read_input_token_cost", "out of range"}},
		{"Infinity as a string", `{"gpt-x": {"input_cost_per_token": "Infinity", "output_cost_per_token": 1e-6}}`,
			[]string{"input_cost_per_token", "Infinity"}},
		{"entry not an object", `{"gpt-x": 0.5}`, []string{`"gpt-x"`, "want an object"}},
		{"mode not a string", `{"gpt-x": {"mode": 3}}`, []string{`"gpt-x"`, "mode"}},
		{"trailing data", `{} {}`, []string{"after the object"}},
		{"empty", ``, []string{"end of the file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadPrices(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("LoadPrices = %v, nil; want an error containing %q", got, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPriceLookup(t *testing.T) {
	prices, err := LoadPrices(strings.NewReader(litellmExcerpt))
	if err != nil {
		t.Fatal(err)
	}
	prices["gpt-4o-2024-08-06"] = Price{Input: 2.5, Output: 10}
	prices["gpt-4o"] = Price{Input: 5, Output: 15}
	tests := []struct {
		model string
		want  float64 // Price.Input found; 0: none
	}{
		{"gpt-4o-mini", 0.15},
		{"gpt-4o-mini-2024-07-18", 0.15},                    // dated snapshot → base
		{"gpt-4o-2024-08-06", 2.5},                          // the snapshot's own price wins
		{"gpt-4o-mini-2024-7-18", 0},                        // not a date
		{"amazon.nova-lite-v1:0", 0.06},                     // exact
		{"us.amazon.nova-lite-v1:0", 0.06},                  // inference profile → base
		{"global.amazon.nova-lite-v1:0", 0.06},              //
		{"apac.amazon.nova-lite-v1:0", 0.06},                //
		{"eu.amazon.nova-2-lite-v1:0", 0.33},                // the regional price wins
		{"us.amazon.nova-2-lite-v1:0", 0.3},                 // no us. entry → base
		{"anthropic.claude-3-haiku-20240307-v1:0", 0.25},    // LiteLLM's bedrock/ key
		{"us.anthropic.claude-3-haiku-20240307-v1:0", 0.25}, // profile → bedrock/ key of the base
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0", 0.06},
		{"amazon.nova-pro-v1:0", 0},
		{"us.", 0},
		{"", 0},
		{"text-embedding-3-small", 0}, // not a chat model
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			p, ok := lookupPrice(prices, tt.model)
			if ok != (tt.want != 0) || p.Input != tt.want {
				t.Errorf("lookupPrice(%q) = %+v, %v; want Input %v", tt.model, p, ok, tt.want)
			}
		})
	}
}

func TestCostOf(t *testing.T) {
	prices := map[string]Price{
		"m":       {Input: 2, CachedInput: 0.5, Output: 8},
		"nocache": {Input: 2, Output: 8},
	}
	tests := []struct {
		model string
		u     Usage
		want  float64
		known bool
	}{
		{"m", Usage{InputTokens: 1000, OutputTokens: 500}, (1000*2 + 500*8) / 1e6, true},
		// Cached tokens are part of InputTokens and cost CachedInput.
		{"m", Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 500}, (600*2 + 400*0.5 + 500*8) / 1e6, true},
		// Reasoning tokens are part of OutputTokens: no extra charge.
		{"m", Usage{InputTokens: 10, OutputTokens: 100, ReasoningTokens: 90}, (10*2 + 100*8) / 1e6, true},
		// No cache price: cached tokens cost Input.
		{"nocache", Usage{InputTokens: 1000, CachedInputTokens: 400}, 1000 * 2 / 1e6, true},
		{"other", Usage{InputTokens: 1000}, 0, false},
	}
	for _, tt := range tests {
		got, known := Cost(prices, tt.model, tt.u)
		if known != tt.known || math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("Cost(%q, %+v) = %v, %v; want %v, %v", tt.model, tt.u, got, known, tt.want, tt.known)
		}
	}
}

func TestWithPricesValidates(t *testing.T) {
	for _, p := range []Price{{Input: -1}, {Output: math.NaN()}, {CachedInput: math.Inf(1)}} {
		if _, err := New(WithPrices(map[string]Price{"m": p})); err == nil || !strings.Contains(err.Error(), "WithPrices") {
			t.Errorf("New(WithPrices(%+v)) error = %v, want an ErrInvalidOption naming WithPrices", p, err)
		}
	}
}

// Values at the edges that are prices all the same.
func TestLoadPricesEdgeValues(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // dollars per million
	}{
		{"0e9223372036854775807", 0},
		{"0", 0},
		{"-0", 0},
		{"1.5e-07", 0.15},
		{"15e-8", 0.15},
		{"1e-310", 1e-304},
		{"1E+2", 1e8},
	}
	for _, tt := range tests {
		got, err := LoadPrices(strings.NewReader(`{"m": {"input_cost_per_token": ` + tt.in + `, "output_cost_per_token": 1e-6}}`))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got["m"].Input != tt.want {
			t.Errorf("%s per token = %v per million, want %v", tt.in, got["m"].Input, tt.want)
		}
	}
}
