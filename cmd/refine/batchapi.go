package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/openai"
)

// batchAPIFlags are the --batch-* options of batch and eval: they send
// every model call through the provider's batch API, at its batch price.
type batchAPIFlags struct {
	on                    bool
	max                   int
	wait, idle, poll      time.Duration
	minRequests           int
	concurrencyWasDefault bool // set when --concurrency was not given
}

func (f *batchAPIFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "batch-api", false, "send every model call through the provider's batch API (OpenAI or an OpenAI-compatible server): about half the price, answers within 24h; resumable with --out")
	fl.IntVar(&f.max, "batch-max", 0, "--batch-api: send a batch once this many requests wait (default 1000; at most 50000)")
	fl.DurationVar(&f.wait, "batch-wait", 0, "--batch-api: send a batch once its oldest request has waited this long (default 1m)")
	fl.DurationVar(&f.idle, "batch-idle", 0, "--batch-api: send a batch once no request has come for this long (default 2s)")
	fl.DurationVar(&f.poll, "batch-poll", 0, "--batch-api: how often a running batch is checked (default 30s)")
	fl.IntVar(&f.minRequests, "batch-min", 0, "--batch-api: fewer requests than this waiting go out as ordinary calls, at the on-demand price (default 0: always batch)")
}

// batchConfig is how the command's providers batch: the options of
// --batch-*, and the results file their journals are kept next to.
type batchConfig struct {
	opts openai.BatchOptions // Journal unset: see journal
	out  string
}

// journal is the batch journal of the provider playing role ("" for the
// writer, else "judge", "compare" or "baseline"), next to the results
// file: <out>.batches.json, <out>.judge.batches.json... One file per
// provider, since each Provider rewrites its journal whole.
func (c *batchConfig) journal(role string) string {
	if role == "" {
		return c.out + ".batches.json"
	}
	return c.out + "." + role + ".batches.json"
}

// check refuses what --batch-api cannot resume: an --out that is not a
// regular file (the journal and the results resume together), and bad
// --batch-* values (the adapter would report them on every call instead).
// No model has been called.
func (f *batchAPIFlags) check(cmd *cobra.Command, out string) (*batchConfig, error) {
	changed := cmd.Flags().Changed
	if !f.on {
		for _, name := range []string{"batch-max", "batch-wait", "batch-idle", "batch-poll", "batch-min"} {
			if changed(name) {
				return nil, fmt.Errorf("--%s applies only with --batch-api", name)
			}
		}
		return nil, nil
	}
	switch {
	case f.max < 0 || f.max > 50000:
		return nil, fmt.Errorf("--batch-max %d: want 1 to 50000 (0: the default, 1000)", f.max)
	case f.wait < 0:
		return nil, fmt.Errorf("--batch-wait %s: must be >= 0 (0: the default, 1m)", f.wait)
	case f.idle < 0:
		return nil, fmt.Errorf("--batch-idle %s: must be >= 0 (0: the default, 2s)", f.idle)
	case f.poll < 0:
		return nil, fmt.Errorf("--batch-poll %s: must be >= 0 (0: the default, 30s)", f.poll)
	case f.minRequests < 0 || f.minRequests > firstPositive(f.max, 1000):
		return nil, fmt.Errorf("--batch-min %d: want 0 to --batch-max (%d)", f.minRequests, firstPositive(f.max, 1000))
	}
	f.concurrencyWasDefault = !changed("concurrency")
	c := &batchConfig{out: out, opts: openai.BatchOptions{MaxRequests: f.max, MaxWait: f.wait, Idle: f.idle, Poll: f.poll, MinRequests: f.minRequests}}
	for _, p := range []string{out, c.journal(""), c.journal("judge"), c.journal("compare"), c.journal("baseline")} {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("--batch-api: %w", err)
		case !fi.Mode().IsRegular():
			return nil, fmt.Errorf("--batch-api needs --out to be a regular file, and its batch journals too: %s is not (a pipe, device or directory); the results file and the journal %s resume the batches together", p, c.journal(""))
		}
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--batch-api: the directory of --out %s must exist, for its batch journal", out)
	}
	return c, nil
}

