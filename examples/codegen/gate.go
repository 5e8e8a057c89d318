package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/selfrefine/refine"
)

var goBlock = regexp.MustCompile("(?s)```(?:go|golang)[ \t]*\r?\n(.*?)```")

// compiles is the gate: it writes the answer's ```go block into a fresh
// module and runs go build (every compiler error) and go vet. The output
// lines become the issues the refiner is asked to fix.
func compiles(ctx context.Context, _, answer string) (*refine.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a cut-off judgement has no verdict
	}
	m := goBlock.FindStringSubmatch(answer)
	if m == nil {
		return &refine.Verdict{Score: 0, Issues: []string{"the answer has no ```go code block"}}, nil
	}
	dir, err := os.MkdirTemp("", "codegen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module codegen\n\ngo 1.25\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(m[1]), 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"build", "-o", os.DevNull, "."}, {"vet", "."}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil || !errors.As(err, &exit):
			return nil, fmt.Errorf("go %s: %w", args[0], errors.Join(ctx.Err(), err)) // cannot judge: no made-up score
		}
		var issues []string
		for _, line := range strings.Split(string(out), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				issues = append(issues, line)
			}
		}
		return &refine.Verdict{Score: 0, Issues: issues,
			Feedback: "`go " + args[0] + "` failed; fix every error:\n" + strings.Join(issues, "\n")}, nil
	}
	return &refine.Verdict{Score: 10, Feedback: "go build and go vet pass."}, nil
}
