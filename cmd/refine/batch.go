package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/selfrefine/refine"
)

// batchFlags are the options of batch and eval.
type batchFlags struct {
	in, out     string
	concurrency int
	shard       string
	retryFailed bool
	taskTimeout time.Duration
	api         batchAPIFlags
}

func (b *batchFlags) register(cmd *cobra.Command, outHelp string) {
	fl := cmd.Flags()
	fl.StringVar(&b.in, "in", "", `tasks, one JSON object per line: {"id": ..., "query": ..., "reference": ...} ("-": stdin)`)
	fl.StringVar(&b.out, "out", b.out, outHelp)
	fl.IntVar(&b.concurrency, "concurrency", 8, "tasks run at once, and model calls in flight per model (--batch-api: every task unless this is given, and no cap on calls)")
	fl.StringVar(&b.shard, "shard", "", "k/n: run only the k-th of n deterministic parts of the ids, to split a batch over n machines")
	fl.BoolVar(&b.retryFailed, "retry-failed", false, "run again the tasks whose line in the output has an error")
	fl.DurationVar(&b.taskTimeout, "task-timeout", 0, "give up on a task after this long (0: no limit)")
	b.api.register(cmd)
}

func (a *app) batchCommand(f *flags) *cobra.Command {
	b := &batchFlags{}
	cmd := &cobra.Command{
		Use:   "batch --in tasks.jsonl --out results.jsonl",
		Short: "Refine a file of questions; resumable",
		Long: `batch runs the loop on every task of --in and appends one line per task to --out:
{"id": ..., "result": {...}, "error": "..."}. Each line is written as its task finishes.

Rerunning the same command resumes: ids already in --out are skipped, and a last line cut
off by a kill, or runs interrupted by Ctrl-C, run again. --shard k/n splits the ids into n
deterministic parts, so n machines can share a batch and concatenate their outputs.

--out must not be the input file (by any name or link). An --out that is not a regular
file (a pipe, a FIFO, /dev/stdout, /dev/null) is written without resume.

--batch-api sends every call through the provider's batch API (OpenAI's, or an
OpenAI-compatible server's /v1/batches) at its batch price, about half the on-demand one,
for work that can wait up to a day. Every task runs at once (unless --concurrency is given)
so that each step of the loop (drafts, judgments, refinements) goes out as one batch;
--batch-max, --batch-wait and --batch-idle say when a batch is sent, --batch-poll how often
it is checked. Each batch is recorded before it is submitted in a journal next to --out
(<out>.batches.json; <out>.judge.batches.json... for other models), so a run stopped while
batches run (Ctrl-C, a kill, a reboot) and started again with the same command re-attaches
to them: nothing is submitted or paid twice. --out must then be a regular file. With
--prices, the progress and the last line show what batch pricing saved (an upper bound on
the cost where --prices has no batch price for a model).`,
		Example: `  refine batch --provider demo --in sample/tasks.jsonl --out results.jsonl
  refine batch --in tasks.jsonl --out part1.jsonl --shard 1/2 --concurrency 32
  refine batch --batch-api --in tasks.jsonl --out results.jsonl --prices prices.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := a.batch(cmd, f, b, nil, outPath{flag: "--out", path: b.out})
			return err
		},
	}
	b.register(cmd, "results file, appended to and resumed (required; a pipe, FIFO or device is written without resume)")
	return cmd
}

// batch runs the tasks of b.in, writing b.out; each task's line is made by
// work (nil: the loop alone). extra are further outputs of the command,
// checked with --out against the input. It returns the tasks it read (the
// input is read once: stdin has no second reading), the session and the
// output, for eval's report; nil when it failed before running anything.
func (a *app) batch(cmd *cobra.Command, f *flags, b *batchFlags, work func(ctx context.Context, s *session, t task) *resultLine, out outPath, extra ...outPath) (*batchRun, error) {
	ctx := cmd.Context()
	if b.in == "" || out.path == "" {
		return nil, usageError{errors.New("--in and --out are required")}
	}
	if b.concurrency < 1 {
		return nil, usageError{fmt.Errorf("--concurrency %d: want at least 1", b.concurrency)}
	}
	sh, err := parseShard(b.shard)
	if err != nil {
		return nil, usageError{err}
	}
	if err := checkPaths(b.in, a.stdin, append([]outPath{out}, extra...)...); err != nil {
		return nil, usageError{err}
	}
	if f.batch, err = b.api.check(cmd, out.path); err != nil {
		return nil, usageError{err}
	}
	if f.batch != nil { // the journals are written, and removed, next to --out
		var journals []outPath
		for _, role := range []string{"", "judge", "compare", "baseline"} {
			journals = append(journals, outPath{flag: "--batch-api's journal", path: f.batch.journal(role), derived: "next to --out"})
		}
		if err := checkPaths(b.in, a.stdin, journals...); err != nil {
			return nil, usageError{err}
		}
	}
	tasks, err := a.loadTasks(ctx, b.in)
	if err != nil {
		return nil, err
	}
	limit := b.concurrency
	if f.batch != nil {
		limit = 0 // no in-flight cap in front of a batch Provider
	}
	s, err := a.newSession(cmd, f, limit)
	if err != nil {
		return nil, err
	}
	o, err := openOutput(ctx, out.path, b.retryFailed, a.waiting)
	if err != nil {
		return nil, err
	}
	run := &batchRun{tasks: tasks, s: s, out: o}
	var todo []task
	inShard, skipped := 0, 0
	for _, t := range tasks {
		if !sh.has(t.ID) {
			continue
		}
		inShard++
		if o.done[t.ID] {
			skipped++
			continue
		}
		todo = append(todo, t)
	}
	for _, n := range o.note {
		fmt.Fprintln(a.stderr, "refine:", n)
	}
	if !f.json {
		if s.models.simulated {
			fmt.Fprintf(a.stdout, "model: %s\n", s.models.label)
		}
		if skipped > 0 {
			fmt.Fprintf(a.stdout, "resuming %s: %d of %d tasks already done, %d to run\n", out.path, skipped, inShard, len(todo))
		}
	}
	if work == nil {
		work = runTask
	}
	if f.batch != nil && b.api.concurrencyWasDefault {
		// Every task at once, so that a step's requests wait together
		// and go out as one batch (or as few as --batch-max allows):
		// with fewer workers, the tasks after them would wait for whole
		// batches of the ones before. A waiting run costs a goroutine
		// and a few KB.
		b.concurrency = max(1, len(todo))
	}
	st, werr := a.runAll(ctx, f, s, b, todo, o, work)
	if err := o.close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return run, fmt.Errorf("writing %s: %w (the lines written so far are kept; rerun to resume)", out.path, werr)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(a.stderr, "refine: interrupted: %d of %d tasks finished and written to %s (%d cut short, kept as interrupted); rerun the same command to resume\n",
			st.done, len(todo), out.path, st.interrupted)
		return run, exitError{exitInterrupted}
	case st.failed > 0:
		fmt.Fprintf(a.stderr, "refine: %d of %d tasks failed; their errors are in %s (rerun with --retry-failed to run them again)\n", st.failed, len(todo), out.path)
		return run, exitError{exitFailed}
	}
	return run, nil
}

// batchRun is what a batch read and wrote.
type batchRun struct {
	tasks []task
	s     *session
	out   *output
}

// loadTasks reads and checks every task of path ("-": stdin) before
// anything runs. A signal stops it even while the input has no end yet (a
// FIFO or a pipe whose writer stays open).
func (a *app) loadTasks(ctx context.Context, path string) ([]task, error) {
	var r io.Reader = a.stdin
	name := "stdin"
	if path != "-" {
		file, err := openCtx(ctx, path, os.O_RDONLY, a.waiting)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("interrupted while waiting for a writer of --in %s: %w", path, err)
			}
			return nil, usageError{fmt.Errorf("--in: %w", err)}
		}
		defer file.Close()
		r, name = file, path
	}
	t, err := readCtx(ctx, r, func(r io.Reader) ([]task, error) { return readTasks(r, name) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted while reading the tasks of %s: %w", name, err)
		}
		return nil, usageError{err}
	}
	return t, nil
}

// runTask runs the loop on one task.
func runTask(ctx context.Context, s *session, t task) *resultLine {
	var seen answered
	res, err := s.loop.Run(seen.recording(ctx), t.Query, s.taskOptions(t.Reference)...)
	l := &resultLine{ID: t.ID, Query: t.Query, Result: res, Models: seen.list(), Batch: seen.saving(s)}
	if err != nil {
		l.Error = err.Error()
	}
	return l
}

// batchStats are the counters the progress display shows.
type batchStats struct {
	total, done, failed int // done includes failed
	interrupted         int // cut short by Ctrl-C; redone on resume
	tokens              int
	cost                float64
	costKnown           bool
	prices              bool            // --prices was given
	unpriced            map[string]bool // models that answered and have no price in --prices
	costUpper           bool            // some batched reply was priced on demand (Result.CostUpperBound)
	batch               saving          // what batch pricing saved
	start               time.Time
}

// runAll runs todo on b.concurrency workers sharing s. Workers hand their
// lines to this goroutine, the only writer of out, which appends each as
// it arrives. When ctx ends no new task starts; the running ones end with
// what they have, which is written too.
func (a *app) runAll(ctx context.Context, f *flags, s *session, b *batchFlags, todo []task, out *output,
	work func(context.Context, *session, task) *resultLine) (batchStats, error) {
	st := batchStats{total: len(todo), start: time.Now(), costKnown: s.prices != nil, prices: s.prices != nil, unpriced: map[string]bool{}}
	prog := a.newProgress(f, len(todo))
	defer prog.finish(&st)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	jobs := make(chan task)
	lines := make(chan encoded, b.concurrency)
	var wg sync.WaitGroup
	for range min(b.concurrency, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				// Encoding here, on the workers, keeps the one writer
				// from becoming the bottleneck of a large batch.
				l := safeWork(runCtx, s, t, b.taskTimeout, work)
				// A server may echo a credential into an error: the
				// results file must not keep it.
				l.Error = a.scrub(l.Error)
				if l.Eval != nil {
					l.Eval.scrub(a.scrub)
				}
				data, err := encode(l)
				lines <- encoded{l, data, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, t := range todo {
			if runCtx.Err() != nil {
				return
			}
			select {
			case jobs <- t:
			case <-runCtx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(lines) }()

	var werr error
	written := 0
	for e := range lines {
		if werr != nil {
			continue // drain: the workers must not block
		}
		l := e.line
		err := e.err
		if err == nil {
			err = out.write(e.data)
		}
		if err != nil {
			werr = err
			cancelRun() // a results file we cannot write makes further work pointless
			continue
		}
		written++
		if out.lines != nil {
			out.lines[l.ID] = l
		}
		switch {
		case l.Interrupted:
			st.interrupted++
		case l.Error != "":
			st.failed++
			st.done++
		default:
			st.done++
		}
		if l.Result != nil {
			st.tokens += l.Result.Usage.Total()
			st.cost += l.Result.Cost
			st.costKnown = st.costKnown && l.Result.CostKnown
			st.costUpper = st.costUpper || l.Result.CostUpperBound
		}
		st.batch.merge(l.Batch)
		if l.Eval != nil {
			for _, r := range l.Eval.Repeats {
				if r.Result != nil {
					st.tokens += r.Result.Usage.Total()
					st.cost += r.Result.Cost
					st.costKnown = st.costKnown && r.Result.CostKnown
					st.costUpper = st.costUpper || r.Result.CostUpperBound
				}
			}
			for _, b := range l.Eval.Baseline {
				st.tokens += b.Usage.Total()
				st.cost += b.Cost
				st.costKnown = st.costKnown && b.CostKnown
			}
		}
		if s.prices != nil {
			for _, m := range l.Models {
				if _, ok := refine.Cost(s.prices, m, refine.Usage{}); !ok {
					st.unpriced[m] = true
				}
			}
		}
		prog.update(&st)
		if a.afterWrite != nil {
			a.afterWrite(written)
		}
	}
	return st, werr
}

// encoded is a finished task's line and its JSON.
type encoded struct {
	line *resultLine
	data []byte
	err  error
}

// safeWork runs one task under its timeout, turning a panic into the
// task's error so that one bad task cannot take the batch down.
func safeWork(ctx context.Context, s *session, t task, timeout time.Duration, work func(context.Context, *session, task) *resultLine) (l *resultLine) {
	defer func() {
		if p := recover(); p != nil {
			l = &resultLine{ID: t.ID, Error: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	tctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	l = work(tctx, s, t)
	// Only the batch's own cancellation makes an interruption; a task's
	// timeout is a failure like any other.
	l.Interrupted = l.Error != "" && ctx.Err() != nil
	return l
}