func firstPositive(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// closer is a batch Provider: Close flushes it and ends its goroutines.
type closer interface {
	Close(ctx context.Context) error
}

// closeTimeout bounds how long closing the batch providers may take on
// exit: sending what still waits (nothing after an interruption, since its
// callers withdrew it) and writing the journals.
const closeTimeout = time.Minute

// closeBatch closes the command's batch providers, on every exit, the
// interrupted one included. The journals keep every batch, finished ones
// too: an interrupted task runs again from its start on resume and asks
// for answers it already had, which must come from the batch already paid
// for. After a run that finished every task, the journals have nothing
// left to re-attach and are removed.
func (a *app) closeBatch(ctx context.Context, complete bool) error {
	if len(a.batchClose) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range a.batchClose {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(ctx); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	a.batchClose = nil
	journals := a.journals
	a.journals = nil
	if complete && first == nil {
		for _, j := range journals {
			if err := os.Remove(j); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("closing the batch provider: %w", first)
	}
	return nil
}

// writeFileAtomic replaces path with data durably: a temporary file in
// the same directory, fsync, rename.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Batch pricing. The Loop prices a batched reply (Response.Batch) at the
// model's batch price, or at its on-demand price when --prices has none
// (Result.CostUpperBound); calls made outside a run (eval's comparison
// judge and one-call arm) are priced here by the same rules. The batch
// price maps reuse refine.Cost, so models are matched by its id rules.

// batchPrices are prices with every batch price in place of the on-demand
// one (the on-demand one where a model has none), and noBatch flags, as a
// price of 1, the token kinds a model has no batch price for.
func batchPrices(prices map[string]refine.Price) (batch, noBatch map[string]refine.Price) {
	batch = make(map[string]refine.Price, len(prices))
	noBatch = make(map[string]refine.Price, len(prices))
	for m, p := range prices {
		b, nb := refine.Price{Input: p.Input, Output: p.Output}, refine.Price{}
		if p.BatchInput > 0 {
			b.Input = p.BatchInput
		} else if p.Input > 0 {
			nb.Input = 1
		}
		if p.BatchOutput > 0 {
			b.Output = p.BatchOutput
		} else if p.Output > 0 {
			nb.Output = 1
		}
		b.CachedInput = p.CachedInput
		if b.CachedInput == 0 || b.CachedInput > b.Input {
			b.CachedInput = b.Input
		}
		batch[m], noBatch[m] = b, nb
	}
	return batch, noBatch
}

// replyCost is what resp cost: at the batch price when it came from a
// batch. upper is true when a batched reply was priced on demand for want
// of a batch price.
func (s *session) replyCost(resp *refine.Response) (usd float64, known, upper bool) {
	if !resp.Batch {
		usd, known = s.cost(resp.Model, resp.Usage)
		return usd, known, false
	}
	if s.prices == nil {
		return 0, false, false
	}
	usd, known = refine.Cost(s.batchP, resp.Model, resp.Usage)
	flag, _ := refine.Cost(s.noBatchP, resp.Model, refine.Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens})
	return usd, known, flag > 0
}

// saving is what batch pricing saved on the replies that came from a
// batch API: their cost at batch prices against the same tokens at
// on-demand prices.
type saving struct {
	Replies  int     `json:"replies"`
	Cost     float64 `json:"cost_usd"`           // at batch prices
	OnDemand float64 `json:"on_demand_cost_usd"` // the same tokens on demand
	Saved    float64 `json:"saved_usd"`
	// Known is false when some batched reply's model had no price.
	Known bool `json:"cost_known"`
	// UpperBound: some model had no batch price in --prices, so its
	// replies were priced on demand: the cost is an upper bound and the
	// saving a lower bound.
	UpperBound bool `json:"upper_bound,omitempty"`
}

// add counts resp when it came from a batch.
func (sv *saving) add(s *session, resp *refine.Response) {
	if resp == nil || !resp.Batch {
		return
	}
	if sv.Replies == 0 {
		sv.Known = true
	}
	sv.Replies++
	c, ok, upper := s.replyCost(resp)
	od, ok2 := s.cost(resp.Model, resp.Usage)
	sv.Cost += c
	sv.OnDemand += od
	sv.Saved = sv.OnDemand - sv.Cost
	sv.Known = sv.Known && ok && ok2
	sv.UpperBound = sv.UpperBound || upper
}

// merge adds o to sv.
func (sv *saving) merge(o *saving) {
	if o == nil || o.Replies == 0 {
		return
	}
	if sv.Replies == 0 {
		sv.Known = true
	}
	sv.Replies += o.Replies
	sv.Cost += o.Cost
	sv.OnDemand += o.OnDemand
	sv.Saved = sv.OnDemand - sv.Cost
	sv.Known = sv.Known && o.Known
	sv.UpperBound = sv.UpperBound || o.UpperBound
}

// text says what batch pricing saved, "" when no reply came from a batch.
func (sv *saving) text(prices bool) string {
	switch {
	case sv == nil || sv.Replies == 0:
		return ""
	case !prices:
		return fmt.Sprintf("%d replies from the batch API (saving unknown: no --prices)", sv.Replies)
	case !sv.Known:
		return fmt.Sprintf("%d replies from the batch API (saving unknown: a model has no price in --prices)", sv.Replies)
	}
	pct := 0.0
	if sv.OnDemand > 0 {
		pct = 100 * sv.Saved / sv.OnDemand
	}
	t := fmt.Sprintf("batch API saved $%.4f (%.0f%%): $%.4f at batch prices vs $%.4f on demand", sv.Saved, pct, sv.Cost, sv.OnDemand)
	if sv.UpperBound {
		t += " (upper bound on the cost, lower bound on the saving: --prices has no batch price for a model, priced on demand)"
	}
	return t
}
