// Package batch is the provider-neutral engine behind the adapters' batch
// modes (provider/openai's WithBatch; provider/bedrock's batch inference
// can reuse it). It coalesces the requests of every concurrent caller into
// batch jobs, decides when to send them (MaxRequests, MaxWait, Idle),
// polls the jobs, hands each caller its own line, resubmits a line that
// failed transiently once, and records every batch in a journal before it
// is submitted so that a restarted process re-attaches to it instead of
// paying twice.
//
// An adapter supplies a Backend: how to submit a batch of request bodies,
// how to read its state and lines, and how to find a batch by the journal
// id it carries. It classifies the errors itself; the engine only asks
// whether they are transient (refine.ErrUnavailable, ErrRateLimited, not
// Permanent).
package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/selfrefine/refine"
)

// Defaults of Options, as API.md documents them for WithBatch.
const (
	DefaultMaxRequests = 1000
	MaxRequestsCap     = 50000 // OpenAI's limit of requests in one batch file
	DefaultMaxWait     = time.Minute
	DefaultIdle        = 2 * time.Second
	DefaultPoll        = 30 * time.Second
)

// Options say when a batch is sent and how it is followed; zero values
// take the defaults. See openai.BatchOptions for their meaning.
type Options struct {
	MaxRequests int
	MaxWait     time.Duration
	Idle        time.Duration
	Poll        time.Duration
	MinRequests int
	Journal     string
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Idle == 0 {
		o.Idle = DefaultIdle
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	return o
}

// Check reports the first field out of range, naming it and its value.
func (o Options) Check() error {
	switch {
	case o.MaxRequests < 0 || o.MaxRequests > MaxRequestsCap:
		return fmt.Errorf("MaxRequests %d: want 0 (default %d) to %d", o.MaxRequests, DefaultMaxRequests, MaxRequestsCap)
	case o.MaxWait < 0:
		return fmt.Errorf("MaxWait %s: must be >= 0 (0: default %s)", o.MaxWait, DefaultMaxWait)
	case o.Idle < 0:
		return fmt.Errorf("Idle %s: must be >= 0 (0: default %s)", o.Idle, DefaultIdle)
	case o.Poll < 0:
		return fmt.Errorf("Poll %s: must be >= 0 (0: default %s)", o.Poll, DefaultPoll)
	case o.MinRequests < 0:
		return fmt.Errorf("MinRequests %d: must be >= 0", o.MinRequests)
	case o.MinRequests > o.WithDefaults().MaxRequests:
		return fmt.Errorf("MinRequests %d: more than MaxRequests %d, so no batch would ever be sent", o.MinRequests, o.WithDefaults().MaxRequests)
	}
	return nil
}

// Item is one request of a batch: ID is unique within the batch (OpenAI's
// custom_id, Bedrock's recordId), Body is the request as the adapter sends
// it on demand.
type Item struct {
	ID   string
	Body []byte
}

// Tag travels with a batch so that it can be found again: Journal is the
// journal's id, Batch the batch's key in it.
type Tag struct{ Journal, Batch string }

// Line is the outcome of one request of a finished batch.
type Line struct {
	Body  []byte // the reply body, when Err is nil
	Err   error  // the request's own error, classified by the Backend
	Retry bool   // the request failed transiently or was not run: resubmit it once
}

// Status is a batch's state. Lines are given once Done; a request with no
// line in a done batch was not run (the batch failed, expired or was
// cancelled: Err says which) and is resubmitted once.
type Status struct {
	Done  bool
	Lines map[string]Line
	Err   error
}

// Backend is what an adapter provides. Its calls must honour ctx and
// bound each HTTP request by the adapter's per-call timeout.
type Backend interface {
	// Name is the provider's name for errors ("openai").
	Name() string
	// Submit uploads items and starts a batch job carrying tag; it
	// returns the server's id of the batch.
	Submit(ctx context.Context, tag Tag, items []Item) (remote string, err error)
	// Status reads the state of a batch, and its lines once it is done.
	Status(ctx context.Context, remote string) (Status, error)
	// Find returns the batches carrying journal id journal, created at or
	// after since, as their Tag.Batch key → remote id.
	Find(ctx context.Context, journal string, since time.Time) (map[string]string, error)
}

// Answer is what Do gives a caller: the body of its line, or Direct when
// its flush held fewer than MinRequests requests and the caller must send
// the request as an ordinary call.
type Answer struct {
	Body   []byte
	Direct bool
}

// The states of a waiter.
const (
	queued    = iota // waiting for a flush
	sent             // in a batch
	finished         // answered; done is closed
	withdrawn        // its caller left before it was sent
)

// waiter is one request on its way through a batch.
type waiter struct {
	body  []byte // kept for a resubmission until answered (recovered waiters have it once claimed)
	hash  string
	at    time.Time
	done  chan struct{}
	ans   Answer
	err   error
	tries int   // batches that failed it transiently
	state uint8 // guarded by Engine.mu
	gone  bool  // its caller left after it was sent
	// A recovered waiter stands for a request of a journal batch from an
	// earlier process, until a caller with the same body claims it.
	recovered, claimed bool
}

// Engine coalesces requests into batches. It is safe for concurrent use.
// Close ends its goroutines.
type Engine struct {
	b    Backend
	o    Options
	j    *journal // nil: no journal
	jid  string
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // every goroutine
	subs sync.WaitGroup // batches not yet submitted
	kick chan struct{}
	seq  atomic.Uint64

	mu        sync.Mutex
	queue     []*waiter
	n         int // queued waiters in queue (others are withdrawn)
	last      time.Time
	started   bool // the flusher runs
	closed    bool
	drained   chan struct{} // closed by the flusher once closed and empty, or when it ends
	drainOnce sync.Once
	broken    error // the flusher panicked
	recovered map[string][]*waiter
	jerr      error // first journal write failure
	hook      hooks // tests only
}

// hooks let tests wait on the engine's inner events instead of sleeping;
// nil ones are skipped.
type hooks struct {
	asked func(n int) // in Do, once the request is queued or claimed, with the queued count; mu held
	run   func()      // at the start of a batch's goroutine
}

// New returns an Engine sending batches through b. With a journal, the
// batches it records are re-attached at once (goroutines that Close ends).
func New(b Backend, o Options) (*Engine, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	ctx, stop := context.WithCancel(context.Background())
	e := &Engine{b: b, o: o, ctx: ctx, stop: stop, kick: make(chan struct{}, 1),
		drained: make(chan struct{}), recovered: map[string][]*waiter{}}
	if o.Journal == "" {
		e.jid = "rj-" + randomHex(8)
		return e, nil
	}
	j, err := openJournal(o.Journal)
	if err != nil {
		stop()
		return nil, err
	}
	e.j, e.jid = j, j.data.ID
	for _, rec := range j.data.Batches {
		ws := make([]*waiter, len(rec.Items))
		ids := make([]string, len(rec.Items))
		for i, it := range rec.Items {
			w := &waiter{hash: it.Hash, done: make(chan struct{}), state: sent, recovered: true}
			ws[i], ids[i] = w, it.ID
			e.recovered[it.Hash] = append(e.recovered[it.Hash], w)
		}
		e.wg.Add(1)
		go e.reattach(rec, ws, ids)
	}
	return e, nil
}

// JournalID is the id that travels with every batch of this Engine.
func (e *Engine) JournalID() string { return e.jid }

// Hash is the key by which a restarted caller finds its request again.
func Hash(body []byte) string {
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])
}

