package openai_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

func TestFromEnv(t *testing.T) {
	srv := newFake(t, replies(ok("x")))
	local := srv.URL + "/v1" // a loopback server, like Ollama
	tests := []struct {
		name      string
		key, base string
		model     string
		wantErr   error    // nil: FromEnv succeeds and a call reaches the fake
		wantIn    []string // substrings of the error
		wantModel string
		wantAuth  string
	}{
		{name: "nothing set: official endpoint needs a key", wantErr: refine.ErrAuth,
			wantIn: []string{"OPENAI_API_KEY", "https://api.openai.com/v1", "OPENAI_BASE_URL"}},
		{name: "official URL spelled out without key", base: "https://api.openai.com/v1/", wantErr: refine.ErrAuth,
			wantIn: []string{"OPENAI_API_KEY", "https://api.openai.com/v1/"}},
		{name: "white space is no key", key: " \n", wantErr: refine.ErrAuth, wantIn: []string{"OPENAI_API_KEY"}},
		{name: "base URL without scheme", base: "localhost:11434/v1", wantErr: refine.ErrInvalidOption,
			wantIn: []string{"OPENAI_BASE_URL", `"localhost:11434/v1"`}},
		{name: "base URL not a URL", base: "http://[::1", wantErr: refine.ErrInvalidOption,
			wantIn: []string{"OPENAI_BASE_URL", `"http://[::1"`}},
		{name: "local server, no key, default model", base: local, wantModel: openai.DefaultModel},
		{name: "local server with model", base: local, model: "llama3.2", wantModel: "llama3.2"},
		{name: "key and model, trimmed", base: local, key: "sk-env\n", model: " gpt-4.1-nano ", wantModel: "gpt-4.1-nano",
			wantAuth: "Bearer sk-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", tt.key)
			t.Setenv("OPENAI_BASE_URL", tt.base)
			t.Setenv("OPENAI_MODEL", tt.model)
			p, err := openai.FromEnv()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FromEnv() error = %v, want %v", err, tt.wantErr)
				}
				if p != nil {
					t.Errorf("FromEnv() = %v with an error, want nil", p)
				}
				for _, s := range tt.wantIn {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv(): %v", err)
			}
			if _, err := p.Complete(context.Background(), user("q")); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			h := srv.last(t)
			if got := h.Body["model"]; got != tt.wantModel {
				t.Errorf("model = %v, want %q", got, tt.wantModel)
			}
			if got := h.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}
}
