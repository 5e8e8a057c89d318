package main

import (
	"context"
	"encoding/json"
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
)

// evalOutcome is what eval adds to a task's line: the pairwise verdict of
// the returned answer against the first draft, and what one call (the
// first draft alone) cost, to weigh the loop against.
type evalOutcome struct {
	// Winner is "refined", "draft" or "tie" (identical answers, or a
	// split decision between the two orders).
	Winner       string       `json:"winner"`
	Orders       [2]string    `json:"orders,omitempty"`       // per order, mapped back: "refined", "draft" or "tie"
	Explanations [2]string    `json:"explanations,omitempty"` // the pairwise judge's reasons, per order
	Usage        refine.Usage `json:"usage"`                  // the comparison's calls
	Cost         float64      `json:"cost,omitempty"`
	CostKnown    bool         `json:"cost_known,omitempty"`
	// SingleCall is the first draft's generation alone: what answering
	// without refine would have spent.
	SingleCall struct {
		Usage     refine.Usage `json:"usage"`
		Cost      float64      `json:"cost,omitempty"`
		CostKnown bool         `json:"cost_known,omitempty"`
	} `json:"single_call"`
	Error string `json:"error,omitempty"`
}

func (a *app) evalCommand(f *flags) *cobra.Command {
	b := &batchFlags{}
	var report string
	cmd := &cobra.Command{
		Use:   "eval --in tasks.jsonl --report report.html",
		Short: "Measure whether refinement beats the first draft on your tasks",
		Long: `eval runs the loop on every task, then has a pairwise judge compare the returned answer
with the first draft, in both orders (a split decision is a tie). It writes the results as
JSON Lines (--out, resumable as in batch) and a self-contained HTML report: win/tie/loss,
mean score by round, regressions, tokens and cost against a single call, stop reasons and
the worst cases side by side.`,
		Example: `  refine eval --provider demo --in sample/tasks.jsonl --report report.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if report == "" {
				return usageError{errors.New("--report is required")}
			}
			out := outPath{flag: "--out", path: b.out}
			if out.path == "" {
				out.path = strings.TrimSuffix(report, filepath.Ext(report)) + ".jsonl"
				out.derived = "the default: --report's name with .jsonl"
			}
			run, berr := a.batch(cmd, f, b, evalTask, out, outPath{flag: "--report", path: report})
			var ee exitError
			if berr != nil && !(errors.As(berr, &ee) && ee.code == exitFailed) {
				return berr // interrupted or unusable: no report of a partial run
			}
			if err := a.writeEvalReport(f, b, run, out.path, report); err != nil {
				return err
			}
			return berr
		},
	}
	b.register(cmd, "results file (default: the report's name with .jsonl)")
	cmd.Flags().StringVar(&report, "report", "", "HTML report to write (required)")
	return cmd
}

// evalTask runs the loop, then compares its answer with the first draft.
// Every call is counted, a failed comparison's included: its tokens were
// spent, and the results must say so.
func evalTask(ctx context.Context, s *session, t task) *resultLine {
	var mu sync.Mutex
	var seen answered
	out := &evalOutcome{CostKnown: s.prices != nil}
	out.SingleCall.CostKnown = s.prices != nil
	ctx = seen.recording(ctx)
	observe := refine.WithObserver(func(_ context.Context, e refine.Event) {
		if e.Kind == refine.EventCall && e.Round == 0 && e.Candidate == 0 && e.Stage == "draft" && e.Response != nil {
			c, ok := s.cost(e.Response.Model, e.Response.Usage)
			mu.Lock()
			out.SingleCall.Usage = out.SingleCall.Usage.Add(e.Response.Usage)
			out.SingleCall.Cost += c
			out.SingleCall.CostKnown = out.SingleCall.CostKnown && ok
			mu.Unlock()
		}
	})
	res, err := s.loop.Run(ctx, t.Query, append(s.taskOptions(t.Reference), observe)...)
	l := &resultLine{ID: t.ID, Result: res, Eval: out}
	defer func() { l.Models = seen.list() }()
	if err != nil {
		l.Error = err.Error()
		return l
	}
	// The comparison calls through the session's shared provider, so the
	// Retry-After pause and the call limit hold for it too; this wrapper
	// only counts and prices what each call spent. A failed call's tokens
	// come from its error (refine.UsageOf), priced as the model it was
	// sent to.
	var (
		spent refine.Usage
		cost  float64
		known = s.prices != nil
	)
	priced := refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		resp, err := s.pairwiseP.Complete(ctx, req)
		var u refine.Usage
		model := modelName(s.pairwiseP)
		if err == nil && resp != nil {
			u, model = resp.Usage, resp.Model
		} else {
			u = refine.UsageOf(err)
		}
		if u == (refine.Usage{}) {
			return resp, err
		}
		c, ok := s.cost(model, u)
		mu.Lock()
		spent, cost, known = spent.Add(u), cost+c, known && ok
		mu.Unlock()
		return resp, err
	})
	var jopts []refine.JudgeOption
	if t.Reference != "" {
		jopts = append(jopts, refine.WithReference(t.Reference))
	}
	// A is the refined answer, B the first draft.
	c, err := refine.NewPairwiseJudge(priced, jopts...).Compare(ctx, t.Query, res.Answer, res.Attempts[0].Answer)
	mu.Lock()
	defer mu.Unlock()
	out.Usage, out.Cost, out.CostKnown = spent, cost, known
	if err != nil {
		out.Error = err.Error()
		l.Error = "comparing with the first draft: " + err.Error()
		return l
	}
	name := map[string]string{refine.WinnerA: "refined", refine.WinnerB: "draft", refine.Tie: "tie"}
	out.Winner = name[c.Winner]
	out.Orders = [2]string{name[c.Orders[0]], name[c.Orders[1]]}
	out.Explanations = c.Explanations
	return l
}

// modelName is the model p names, if it names one.
func modelName(p refine.Provider) string {
	if named, ok := p.(interface{ Model() string }); ok {
		return named.Model()
	}
	return ""
}

// evalStats is what the report shows.
type evalStats struct {
	Model string `json:"model"` // what was requested, as the user configured it
	// Answered names the models that answered, as the servers reported
	// them, when they differ from the requested ones.
	Answered  string    `json:"answered_by,omitempty"`
	answered  []string  // every model that answered, sorted
	Simulated bool      `json:"simulated"`
	Generated time.Time `json:"generated"`
	Options   string    `json:"options"`

	Tasks       int         `json:"tasks"`  // in the input (this shard)
	Judged      int         `json:"judged"` // with a comparison
	Failed      int         `json:"failed"`
	Wins        int         `json:"wins"` // refined better
	Ties        int         `json:"ties"`
	Losses      int         `json:"losses"` // first draft better
	Rounds      []roundStat `json:"rounds"`
	Regressed   int         `json:"regressed"` // runs where a refinement scored below the attempt before it
	Refined     int         `json:"refined"`   // runs with at least one refinement
	StopReasons []countOf   `json:"stop_reasons"`
	// Means per compared task: the loop's tokens and cost, and those of a
	// single call (the first draft alone).
	Tokens       float64     `json:"mean_tokens"`
	SingleTokens float64     `json:"mean_single_call_tokens"`
	Cost         float64     `json:"mean_cost_usd"`
	SingleCost   float64     `json:"mean_single_call_cost_usd"`
	CostKnown    bool        `json:"cost_known"`
	Worst        []worstCase `json:"-"`
	Failures     []countOf   `json:"failures"` // error messages, grouped
}

type roundStat struct {
	Round int     `json:"round"`
	N     int     `json:"runs"`
	Mean  float64 `json:"mean"`
	SD    float64 `json:"sd"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

type countOf struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type worstCase struct {
	ID, Query               string
	Winner                  string
	DraftScore, FinalScore  float64
	Draft, Final            string
	DraftRound, FinalRound  int
	Explanation, StopReason string
}

// computeStats summarises the result lines of tasks.
func computeStats(tasks []task, lines map[string]*resultLine, costKnown bool) *evalStats {
	st := &evalStats{Tasks: len(tasks), CostKnown: costKnown}
	models := map[string]bool{}
	byRound := map[int][]float64{}
	stops := map[string]int{}
	fails := map[string]int{}
	type scored struct {
		t task
		l *resultLine
	}
	var judged []scored
	for _, t := range tasks {
		l := lines[t.ID]
		if l == nil {
			continue
		}
		if l.Error != "" {
			st.Failed++
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
		if l.Eval == nil || l.Eval.Winner == "" {
			continue
		}
		judged = append(judged, scored{t, l})
		switch l.Eval.Winner {
		case "refined":
			st.Wins++
		case "draft":
			st.Losses++
		default:
			st.Ties++
		}
		st.Tokens += float64(r.Usage.Total())
		st.SingleTokens += float64(l.Eval.SingleCall.Usage.Total())
		st.Cost += r.Cost
		st.SingleCost += l.Eval.SingleCall.Cost
		st.CostKnown = st.CostKnown && r.CostKnown && l.Eval.SingleCall.CostKnown
	}
	st.answered = sortedKeys(models)
	st.Judged = len(judged)
	if st.Judged > 0 {
		n := float64(st.Judged)
		st.Tokens, st.SingleTokens, st.Cost, st.SingleCost = st.Tokens/n, st.SingleTokens/n, st.Cost/n, st.SingleCost/n
	}
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
		if d := rank[x.l.Eval.Winner] - rank[y.l.Eval.Winner]; d != 0 {
			return d
		}
		return cmpFloat(x.l.Result.Score, y.l.Result.Score)
	})
	for _, j := range judged[:min(5, len(judged))] {
		r := j.l.Result
		d := r.Attempts[0]
		w := worstCase{ID: j.t.ID, Query: j.t.Query, Winner: j.l.Eval.Winner,
			FinalScore: r.Score, Draft: d.Answer, Final: r.Answer,
			FinalRound: r.Attempts[r.Best].Round, StopReason: string(r.StopReason),
			Explanation: strings.TrimSpace(j.l.Eval.Explanations[0])}
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

// writeEvalReport writes the report of run: the tasks it read (the input
// is not read again: stdin has no second reading) and their result lines,
// read back from a regular results file (earlier, resumed runs included)
// or, for an output that cannot be read back (a pipe, /dev/null), this
// run's.
func (a *app) writeEvalReport(f *flags, b *batchFlags, run *batchRun, outPath, path string) error {
	sh, _ := parseShard(b.shard)
	tasks := slices.DeleteFunc(slices.Clone(run.tasks), func(t task) bool { return !sh.has(t.ID) })
	lines := run.out.lines
	if lines == nil {
		var err error
		if lines, err = readResults(outPath); err != nil {
			return err
		}
	}
	m := run.s.models
	st := computeStats(tasks, lines, f.prices != "")
	st.Model, st.Simulated, st.Generated = m.label, m.simulated, time.Now().UTC()
	st.Answered = answeredText(st.answered, m.requested())
	for i := range st.Failures {
		st.Failures[i].Name = a.scrub(st.Failures[i].Name)
	}
	st.Options = fmt.Sprintf("threshold %s, max iterations %d, candidates %d, history %d",
		fmtScore(f.threshold), f.maxIterations, f.candidates, f.history)
	html, err := renderReport(st)
	if err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	if err := os.WriteFile(path, html, 0o644); err != nil {
		return err
	}
	if f.json {
		// One line, after the progress lines: the output stays JSON Lines.
		return json.NewEncoder(a.stdout).Encode(map[string]any{"event": "report", "report": path, "results": outPath, "stats": st})
	}
	fmt.Fprintf(a.stdout, "\nrefined vs first draft: %d wins, %d ties, %d losses (of %d compared)\n", st.Wins, st.Ties, st.Losses, st.Judged)
	fmt.Fprintf(a.stdout, "report: %s\nresults: %s\n", path, outPath)
	return nil
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
