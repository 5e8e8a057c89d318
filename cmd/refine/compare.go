package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/eval"
)

// compareFlags are compare's own options.
type compareFlags struct {
	in, report  string
	failIfWorse bool
	concurrency int
}

func (a *app) compareCommand(f *flags) *cobra.Command {
	c := &compareFlags{}
	cmd := &cobra.Command{
		Use:   "compare BASELINE.jsonl CANDIDATE.jsonl",
		Short: "Compare two runs' answers task by task, and gate a change on it",
		Long: `compare judges, for every task id, the final answer of BASELINE against the final answer
of CANDIDATE (results files written by refine batch or refine eval), in both orders, and
prints the same report as eval: wins, ties and failures, the win rates with a
95% Wilson interval, the two-sided exact sign test (p), and a verdict in words.

An id in one file only is counted as failed and listed; an id that appears twice in a file
is an input error. A failed run (a line with an error) counts as failed, never scored. The
queries come from the results files (refine writes them there); --in gives them, and the
references the judge grades against, for files that lack them.

The comparison judge is --compare-model (default: --judge-model, else --model). A model that
wrote answers of either file grades leniently: the output says so next to the verdict.

Exit status: 0 no significant loss; 3 with --fail-if-worse, the candidate loses significantly
(the baseline wins more decisive comparisons and p < 0.05), so that CI can gate a prompt or
model change on it; 1 some tasks failed (and the candidate is not significantly worse);
2 bad flags or input (a repeated id, a missing query), no model called; 130 interrupted.`,
		Example: `  refine batch --in tasks.jsonl --out before.jsonl
  refine batch --in tasks.jsonl --out after.jsonl --system "$(cat new-prompt.txt)"
  refine compare before.jsonl after.jsonl --compare-model gpt-4o --fail-if-worse --report compare.html`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.compare(cmd, f, c, args[0], args[1])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.in, "in", "", "tasks file giving the queries and references (default: the queries the results files hold)")
	fl.StringVar(&c.report, "report", "", "also write the report as a self-contained HTML file")
	fl.BoolVar(&c.failIfWorse, "fail-if-worse", false, "exit 3 when the candidate loses significantly (p < 0.05)")
	fl.IntVar(&c.concurrency, "concurrency", 8, "comparisons run at once (and calls in flight)")
	fl.StringVar(&f.compareModel, "compare-model", "", "model of the comparison judge (default: --judge-model, else --model)")
	return cmd
}

