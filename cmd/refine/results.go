package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/selfrefine/refine"
)

// resultLine is one line of the output: a task's Result and, when it
// failed, the error. A run that failed after some attempts keeps them in
// Result: nothing it produced is dropped.
type resultLine struct {
	ID     string         `json:"id,omitempty"`
	Query  string         `json:"query,omitempty"`
	Model  string         `json:"model,omitempty"`
	Result *refine.Result `json:"result"`
	Error  string         `json:"error,omitempty"`
	// Interrupted marks a run cut short by Ctrl-C: it is written so that
	// its partial result is not lost, and it is run again on resume.
	Interrupted bool `json:"interrupted,omitempty"`
	// Eval is set by refine eval.
	Eval *evalOutcome `json:"eval,omitempty"`
	// Models are the models that answered the task's calls, as the
	// server named them (Response.Model): what ran, which may not be
	// what was asked for.
	Models []string `json:"models,omitempty"`
}

// resumeLine is what resuming needs to know of a line.
type resumeLine struct {
	ID          string          `json:"id"`
	Result      json.RawMessage `json:"result"`
	Error       string          `json:"error"`
	Interrupted bool            `json:"interrupted"`
}

// output is the results file, opened for appending.
type output struct {
	f       *os.File
	regular bool            // a regular file: resumed, and synced at the end
	done    map[string]bool // ids with a kept line
	note    []string        // what resuming repaired, for the user
	// lines are this run's lines, kept when the output cannot be read
	// back (not a regular file), for eval's report.
	lines map[string]*resultLine
}

// openOutput opens path to append results, resuming what is there.
// Every error it returns but an interruption is a usage error: no model
// has been called yet.
//
// Only a regular file is resumed. Anything else (a pipe, a FIFO,
// /dev/stdout, /dev/null, a terminal) is written without resume and never
// read: reading it could wait forever for an end that never comes (a FIFO
// with no writer, the pipe behind /dev/stdout) or consume what another
// process is meant to read. A FIFO with no reader yet is waited for, until
// ctx ends.
//
// When resuming, lines that must be redone are removed first: a last line
// cut off by a kill (no newline at its end), runs that were interrupted
// and, with retryFailed, runs that failed. When anything is removed the
// kept lines are written to a temporary file that then replaces path, so
// a crash during the repair leaves the old file whole. A line that is not
// a result line (a JSON object with "id" and "result"), other than a last
// line cut off mid-write, is an error: the file may not be ours, and
// "repairing" it would destroy it.
func openOutput(ctx context.Context, path string, retryFailed bool, waiting func(string)) (*output, error) {
	o, err := openOutputFile(ctx, path, retryFailed, waiting)
	if err != nil && ctx.Err() == nil {
		var ue usageError
		if !errors.As(err, &ue) {
			err = usageError{fmt.Errorf("--out: %w", err)}
		}
	}
	return o, err
}

func openOutputFile(ctx context.Context, path string, retryFailed bool, waiting func(string)) (*output, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		return &output{f: f, regular: true, done: map[string]bool{}}, nil
	case err != nil:
		return nil, err
	case fi.IsDir():
		return nil, fmt.Errorf("%s is a directory; want a file", path)
	case !fi.Mode().IsRegular():
		f, err := openCtx(ctx, path, os.O_WRONLY|os.O_APPEND, waiting)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("interrupted while waiting for a reader of --out %s: %w", path, err)
			}
			return nil, err
		}
		return &output{f: f, done: map[string]bool{}, lines: map[string]*resultLine{}}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	o := &output{regular: true, done: map[string]bool{}}
	removed := false
	lines := bytes.SplitAfter(data, []byte("\n"))
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(last) > 0 {
		// A kill mid-write leaves a line without its newline. A whole
		// object there that is not a result line (a task, say) was not
		// written by us: "repairing" it would destroy it.
		var r resumeLine
		if json.Valid(last) && (json.Unmarshal(last, &r) != nil || r.ID == "" || r.Result == nil) {
			return nil, usageError{fmt.Errorf("%s:%d: the last line is whole JSON but not a result line of refine (want \"id\" and \"result\"): the file may not be a results file; move it away or give another --out", path, len(lines)+1)}
		}
		removed = true
		o.note = append(o.note, fmt.Sprintf("%s: the last line was cut off (%d bytes, no newline); its task will run again", path, len(last)))
	}
	var kept [][]byte
	interrupted, failedN := 0, 0
	// The last line for an id wins; keep the file's order otherwise.
	lastOf := map[string]int{}
	parsed := make([]resumeLine, len(lines))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			removed = true
			continue
		}
		if err := json.Unmarshal(line, &parsed[i]); err != nil || parsed[i].ID == "" || parsed[i].Result == nil {
			return nil, usageError{fmt.Errorf("%s:%d: not a result line of refine (want a JSON object with \"id\" and \"result\"); move the file away, fix the line or give another --out", path, i+1)}
		}
		lastOf[parsed[i].ID] = i
	}
	for i, line := range lines {
		r := parsed[i]
		switch {
		case r.ID == "":
		case lastOf[r.ID] != i:
			removed = true
		case r.Interrupted:
			interrupted++
			removed = true
		case r.Error != "" && retryFailed:
			failedN++
			removed = true
		default:
			kept = append(kept, line)
			o.done[r.ID] = true
		}
	}
	if interrupted > 0 {
		o.note = append(o.note, fmt.Sprintf("%s: %d interrupted runs will run again", path, interrupted))
	}
	if failedN > 0 {
		o.note = append(o.note, fmt.Sprintf("%s: %d failed runs will run again (--retry-failed)", path, failedN))
	}
	if removed {
		if err := replaceFile(path, kept); err != nil {
			return nil, err
		}
	}
	if o.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	return o, nil
}

// replaceFile atomically replaces path with lines.
func replaceFile(path string, lines [][]byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	for _, l := range lines {
		if _, err := tmp.Write(l); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil {
		os.Chmod(tmp.Name(), fi.Mode().Perm())
	}
	return os.Rename(tmp.Name(), path)
}

// encode returns l as one line of JSON, newline included.
func encode(l *resultLine) ([]byte, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("encoding the result of %q: %w", l.ID, err)
	}
	return append(b, '\n'), nil
}

// write appends one encoded line with a single write call: the operating
// system has it as soon as write returns, so a killed process loses at
// most the line being written, which resuming detects.
func (o *output) write(line []byte) error {
	_, err := o.f.Write(line)
	return err
}

// close syncs a regular file, so that a crash after the command said it
// was done loses nothing, and closes it. Devices and pipes have nothing to
// sync (fsync fails with EINVAL on /dev/null): they are closed only.
func (o *output) close() error {
	var serr error
	if o.regular {
		serr = o.f.Sync()
	}
	if err := o.f.Close(); err != nil {
		return err
	}
	return serr
}

// readResults reads every result line of path (the last for each id).
func readResults(path string) (map[string]*resultLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]*resultLine{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l resultLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		out[l.ID] = &l
	}
	return out, nil
}
