package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/selfrefine/refine"
)

// task is one line of the input: {"id": ..., "query": ..., "reference": ...}.
type task struct {
	ID, Query, Reference string
	Line                 int
}

// readTasks reads JSON Lines tasks and checks all of them before anything
// runs: a line that is not a JSON object, a missing or empty id or query,
// a field of the wrong type and a repeated id are errors naming the file,
// the line and the field. Blank lines are skipped; other fields are kept
// for the user and ignored here.
func readTasks(r io.Reader, name string) ([]task, error) {
	var tasks []task
	seen := map[string]int{}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			t, perr := parseTask(line)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, perr)
			}
			if first, dup := seen[t.ID]; dup {
				return nil, fmt.Errorf("%s:%d: id %q is already used on line %d; ids must be unique", name, n, t.ID, first)
			}
			seen[t.ID] = n
			t.Line = n
			tasks = append(tasks, t)
		}
		if err == io.EOF {
			break
		}
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s: no tasks (want one JSON object per line with \"id\" and \"query\")", name)
	}
	return tasks, nil
}

func parseTask(line []byte) (task, error) {
	if !utf8.Valid(line) {
		return task{}, errors.New("not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return task{}, fmt.Errorf("not valid JSON (at byte %d): %v", se.Offset, err)
		}
		return task{}, fmt.Errorf("want a JSON object with \"id\" and \"query\": %v", err)
	}
	var t task
	raw, ok := fields["id"]
	if !ok {
		return task{}, errors.New(`field "id": missing`)
	}
	id, err := parseID(raw)
	if err != nil {
		return task{}, fmt.Errorf(`field "id": %v`, err)
	}
	t.ID = id
	if t.Query, err = stringField(fields, "query", true); err != nil {
		return task{}, err
	}
	if t.Reference, err = stringField(fields, "reference", false); err != nil {
		return task{}, err
	}
	return t, nil
}

// parseID accepts a string or an integer, the two ways ids are written.
func parseID(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if refine.IsBlank(s) {
			return "", errors.New("empty")
		}
		return s, nil
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return string(raw), nil
	}
	return "", fmt.Errorf("want a string or an integer, got %s", clip(string(raw), 40))
}

func stringField(fields map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("field %q: missing", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q: want a string, got %s", name, clip(string(raw), 40))
	}
	if required && refine.IsBlank(s) {
		return "", fmt.Errorf("field %q: empty (no visible character)", name)
	}
	return s, nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// shard is --shard k/n: the tasks whose id hashes to k-1 modulo n.
type shard struct{ k, n int }

func parseShard(s string) (shard, error) {
	if s == "" {
		return shard{1, 1}, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return shard{}, fmt.Errorf("--shard %q: want k/n with 1 <= k <= n, such as 1/4", s)
	}
	return shard{k, n}, nil
}

// has reports whether id belongs to the shard. The hash of the id alone
// decides, so every machine given the same n agrees on the split whatever
// the order of the input or which other ids it holds.
func (s shard) has(id string) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%uint64(s.n) == uint64(s.k-1)
}
