// Command refine runs the self-refinement loop of
// github.com/selfrefine/refine from the shell: on one question (ask), on a
// file of questions with resume (batch), and as an evaluation of whether
// refinement beats the first draft on your task (eval).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/selfrefine/refine"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1   // a run or some tasks failed
	exitUsage       = 2   // bad flags, configuration or input: no model was called
	exitInterrupted = 130 // Ctrl-C (128 + SIGINT, as shells report it)
)

// usageError marks an error found before any model call: bad flags, no
// provider, unreadable input.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitError carries the exit code of a command that already reported why.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, progressEvery: 10 * time.Second}
	return a.main(ctx, args)
}

// main runs the command as the process does: SIGINT and SIGTERM end ctx.
// The first one stops the work and saves what it has (nothing the command
// waits on ignores it: see openCtx and readCtx); restoring the default
// behaviour then lets a second one end the process at once.
func (a *app) main(ctx context.Context, args []string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }()
	return a.run(ctx, args)
}

// app is the command line without the process: tests set its hooks.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// Hooks for tests and benchmarks.
	models        *models              // replaces setupModels when set
	afterWrite    func(n int)          // called after the n-th result line of a run was written
	progressEvery time.Duration        // plain progress lines; <= 0: only the last
	terminal      func(io.Writer) bool // nil: golang.org/x/term on *os.File
	waiting       func(what string)    // called when opening a FIFO starts to wait for its other end

	// secrets are the configured credentials, once the models are set
	// up: scrub removes them from what the command prints and writes.
	secrets []string
}

// scrub replaces every configured credential in s. The adapters scrub
// their own errors; this is the command's own guarantee, for a server
// that echoes a credential in a way they do not know.
func (a *app) scrub(s string) string {
	for _, sec := range a.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}

