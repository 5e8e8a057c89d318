package refine_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A built-in part may use no power a user's part cannot have. The way a
// package grants itself such a power is a type assertion (or a type switch
// case) to an interface with an unexported method: only the package's own
// types can implement it, so a user's judge, stop condition or provider is
// silently treated as lacking it. These tests read every non-test Go file
// of the root module and fail on any such assertion.

// TestNoHiddenHooks fails when non-test code of the root module (every
// package, nested modules excluded) asserts an interface with an
// unexported method: an interface literal, or a named interface declared
// in the module (embedding followed).
func TestNoHiddenHooks(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.files) < 10 {
		t.Fatalf("read %d files; the walk missed the module", len(m.files))
	}
	for _, f := range m.hiddenHooks() {
		t.Errorf("%s", f)
	}
}

// TestHiddenHookFinder shows that the finder catches each form of hidden
// hook and lets exported capabilities through.
func TestHiddenHookFinder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int // findings
	}{
		{"literal", `func f(x any) { _, _ = x.(interface{ validate() error }) }`, 1},
		{"literal in a type switch", `func f(x any) { switch x.(type) { case interface{ failure() error }: } }`, 1},
		{"named", `type hook interface{ needsPrices() string }
			func f(x any) { _, _ = x.(hook) }`, 1},
		{"embedded", `type hook interface{ replacesThreshold() bool }
			type Rule interface{ hook; Check() }
			func f(x any) { _ = x.(Rule) }`, 1},
		{"exported method", `func f(x any) { _, _ = x.(interface{ Validate() error }) }`, 0},
		{"exported named", `type Validator interface{ Validate() error }
			func f(x any) { _, _ = x.(Validator) }`, 0},
		{"concrete type", `type hook struct{}
			func (hook) validate() {}
			func f(x any) { _, _ = x.(hook) }`, 0},
		{"standard library", `func f(x any) { _, _ = x.(fmt.Stringer) }`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "package p\n\nimport \"fmt\"\n\nvar _ fmt.Stringer\n\n" + tt.src + "\n"
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := loadModule(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.hiddenHooks(); len(got) != tt.want {
				t.Errorf("findings = %q, want %d", got, tt.want)
			}
		})
	}
}

type module struct {
	path   string
	fset   *token.FileSet
	files  []*ast.File
	pkgOf  map[*ast.File]string           // import path of each file's package
	ifaces map[string]map[string]ast.Expr // import path → type name → its type
}

// loadModule parses the non-test Go files of the module rooted at root,
// skipping nested modules, testdata and hidden directories.
func loadModule(root string) (*module, error) {
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	m := &module{fset: token.NewFileSet(), pkgOf: map[*ast.File]string{}, ifaces: map[string]map[string]ast.Expr{}}
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			m.path = strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	if m.path == "" {
		return nil, fmt.Errorf("%s/go.mod names no module", root)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); p != root && err == nil {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(m.fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := path.Join(m.path, filepath.ToSlash(rel))
		m.files = append(m.files, f)
		m.pkgOf[f] = pkg
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if m.ifaces[pkg] == nil {
					m.ifaces[pkg] = map[string]ast.Expr{}
				}
				m.ifaces[pkg][ts.Name.Name] = ts.Type
			}
		}
		return nil
	})
	return m, err
}

// hiddenHooks returns a line per assertion to an interface with an
// unexported method.
func (m *module) hiddenHooks() []string {
	var out []string
	for _, f := range m.files {
		pkg := m.pkgOf[f]
		imports := map[string]string{}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := path.Base(p)
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = p
		}
		report := func(at ast.Node, typ ast.Expr) {
			if why := m.hidden(pkg, imports, typ, map[ast.Expr]bool{}); why != "" {
				out = append(out, fmt.Sprintf("%s: asserts an interface with the unexported method %s: a user's part cannot have it; export the capability (see refine.Validator)",
					m.fset.Position(at.Pos()), why))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeAssertExpr:
				if n.Type != nil { // x.(type) is handled with its switch
					report(n, n.Type)
				}
			case *ast.TypeSwitchStmt:
				for _, c := range n.Body.List {
					for _, typ := range c.(*ast.CaseClause).List {
						report(typ, typ)
					}
				}
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

// hidden returns the name of an unexported method of the interface typ
// (seen from package pkg with the given imports), or "" when it has none
// or is not an interface of the module.
func (m *module) hidden(pkg string, imports map[string]string, typ ast.Expr, seen map[ast.Expr]bool) string {
	if seen[typ] {
		return ""
	}
	seen[typ] = true
	switch t := typ.(type) {
	case *ast.ParenExpr:
		return m.hidden(pkg, imports, t.X, seen)
	case *ast.IndexExpr:
		return m.hidden(pkg, imports, t.X, seen)
	case *ast.IndexListExpr:
		return m.hidden(pkg, imports, t.X, seen)
	case *ast.Ident:
		if def, ok := m.ifaces[pkg][t.Name]; ok {
			return m.hidden(pkg, imports, def, seen)
		}
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return ""
		}
		p, ok := imports[x.Name]
		if !ok {
			return ""
		}
		if def, ok := m.ifaces[p][t.Sel.Name]; ok {
			// Names in def resolve in its own package; its files'
			// imports are not needed for the cases the module has
			// (embedding of same-package interfaces).
			return m.hidden(p, nil, def, seen)
		}
	case *ast.InterfaceType:
		for _, field := range t.Methods.List {
			for _, name := range field.Names {
				if !name.IsExported() {
					return name.Name + "()"
				}
			}
			if len(field.Names) == 0 { // embedded
				if why := m.hidden(pkg, imports, field.Type, seen); why != "" {
					return why
				}
			}
		}
	}
	return ""
}
