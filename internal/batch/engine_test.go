package batch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfrefine/refine"
)

// memBackend answers every batch at the first poll, echoing the bodies.
type memBackend struct {
	mu      sync.Mutex
	batches [][]Item
	submit  func(items []Item) // called in Submit, before it returns
	status  func(remote string) (Status, error)
}

func (m *memBackend) Name() string { return "mem" }

func (m *memBackend) Submit(_ context.Context, _ Tag, items []Item) (string, error) {
	if m.submit != nil {
		m.submit(items)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, items)
	return string(rune('a' + len(m.batches) - 1)), nil
}

func (m *memBackend) Status(_ context.Context, remote string) (Status, error) {
	if m.status != nil {
		return m.status(remote)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	lines := map[string]Line{}
	for _, it := range m.batches[remote[0]-'a'] {
		lines[it.ID] = Line{Body: append([]byte("echo "), it.Body...)}
	}
	return Status{Done: true, Lines: lines}, nil
}

func (m *memBackend) Find(context.Context, string, time.Time) (map[string]string, error) {
	return nil, nil
}

func (m *memBackend) sizes() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int
	for _, b := range m.batches {
		out = append(out, len(b))
	}
	return out
}

func newEngine(t *testing.T, b Backend, o Options) *Engine {
	t.Helper()
	if o.Poll == 0 {
		o.Poll = time.Millisecond
	}
	e, err := New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// A lone request goes out when Idle or MaxWait passes, whichever is first.
func TestFlushTriggers(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		min  time.Duration
	}{
		{"idle", Options{MaxRequests: 100, Idle: 30 * time.Millisecond, MaxWait: time.Hour}, 30 * time.Millisecond},
		{"max wait", Options{MaxRequests: 100, Idle: time.Hour, MaxWait: 30 * time.Millisecond}, 30 * time.Millisecond},
		{"max requests", Options{MaxRequests: 1, Idle: time.Hour, MaxWait: time.Hour}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memBackend{}
			e := newEngine(t, m, tt.o)
			start := time.Now()
			ans, err := e.Do(context.Background(), []byte("x"))
			if err != nil || string(ans.Body) != "echo x" {
				t.Fatalf("got %q, %v; want echo x", ans.Body, err)
			}
			if d := time.Since(start); d < tt.min {
				t.Errorf("answered after %s, want the flush no sooner than %s", d, tt.min)
			}
		})
	}
}

// A panic in the engine's goroutines comes back to the callers as an error.
func TestPanicBecomesError(t *testing.T) {
	tests := []struct {
		name string
		m    *memBackend
	}{
		{"submit", &memBackend{submit: func([]Item) { panic("boom in submit") }}},
		{"status", &memBackend{status: func(string) (Status, error) { panic("boom in status") }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, tt.m, Options{MaxRequests: 1})
			_, err := e.Do(context.Background(), []byte("x"))
			if !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), "panic: boom") {
				t.Errorf("err = %v, want ErrUnavailable naming the panic", err)
			}
		})
	}
}

// A transient line is resubmitted once; a request cancelled while queued
// never goes out.
func TestRetryOnceAndWithdraw(t *testing.T) {
	m := &memBackend{}
	m.status = func(string) (Status, error) {
		return Status{Done: true, Lines: map[string]Line{}, Err: &refine.ProviderError{Kind: refine.ErrUnavailable, Message: "expired"}}, nil
	}
	e := newEngine(t, m, Options{MaxRequests: 1})
	_, err := e.Do(context.Background(), []byte("x"))
	if !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), "two batches") {
		t.Errorf("err = %v, want ErrUnavailable after two batches", err)
	}
	if got := m.sizes(); len(got) != 2 {
		t.Errorf("batches = %v, want 2 (one resubmission)", got)
	}

	w := &memBackend{}
	e2 := newEngine(t, w, Options{MaxRequests: 10, Idle: time.Hour, MaxWait: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e2.Do(ctx, []byte("y")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if err := e2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.sizes(); len(got) != 0 {
		t.Errorf("batches = %v, want none: the withdrawn request was sent", got)
	}
}

// MinRequests: a smaller flush is handed back to go on demand.
func TestBelowMinRequestsIsDirect(t *testing.T) {
	m := &memBackend{}
	e := newEngine(t, m, Options{MaxRequests: 10, MinRequests: 2, Idle: time.Millisecond})
	ans, err := e.Do(context.Background(), []byte("x"))
	if err != nil || !ans.Direct {
		t.Errorf("got %+v, %v; want Direct", ans, err)
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{MaxRequests: MaxRequestsCap + 1}, "MaxRequests 50001"},
		{Options{Idle: -1}, "Idle -1ns"},
		{Options{MinRequests: 2000}, "MinRequests 2000: more than MaxRequests 1000"},
	}
	for _, tt := range tests {
		if err := tt.o.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.o, err, tt.want)
		}
	}
	if err := (Options{}).Check(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
}

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
	keys    map[string]string // Tag.Batch → remote
	finds   int
	findErr error // the first Find's
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
		return nil, l.findErr
	}
	found := map[string]string{}
	for k, v := range l.keys {
		found[k] = v
	}
	return found, nil
}

// A Find that fails for good leaves it unknown whether the batch was made:
// its caller gets an error saying so, and nothing is sent again.
func TestLostSubmitReplyIsFoundNotResent(t *testing.T) {
	tests := []struct {
		name    string
		findErr error
		wantErr string // "": the answer
	}{
		{"find fails once", &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: "mem", Message: "503 on list"}, ""},
		{"find fails for good", &refine.ProviderError{Kind: refine.ErrAuth, Provider: "mem", Message: "401 on list", Permanent: true}, "looking it up failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &lostReplyBackend{keys: map[string]string{}, findErr: tt.findErr}
			e := newEngine(t, l, Options{MaxRequests: 1})
			ans, err := e.Do(context.Background(), []byte("x"))
			switch {
			case tt.wantErr == "" && (err != nil || string(ans.Body) != "echo x"):
				t.Errorf("got %q, %v; want echo x", ans.Body, err)
			case tt.wantErr != "" && (!errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want ErrUnavailable saying %q", err, tt.wantErr)
			}
			if got := l.sizes(); len(got) != 1 {
				t.Errorf("batches = %v, want 1: the batch whose Submit reply was lost was made again", got)
			}
		})
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

// Close sends the request that waits for a flush no trigger would fire
// for, and waits until that batch is submitted. The batch still runs at
// Close, so its caller learns it is left to the journal.
func TestCloseFlushes(t *testing.T) {
	tests := []struct {
		name    string
		journal bool
		want    string
	}{
		{"no journal", false, "its answers are lost"},
		{"journal", true, "re-attaches to it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{MaxRequests: 10, Idle: time.Hour, MaxWait: time.Hour}
			if tt.journal {
				o.Journal = filepath.Join(t.TempDir(), "j.json")
			}
			m := &memBackend{}
			e := newEngine(t, m, o)
			queued := make(chan struct{}, 1)
			e.hook.asked = func(n int) {
				if n == 1 {
					queued <- struct{}{}
				}
			}
			errc := make(chan error, 1)
			go func() { _, err := e.Do(context.Background(), []byte("x")); errc <- err }()
			<-queued
			if err := e.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := m.sizes(); len(got) != 1 || got[0] != 1 {
				t.Fatalf("batches = %v, want one of 1 request", got) // its caller would wait forever
			}
			err := <-errc
			if !errors.Is(err, refine.ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Do: err = %v, want ErrUnavailable saying %q", err, tt.want)
			}
		})
	}
}
