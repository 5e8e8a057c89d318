package openai_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch/openaifake"
	"github.com/selfrefine/refine/provider/openai"
)

// The same work, twice the same body among it: the journal matches
// requests by body hash as a multiset.
var journalWork = []string{"dup", "dup", "other"}

func gate(srv *openaifake.Server) chan struct{} {
	release := make(chan struct{})
	srv.Ready = func(*openaifake.Batch) bool {
		select {
		case <-release:
			return true
		default:
			return false
		}
	}
	return release
}

// A Provider closed while its batch runs leaves the batch in the journal;
// a new Provider with the same journal and the same work re-attaches to
// it: nothing is submitted twice.
func TestBatchJournalReattaches(t *testing.T) {
	srv := newServer(t)
	release := gate(srv)
	created := make(chan struct{}, 1)
	srv.OnCreate = func(*openaifake.Batch) { created <- struct{}{} }
	journal := filepath.Join(t.TempDir(), "batches.json")
	o := openai.BatchOptions{MaxRequests: len(journalWork), Journal: journal}

	first := newBatch(t, srv, o)
	done := make(chan []error)
	go func() { _, errs := completeAll(context.Background(), first, journalWork); done <- errs }()
	<-created
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, err := range <-done {
		if !errors.Is(err, refine.ErrUnavailable) {
			t.Errorf("call %d of the closed Provider: err = %v, want ErrUnavailable", i, err)
		}
	}

	second := newBatch(t, srv, o)
	close(release)
	resps, errs := completeAll(context.Background(), second, journalWork)
	for i := range journalWork {
		if errs[i] != nil || resps[i].Text != "answer: "+journalWork[i] || !resps[i].Batch {
			t.Errorf("call %d after restart: %v, %v; want %q from the first batch", i, resps[i], errs[i], "answer: "+journalWork[i])
		}
	}
	if up, _, chats := srv.Counts(); up != 1 || chats != 0 {
		t.Errorf("uploads %d, on-demand %d; want 1 and 0: a request was submitted twice", up, chats)
	}
	if err := second.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A finished batch stays in the journal after Close: work restarted
	// from its beginning (tasks cut short after their answers came) gets
	// the answers it paid for again, with nothing submitted.
	third := newBatch(t, srv, o)
	resps, errs = completeAll(context.Background(), third, journalWork)
	for i := range journalWork {
		if errs[i] != nil || resps[i].Text != "answer: "+journalWork[i] {
			t.Errorf("call %d after a second restart: %v, %v; want %q from the first batch", i, resps[i], errs[i], "answer: "+journalWork[i])
		}
	}
	if up, _, chats := srv.Counts(); up != 1 || chats != 0 {
		t.Errorf("uploads %d, on-demand %d after a second restart; want 1 and 0: a request was submitted twice", up, chats)
	}
	if err := third.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// childEnv names the fake server's URL and the journal for the child
// process of TestBatchRestartAfterKill.
const childEnv = "REFINE_BATCH_CHILD"

// TestBatchChild is the child process: it sends the work and is killed
// while the server receives the batch, before it can record the batch's id.
func TestBatchChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("runs as the child of TestBatchRestartAfterKill")
	}
	url, journal, _ := strings.Cut(env, "|")
	p := openai.New("gpt-4o-mini", openai.WithBaseURL(url), openai.WithAPIKey(batchKey),
		openai.WithBatch(openai.BatchOptions{MaxRequests: len(journalWork), Poll: time.Millisecond, Journal: journal}))
	completeAll(context.Background(), p, journalWork)
	t.Error("the child was not killed")
}

// A process killed between submitting a batch and recording its id: the
// restarted one finds the batch by the journal id in its metadata
// (ListBatch) and re-attaches. Zero duplicate submissions.
func TestBatchRestartAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	srv := newServer(t)
	journal := filepath.Join(t.TempDir(), "batches.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBatchChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+srv.BaseURL()+"|"+journal)
	exited := make(chan struct{})
	started := make(chan *os.Process, 1) // hands the process to the server's goroutine
	var killed atomic.Bool
	srv.Configure(func(srv *openaifake.Server) {
		srv.OnCreate = func(*openaifake.Batch) {
			// The batch is created on the server; the child dies before
			// it reads the reply, so its journal has the batch without an id.
			if !killed.CompareAndSwap(false, true) {
				return // a second batch: the checks below report it
			}
			(<-started).Kill()
			<-exited
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started <- cmd.Process
	go func() { cmd.Wait(); close(exited) }()
	<-exited
	if !killed.Load() {
		t.Fatal("the child ended before it submitted its batch")
	}
	p := newBatch(t, srv, openai.BatchOptions{MaxRequests: len(journalWork), Journal: journal})
	resps, errs := completeAll(context.Background(), p, journalWork)
	for i := range journalWork {
		if errs[i] != nil || resps[i].Text != "answer: "+journalWork[i] {
			t.Errorf("call %d after restart: %v, %v", i, resps[i], errs[i])
		}
	}
	if bs := srv.Batches(); len(bs) != 1 {
		t.Errorf("batches created = %d, want 1 (zero duplicate submissions)", len(bs))
	}
	if up, _, _ := srv.Counts(); up != 1 {
		t.Errorf("files uploaded = %d, want 1", up)
	}
}
