package refine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
)

// Price is what a model's tokens cost, in US dollars per million tokens.
// CachedInput is the price of input tokens read from the prompt cache
// (Usage.CachedInputTokens); zero means they cost as much as Input.
// Reasoning tokens are output tokens and cost Output.
type Price struct {
	Input, CachedInput, Output float64
	// BatchInput and BatchOutput price the replies of a batch API
	// (Response.Batch), about half of Input and Output. Zero means none is
	// known: a batched reply is then priced at Input or Output, an upper
	// bound that Result.CostUpperBound reports.
	BatchInput, BatchOutput float64
}

// WithPrices gives the Loop the prices of the models it uses, so that
// Attempt.Cost, Result.Cost and CostBudget can count dollars. The map is
// copied; prices must be finite and >= 0.
//
// Keys are model ids as providers report them in Response.Model. A model
// is looked up by its exact id first; when that has no price, by these
// aliases, in order:
//
//   - an ARN (Bedrock inference-profile ARNs): the id after its last "/";
//   - LiteLLM's provider-prefixed keys: "bedrock/" + id, "bedrock_converse/" + id;
//   - a Bedrock cross-region inference profile ("us.", "eu.", "apac.",
//     "jp.", "au.", "ca.", "us-gov." or "global." before the model id, as
//     in us.amazon.nova-lite-v1:0): the id without that prefix
//     (amazon.nova-lite-v1:0), then its "bedrock/" keys;
//   - an OpenAI dated snapshot (gpt-4o-mini-2024-07-18): the id without
//     the date (gpt-4o-mini).
//
// So a regional or dated price wins when the map has one, and the base
// model's price serves otherwise. A call whose model has no price makes the
// run's cost unknown (Result.CostKnown is false), never zero.
func WithPrices(prices map[string]Price) Option {
	prices = maps.Clone(prices)
	return func(c *config) { c.prices = prices }
}

// LoadPrices reads prices in the format of LiteLLM's
// model_prices_and_context_window.json: a JSON object whose keys are model
// ids and whose entries give input_cost_per_token, output_cost_per_token
// and cache_read_input_token_cost in dollars per token (converted here to
// dollars per million). Entries that price no text generation are left
// out: the "sample_spec" documentation entry, modes other than "chat",
// "completion" and "responses" (embeddings, images, audio...), and
// entries without both an input and an output price. Other fields are
// ignored. A repeated key keeps its last entry, as LiteLLM's own reader
// does.
//
// A file that is not such an object, or an entry whose price is not a
// number, is negative, or does not fit a float64 once in dollars per
// million (too large, or so small that it would read as free), is an error
// naming the key, the field and the line.
func LoadPrices(r io.Reader) (map[string]Price, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("refine: LoadPrices: %w", err)
	}
	line := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("refine: LoadPrices: line %d: %w", line(se.Offset), err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("refine: LoadPrices: line %d: unexpected end of the file", line(int64(len(data))))
		}
		return fmt.Errorf("refine: LoadPrices: %w", err)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil {
		return nil, syntax(err)
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("refine: LoadPrices: line 1: want a JSON object of models, got %v", tok)
	}
	prices := map[string]Price{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key := tok.(string) // object keys are always strings
		at := line(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntax(err)
		}
		if key == "sample_spec" {
			continue
		}
		p, ok, err := litellmPrice(raw)
		if err != nil {
			return nil, fmt.Errorf("refine: LoadPrices: %q (line %d): %w", key, at, err)
		}
		if ok {
			prices[key] = p
		} else {
			delete(prices, key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("refine: LoadPrices: line %d: unexpected data after the object", line(dec.InputOffset()))
	}
	return prices, nil
}

// litellmPrice reads one entry of LiteLLM's file; ok is false when it
// prices no text generation.
func litellmPrice(raw json.RawMessage) (p Price, ok bool, err error) {
	var e map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil || e == nil {
		return Price{}, false, fmt.Errorf("want an object, got %s", truncate(string(raw), 40))
	}
	if m, has := e["mode"]; has {
		var mode string
		if err := json.Unmarshal(m, &mode); err != nil {
			return Price{}, false, fmt.Errorf("mode: want a string, got %s", truncate(string(m), 40))
		}
		switch mode {
		case "chat", "completion", "responses":
		default:
			return Price{}, false, nil
		}
	}
	field := func(name string) (float64, bool, error) {
		v, has := e[name]
		if !has || string(v) == "null" {
			return 0, false, nil
		}
		f, err := perMillion(v)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", name, err)
		}
		return f, true, nil
	}
	in, hasIn, err := field("input_cost_per_token")
	if err != nil {
		return Price{}, false, err
	}
	out, hasOut, err := field("output_cost_per_token")
	if err != nil {
		return Price{}, false, err
	}
	cached, _, err := field("cache_read_input_token_cost")
	if err != nil {
		return Price{}, false, err
	}
	batchIn, _, err := field("input_cost_per_token_batches")
	if err != nil {
		return Price{}, false, err
	}
	batchOut, _, err := field("output_cost_per_token_batches")
	if err != nil {
		return Price{}, false, err
	}
	if !hasIn || !hasOut {
		return Price{}, false, nil
	}
	return Price{Input: in, CachedInput: cached, Output: out, BatchInput: batchIn, BatchOutput: batchOut}, true, nil
}