func (a *app) compare(cmd *cobra.Command, f *flags, c *compareFlags, basePath, candPath string) error {
	ctx := cmd.Context()
	if c.concurrency < 1 {
		return usageError{fmt.Errorf("--concurrency %d: want at least 1", c.concurrency)}
	}
	if c.report != "" {
		if err := checkPaths(firstOf(c.in, basePath), a.stdin, outPath{flag: "--report", path: c.report}); err != nil {
			return usageError{err}
		}
		for _, in := range []string{basePath, candPath} {
			if err := checkPaths(in, a.stdin, outPath{flag: "--report", path: c.report}); err != nil {
				return usageError{err}
			}
		}
	}
	base, err := readResultLines(basePath)
	if err != nil {
		return usageError{err}
	}
	cand, err := readResultLines(candPath)
	if err != nil {
		return usageError{err}
	}
	var tasks []task
	if c.in != "" {
		if tasks, err = a.loadTasks(ctx, c.in); err != nil {
			return err
		}
	}
	pairs, missing, err := comparePairs(base, cand, tasks, basePath, candPath)
	if err != nil {
		return usageError{err}
	}
	s, err := a.newSession(cmd, f, c.concurrency)
	if err != nil {
		return err
	}
	all := map[string]*resultLine{}
	for i, l := range append(slices.Clone(base), cand...) {
		all[fmt.Sprint(i)] = l
	}
	spend := &judgeSpend{known: s.prices != nil}
	r, err := eval.CompareAnswers(ctx, pairs, s.comparisonJudge(spend), "baseline", "candidate", eval.Concurrency(c.concurrency))
	if r == nil {
		if errors.Is(err, refine.ErrInvalidOption) {
			return usageError{err}
		}
		return err
	}
	a.scrubReport(r)
	cmp := comparison{Title: "candidate vs baseline", Report: r, Missing: missing, Flip: true}
	out := comparisonsOut{
		Comparisons: []comparison{cmp}, SameJudge: s.models.sameJudge(wroteBy(all), false),
		CompareModel: firstOf(s.models.compareModel, modelName(s.pairwiseP)), Judge: spend.snapshot(),
	}
	if c.report != "" {
		st := &evalStats{Title: "Does the candidate beat the baseline?", Model: s.models.label, Simulated: s.models.simulated,
			Generated: time.Now().UTC(), Options: fmt.Sprintf("baseline %s, candidate %s", basePath, candPath)}
		st.comparisonsOut = out
		html, err := renderReport(st)
		if err != nil {
			return fmt.Errorf("rendering the report: %w", err)
		}
		if err := os.WriteFile(c.report, html, 0o644); err != nil {
			return err
		}
	}
	worse := r.Worse()
	if f.json {
		extra := map[string]any{"worse": worse}
		if c.report != "" {
			extra["report_file"] = c.report
		}
		if err := out.writeJSON(a.stdout, extra); err != nil {
			return err
		}
	} else {
		out.writeText(a.stdout)
		if c.report != "" {
			fmt.Fprintf(a.stdout, "report: %s\n", c.report)
		}
	}
	if err != nil {
		return err // interrupted: what was compared is printed
	}
	switch {
	case c.failIfWorse && worse:
		fmt.Fprintf(a.stderr, "refine: the candidate is significantly worse than the baseline (p %.3g < %g)\n", r.P, eval.Significance)
		return exitError{exitWorse}
	case r.Failed > 0:
		fmt.Fprintf(a.stderr, "refine: %d of %d tasks failed and were not compared\n", r.Failed, r.Tasks)
		return exitError{exitFailed}
	}
	return nil
}

// comparePairs pairs the lines of the two files by id, in the baseline's
// order, then the candidate's own ids. An id in one file only is a pair
// with one side missing (counted as failed by eval) and listed in missing.
// The query comes from tasks when given (an id there that neither file has
// is missing too), else from the lines.
func comparePairs(base, cand []*resultLine, tasks []task, basePath, candPath string) (pairs []eval.Pair, missing []string, err error) {
	byID := func(lines []*resultLine) map[string]*resultLine {
		m := make(map[string]*resultLine, len(lines))
		for _, l := range lines {
			m[l.ID] = l
		}
		return m
	}
	bm, cm := byID(base), byID(cand)
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	given := map[string]task{}
	for _, t := range tasks {
		given[t.ID] = t
		add(t.ID)
	}
	if tasks == nil {
		for _, l := range base {
			add(l.ID)
		}
		for _, l := range cand {
			add(l.ID)
		}
	}
	for _, id := range ids {
		b, c := bm[id], cm[id]
		t, ok := given[id]
		if !ok {
			t = task{ID: id}
			for _, l := range []*resultLine{b, c} {
				if l != nil && t.Query == "" {
					t.Query = l.Query
				}
			}
		}
		if refine.IsBlank(t.Query) {
			file := basePath
			if b == nil {
				file = candPath
			}
			return nil, nil, fmt.Errorf("%s: task %q has no query (results written by an older refine); give the tasks file with --in", file, id)
		}
		p := eval.Pair{Task: eval.Task{ID: id, Query: t.Query, Reference: t.Reference}}
		if b != nil {
			p.A = []eval.ArmAnswer{lineAnswer(b)}
		}
		if c != nil {
			p.B = []eval.ArmAnswer{lineAnswer(c)}
		}
		switch {
		case b == nil && c == nil:
			missing = append(missing, fmt.Sprintf("%s (in neither file)", id))
		case b == nil:
			missing = append(missing, fmt.Sprintf("%s (only in %s)", id, candPath))
		case c == nil:
			missing = append(missing, fmt.Sprintf("%s (only in %s)", id, basePath))
		}
		pairs = append(pairs, p)
	}
	if len(pairs) == 0 {
		return nil, nil, fmt.Errorf("%s and %s hold no results to compare", basePath, candPath)
	}
	return pairs, missing, nil
}

