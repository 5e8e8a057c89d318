package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// outPath is an output the command will write: the flag that names it,
// the path, and how the path was chosen when the user did not give it.
type outPath struct {
	flag, path string
	derived    string // "" when given; else how the default was made
}

func (o outPath) String() string {
	if o.derived != "" {
		return fmt.Sprintf("%s %s (%s)", o.flag, o.path, o.derived)
	}
	return o.flag + " " + o.path
}

// checkPaths refuses, before anything is read or called, an output that
// is the input file, or two outputs that are one file. Files are compared
// with os.SameFile, so a hard link, a symbolic link or another spelling of
// the input's path is caught as well as its own name: writing the results
// over the tasks would destroy them, and resuming would take every task
// line for a finished result. Only a regular input is guarded: a terminal
// or a pipe read as --in loses nothing when written to.
func checkPaths(in string, stdin io.Reader, outs ...outPath) error {
	var inInfo os.FileInfo
	if in == "-" {
		if f, ok := stdin.(*os.File); ok {
			inInfo, _ = f.Stat()
		}
	} else {
		inInfo, _ = os.Stat(in) // a missing input is reported when it is read
	}
	if inInfo != nil && !inInfo.Mode().IsRegular() {
		inInfo = nil
	}
	infos := make([]os.FileInfo, len(outs))
	for i, o := range outs {
		fi, err := os.Stat(o.path)
		if err != nil {
			continue // created later; errors are reported then
		}
		infos[i] = fi
		if inInfo != nil && os.SameFile(inInfo, fi) {
			inName := "--in " + in
			if in == "-" {
				inName = "--in - (stdin)"
			}
			return fmt.Errorf("%s is the input file %s: writing there would destroy the tasks; choose another %s", o, inName, o.flag)
		}
	}
	for i := range outs {
		for j := i + 1; j < len(outs); j++ {
			same := infos[i] != nil && infos[j] != nil && os.SameFile(infos[i], infos[j])
			if !same && (infos[i] == nil || infos[j] == nil) {
				same = absPath(outs[i].path) == absPath(outs[j].path)
			}
			if same {
				return fmt.Errorf("%s and %s are the same file; give them different paths", outs[i], outs[j])
			}
		}
	}
	return nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// openCtx opens path as os.OpenFile does, but gives up when ctx ends.
// Opening a FIFO waits for its other end, which may never come; a signal
// must still stop the command. On cancellation the pending open is ended
// by opening the FIFO read-write for a moment (which never blocks on
// Linux and completes an open of either side), so the goroutine doing it
// ends too. waiting, when set, is called once the open may block.
func openCtx(ctx context.Context, path string, flag int, waiting func(string)) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return os.OpenFile(path, flag, 0o644)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(path, flag, 0)
		done <- opened{f, err}
	}()
	if waiting != nil {
		waiting("open " + path)
	}
	select {
	case r := <-done:
		return r.f, r.err
	case <-ctx.Done():
	}
	if peer, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		if r := <-done; r.f != nil {
			r.f.Close()
		}
		peer.Close()
	}
	return nil, ctx.Err()
}

// readCtx runs read on r and gives up when ctx ends: a pipe or a FIFO
// whose writer never closes has no end, and a signal must still stop the
// command. A file that supports deadlines (a pipe or FIFO this process
// opened) is interrupted, so read's goroutine ends; otherwise (a standard
// input that is not pollable) it ends when r does, or with the process.
func readCtx[T any](ctx context.Context, r io.Reader, read func(io.Reader) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read(r)
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		return res.v, res.err
	case <-ctx.Done():
	}
	if f, ok := r.(*os.File); ok && f.SetReadDeadline(aLongTimeAgo) == nil {
		<-done
	}
	var zero T
	return zero, ctx.Err()
}

// aLongTimeAgo is a deadline in the past, which ends a blocked read now.
var aLongTimeAgo = time.Unix(1, 0)