// perMillion converts a JSON number of dollars per token to dollars per
// million tokens. It shifts the decimal exponent rather than multiplying,
// so 1.5e-07 becomes exactly the float64 nearest 0.15, as a price list
// written per million would give.
func perMillion(v json.RawMessage) (float64, error) {
	s := string(v)
	if _, err := strconv.ParseFloat(s, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("want a number of dollars per token, got %s", truncate(s, 40))
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("want a number of dollars per token, got %s", truncate(s, 40))
		}
		exp = e // ±MaxInt on overflow: out of range below, unless the mantissa is 0
	}
	m, err := strconv.ParseFloat(mant, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number of dollars per token, got %s", truncate(s, 40))
	}
	if m < 0 {
		return 0, fmt.Errorf("negative price %s", truncate(s, 40))
	}
	if m == 0 {
		return 0, nil // 0e999999999 is free, whatever the exponent
	}
	// Beyond ±1000 the shift by 6 could wrap the exponent, and no float64
	// is that far from 1 anyway.
	if exp > 1000 || exp < -1000 {
		return 0, fmt.Errorf("%s dollars per token is out of range", truncate(s, 40))
	}
	f, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(exp+6), 64)
	if err != nil || !isFinite(f) {
		return 0, fmt.Errorf("%s dollars per token is out of range", truncate(s, 40))
	}
	if f == 0 {
		// A price too small for a float64 would be read as free.
		return 0, fmt.Errorf("%s dollars per token is too small to represent (it would read as 0)", truncate(s, 40))
	}
	return f, nil
}

func validatePrices(prices map[string]Price) error {
	for m, p := range prices {
		if !(p.Input >= 0 && p.CachedInput >= 0 && p.Output >= 0) || !isFinite(p.Input+p.CachedInput+p.Output) {
			return optionError("WithPrices", fmt.Sprintf("%q: %+v", m, p), "prices must be finite and >= 0")
		}
	}
	return nil
}

// Cost returns what usage u cost in US dollars on model (an id as the
// provider reports it, Response.Model), and whether prices has a price for
// it, matched as WithPrices matches ids. The Loop prices its own calls;
// Cost is for calls made outside a run, such as a PairwiseJudge's. It is
// never negative: cached tokens count at most InputTokens, and negative
// counts count as zero.
func Cost(prices map[string]Price, model string, u Usage) (usd float64, known bool) {
	p, ok := lookupPrice(prices, model)
	if !ok {
		return 0, false
	}
	cached := p.CachedInput
	if cached == 0 {
		cached = p.Input
	}
	return priced(u, p.Input, cached, p.Output), true
}

// ReplyCost prices one reply as the Loop prices its calls: at the model's
// batch price when it came from a batch API (Response.Batch), otherwise as
// Cost does. known is false when prices has no price for resp.Model;
// upperBound is true when a batched reply's model has no batch price and
// it was priced on demand, so the dollars are an upper bound of what was
// paid. Use it for calls made outside a run (eval's one-call arms, a
// pairwise judge's replies).
func ReplyCost(prices map[string]Price, resp *Response) (usd float64, known, upperBound bool) {
	if resp == nil {
		return 0, false, false
	}
	if !resp.Batch {
		usd, known = Cost(prices, resp.Model, resp.Usage)
		return usd, known, false
	}
	p, ok := lookupPrice(prices, resp.Model)
	if !ok {
		return 0, false, false
	}
	in, out := p.Input, p.Output
	if p.BatchInput > 0 {
		in = p.BatchInput
	} else {
		upperBound = p.Input > 0
	}
	if p.BatchOutput > 0 {
		out = p.BatchOutput
	} else {
		upperBound = upperBound || p.Output > 0
	}
	// A cached token costs at most a batch input token.
	cached := p.CachedInput
	if cached == 0 || cached > in {
		cached = in
	}
	return priced(resp.Usage, in, cached, out), true, upperBound
}

// priced is u at these $/M prices. Counts out of Usage's rules (which the
// loop rejects from providers) are clamped, so that no Usage prices below
// zero: cached tokens count at most InputTokens, negative counts as zero.
func priced(u Usage, in, cached, out float64) float64 {
	input := max(u.InputTokens, 0)
	c := min(max(u.CachedInputTokens, 0), input)
	return (float64(input-c)*in + float64(c)*cached + float64(max(u.OutputTokens, 0))*out) / 1e6
}

// crossRegion are the prefixes of Bedrock's cross-region inference
// profile ids.
var crossRegion = []string{"us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global."}

// lookupPrice finds model's price by the rules documented on WithPrices.
func lookupPrice(prices map[string]Price, model string) (Price, bool) {
	if len(prices) == 0 || model == "" {
		return Price{}, false
	}
	if p, ok := prices[model]; ok {
		return p, true
	}
	if strings.HasPrefix(model, "arn:") {
		if i := strings.LastIndexByte(model, '/'); i >= 0 {
			model = model[i+1:]
			if p, ok := prices[model]; ok {
				return p, true
			}
		}
	}
	bedrock := func(id string) (Price, bool) {
		for _, k := range [...]string{"bedrock/" + id, "bedrock_converse/" + id} {
			if p, ok := prices[k]; ok {
				return p, true
			}
		}
		return Price{}, false
	}
	if p, ok := bedrock(model); ok {
		return p, true
	}
	for _, pre := range crossRegion {
		if base, ok := strings.CutPrefix(model, pre); ok && base != "" {
			if p, ok := prices[base]; ok {
				return p, true
			}
			return bedrock(base)
		}
	}
	if base, ok := undated(model); ok {
		p, ok := prices[base]
		return p, ok
	}
	return Price{}, false
}

// undated strips an OpenAI snapshot date: gpt-4o-mini-2024-07-18 →
// gpt-4o-mini.
func undated(model string) (string, bool) {
	const n = len("-2024-07-18")
	if len(model) <= n {
		return "", false
	}
	base, d := model[:len(model)-n], model[len(model)-n:]
	for i, c := range []byte(d) {
		switch i {
		case 0, 5, 8:
			if c != '-' {
				return "", false
			}
		default:
			if c < '0' || c > '9' {
				return "", false
			}
		}
	}
	return base, true
}