// lineAnswer is a results line's final answer as a side of a comparison:
// a line with an error, or cut short, is a failed side.
func lineAnswer(l *resultLine) eval.ArmAnswer {
	errText := l.Error
	if l.Interrupted && errText == "" {
		errText = "the run was interrupted"
	}
	final, _ := runAnswers(l.Result, errText, callSpend{})
	return final
}

// runAnswers are the two answers of a loop's run: the returned one and
// its first draft, whose generation alone spent draft.
func runAnswers(res *refine.Result, errText string, draft callSpend) (final, first eval.ArmAnswer) {
	final.CostKnown, first.CostKnown = true, draft.CostKnown
	if res == nil {
		final.Err = errors.New(firstOf(errText, "the line has no result"))
		first.Err = final.Err
		return final, first
	}
	final.Answer, final.Usage, final.Cost, final.CostKnown = res.Answer, res.Usage, res.Cost, res.CostKnown
	score := res.Score
	final.Score = &score
	if len(res.Attempts) > 0 {
		final.DraftAnswer = res.Attempts[0].Answer
		if v := res.Attempts[0].Verdict; v != nil {
			d := v.Score
			final.DraftScore = &d
		}
		first.Answer = res.Attempts[0].Answer
	} else {
		first.Err = errors.New("the run has no first draft")
	}
	first.Usage, first.Cost = draft.Usage, draft.Cost
	if errText != "" {
		final.Err = errors.New(errText)
	}
	return final, first
}

// readResultLines reads a results file in order, for compare: unlike
// resuming, which keeps the last line of an id, it refuses an id given
// twice, since which answer to judge would be a guess.
func readResultLines(path string) ([]*resultLine, error) {
	var out []*resultLine
	first := map[string]int{}
	err := eachResult(path, func(n int, l *resultLine) error {
		if l.ID == "" {
			return fmt.Errorf("%s:%d: a line with no id; want the results of refine batch or refine eval", path, n)
		}
		if m, dup := first[l.ID]; dup {
			return fmt.Errorf("%s:%d: id %q is already on line %d; each task may have one line (concatenated runs?)", path, n, l.ID, m)
		}
		first[l.ID] = n
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results", path)
	}
	return out, nil
}

// comparison is one comparison of two sides and its report.
type comparison struct {
	Title  string // "refined vs first draft"
	Report *eval.Report
	// Flip counts wins and losses for B, the side the title names first
	// (compare's candidate; the report's A is the baseline, as
	// Report.Worse wants).
	Flip bool
	// Missing lists the ids in one results file only (compare).
	Missing []string
}

// comparisonsOut is what eval and compare report of their comparisons.
type comparisonsOut struct {
	Comparisons  []comparison
	SameJudge    string // why the comparison judge overstates the gain, or ""
	CompareModel string
	Judge        judgeTotals
	// Batch is what batch pricing saved over every call (--batch-api),
	// nil when no reply came from a batch; Prices says --prices was given.
	Batch  *saving
	Prices bool
}

// BatchText says what batch pricing saved, for the report.
func (o comparisonsOut) BatchText() string { return o.Batch.text(o.Prices) }

// judgeTotals is what the comparison judge's calls spent, failed ones
// included.
type judgeTotals struct {
	Tokens    int     `json:"tokens"`
	Cost      float64 `json:"cost_usd"`
	CostKnown bool    `json:"cost_known"`
	// CostUpperBound: some batched reply was priced on demand, for want
	// of a batch price.
	CostUpperBound bool `json:"cost_upper_bound,omitempty"`
}

// judgeSpend prices the comparison judge's calls as they are made, by the
// model each response names (a failed call's tokens, from
// refine.UsageOf, as the model it was sent to).
//
// It counts the tokens too, rather than trusting Report.UsageJudge: a
// comparison whose one order failed after the other succeeded reports
// only the failed order's tokens in its error, and both were spent.
type judgeSpend struct {
	mu    sync.Mutex
	usage refine.Usage
	cost  float64
	known bool
	upper bool
	batch saving // of the replies that came from a batch
}

func (j *judgeSpend) snapshot() judgeTotals {
	j.mu.Lock()
	defer j.mu.Unlock()
	return judgeTotals{Tokens: j.usage.Total(), Cost: j.cost, CostKnown: j.known, CostUpperBound: j.upper}
}

// saving is what batch pricing saved on the judge's calls.
func (j *judgeSpend) saving() *saving {
	j.mu.Lock()
	defer j.mu.Unlock()
	sv := j.batch
	return &sv
}

// comparisonJudge is the pairwise judge of eval and compare, calling
// through the session's shared provider (so the call limit holds for it)
// and pricing every call in spend.
func (s *session) comparisonJudge(spend *judgeSpend) *refine.PairwiseJudge {
	p := s.pairwiseP
	priced := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		resp, err := p.Complete(ctx, req)
		u, model := refine.UsageOf(err), modelName(p)
		if err == nil && resp != nil {
			u, model = resp.Usage, resp.Model
		}
		if u == (refine.Usage{}) {
			return resp, err
		}
		var c float64
		var ok, upper bool
		if err == nil && resp != nil {
			c, ok, upper = s.replyCost(resp)
		} else {
			c, ok = s.cost(model, u) // a failed call: no batch said it was batched
		}
		spend.mu.Lock()
		spend.usage, spend.cost, spend.known = spend.usage.Add(u), spend.cost+c, spend.known && ok
		spend.upper = spend.upper || upper
		if err == nil {
			spend.batch.add(s, resp)
		}
		spend.mu.Unlock()
		return resp, err
	})
	return refine.NewPairwiseJudge(priced)
}

