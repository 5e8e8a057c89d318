package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

// evalOutcome is what eval adds to a task's line: what answering without
// refine spends, the further trials of --repeat and the answers of the
// --baseline-model arm. The comparisons themselves are made after the runs,
// over every task at once (see compareRuns), so that they can be made with
// package eval, which sums them up with intervals; a resumed eval judges
// every task again, which costs two calls per task and trial, a fraction
// of a loop's.
type evalOutcome struct {
	// DraftCalls are, per trial, the first draft's generation alone: what
	// answering without refine would have spent.
	DraftCalls []callSpend `json:"draft_calls"`
	// RunError is why the first trial's run failed, or "" (the line's
	// Error names every failure of the task: trials and baseline calls).
	RunError string `json:"run_error,omitempty"`
	// Repeats are trials 2 to k of --repeat k; trial 1 is the line's
	// Result.
	Repeats []trialRun `json:"repeats,omitempty"`
	// Baseline holds the one-call arm's answers, one per trial.
	Baseline []eval.ArmAnswer `json:"baseline,omitempty"`
}

// callSpend is what some calls spent.
type callSpend struct {
	Usage     refine.Usage `json:"usage"`
	Cost      float64      `json:"cost,omitempty"`
	CostKnown bool         `json:"cost_known,omitempty"`
}

// trialRun is one further run of a task's loop under --repeat.
type trialRun struct {
	Result *refine.Result `json:"result"`
	Error  string         `json:"error,omitempty"`
}

// scrub removes the configured credentials from the outcome's errors.
func (e *evalOutcome) scrub(scrub func(string) string) {
	e.RunError = scrub(e.RunError)
	for i := range e.Repeats {
		e.Repeats[i].Error = scrub(e.Repeats[i].Error)
	}
	for i := range e.Baseline {
		if err := e.Baseline[i].Err; err != nil {
			e.Baseline[i].Err = errors.New(scrub(err.Error()))
		}
	}
}

// evalFlags are eval's own options.
type evalFlags struct {
	report string
	repeat int
}

