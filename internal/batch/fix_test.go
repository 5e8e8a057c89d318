package batch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

// quotaBackend fails every line of its first batch permanently, as OpenAI
// does with insufficient_quota, and echoes the bodies of later ones.
type quotaBackend struct{ memBackend }

func (q *quotaBackend) Status(_ context.Context, remote string) (Status, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	lines := map[string]Line{}
	for _, it := range q.batches[remote[0]-'a'] {
		if remote == "a" {
			lines[it.ID] = Line{Err: &refine.ProviderError{Kind: refine.ErrRateLimited, Provider: "mem", Message: "insufficient_quota", Permanent: true}}
		} else {
			lines[it.ID] = Line{Body: append([]byte("echo "), it.Body...)}
		}
	}
	return Status{Done: true, Lines: lines}, nil
}

// A line that failed is not an answer a later process may replay: the
// same request, asked again after a restart, goes out in a new batch.
func TestJournalDoesNotReplayErrors(t *testing.T) {
	jpath := filepath.Join(t.TempDir(), "j.json")
	q := &quotaBackend{}
	o := Options{MaxRequests: 1, Journal: jpath, Poll: time.Millisecond}
	e1, err := New(q, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e1.Do(context.Background(), []byte("x")); err == nil || !strings.Contains(err.Error(), "insufficient_quota") {
		t.Fatalf("first run: err = %v, want insufficient_quota", err)
	}
	if err := e1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a second restart must not replay it either
		e := newEngine(t, q, o)
		ans, err := e.Do(context.Background(), []byte("x"))
		if err != nil || string(ans.Body) != "echo x" {
			t.Fatalf("restart %d: got %q, %v; want echo x", i+1, ans.Body, err)
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// lostReplyBackend makes the first batch but loses the reply to its
// Submit, and fails the first Find: the engine must look again rather
// than pay for the batch twice.
type lostReplyBackend struct {
	memBackend
	keys  map[string]string // Tag.Batch → remote
	finds int
}

func (l *lostReplyBackend) Submit(ctx context.Context, tag Tag, items []Item) (string, error) {
	remote, _ := l.memBackend.Submit(ctx, tag, items)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[tag.Batch] = remote
	if len(l.keys) == 1 {
		return "", &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: "mem", Message: "connection reset"}
	}
	return remote, nil
}

func (l *lostReplyBackend) Find(context.Context, string, time.Time) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.finds++
	if l.finds == 1 {
		return nil, &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: "mem", Message: "503 on list"}
	}
	found := map[string]string{}
	for k, v := range l.keys {
		found[k] = v
	}
	return found, nil
}

func TestLostSubmitReplyIsFoundNotResent(t *testing.T) {
	l := &lostReplyBackend{keys: map[string]string{}}
	e := newEngine(t, l, Options{MaxRequests: 1})
	ans, err := e.Do(context.Background(), []byte("x"))
	if err != nil || string(ans.Body) != "echo x" {
		t.Fatalf("got %q, %v; want echo x", ans.Body, err)
	}
	if got := l.sizes(); len(got) != 1 {
		t.Errorf("batches = %v, want 1: the batch whose Submit reply was lost was made again", got)
	}
}

// A request recovered from the journal and sent again keeps its body when
// its caller leaves while the new batch is being made: the batch sends the
// request, not an empty body (before, the caller's exit cleared the body
// that the batch's goroutine read without the lock: a data race).
func TestResentRecoveredKeepsBody(t *testing.T) {
	jpath := filepath.Join(t.TempDir(), "j.json")
	q := &quotaBackend{}
	o := Options{MaxRequests: 1, Journal: jpath, Poll: time.Millisecond}
	e1, err := New(q, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e1.Do(context.Background(), []byte("x")); err == nil {
		t.Fatal("first run: no error, want insufficient_quota")
	}
	if err := e1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The restarted engine re-attaches to batch a; its Status waits until
	// the caller has claimed the request, so the failed line sends it again.
	release, asked, running, cont := make(chan struct{}), make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{})
	sent := make(chan []Item, 2)
	b := &blockingBackend{quotaBackend: q, release: release}
	b.submit = func(items []Item) { sent <- items }
	e := newEngine(t, b, o)
	// Safe without the lock: nothing reads the hooks before release.
	e.hook.asked = func(int) { asked <- struct{}{} }
	e.hook.run = func() { running <- struct{}{}; <-cont }

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := e.Do(ctx, []byte("x")); errc <- err }()
	<-asked
	close(release)
	<-running // the request is in a new batch, not yet submitted
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(cont)
	items := <-sent
	if len(items) != 1 || string(items[0].Body) != "x" {
		t.Errorf("submitted %+v, want the one body \"x\"", items)
	}
}

// blockingBackend holds the Status of batch a until release is closed.
type blockingBackend struct {
	*quotaBackend
	release chan struct{}
}

func (b *blockingBackend) Status(ctx context.Context, remote string) (Status, error) {
	if remote == "a" {
		select {
		case <-b.release:
		case <-ctx.Done():
			return Status{}, ctx.Err()
		}
	}
	return b.quotaBackend.Status(ctx, remote)
}