// scrubReport removes the configured credentials from the report's error
// texts: a server may echo one into an error.
func (a *app) scrubReport(r *eval.Report) {
	scrubErr := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(a.scrub(err.Error()))
	}
	for i := range r.Results {
		res := &r.Results[i]
		res.RejudgeError = a.scrub(res.RejudgeError)
		for k := range res.Trials {
			tr := &res.Trials[k]
			tr.Error = a.scrub(tr.Error)
			tr.A.Err, tr.B.Err = scrubErr(tr.A.Err), scrubErr(tr.B.Err)
		}
	}
}

// writeText prints each comparison: the counts, the verdict in words and,
// next to it, why the judge overstates the gain, then the intervals.
func (o *comparisonsOut) writeText(w io.Writer) {
	for _, c := range o.Comparisons {
		r := c.Report
		wins, losses := r.WinsA, r.WinsB
		if c.Flip {
			wins, losses = losses, wins
		}
		fmt.Fprintf(w, "%s: %d wins, %d ties, %d losses (of %d compared), %d failed\n",
			c.Title, wins, r.Ties, losses, r.Compared, r.Failed)
		fmt.Fprintf(w, "  verdict: %s\n", r.Verdict())
		if o.SameJudge != "" {
			fmt.Fprintf(w, "  WARNING: %s\n", o.SameJudge)
		}
		conf := fmtPct(r.Confidence)
		fmt.Fprintf(w, "  %s's win rate over decisive comparisons: %s, %s interval %s; sign test p = %.3g\n",
			r.A, fmtPct(r.WinRateA.Estimate), conf, fmtRange(r.WinRateA, fmtPct), r.P)
		if r.GainA != nil {
			fmt.Fprintf(w, "  %s's mean score gain over its first draft (by the loop's own judge): %s, interval %s\n",
				r.A, fmtGain(r.GainA.Estimate), fmtRange(*r.GainA, fmtGain))
		}
		if r.TokenRatio != nil {
			fmt.Fprintf(w, "  tokens: %s spends %s what %s does, interval %s\n", r.A, fmtRatio(r.TokenRatio.Estimate), r.B, fmtRange(*r.TokenRatio, fmtRatio))
		}
		if r.CostRatio != nil {
			fmt.Fprintf(w, "  cost: %s costs %s what %s does, interval %s\n", r.A, fmtRatio(r.CostRatio.Estimate), r.B, fmtRange(*r.CostRatio, fmtRatio))
		}
		if r.CostKnown {
			fmt.Fprintf(w, "  cost per win: %s %s, %s %s\n", r.A, costPerWin(r.CostA, r.WinsA), r.B, costPerWin(r.CostB, r.WinsB))
		}
		if r.Repeat > 1 {
			fmt.Fprintf(w, "  trials agree with their task's outcome %s of the time", fmtPct(r.TrialAgreement))
			if r.JudgeAgreement != nil {
				fmt.Fprintf(w, "; the judge repeats its own verdict %s", fmtPct(r.JudgeAgreement.Estimate))
			}
			fmt.Fprintln(w)
		}
		for _, m := range c.Missing {
			fmt.Fprintf(w, "  failed: %s\n", m)
		}
	}
	cost := "cost unknown (no --prices)"
	if o.Judge.CostKnown {
		cost = fmt.Sprintf("$%.4f", o.Judge.Cost)
		if o.Judge.CostUpperBound {
			cost += " (an upper bound: no batch price)"
		}
	}
	fmt.Fprintf(w, "comparison judge: %s; %s tokens, %s\n", firstOf(o.CompareModel, "(the configured model)"), count(o.Judge.Tokens), cost)
	if t := o.BatchText(); t != "" {
		fmt.Fprintf(w, "%s (runs and comparisons)\n", t)
	}
}

