package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRun(t *testing.T) {
	srv := fakeBatchServer()
	defer srv.Close()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     string // in every line of stdout (or in stderr when there is no stdout)
		lines    int
	}{
		{"demo flag", []string{"-demo"}, nil, 0, "[simulated] ", len(questions)},
		{"REFINE_DEMO", nil, map[string]string{"REFINE_DEMO": "1"}, 0, "[simulated] ", len(questions)},
		{"no credentials", nil, nil, 2, "OPENAI_API_KEY", 0},
		{"a server", []string{"-poll", "5ms", "-journal", filepath.Join(t.TempDir(), "j.json")},
			map[string]string{"OPENAI_BASE_URL": srv.URL + "/v1", "OPENAI_API_KEY": "sk-test"}, 0, "9/10", len(questions)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, env(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if tt.lines == 0 {
				if stdout.Len() != 0 || !strings.Contains(stderr.String(), tt.want) {
					t.Errorf("stdout %q, stderr %q; want nothing and a message naming %s", stdout.String(), stderr.String(), tt.want)
				}
				return
			}
			if len(lines) != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tt.lines, stdout.String())
			}
			for _, l := range lines {
				if !strings.Contains(l, tt.want) || !strings.Contains(l, "upper bound: false") {
					t.Errorf("line %q: want %q and a batch price", l, tt.want)
				}
			}
		})
	}
}
