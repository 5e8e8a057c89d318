package openai

import (
	"net/http"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"negative", map[string]string{"Retry-After": "-3"}, 0},
		{"HTTP date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"HTTP date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"milliseconds", map[string]string{"Retry-After-Ms": "250"}, 250 * time.Millisecond},
		{"milliseconds win", map[string]string{"Retry-After-Ms": "250", "Retry-After": "1"}, 250 * time.Millisecond},
		{"bad milliseconds fall back", map[string]string{"Retry-After-Ms": "soon", "Retry-After": "1"}, time.Second},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"NaN", map[string]string{"Retry-After": "NaN"}, 0},
		{"huge", map[string]string{"Retry-After": "1e300"}, maxRetryAfter},
		{"padded", map[string]string{"Retry-After": " 3 "}, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Header
			if tt.header != nil {
				h = http.Header{}
				for k, v := range tt.header {
					h.Set(k, v)
				}
			}
			if got := retryAfter(h, now); got != tt.want {
				t.Errorf("retryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "0.5", "-1", "NaN", "+Inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", ""} {
		f.Add(s, s)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ms, s string) {
		h := http.Header{}
		h.Set("Retry-After-Ms", ms)
		h.Set("Retry-After", s)
		if got := retryAfter(h, now); got < 0 || got > maxRetryAfter {
			t.Errorf("retryAfter(ms=%q, s=%q) = %v, want within [0, %v]", ms, s, got, maxRetryAfter)
		}
	})
}

func TestFinishReason(t *testing.T) {
	tests := map[string]string{
		"stop": refine.FinishStop, "eos": refine.FinishStop, "end_turn": refine.FinishStop, "STOP": refine.FinishStop,
		"length": refine.FinishLength, "max_tokens": refine.FinishLength,
		"content_filter": refine.FinishContentFilter,
		"tool_calls":     "tool_calls", "function_call": "function_call", "abort": "abort",
		"": "", "null": "",
	}
	for in, want := range tests {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsReasoningModel(t *testing.T) {
	tests := map[string]bool{
		"o1": true, "o1-mini": true, "o3": true, "o3-mini-2025-01-31": true, "o4-mini": true,
		"gpt-5": true, "gpt-5-mini": true, "gpt-5-nano": true, "gpt-6-sol": true,
		"gpt-4o": false, "gpt-4o-mini": false, "gpt-4.1": false, "llama3.2": false, "qwen3:8b": false, "": false,
	}
	for model, want := range tests {
		if got := isReasoningModel(model); got != want {
			t.Errorf("isReasoningModel(%q) = %v, want %v", model, got, want)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		status        int
		code, typ     string
		wantKind      error
		wantPermanent bool
	}{
		{429, "rate_limit_exceeded", "requests", refine.ErrRateLimited, false},
		{429, "insufficient_quota", "insufficient_quota", refine.ErrRateLimited, true},
		{429, "", "insufficient_quota", refine.ErrRateLimited, true},
		{400, "context_length_exceeded", "invalid_request_error", refine.ErrContextLength, false},
		{401, "invalid_api_key", "", refine.ErrAuth, false},
		{403, "", "", refine.ErrAuth, false},
		{404, "model_not_found", "", refine.ErrInvalidRequest, false},
		{408, "", "", refine.ErrUnavailable, false},
		{422, "", "", refine.ErrInvalidRequest, false},
		{500, "", "server_error", refine.ErrUnavailable, false},
		{529, "", "", refine.ErrUnavailable, false},
	}
	for _, tt := range tests {
		kind, permanent := kindOf(tt.status, tt.code, tt.typ)
		if kind != tt.wantKind || permanent != tt.wantPermanent {
			t.Errorf("kindOf(%d, %q, %q) = %v, %v; want %v, %v", tt.status, tt.code, tt.typ, kind, permanent, tt.wantKind, tt.wantPermanent)
		}
	}
}