// writeJSON prints the comparisons as one line: the first comparison's
// eval.Report at the top level (wins_a, win_rate_a.low, p, failed, ...)
// with its verdict, the others under their key, and extra.
func (o *comparisonsOut) writeJSON(w io.Writer, extra map[string]any) error {
	top, err := reportFields(o.Comparisons[0])
	if err != nil {
		return err
	}
	for _, c := range o.Comparisons[1:] {
		f, err := reportFields(c)
		if err != nil {
			return err
		}
		top["vs_baseline"] = f
	}
	top["event"] = "report"
	top["same_judge"] = o.SameJudge
	top["compare_model"] = o.CompareModel
	top["judge"] = o.Judge
	if o.Batch != nil && o.Batch.Replies > 0 {
		top["batch"] = o.Batch
	}
	for k, v := range extra {
		top[k] = v
	}
	return json.NewEncoder(w).Encode(top)
}

func reportFields(c comparison) (map[string]any, error) {
	data, err := json.Marshal(c.Report)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	m["verdict"] = c.Report.Verdict()
	m["worse"] = c.Report.Worse()
	m["missing"] = c.Missing
	if m["missing"] == nil {
		m["missing"] = []string{}
	}
	return m, nil
}

// fmtPct is a share as a percentage with one decimal, none when it is 0.
func fmtPct(x float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", 100*x), ".0") + "%"
}
func fmtGain(x float64) string {
	return fmt.Sprintf("%+.2f", x)
}
func fmtRatio(x float64) string { return fmt.Sprintf("%.2f×", x) }

// fmtRange is an interval's bounds as "[low, high]".
func fmtRange(i eval.Interval, f func(float64) string) string {
	return "[" + f(i.Low) + ", " + f(i.High) + "]"
}

func costPerWin(cost float64, wins int) string {
	if wins == 0 {
		return "– (no win)"
	}
	return fmt.Sprintf("$%.5f", cost/float64(wins))
}

// wroteBy are the models that answered some line's calls.
func wroteBy(lines map[string]*resultLine) []string {
	set := map[string]bool{}
	for _, l := range lines {
		for _, m := range l.Models {
			set[m] = true
		}
	}
	return sortedKeys(set)
}