func (a *app) evalCommand(f *flags) *cobra.Command {
	b := &batchFlags{}
	e := &evalFlags{}
	cmd := &cobra.Command{
		Use:   "eval --in tasks.jsonl --report report.html",
		Short: "Measure whether refinement beats the first draft (or one call of another model) on your tasks",
		Long: `eval runs the loop on every task, then has a comparison judge compare the returned answer
with the loop's own first draft, in both orders (a split decision is a tie): no extra answer
is written for it. --baseline-model M adds a second comparison, against one plain call of
model M per task (no judge, no refinement): the answer you would get instead, for example
from a bigger model.

Every number says how sure it is: the win rate carries a 95% Wilson interval, refined
against the other side a two-sided exact sign test (p), and the mean score gain and the
token and cost ratios a seeded bootstrap interval. The first line of each comparison says in
words what the numbers mean, or that the tasks are too few to tell. A task whose run or
comparison failed is counted and shown as failed, never scored; its tokens and dollars count.

The comparison judge is --compare-model, by default the loop's judge model. A judge the
loop optimised its answers toward, or a model grading its own answers, overstates the
gain: the output and the report then say so next to the verdict. Give --compare-model a
model that took no part in the answers.

--batch-api sends every call (the loop's, the one-call arm's and the comparison judge's)
through the provider's batch API at its batch price, every task at once, resumable through
a journal next to --out, as in batch (see refine batch --help); the output, the report and
the JSON say what batch pricing saved.

--repeat k runs each task k times; the trials of a task are aggregated into one outcome
before the interval and the test, and the report shows how often they agree.

The runs are written as JSON Lines (--out, resumable as in batch; the comparisons are made
again on resume), the report as one self-contained HTML file (--report), and with --json the
comparison report is one JSON object on the last line of stdout, in snake_case (wins_a,
win_rate_a.low, p, failed, ...).

Exit status: 0 all tasks compared; 1 some tasks failed (runs or comparisons); 2 bad flags or
input, no model called; 130 interrupted.`,
		Example: `  refine eval --provider demo --in sample/tasks.jsonl --report report.html
  refine eval --in tasks.jsonl --report report.html --model gpt-4o-mini \
      --compare-model gpt-4o --baseline-model gpt-4o --repeat 3 --prices prices.json
  refine eval --batch-api --in tasks.jsonl --report report.html --compare-model gpt-4o --prices prices.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if e.report == "" {
				return usageError{errors.New("--report is required")}
			}
			if e.repeat < 1 || e.repeat > 1000 {
				return usageError{fmt.Errorf("--repeat %d: want 1 to 1000 runs per task", e.repeat)}
			}
			out := outPath{flag: "--out", path: b.out}
			if out.path == "" {
				out.path = strings.TrimSuffix(e.report, filepath.Ext(e.report)) + ".jsonl"
				out.derived = "the default: --report's name with .jsonl"
			}
			work := func(ctx context.Context, s *session, t task) *resultLine {
				return evalTask(ctx, s, t, e.repeat)
			}
			run, berr := a.batch(cmd, f, b, work, out, outPath{flag: "--report", path: e.report})
			var ee exitError
			if berr != nil && !(errors.As(berr, &ee) && ee.code == exitFailed) {
				return berr // interrupted or unusable: no report of a partial run
			}
			failed, err := a.writeEvalReport(cmd.Context(), f, b, e, run, out.path)
			if err != nil && cmd.Context().Err() != nil {
				fmt.Fprintf(a.stderr, "refine: interrupted while comparing the answers; the runs are kept in %s: rerun the same command to compare them\n", out.path)
				return exitError{exitInterrupted}
			}
			if err != nil {
				return err
			}
			if failed && berr == nil {
				return exitError{exitFailed}
			}
			return berr
		},
	}
	b.register(cmd, "results file (default: the report's name with .jsonl)")
	fl := cmd.Flags()
	fl.StringVar(&e.report, "report", "", "HTML report to write (required)")
	fl.IntVar(&e.repeat, "repeat", 1, "run each task this many times; the trials are aggregated per task")
	fl.StringVar(&f.baselineModel, "baseline-model", "", "also compare with one plain call of this model per task")
	fl.StringVar(&f.compareModel, "compare-model", "", "model of the comparison judge (default: the loop's judge model, which overstates the gain)")
	return cmd
}

// evalTask runs the loop repeat times on t and, with a baseline arm,
// makes one call of it per trial. Every call is counted in the line,
// failed ones included.
func evalTask(ctx context.Context, s *session, t task, repeat int) *resultLine {
	var seen answered
	ctx = seen.recording(ctx)
	l := &resultLine{ID: t.ID, Query: t.Query, Eval: &evalOutcome{}}
	defer func() { l.Models, l.Batch = seen.list(), seen.saving(s) }()
	var errs []string
	note := func(k int, what string, err error) {
		if repeat > 1 {
			what = fmt.Sprintf("trial %d: %s", k+1, what)
		}
		errs = append(errs, what+err.Error())
	}
	for k := range repeat {
		if k > 0 && ctx.Err() != nil {
			break
		}
		res, spend, err := runTrial(ctx, s, t)
		l.Eval.DraftCalls = append(l.Eval.DraftCalls, spend)
		if k == 0 {
			l.Result = res
			if err != nil {
				l.Eval.RunError = err.Error()
			}
		} else {
			tr := trialRun{Result: res}
			if err != nil {
				tr.Error = err.Error()
			}
			l.Eval.Repeats = append(l.Eval.Repeats, tr)
		}
		if err != nil {
			note(k, "", err)
		}
		if s.baseline != nil {
			ans := oneCall(ctx, s, t.Query, k, repeat)
			l.Eval.Baseline = append(l.Eval.Baseline, ans)
			if ans.Err != nil {
				note(k, "baseline call: ", ans.Err)
			}
		}
	}
	l.Error = strings.Join(errs, "; ")
	return l
}

// runTrial runs the loop once, noting what its first draft's generation
// alone spent.
func runTrial(ctx context.Context, s *session, t task) (*refine.Result, callSpend, error) {
	var mu sync.Mutex
	spend := callSpend{CostKnown: s.prices != nil}
	observe := refine.WithObserver(func(_ context.Context, e refine.Event) {
		if e.Kind == refine.EventCall && e.Round == 0 && e.Candidate == 0 && e.Stage == "draft" && e.Response != nil {
			c, ok, _ := s.replyCost(e.Response)
			mu.Lock()
			spend.Usage = spend.Usage.Add(e.Response.Usage)
			spend.Cost += c
			spend.CostKnown = spend.CostKnown && ok
			mu.Unlock()
		}
	})
	res, err := s.loop.Run(ctx, t.Query, append(s.taskOptions(t.Reference), observe)...)
	mu.Lock()
	defer mu.Unlock()
	return res, spend, err
}

// oneCall is the baseline arm's answer for trial k: one plain call with
// the loop's system prompt (--system) and sampling, as eval.Compare makes
// for an Arm with a Provider; under --repeat the trial index is the
// request's seed, so recordings keep trials apart. A failed call's tokens
// count (refine.UsageOf).
func oneCall(ctx context.Context, s *session, query string, k, repeat int) eval.ArmAnswer {
	req := &refine.Request{Sampling: s.sampling}
	if s.system != "" {
		req.Messages = append(req.Messages, refine.Message{Role: refine.RoleSystem, Content: s.system})
	}
	req.Messages = append(req.Messages, refine.Message{Role: refine.RoleUser, Content: query})
	if repeat > 1 {
		seed := int64(k)
		req.Seed = &seed
	}
	resp, err := s.baseline.Complete(ctx, req)
	if err != nil || resp == nil {
		if err == nil {
			err = errors.New("the provider returned neither a response nor an error")
		}
		u := refine.UsageOf(err)
		c, ok := s.cost(modelName(s.baseline), u)
		return eval.ArmAnswer{Usage: u, Cost: c, CostKnown: ok || u == (refine.Usage{}), Model: modelName(s.baseline), Err: err}
	}
	out := eval.ArmAnswer{Answer: resp.Text, Usage: resp.Usage, Model: resp.Model}
	out.Cost, out.CostKnown, _ = s.replyCost(resp)
	if refine.IsBlank(resp.Text) {
		out.Err = fmt.Errorf("blank answer %q (finish reason %q)", clip(resp.Text, 40), resp.FinishReason)
	}
	return out
}

// modelName is the model p names, if it names one.
func modelName(p refine.Provider) string {
	if named, ok := p.(interface{ Model() string }); ok {
		return named.Model()
	}
	return ""
}

// evalStats is what the HTML report shows.
type evalStats struct {
	Title string // the report's question, its first heading
	Model string // what was requested, as the user configured it
	// Answered names the models that answered, as the servers reported
	// them, when they differ from the requested ones.
	Answered  string
	answered  []string // every model that answered, sorted
	Simulated bool
	Generated time.Time
	Options   string

	// The comparisons, their verdicts and the comparison judge.
	comparisonsOut

	// Of the loop's runs (eval only): score by round, regressions, stop
	// reasons, failures and the worst cases.
	Rounds      []roundStat
	Regressed   int // runs where a refinement scored below the attempt before it
	Refined     int // runs with at least one refinement
	StopReasons []countOf
	Worst       []worstCase
	Failures    []countOf // error messages, grouped
}

type roundStat struct {
	Round int
	N     int
	Mean  float64
	SD    float64
	Min   float64
	Max   float64
	// Low and High bound the mean's 95% interval (normal approximation,
	// mean ± 1.96 standard errors; the mean alone with one run).
	Low, High float64
}

type countOf struct {
	Name  string
	Count int
}

type worstCase struct {
	ID, Query              string
	Winner                 string // "refined", "draft" or "tie"
	Orders                 string // the verdict of each order, in words
	DraftScore, FinalScore float64
	Draft, Final           string
	DraftRound, FinalRound int
	StopReason             string
}

// computeStats summarises the loop's runs of tasks (trial 1 of each) and,
// with draft, the refined-vs-draft outcome of each task for the worst
// cases.
func computeStats(tasks []task, lines map[string]*resultLine, draft *eval.Report) *evalStats {
	st := &evalStats{Title: "Does refinement beat the first draft?"}
	models := map[string]bool{}
	byRound := map[int][]float64{}
	stops := map[string]int{}
	fails := map[string]int{}
	outcome := map[string]eval.TaskResult{}
	if draft != nil {
		for _, r := range draft.Results {
			outcome[r.ID] = r
		}
	}
	type scored struct {
		t      task
		l      *resultLine
		winner string
		orders [2]string
	}
	var judged []scored
	name := map[string]string{refine.WinnerA: "refined", refine.WinnerB: "draft", refine.Tie: "tie"}
	for _, t := range tasks {
		l := lines[t.ID]
		if l == nil {
			continue
		}
		if l.Error != "" {
			msg := l.Error
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			fails[clip(msg, 160)]++
		}
		for _, m := range l.Models {
			models[m] = true
		}
		r := l.Result
		if r == nil || len(r.Attempts) == 0 {
			continue
		}
		stops[string(r.StopReason)]++
		best := map[int]float64{}
		for _, at := range r.Attempts {
			if at.Verdict == nil {
				continue
			}
			if s, ok := best[at.Round]; !ok || at.Verdict.Score > s {
				best[at.Round] = at.Verdict.Score
			}
		}
		for round, s := range best {
			byRound[round] = append(byRound[round], s)
		}
		if len(best) > 1 {
			st.Refined++
			for round := 1; round < len(best); round++ {
				if best[round] < best[round-1] {
					st.Regressed++
					break
				}
			}
		}
		if o, ok := outcome[t.ID]; ok && o.Outcome != eval.OutcomeFailed && len(o.Trials) > 0 {
			orders := o.Trials[0].Orders
			judged = append(judged, scored{t, l, name[o.Outcome], [2]string{name[orders[0]], name[orders[1]]}})
		}
	}
	st.answered = sortedKeys(models)
	rounds := make([]int, 0, len(byRound))
	for r := range byRound {
		rounds = append(rounds, r)
	}
	sort.Ints(rounds)
	for _, r := range rounds {
		st.Rounds = append(st.Rounds, summarize(r, byRound[r]))
	}
	st.StopReasons = sortedCounts(stops)
	st.Failures = sortedCounts(fails)

	// Worst first: losses, then ties, then wins; within each, the lowest
	// final score.
	rank := map[string]int{"draft": 0, "tie": 1, "refined": 2}
	slices.SortStableFunc(judged, func(x, y scored) int {
		if d := rank[x.winner] - rank[y.winner]; d != 0 {
			return d
		}
		return cmpFloat(x.l.Result.Score, y.l.Result.Score)
	})
	for _, j := range judged[:min(5, len(judged))] {
		r := j.l.Result
		d := r.Attempts[0]
		w := worstCase{ID: j.t.ID, Query: j.t.Query, Winner: j.winner,
			Orders:     fmt.Sprintf("%s when the returned answer was shown first, %s when the draft was", j.orders[0], j.orders[1]),
			FinalScore: r.Score, Draft: d.Answer, Final: r.Answer,
			FinalRound: r.Attempts[r.Best].Round, StopReason: string(r.StopReason)}
		if d.Verdict != nil {
			w.DraftScore = d.Verdict.Score
		}
		st.Worst = append(st.Worst, w)
	}
	return st
}

func summarize(round int, xs []float64) roundStat {
	s := roundStat{Round: round, N: len(xs), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		s.Mean += x
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	s.Mean /= float64(len(xs))
	for _, x := range xs {
		s.SD += (x - s.Mean) * (x - s.Mean)
	}
	if len(xs) > 1 {
		s.SD = math.Sqrt(s.SD / float64(len(xs)-1))
	} else {
		s.SD = 0
	}
	half := 1.96 * s.SD / math.Sqrt(float64(len(xs)))
	s.Low, s.High = math.Max(0, s.Mean-half), math.Min(10, s.Mean+half)
	return s
}

func sortedCounts(m map[string]int) []countOf {
	out := make([]countOf, 0, len(m))
	for k, v := range m {
		out = append(out, countOf{k, v})
	}
	slices.SortFunc(out, func(a, b countOf) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// evalPairs are the sides eval compares, per task and trial: the loop's
// returned answers (A) against their own first drafts, or, with baseline,
// against the one-call arm's answers. A task with no line (none was
// written) has no answers: it counts as failed.
func evalPairs(tasks []task, lines map[string]*resultLine, baseline bool) []eval.Pair {
	pairs := make([]eval.Pair, 0, len(tasks))
	for _, t := range tasks {
		p := eval.Pair{Task: eval.Task{ID: t.ID, Query: t.Query, Reference: t.Reference}}
		l := lines[t.ID]
		if l == nil {
			pairs = append(pairs, p)
			continue
		}
		e := l.Eval
		if e == nil {
			e = &evalOutcome{}
		}
		runs := append([]trialRun{{Result: l.Result, Error: e.RunError}}, e.Repeats...)
		if e.RunError == "" && l.Error != "" && l.Result == nil {
			runs[0].Error = l.Error
		}
		for k, run := range runs {
			var spend callSpend
			if k < len(e.DraftCalls) {
				spend = e.DraftCalls[k]
			}
			final, first := runAnswers(run.Result, run.Error, spend)
			p.A = append(p.A, final)
			if !baseline {
				p.B = append(p.B, first)
				continue
			}
			if len(e.Baseline) == len(runs) {
				p.B = append(p.B, e.Baseline[k])
			} else {
				p.B = append(p.B, eval.ArmAnswer{CostKnown: true,
					Err: errors.New("this line was written without --baseline-model or with another --repeat; rerun with another --out")})
			}
		}
		pairs = append(pairs, p)
	}
	return pairs
}

// writeEvalReport compares the runs of the tasks (the input is not read
// again: stdin has no second reading), from their result lines, read back
// from a regular results file (earlier, resumed runs included) or, for an
// output that cannot be read back (a pipe, /dev/null), this run's; then
// writes the HTML report and prints the comparisons. It reports whether
// some task failed.
func (a *app) writeEvalReport(ctx context.Context, f *flags, b *batchFlags, e *evalFlags, run *batchRun, outPath string) (bool, error) {
	sh, _ := parseShard(b.shard)
	tasks := slices.DeleteFunc(slices.Clone(run.tasks), func(t task) bool { return !sh.has(t.ID) })
	lines := run.out.lines
	if lines == nil {
		var err error
		if lines, err = readResults(outPath); err != nil {
			return false, err
		}
	}
	s, m := run.s, run.s.models
	spend := &judgeSpend{known: s.prices != nil}
	judge := s.comparisonJudge(spend)
	conc := b.concurrency
	if f.batch != nil && b.api.concurrencyWasDefault {
		// Every comparison at once: each order of the judge is one step,
		// one batch (see batch).
		conc = max(1, len(tasks)*e.repeat)
	}
	opts := []eval.CompareOption{eval.Concurrency(conc)}
	draft, err := eval.CompareAnswers(ctx, evalPairs(tasks, lines, false), judge, "refined", "first draft", opts...)
	if err != nil {
		return false, fmt.Errorf("comparing with the first drafts: %w", err)
	}
	a.scrubReport(draft)
	out := comparisonsOut{Comparisons: []comparison{{Title: "refined vs first draft", Report: draft}},
		SameJudge: m.sameJudge(append([]string{modelName(m.gen), modelName(m.baseline)}, wroteBy(lines)...), true), CompareModel: firstOf(m.compareModel, modelName(s.pairwiseP))}
	if s.baseline != nil {
		name := "one call of " + firstOf(f.baselineModel, modelName(s.baseline), "the baseline model")
		vs, err := eval.CompareAnswers(ctx, evalPairs(tasks, lines, true), judge, "refined", name, opts...)
		if err != nil {
			return false, fmt.Errorf("comparing with the baseline: %w", err)
		}
		a.scrubReport(vs)
		out.Comparisons = append(out.Comparisons, comparison{Title: "refined vs " + name, Report: vs})
	}
	out.Judge = spend.snapshot()
	out.Prices = s.prices != nil
	if f.batch != nil {
		total := spend.saving()
		for _, t := range tasks {
			if l := lines[t.ID]; l != nil {
				total.merge(l.Batch)
			}
		}
		out.Batch = total
	}

	st := computeStats(tasks, lines, draft)
	st.comparisonsOut = out
	st.Model, st.Simulated, st.Generated = m.label, m.simulated, time.Now().UTC()
	st.Answered = answeredText(st.answered, m.requested())
	for i := range st.Failures {
		st.Failures[i].Name = a.scrub(st.Failures[i].Name)
	}
	st.Options = fmt.Sprintf("threshold %s, max iterations %d, candidates %d, history %d, %d run(s) per task",
		fmtScore(f.threshold), f.maxIterations, f.candidates, f.history, e.repeat)
	if s.baseline != nil {
		st.Title = "Does refinement beat the first draft, and one call of " + f.baselineModel + "?"
	}
	html, err := renderReport(st)
	if err != nil {
		return false, fmt.Errorf("rendering the report: %w", err)
	}
	if err := os.WriteFile(e.report, html, 0o644); err != nil {
		return false, err
	}
	failed := false
	for _, c := range out.Comparisons {
		failed = failed || c.Report.Failed > 0
	}
	if f.json {
		// One line, after the progress lines: the output stays JSON Lines.
		return failed, out.writeJSON(a.stdout, map[string]any{"report_file": e.report, "results_file": outPath})
	}
	fmt.Fprintln(a.stdout)
	out.writeText(a.stdout)
	fmt.Fprintf(a.stdout, "report: %s\nresults: %s\n", e.report, outPath)
	return failed, nil
}

// answeredText names the models that answered when they are not the ones
// requested (a server that serves another model than the one named, such
// as a llama.cpp server answering with its model file's path); "" when
// they are the same, or nothing was answered.
func answeredText(answered, requested []string) string {
	if len(answered) == 0 || slices.Equal(answered, requested) {
		return ""
	}
	names := slices.Clone(answered)
	for i, n := range names {
		if n == "" {
			names[i] = "(a model the server did not name)"
		}
	}
	return strings.Join(names, ", ")
}
