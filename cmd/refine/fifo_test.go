//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuck is how long a test waits before it calls a command stuck. It is
// no pause: every test below waits on the command's exit, and only a
// command that hangs (the defect) makes it wait this long.
const stuck = 30 * time.Second

// exitOf runs the command as the process does (signals included) and
// returns its exit code on a channel.
func exitOf(a *testApp, args ...string) <-chan int {
	a.out.Reset()
	a.errOut.Reset()
	done := make(chan int, 1)
	go func() { done <- a.app.main(context.Background(), args) }()
	return done
}

func waitExit(t *testing.T, a *testApp, done <-chan int, what string) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(stuck):
		t.Fatalf("%s: still running after %v; stdout:\n%s\nstderr:\n%s", what, stuck, a.out, a.errOut)
		return -1
	}
}

func mkfifo(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	return path
}

// An output that is not a regular file — here a FIFO whose other end
// stays open, so reading it never ends — is written without resume and
// never read (issue 20, item 4).
func TestFIFOOutputIsWrittenWithoutResume(t *testing.T) {
	out := mkfifo(t, "results.fifo")
	// Read-write: the command's open does not wait for a reader, and the
	// FIFO never reports an end to a reader, as with /dev/stdout into a
	// pipe that the command itself holds.
	peer, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	in := writeTasks(t, t.TempDir(), 2)
	m := &countingModel{}
	a := newTestApp(m)
	if code := waitExit(t, a, exitOf(a, batchArgs(in, out)...), "batch --out FIFO"); code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, a.errOut)
	}
	r := bufio.NewReader(peer)
	ids := map[string]bool{}
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var l resultLine
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Result == nil {
			t.Fatalf("line %q: %v; want a result", line, err)
		}
		ids[l.ID] = true
	}
	if !ids["t0"] || !ids["t1"] || m.count() != 2*callsPerTask {
		t.Errorf("ids %v after %d calls, want t0 and t1 after %d", ids, m.count(), 2*callsPerTask)
	}
}

// SIGINT and SIGTERM stop the command promptly while it waits on a file
// that has no end: an input FIFO whose writer never closes it, and an
// output FIFO that no one opens to read (issue 20, item 4). The signal
// is real, sent to this process once the command is known to wait.
func TestSignalStopsWaitOnFIFO(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("input "+sig.String(), func(t *testing.T) {
			in := mkfifo(t, "tasks.fifo")
			m := &countingModel{}
			a := newTestApp(m)
			done := exitOf(a, batchArgs(in, filepath.Join(t.TempDir(), "out.jsonl"))...)
			// This open returns once the command has opened the FIFO to
			// read it; the writer then stays open, so no end comes.
			w, err := os.OpenFile(in, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.WriteString(`{"id": "a", "query": "q"}` + "\n"); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, a, done, "after "+sig.String()); code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, a.errOut)
			}
			// The signal may land while the command still waits for the
			// FIFO's open to return or once it reads: either way it must
			// say it was interrupted on the input.
			if e := a.errOut.String(); !strings.Contains(e, "interrupted while") || !strings.Contains(e, "tasks") && !strings.Contains(e, "--in") || m.count() != 0 {
				t.Errorf("stderr %q after %d calls; want the interruption named and no call", a.errOut, m.count())
			}
		})
		t.Run("output "+sig.String(), func(t *testing.T) {
			out := mkfifo(t, "results.fifo")
			m := &countingModel{}
			a := newTestApp(m)
			waited := false
			a.waiting = func(what string) {
				waited = true
				if err := syscall.Kill(os.Getpid(), sig); err != nil {
					t.Error(err)
				}
			}
			done := exitOf(a, batchArgs(writeTasks(t, t.TempDir(), 1), out)...)
			if code := waitExit(t, a, done, "after "+sig.String()); code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, a.errOut)
			}
			if !waited || !strings.Contains(a.errOut.String(), "interrupted while waiting for a reader") || m.count() != 0 {
				t.Errorf("waited %v, stderr %q, %d calls; want a wait for the reader, its interruption named, no call", waited, a.errOut, m.count())
			}
		})
	}
}
