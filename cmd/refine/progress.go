package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how a batch goes: a bar on a terminal, a plain line
// every progressEvery otherwise (a log file, CI), JSON lines with --json.
type progress struct {
	w     io.Writer
	json  bool
	bar   *progressbar.ProgressBar
	every time.Duration

	mu      sync.Mutex
	last    batchStats
	stop    chan struct{}
	stopped chan struct{}
}

func (a *app) newProgress(f *flags, total int) *progress {
	p := &progress{w: a.stdout, json: f.json, every: a.progressEvery}
	if !f.json && a.isTerminal(a.stdout) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(a.stdout),
			progressbar.OptionSetDescription("tasks"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("tasks"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stdout) }),
		)
		return p
	}
	if p.every > 0 {
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.tick()
	}
	return p
}

// tick prints the plain line periodically; it ends with the batch.
func (p *progress) tick() {
	defer close(p.stopped)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.mu.Lock()
			st := p.last
			p.mu.Unlock()
			p.line(&st, "progress")
		case <-p.stop:
			return
		}
	}
}

func (p *progress) update(st *batchStats) {
	if p.bar != nil {
		cost := "cost ?"
		if st.costKnown {
			cost = fmt.Sprintf("$%.4f", st.cost)
		}
		p.bar.Describe(fmt.Sprintf("%s tokens · %s · %d failed", count(st.tokens), cost, st.failed))
		p.bar.Add(1)
		return
	}
	p.mu.Lock()
	p.last = *st
	p.mu.Unlock()
}

func (p *progress) finish(st *batchStats) {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
	if p.bar != nil {
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
	p.line(st, "done")
}

func (p *progress) line(st *batchStats, kind string) {
	elapsed := time.Since(st.start)
	rate := float64(st.done) / elapsed.Seconds()
	var eta time.Duration
	if st.done > 0 && st.done < st.total {
		eta = time.Duration(float64(st.total-st.done) / rate * float64(time.Second))
	}
	if p.json {
		m := map[string]any{
			"event": kind, "done": st.done, "total": st.total, "failed": st.failed,
			"tasks_per_second": round2(rate), "eta_seconds": round2(eta.Seconds()),
			"elapsed_seconds": round2(elapsed.Seconds()), "tokens": st.tokens,
		}
		if st.costKnown {
			m["cost_usd"] = st.cost
		}
		if len(st.unpriced) > 0 {
			m["unpriced_models"] = sortedKeys(st.unpriced)
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	etaText := ""
	if eta > 0 {
		etaText = ", ETA " + eta.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "%s: %d/%d tasks (%d failed), %.1f tasks/s%s, %s tokens, %s, %s elapsed\n",
		kind, st.done, st.total, st.failed, rate, etaText, count(st.tokens), costText(st), elapsed.Round(100*time.Millisecond))
}

// costText says what the tasks cost, or why that is unknown: naming the
// models --prices lacks tells the user what to add.
func costText(st *batchStats) string {
	switch {
	case st.costKnown:
		return fmt.Sprintf("$%.4f", st.cost)
	case !st.prices:
		return "cost unknown (no --prices)"
	case len(st.unpriced) > 0:
		names := sortedKeys(st.unpriced)
		for i, n := range names {
			if n == "" {
				names[i] = "(a model the server did not name)"
			} else {
				names[i] = strconv.Quote(n)
			}
		}
		return "cost unknown (--prices has no price for " + strings.Join(names, ", ") + ")"
	}
	return "cost unknown (a call had no price in --prices)"
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func count(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