// Do adds body to the next batch and waits for its line. When ctx ends
// first, a request not yet sent is withdrawn; one already sent is left to
// its batch. A request whose body matches one of a re-attached journal
// batch waits for that batch's line instead of being sent again.
func (e *Engine) Do(ctx context.Context, body []byte) (Answer, error) {
	h := Hash(body)
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return Answer{}, e.unavailable("the batch Provider is closed", nil, true)
	case e.broken != nil:
		e.mu.Unlock()
		return Answer{}, e.broken
	}
	var w *waiter
	if ws := e.recovered[h]; len(ws) > 0 {
		// An answer already read beats a batch still followed, which
		// may yet fail and go out again.
		w = ws[0]
		for _, x := range ws {
			if x.state == finished {
				w = x
				break
			}
		}
		e.take1(h, w)
		w.claimed = true
		if w.state != finished {
			w.body = body // for a resubmission
		}
	} else {
		w = &waiter{body: body, hash: h, done: make(chan struct{})}
		e.enqueue(w)
	}
	if e.hook.asked != nil {
		e.hook.asked(e.n)
	}
	e.mu.Unlock()
	select {
	case <-w.done:
		return w.ans, w.err
	case <-ctx.Done():
	}
	e.mu.Lock()
	switch {
	case w.state == queued:
		w.state = withdrawn
		w.body = nil
		e.n--
	case w.recovered && w.state != finished:
		// Give it back: the same request may come again.
		w.claimed, w.body = false, nil
		e.recovered[h] = append(e.recovered[h], w)
	default:
		w.gone = true
	}
	e.mu.Unlock()
	return Answer{}, ctx.Err()
}

