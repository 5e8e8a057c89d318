package batch

import (
	"context"
	"errors"
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