// flags are the options every subcommand takes.
type flags struct {
	provider, model, judgeModel string
	threshold                   float64
	maxIterations, candidates   int
	temperature, topP           float64
	maxTokens, history          int
	system                      string
	prices                      string
	json                        bool
	retries                     int
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if msg := a.scrub(err.Error()); strings.HasPrefix(msg, "refine:") {
		fmt.Fprintln(a.stderr, msg) // the library's errors name it already
	} else {
		fmt.Fprintln(a.stderr, "refine:", msg)
	}
	var ue usageError
	switch {
	case errors.As(err, &ue) || errors.Is(err, refine.ErrInvalidOption) || errors.Is(err, refine.ErrEmptyQuery) || isCobraUsage(err):
		if cmd != nil && !errors.As(err, &ue) {
			fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailed
}

// isCobraUsage tells cobra's own complaints (unknown command, missing
// argument) from a failed run; cobra has no error types for them.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}

func (a *app) rootCommand() *cobra.Command {
	f := &flags{}
	root := &cobra.Command{
		Use:   "refine",
		Short: "Draft, judge and refine answers with an LLM",
		Long: `refine runs the self-refinement loop: a model drafts an answer, a judge scores and
critiques it, the model refines it, until the score reaches --threshold or the rounds run out.

The model comes from --provider or the environment (OPENAI_API_KEY, OPENAI_BASE_URL,
BEDROCK_MODEL_ID / AWS credentials); --provider demo is an offline simulated model.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&f.provider, "provider", "", "openai, bedrock, ollama or demo (default: from the environment)")
	pf.StringVar(&f.model, "model", "", "model that writes the answers (default: the provider's)")
	pf.StringVar(&f.judgeModel, "judge-model", "", "a separate model for the judge (default: --model)")
	pf.Float64Var(&f.threshold, "threshold", refine.DefaultThreshold, "stop once an answer scores at least this (0-10)")
	pf.IntVar(&f.maxIterations, "max-iterations", refine.DefaultMaxIterations, "refinement rounds after the first draft")
	pf.IntVar(&f.candidates, "candidates", 1, "first drafts written in parallel; the loop goes on from the best")
	pf.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (default: the provider's)")
	pf.Float64Var(&f.topP, "top-p", 0, "nucleus sampling (default: the provider's)")
	pf.IntVar(&f.maxTokens, "max-tokens", 0, "cap on the tokens of each answer (default: the provider's)")
	pf.IntVar(&f.history, "history", 1, "earlier attempts shown to the model when it refines")
	pf.StringVar(&f.system, "system", "", "system prompt for the answers (default: refine's)")
	pf.StringVar(&f.prices, "prices", "", "model prices, LiteLLM's model_prices_and_context_window.json format, to report costs")
	pf.IntVar(&f.retries, "retries", 0, "retries of a failed call on rate limits and outages (default 3; -1: none)")
	pf.BoolVar(&f.json, "json", false, "machine-readable JSON output")

	root.AddCommand(a.askCommand(f), a.batchCommand(f), a.evalCommand(f))
	return root
}

// loopOptions turns the flags into Loop options; refine.New validates
// them, so a bad value is reported as refine words it.
func (f *flags) loopOptions(cmd *cobra.Command) ([]refine.Option, error) {
	opts := []refine.Option{
		refine.WithThreshold(f.threshold),
		refine.WithMaxIterations(f.maxIterations),
		refine.WithCandidates(f.candidates),
		refine.WithHistory(f.history),
	}
	changed := cmd.Flags().Changed
	if changed("temperature") {
		opts = append(opts, refine.WithTemperature(f.temperature))
	}
	if changed("top-p") {
		opts = append(opts, refine.WithTopP(f.topP))
	}
	if changed("max-tokens") {
		opts = append(opts, refine.WithMaxTokens(f.maxTokens))
	}
	if changed("system") {
		opts = append(opts, refine.WithSystemPrompt(f.system))
	}
	if f.prices != "" {
		prices, err := loadPrices(f.prices)
		if err != nil {
			return nil, usageError{err}
		}
		opts = append(opts, refine.WithPrices(prices))
	}
	return opts, nil
}

func loadPrices(path string) (map[string]refine.Price, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--prices: %w", err)
	}
	defer file.Close()
	prices, err := refine.LoadPrices(file)
	if err != nil {
		return nil, fmt.Errorf("--prices %s: %w", path, err)
	}
	return prices, nil
}

// session is what a command runs with: one Loop, built once and shared by
// every worker, over one provider per model. Because all runs call through
// the same adapter, which retries (see retryPolicy), a Retry-After from the
// service pauses every worker; LimitProvider caps the calls in flight.
type session struct {
	models *models
	loop   *refine.Loop
	gen    refine.Provider // wrapped
	judge  refine.Provider // wrapped; the one the judges call
	// pairwiseP is the wrapped provider eval's pairwise judges call.
	pairwiseP refine.Provider
	prices    map[string]refine.Price
}

func (a *app) newSession(cmd *cobra.Command, f *flags, limit int) (*session, error) {
	opts, err := f.loopOptions(cmd)
	if err != nil {
		return nil, err
	}
	// Validate the options before touching the environment, so that a bad
	// flag is reported as such even where no model is configured.
	if _, err := refine.New(opts...); err != nil {
		return nil, usageError{err}
	}
	m, err := a.setupModels(cmd.Context(), f)
	if err != nil {
		return nil, err
	}
	a.secrets = m.secrets
	wrap := func(p refine.Provider) refine.Provider {
		if limit > 0 {
			p = refine.LimitProvider(p, limit)
		}
		return record(p)
	}
	s := &session{models: m, gen: wrap(m.gen)}
	s.judge = s.gen
	opts = append(opts, refine.WithProvider(s.gen))
	if m.judge != nil {
		s.judge = wrap(m.judge)
		opts = append(opts, refine.WithJudgeProvider(s.judge))
	}
	s.pairwiseP = s.judge
	if m.pairwise != nil {
		s.pairwiseP = wrap(m.pairwise)
	}
	if f.prices != "" {
		s.prices, _ = loadPrices(f.prices) // read fine a moment ago
	}
	if s.loop, err = refine.New(opts...); err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// taskOptions are the per-run options of a task: a judge that knows the
// reference answer, calling through the session's shared judge provider.
func (s *session) taskOptions(reference string) []refine.Option {
	if reference == "" {
		return nil
	}
	return []refine.Option{refine.WithJudge(refine.NewLLMJudge(s.judge, refine.WithReference(reference)))}
}

// cost is what u cost on model, and whether its price is known, by the
// same model-id rules as the Loop's.
func (s *session) cost(model string, u refine.Usage) (float64, bool) {
	if s.prices == nil {
		return 0, false
	}
	return refine.Cost(s.prices, model, u)
}

// requested are the models the session's providers were built for, as
// they name them (a Model() string method; the adapters and wrappers have
// one).
func (m *models) requested() []string {
	set := map[string]bool{}
	for _, p := range []refine.Provider{m.gen, m.judge, m.pairwise} {
		if named, ok := p.(interface{ Model() string }); ok && named.Model() != "" {
			set[named.Model()] = true
		}
	}
	return sortedKeys(set)
}

// answered collects the models that answered a run's calls, as the server
// named them (Response.Model).
type answered struct {
	mu     sync.Mutex
	models map[string]bool
}

func (r *answered) add(model string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models == nil {
		r.models = map[string]bool{}
	}
	r.models[model] = true
}

func (r *answered) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sortedKeys(r.models)
}

// answeredKey is the context key of the *answered a task's calls are
// recorded in.
type answeredKey struct{}

// recording returns ctx with r collecting the models of the calls made
// under it, through the session's providers.
func (r *answered) recording(ctx context.Context) context.Context {
	return context.WithValue(ctx, answeredKey{}, r)
}

func recordAnswer(ctx context.Context, resp *refine.Response) {
	if r, ok := ctx.Value(answeredKey{}).(*answered); ok && resp != nil {
		r.add(resp.Model)
	}
}

// recorder notes which model answered each call in the context's
// *answered. It is transparent: it has the Model, Unwrap and (when p has
// it) Stream methods of p, so wrapping changes neither what the Loop
// finds through it nor whether answers stream.
type recorder struct{ p refine.Provider }

func (r *recorder) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	resp, err := r.p.Complete(ctx, req)
	if err == nil {
		recordAnswer(ctx, resp)
	}
	return resp, err
}

func (r *recorder) Model() string           { return modelName(r.p) }
func (r *recorder) Unwrap() refine.Provider { return r.p }

type streamRecorder struct {
	*recorder
	sp refine.StreamProvider
}

func (r *streamRecorder) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	resp, err := r.sp.Stream(ctx, req, delta)
	if err == nil {
		recordAnswer(ctx, resp)
	}
	return resp, err
}

func record(p refine.Provider) refine.Provider {
	r := &recorder{p}
	if sp, ok := p.(refine.StreamProvider); ok {
		return &streamRecorder{r, sp}
	}
	return r
}

func (a *app) isTerminal(w io.Writer) bool {
	if a.terminal != nil {
		return a.terminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
