package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A base URL's user:password@ never leaves the command: not in ask's
// "model:" line or --json output, the progress lines, the results files,
// the eval report (header and failures table), nor the errors — even when
// a gateway echoes the password, plain and as the Basic credentials it
// received, into its error (issue 20, item 8). The host is still shown.
func TestBaseURLPasswordIsNeverShown(t *testing.T) {
	const user, password = "alice", "s3cret-pw"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	leaks := []string{password, basic, "s3cret%2Dpw"}
	for _, failing := range []bool{false, true} {
		srv := newChatServer(t, "llama3.2")
		if failing {
			srv.reject = func(int) (int, http.Header, string) {
				return http.StatusBadRequest, nil, `{"error":{"code":400,"message":"gateway rejected ` + user + `:` + password + ` (Basic ` + basic + `)","type":"invalid_request_error"}}`
			}
		}
		host := strings.TrimPrefix(srv.URL, "http://")
		env := map[string]string{"OLLAMA_BASE_URL": "http://" + user + ":" + password + "@" + host + "/v1"}
		dir := t.TempDir()
		in := writeTasks(t, dir, 2)
		tests := []struct {
			name  string
			args  []string
			files []string // written by the command, checked too
			shown string   // the host, where the command names the model
		}{
			{"ask", []string{"ask", "--provider", "ollama", "--max-iterations", "1", "What is a goroutine?"}, nil, "Ollama at " + srv.URL + "/v1"},
			{"ask --json", []string{"ask", "--provider", "ollama", "--json", "--max-iterations", "1", "What is a goroutine?"}, nil, "Ollama at " + srv.URL + "/v1"},
			{"batch", append(batchArgs(in, filepath.Join(dir, "batch.jsonl")), "--provider", "ollama"), []string{"batch.jsonl"}, ""},
			{"eval", []string{"eval", "--provider", "ollama", "--in", in, "--report", filepath.Join(dir, "eval.html"), "--max-iterations", "1", "--threshold", "9"},
				[]string{"eval.jsonl", "eval.html"}, "Ollama at " + srv.URL + "/v1"},
		}
		for _, tt := range tests {
			name := tt.name
			if failing {
				name += ", gateway echoes the password"
			}
			t.Run(name, func(t *testing.T) {
				a := newTestApp(nil)
				a.getenv = func(k string) string { return env[k] }
				code := a.run(t, context.Background(), tt.args...)
				if want := map[bool]int{false: exitOK, true: exitFailed}[failing]; code != want {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, want, a.errOut)
				}
				outputs := map[string]string{"stdout": a.out.String(), "stderr": a.errOut.String()}
				for _, f := range tt.files {
					data, err := os.ReadFile(filepath.Join(dir, f))
					if err != nil {
						t.Fatal(err)
					}
					outputs[f] = string(data)
				}
				for where, text := range outputs {
					for _, leak := range leaks {
						if strings.Contains(text, leak) {
							t.Errorf("%s holds the credential %q:\n%s", where, leak, text)
						}
					}
				}
				if failing && !strings.Contains(a.errOut.String()+outputs["batch.jsonl"]+outputs["eval.jsonl"]+a.out.String(), "gateway rejected") {
					t.Errorf("the server's error is not reported at all; stderr:\n%s", a.errOut)
				}
				if tt.shown != "" && !strings.Contains(a.out.String()+outputs["eval.html"], tt.shown) {
					t.Errorf("the model is not named as %q; stdout:\n%s", tt.shown, a.out)
				}
			})
		}
	}
}