// take1 removes w from the recovered waiters of hash h. Callers hold mu.
func (e *Engine) take1(h string, w *waiter) {
	ws := e.recovered[h]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(e.recovered, h)
	} else {
		e.recovered[h] = ws
	}
}

// enqueue adds w to the queue and wakes the flusher when the queue turns
// non-empty or full. Callers hold mu.
func (e *Engine) enqueue(w *waiter) {
	now := time.Now()
	w.state, w.at = queued, now
	e.queue = append(e.queue, w)
	e.n++
	e.last = now
	if !e.started {
		e.started = true
		e.wg.Add(1)
		go e.flusher()
	}
	if e.n == 1 || e.n >= e.o.MaxRequests {
		e.wake()
	}
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// flusher sends the queue as batches when a trigger fires.
func (e *Engine) flusher() {
	defer e.wg.Done()
	defer e.drainOnce.Do(func() { close(e.drained) })
	defer func() {
		if r := recover(); r != nil {
			err := e.unavailable(fmt.Sprintf("batch engine panic: %v", r), nil, true)
			e.mu.Lock()
			e.broken = err
			q := e.queue
			e.queue, e.n = nil, 0
			for _, w := range q {
				if w.state == queued {
					e.finish(w, Answer{}, err)
				}
			}
			e.mu.Unlock()
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e.mu.Lock()
		wait := time.Duration(-1)
		var ws []*waiter
		var items []Item
		if e.n > 0 {
			now := time.Now()
			due := e.queue[0].at.Add(e.o.MaxWait)
			if idle := e.last.Add(e.o.Idle); idle.Before(due) {
				due = idle
			}
			if e.closed || e.n >= e.o.MaxRequests || !now.Before(due) {
				ws, items = e.takeQueue()
			} else {
				wait = due.Sub(now)
			}
		}
		if ws == nil && e.closed {
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		if ws != nil {
			e.send(ws, items)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-e.kick:
		case <-timer.C:
		case <-e.ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// takeQueue removes up to MaxRequests queued waiters from the front of the
// queue, marks them sent and returns them with their items. The bodies are
// read here, under mu, because a caller may change its waiter's body as
// soon as mu is let go. Callers hold mu.
func (e *Engine) takeQueue() ([]*waiter, []Item) {
	var ws []*waiter
	var items []Item
	i := 0
	for ; i < len(e.queue) && len(ws) < e.o.MaxRequests; i++ {
		if w := e.queue[i]; w.state == queued {
			w.state = sent
			items = append(items, Item{ID: "r" + strconv.Itoa(len(ws)), Body: w.body})
			ws = append(ws, w)
		}
	}
	for i < len(e.queue) && e.queue[i].state != queued {
		i++
	}
	e.n -= len(ws)
	if i == len(e.queue) {
		e.queue = nil
	} else {
		e.queue = append([]*waiter(nil), e.queue[i:]...)
	}
	return ws, items
}

// send starts a batch for ws, or tells each to go direct when there are
// fewer than MinRequests.
func (e *Engine) send(ws []*waiter, items []Item) {
	if len(ws) < e.o.MinRequests {
		e.mu.Lock()
		for _, w := range ws {
			e.finish(w, Answer{Direct: true}, nil)
		}
		e.mu.Unlock()
		return
	}
	e.subs.Add(1)
	e.wg.Add(1)
	go e.run(ws, items)
}

// run records, submits and follows one batch.
func (e *Engine) run(ws []*waiter, items []Item) {
	defer e.wg.Done()
	submitted := false
	defer func() {
		if !submitted {
			e.subs.Done()
		}
		if r := recover(); r != nil {
			e.failAll(ws, e.unavailable(fmt.Sprintf("batch engine panic: %v", r), nil, true))
		}
	}()
	if e.hook.run != nil {
		e.hook.run()
	}
	key := randomHex(4) + "-" + strconv.FormatUint(e.seq.Add(1), 10)
	ids := make([]string, len(ws))
	rec := record{Key: key, Created: time.Now().UTC(), Items: make([]entry, len(ws))}
	for i, w := range ws {
		ids[i] = items[i].ID
		rec.Items[i] = entry{ID: ids[i], Hash: w.hash}
	}
	if err := e.record(rec); err != nil {
		e.failAll(ws, e.unavailable("cannot record the batch in the journal, so it was not sent", err, true))
		return
	}
	remote, err := e.b.Submit(e.ctx, Tag{Journal: e.jid, Batch: key}, items)
	for err != nil && e.ctx.Err() == nil {
		// The server may have made the batch and lost the reply: only a
		// Find that answers without it says it was not made, and so may
		// be sent again without paying twice.
		found, ferr := e.b.Find(e.ctx, e.jid, rec.Created)
		if ferr == nil {
			if found[key] != "" {
				remote, err = found[key], nil
			}
			break
		}
		if transient(ferr) && e.sleep() {
			continue
		}
		if e.ctx.Err() == nil {
			// Its record stays: a later process with the journal finds
			// out whether the server has it.
			e.failAll(ws, e.unavailable("the batch may have been submitted (its reply was lost: "+err.Error()+") and looking it up failed, so it was not sent again", ferr, true))
			return
		}
	}
	items = nil
	if err != nil {
		if e.ctx.Err() != nil {
			// Closed while submitting: whether the server has the batch
			// is unknown; the journal record lets a later process find out.
			e.abandon(ws)
			return
		}
		e.forget(key)
		if transient(err) {
			e.mu.Lock()
			e.redo(ws, make([]Line, len(ws)), err)
			e.mu.Unlock()
		} else {
			e.failAll(ws, err)
		}
		return
	}
	e.setRemote(key, remote)
	submitted = true
	e.subs.Done()
	e.await(remote, ws, ids)
}

// reattach follows a batch of the journal left by an earlier process.
func (e *Engine) reattach(rec record, ws []*waiter, ids []string) {
	defer e.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			e.failAll(ws, e.unavailable(fmt.Sprintf("batch engine panic: %v", r), nil, true))
		}
	}()
	remote := rec.Remote
	for remote == "" {
		found, err := e.b.Find(e.ctx, e.jid, rec.Created)
		if err == nil {
			remote = found[rec.Key]
			if remote == "" {
				// Recorded but never submitted: its requests go out again
				// when their callers ask.
				e.mu.Lock()
				for _, w := range ws {
					if w.claimed {
						e.enqueueAgain(w)
					} else if w.state != finished {
						e.take1(w.hash, w)
						w.state = withdrawn
					}
				}
				e.mu.Unlock()
				e.forget(rec.Key)
				return
			}
			e.setRemote(rec.Key, remote)
			break
		}
		if e.ctx.Err() != nil || !transient(err) {
			e.failAll(ws, err)
			return
		}
		if !e.sleep() {
			e.abandon(ws)
			return
		}
	}
	e.await(remote, ws, ids)
}

// sleep waits one Poll interval; false when the Engine is closing.
func (e *Engine) sleep() bool {
	t := time.NewTimer(e.o.Poll)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// await polls a submitted batch until it is done, then answers its waiters.
func (e *Engine) await(remote string, ws []*waiter, ids []string) {
	for {
		if !e.sleep() {
			e.abandon(ws)
			return
		}
		st, err := e.b.Status(e.ctx, remote)
		switch {
		case err != nil && e.ctx.Err() != nil:
			e.abandon(ws)
			return
		case err != nil && !transient(err):
			e.failAll(ws, err)
			return
		case err == nil && st.Done:
			lines := make([]Line, len(ws))
			for i, id := range ids {
				l, ok := st.Lines[id]
				if !ok {
					why := st.Err
					if why == nil {
						why = errors.New("the batch ended without a line for this request")
					}
					l = Line{Err: why, Retry: true}
				}
				lines[i] = l
			}
			st.Lines = nil
			e.mu.Lock()
			e.redo(ws, lines, nil)
			e.mu.Unlock()
			return
		}
	}
}

// redo answers ws with their lines; a line that failed transiently (or,
// with cause set, every one) is queued again once, then fails with
// ErrUnavailable. Callers hold mu.
func (e *Engine) redo(ws []*waiter, lines []Line, cause error) {
	for i, w := range ws {
		l := lines[i]
		if cause != nil {
			l = Line{Err: cause, Retry: true}
		}
		if w.state == finished || w.state == withdrawn {
			continue
		}
		switch {
		case w.gone && !w.recovered:
			e.finish(w, Answer{}, context.Canceled)
		case l.Err == nil:
			e.finish(w, Answer{Body: l.Body}, nil)
		case w.recovered && !w.claimed:
			// Only answers are replayed from the journal: an error may
			// not hold any more (a quota since raised), so nobody may
			// claim it. Its caller, if it comes, sends it anew.
			e.take1(w.hash, w)
			e.finish(w, Answer{}, l.Err)
		case w.recovered:
			// Its caller came back for it; the earlier process's error
			// cost nothing, so it goes out again.
			e.enqueueAgain(w)
		case l.Retry && w.tries == 0 && !e.closed && w.body != nil:
			w.tries++
			e.enqueueAgain(w)
		case l.Retry:
			e.finish(w, Answer{}, e.unavailable("no answer from two batches", l.Err, false))
		default:
			e.finish(w, Answer{}, l.Err)
		}
	}
}

// enqueueAgain puts a sent waiter back in the queue. Callers hold mu.
func (e *Engine) enqueueAgain(w *waiter) {
	if e.closed {
		e.finish(w, Answer{}, e.unavailable("the batch Provider was closed before the request could be sent again", nil, true))
		return
	}
	// No longer a journal batch's request: a caller that leaves
	// withdraws it or leaves it to its batch, and it is never handed
	// back to the recovered ones while a batch reads its body.
	w.gone, w.recovered = false, false
	e.enqueue(w)
}

// finish answers w. Callers hold mu.
func (e *Engine) finish(w *waiter, a Answer, err error) {
	if w.state == finished {
		return
	}
	w.ans, w.err, w.state = a, err, finished
	w.body = nil
	close(w.done)
}

func (e *Engine) failAll(ws []*waiter, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range ws {
		if w.recovered && !w.claimed && w.state != finished {
			e.take1(w.hash, w)
		}
		e.finish(w, Answer{}, err)
	}
}

// abandon fails the callers of a batch left running at Close.
func (e *Engine) abandon(ws []*waiter) {
	msg := "the batch Provider was closed before its batch finished; its answers are lost (a Journal would keep them)"
	if e.j != nil {
		msg = "the batch Provider was closed before its batch finished; a Provider with the same Journal re-attaches to it"
	}
	e.failAll(ws, e.unavailable(msg, nil, true))
}

// Close sends what waits, waits (as long as ctx lets it) until those
// batches are submitted, then stops every goroutine. Batches still running
// stay in the journal; their callers fail with ErrUnavailable.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	started := e.started
	e.mu.Unlock()
	var err error
	if started {
		e.wake()
		select {
		case <-e.drained:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		submitted := make(chan struct{})
		go func() { e.subs.Wait(); close(submitted) }()
		select {
		case <-submitted:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	e.stop()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil && e.jerr != nil {
		err = e.jerr
	}
	return err
}

// record adds a batch to the journal before it is submitted.
func (e *Engine) record(rec record) error {
	if e.j == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.j.data.Batches = append(e.j.data.Batches, rec)
	if err := e.j.save(); err != nil {
		e.j.data.Batches = e.j.data.Batches[:len(e.j.data.Batches)-1]
		return err
	}
	return nil
}

func (e *Engine) setRemote(key, remote string) {
	if e.j == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := e.j.find(key); i >= 0 {
		e.j.data.Batches[i].Remote = remote
		e.saveLocked()
	}
}

// forget removes a batch that was never submitted.
func (e *Engine) forget(key string) {
	if e.j == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := e.j.find(key); i >= 0 {
		e.j.data.Batches = append(e.j.data.Batches[:i], e.j.data.Batches[i+1:]...)
		e.saveLocked()
	}
}

func (e *Engine) saveLocked() {
	if err := e.j.save(); err != nil && e.jerr == nil {
		e.jerr = err
	}
}

// unavailable is the error of a request the engine cannot answer.
func (e *Engine) unavailable(msg string, cause error, permanent bool) error {
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &refine.ProviderError{Kind: refine.ErrUnavailable, Provider: e.b.Name(), Message: msg, Permanent: permanent}
}

// transient reports an error worth another try.
func transient(err error) bool {
	var pe *refine.ProviderError
	if errors.As(err, &pe) && pe.Permanent {
		return false
	}
	return errors.Is(err, refine.ErrUnavailable) || errors.Is(err, refine.ErrRateLimited)
}
