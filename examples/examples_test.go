// Package examples holds the tests that keep every example a quick start a
// user can copy: short, public imports only, and building in a module of
// its own.
package examples

import (
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// maxCodeLines is the most lines of code (neither blank nor comments) an
// example's main.go may have: the refine calls must be on its first screen.
const maxCodeLines = 60

// exampleDirs returns the directories of this folder that hold a main.go.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join("*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	dirs := make([]string, len(mains))
	for i, m := range mains {
		dirs[i] = filepath.Dir(m)
	}
	return dirs
}

// codeLines counts the lines of src that hold a token other than a
// comment; a multi-line string counts every line it spans.
func codeLines(t *testing.T, name string, src []byte) int {
	t.Helper()
	fset := token.NewFileSet()
	file := fset.AddFile(name, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(pos token.Position, msg string) { t.Errorf("%s: %s", pos, msg) }, 0) // comments skipped
	lines := map[int]bool{}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue // inserted at a line end
		}
		first := file.Line(pos)
		for l := first; l <= first+strings.Count(lit, "\n"); l++ {
			lines[l] = true
		}
	}
	return len(lines)
}

func TestCodeLines(t *testing.T) {
	tests := []struct {
		src  string
		want int
	}{
		{"package main\n\n// doc\nfunc main() {\n\t/* x */\n}\n", 3},
		{"package main\n\nvar s = `a\nb\nc`\n", 4},
		{"package main // trailing\n/*\nblock\n*/\n", 1},
	}
	for _, tt := range tests {
		if got := codeLines(t, "x.go", []byte(tt.src)); got != tt.want {
			t.Errorf("codeLines(%q) = %d, want %d", tt.src, got, tt.want)
		}
	}
}

// Each example's main.go is at most maxCodeLines lines of code.
func TestExamplesAreShort(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		src, err := os.ReadFile(filepath.Join(dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		n := codeLines(t, dir+"/main.go", src)
		t.Logf("%s/main.go: %d lines of code", dir, n)
		if n > maxCodeLines {
			t.Errorf("%s/main.go has %d lines of code, want at most %d: move helpers to another file", dir, n, maxCodeLines)
		}
	}
}

// publicPackages are the packages of this module an example may import.
var publicPackages = []string{"", "/provider/openai", "/provider/bedrock", "/refinetest", "/calibrate", "/eval"}

// allowedImport reports whether an example may import path: the standard
// library, this module's public packages, and the SDKs' own packages —
// never an internal package, which Go forbids outside this module.
func allowedImport(path string) bool {
	if strings.Contains("/"+path+"/", "/internal/") {
		return false
	}
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return true // the standard library
	}
	for _, p := range publicPackages {
		if path == "github.com/selfrefine/refine"+p {
			return true
		}
	}
	for _, sdk := range []string{"github.com/aws/aws-sdk-go-v2/", "github.com/aws/smithy-go", "github.com/sashabaranov/go-openai"} {
		if strings.HasPrefix(path, sdk) {
			return true
		}
	}
	return false
}

func TestAllowedImport(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt": true, "net/http/httptest": true, "github.com/selfrefine/refine": true,
		"github.com/selfrefine/refine/refinetest": true, "github.com/aws/aws-sdk-go-v2/service/bedrockruntime": true,
		"github.com/selfrefine/refine/examples/internal/setup": false, "github.com/selfrefine/refine/internal/wire": false,
		"github.com/aws/aws-sdk-go-v2/internal/ini": false, "internal/poll": false, "github.com/selfrefine/refine/examples/quickstart": false,
		"example.com/other": false,
	} {
		if got := allowedImport(path); got != want {
			t.Errorf("allowedImport(%q) = %v, want %v", path, got, want)
		}
	}
}

// Every file of every example, tests included, imports only public
// packages, so that the directory works when copied out of this module.
func TestExamplesImportOnlyPublicPackages(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if !allowedImport(path) {
					t.Errorf("%s imports %q: an example may import only the standard library, this module's public packages and the SDKs", f, path)
				}
			}
		}
	}
}

// Each example directory, copied into a fresh module outside this
// repository as a user would copy it, builds — offline, from the module
// cache these tests already use, with the repository's go.sum.
func TestExamplesBuildWhenCopied(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the copied examples")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	modcache, err := exec.Command(goCmd, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	gomod := "module example.com/x\n\ngo 1.25.0\n\nrequire github.com/selfrefine/refine v0.0.0\n\nreplace github.com/selfrefine/refine => " + strconv.Quote(root) + "\n"
	for _, dir := range exampleDirs(t) {
		t.Run(dir, func(t *testing.T) {
			tmp := t.TempDir()
			if rel, err := filepath.Rel(root, tmp); err == nil && !strings.HasPrefix(rel, "..") {
				t.Fatalf("temporary directory %s is inside the repository", tmp)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, "go.sum"), gosum, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"build", "-o", os.DevNull, "."}, {"vet", "."}} {
				cmd := exec.Command(goCmd, args...)
				cmd.Dir = tmp
				cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
					"GOMODCACHE="+strings.TrimSpace(string(modcache)))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("go %s in a copy of %s: %v\n%s", args[0], dir, err, out)
				}
			}
		})
	}
}
