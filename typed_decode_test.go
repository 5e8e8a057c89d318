package refine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// Types that encoding/json decodes by rules other than their Go kind
// (issue 20, item 13). For each, the answer encoding/json writes for a
// value must meet the schema RunTyped sends and decode back: valid on the
// first attempt.

type quotedNumbers struct {
	Count   int     `json:"count,string"`
	Price   float64 `json:"price,string"`
	Paid    bool    `json:"paid,string"`
	Units   uint8   `json:"units,string"`
	Maybe   *int    `json:"maybe,string"`
	Ignored []int   `json:"ignored,string"` // ,string does not apply to lists
}

// severity is an enum that reads and writes itself as text.
type severity int

func (s severity) MarshalText() ([]byte, error) {
	switch s {
	case 1:
		return []byte("low"), nil
	case 2:
		return []byte("high"), nil
	}
	return nil, fmt.Errorf("severity %d has no name", int(s))
}

func (s *severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*s = 1
	case "high":
		*s = 2
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

type withEnum struct {
	Severity severity            `json:"severity"`
	ByLevel  map[string]severity `json:"by_level"`
}

type withAddr struct {
	Addr   netip.Addr   `json:"addr"`
	Prefix netip.Prefix `json:"prefix"`
	Hops   []netip.Addr `json:"hops"`
}

type withBig struct {
	N *big.Int   `json:"n"`
	F *big.Float `json:"f"`
}

type withRaw struct {
	Kind  string           `json:"kind"`
	Extra json.RawMessage  `json:"extra"`
	Opt   *json.RawMessage `json:"opt"`
}

type withBytes struct {
	Data []byte `json:"data"`
}

func TestRunTypedDecodableTypes(t *testing.T) {
	seven := 7
	rawOpt := json.RawMessage(`[1,"two",null]`)
	tests := []struct {
		name  string
		value any // a pointer to a value of T
		run   func(context.Context, ...refine.Option) (any, error)
	}{
		{",string fields", &quotedNumbers{Count: 3, Price: 9.5, Paid: true, Units: 200, Maybe: &seven, Ignored: []int{1}},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[quotedNumbers](ctx, nil, "q", o...)
				return value(r), err
			}},
		{"TextUnmarshaler enum", &withEnum{Severity: 2, ByLevel: map[string]severity{"db": 1}},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[withEnum](ctx, nil, "q", o...)
				return value(r), err
			}},
		{"netip", &withAddr{Addr: netip.MustParseAddr("192.0.2.1"), Prefix: netip.MustParsePrefix("2001:db8::/32"), Hops: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[withAddr](ctx, nil, "q", o...)
				return value(r), err
			}},
		{"big numbers", &withBig{N: new(big.Int).Lsh(big.NewInt(1), 100), F: big.NewFloat(1.5)},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[withBig](ctx, nil, "q", o...)
				return value(r), err
			}},
		{"json.RawMessage", &withRaw{Kind: "k", Extra: json.RawMessage(`{"a":[1,2],"b":true}`), Opt: &rawOpt},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[withRaw](ctx, nil, "q", o...)
				return value(r), err
			}},
		{"[]byte", &withBytes{Data: []byte("\x00binary\xff")},
			func(ctx context.Context, o ...refine.Option) (any, error) {
				r, err := refine.RunTyped[withBytes](ctx, nil, "q", o...)
				return value(r), err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, err := json.Marshal(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			model := refinetest.NewProvider(string(answer))
			got, err := tt.run(context.Background(), refine.WithProvider(model), refine.WithJudge(refinetest.NewJudge(9)), refine.WithMaxIterations(1))
			if err != nil {
				t.Fatalf("RunTyped with the answer %s: %v", answer, err)
			}
			// Compared as encoding/json writes them: big.Float's insides
			// differ for equal numbers.
			if again, _ := json.Marshal(got); string(again) != string(answer) {
				t.Errorf("Value = %s, want %s", again, answer)
			}
			if n := model.Calls(); n != 1 {
				t.Errorf("model calls = %d, want 1 (the first answer was valid)", n)
			}
		})
	}
}

func value[T any](r *refine.TypedResult[T]) any {
	if r == nil {
		var zero T
		return zero
	}
	return r.Value
}

// The ,string text must be what encoding/json reads: a bare number where
// a quoted one is due is a schema problem the refiner is told about.
func TestRunTypedQuotedFieldWantsString(t *testing.T) {
	model := refinetest.NewProvider(`{"count":3,"price":"9.5","paid":"true","units":"2","maybe":null,"ignored":[]}`)
	res, err := refine.RunTyped[quotedNumbers](context.Background(), nil, "q", refine.WithProvider(model),
		refine.WithJudge(refinetest.NewJudge(9)), refine.WithMaxIterations(0))
	if !errors.Is(err, refine.ErrInvalidAnswer) {
		t.Fatalf("err = %v, want ErrInvalidAnswer", err)
	}
	if issues := strings.Join(res.Attempts[0].Verdict.Issues, "\n"); !strings.Contains(issues, "$.count") {
		t.Errorf("issues = %q, want one at $.count", issues)
	}
}

// bespoke decodes itself by a rule no schema can be inferred from.
type bespoke struct{ X int }

func (b *bespoke) UnmarshalJSON(data []byte) error { return json.Unmarshal(data, &b.X) }

type withBespoke struct {
	Items []bespoke `json:"items"`
}

type quotedString struct {
	Name string `json:"name,string"`
}

type quotedEnum struct {
	Severity severity `json:"severity,string"`
}

// A T whose decoding no schema can state is refused before any call, with
// an error naming the field and its type.
func TestRunTypedRefusesSelfDecodingTypes(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, ...refine.Option) error
		want []string
	}{
		{"UnmarshalJSON of its own", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[withBespoke](ctx, nil, "q", o...)
			return err
		}, []string{"refine_test.withBespoke", "withBespoke.Items[]", "refine_test.bespoke", "UnmarshalJSON"}},
		{"a type that is text", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[netip.Addr](ctx, nil, "q", o...)
			return err
		}, []string{"RunTyped[netip.Addr]", "JSON object", "string"}},
		{",string on a string", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[quotedString](ctx, nil, "q", o...)
			return err
		}, []string{"quotedString.Name", ",string"}},
		{",string on a TextUnmarshaler", func(ctx context.Context, o ...refine.Option) error {
			_, err := refine.RunTyped[quotedEnum](ctx, nil, "q", o...)
			return err
		}, []string{"quotedEnum.Severity", "refine_test.severity", ",string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := refinetest.NewProvider(`{}`, typedVerdict(9))
			err := tt.run(context.Background(), refine.WithProvider(model))
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := model.Calls(); n != 0 {
				t.Errorf("model calls = %d, want 0", n)
			}
		})
	}
}
