package batch

import (
	"context"
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
