package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/selfrefine/refine/eval"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"score": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"pct":   fmtPct,
	"gain":  fmtGain,
	"ratio": fmtRatio,
	"usd":   func(f float64) string { return fmt.Sprintf("$%.5f", f) },
	"num":   func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"pctRange": func(i eval.Interval) string {
		return fmtRange(i, fmtPct)
	},
	"gainRange":  func(i eval.Interval) string { return fmtRange(i, fmtGain) },
	"ratioRange": func(i eval.Interval) string { return fmtRange(i, fmtRatio) },
	"scoreRange": func(low, high float64) string { return fmt.Sprintf("[%.1f, %.1f]", low, high) },
	"numRange":   func(m meanCI) string { return fmt.Sprintf("[%.0f, %.0f]", m.Low, m.High) },
	"usdRange":   func(m meanCI) string { return fmt.Sprintf("[$%.5f, $%.5f]", m.Low, m.High) },
	"perWin":     costPerWin,
	"p":          func(p float64) string { return fmt.Sprintf("%.3g", p) },
	"bShare": func(i eval.Interval) eval.Interval {
		return eval.Interval{Estimate: 1 - i.Estimate, Low: 1 - i.High, High: 1 - i.Low}
	},
	"failedTasks": failedTasks,
	"arms":        armsOf,
}).Parse(reportTemplate))

// reportData is the template's input: the statistics and the charts.
type reportData struct {
	*evalStats
	Charts []chart
}

type chart struct {
	Title, Caption string
	SVG            template.HTML // drawn here from numbers and fixed labels only
}

// renderReport writes the self-contained HTML report: CSS inline, charts
// as inline SVG, no script and nothing fetched. Answers, queries and
// errors are untrusted text, escaped by html/template.
func renderReport(st *evalStats) ([]byte, error) {
	d := reportData{evalStats: st}
	for _, c := range st.Comparisons {
		ch, err := outcomeChart(c)
		if err != nil {
			return nil, err
		}
		if ch.SVG != "" {
			d.Charts = append(d.Charts, ch)
		}
	}
	for _, mk := range []func(*evalStats) (chart, error){tokenChart, roundChart, stopChart} {
		c, err := mk(st)
		if err != nil {
			return nil, err
		}
		if c.SVG != "" {
			d.Charts = append(d.Charts, c)
		}
	}
	var buf bytes.Buffer
	if err := reportTmpl.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var (
	green = color.RGBA{0x2e, 0x9e, 0x5b, 0xff}
	grey  = color.RGBA{0x9a, 0xa5, 0xb1, 0xff}
	red   = color.RGBA{0xd6, 0x45, 0x45, 0xff}
	blue  = color.RGBA{0x35, 0x6d, 0xc4, 0xff}
	dark  = color.RGBA{0x1f, 0x23, 0x28, 0xff}
)

// errXYs are points with asymmetric vertical error bars.
type errXYs []struct{ x, y, low, high float64 }

func (e errXYs) Len() int                        { return len(e) }
func (e errXYs) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errXYs) YError(i int) (float64, float64) { return e[i].y - e[i].low, e[i].high - e[i].y }

// bars draws one bar per value at x = 0, 1, ... with its interval as an
// error bar.
func bars(p *plot.Plot, vals []eval.Interval, cols []color.Color, width vg.Length) error {
	var eb errXYs
	for i, v := range vals {
		bc, err := plotter.NewBarChart(plotter.Values{v.Estimate}, width)
		if err != nil {
			return err
		}
		bc.XMin = float64(i)
		bc.Color, bc.LineStyle.Width = cols[i%len(cols)], 0
		p.Add(bc)
		eb = append(eb, struct{ x, y, low, high float64 }{float64(i), v.Estimate, v.Low, v.High})
	}
	e, err := plotter.NewYErrorBars(eb)
	if err != nil {
		return err
	}
	e.Color, e.Width, e.CapWidth = dark, vg.Points(1.4), vg.Points(10)
	p.Add(e)
	return nil
}

// outcomeChart is each side's share of the decisive comparisons with its
// Wilson interval, the line at 50% being "as good as each other".
func outcomeChart(c comparison) (chart, error) {
	r := c.Report
	ch := chart{Title: "Win rate: " + c.Title,
		Caption: fmt.Sprintf("Share of the %d decisive comparisons (ties left out) each side won; bars: %s Wilson interval. The dashed line is 50%%: where the interval crosses it, the tasks cannot tell the two apart. %d ties, %d failed.",
			r.WinsA+r.WinsB, fmtPct(r.Confidence), r.Ties, r.Failed)}
	if r.WinsA+r.WinsB == 0 {
		return ch, nil
	}
	p := newPlot("", "share of decisive comparisons")
	b := eval.Interval{Estimate: 1 - r.WinRateA.Estimate, Low: 1 - r.WinRateA.High, High: 1 - r.WinRateA.Low}
	if err := bars(p, []eval.Interval{r.WinRateA, b}, []color.Color{green, red}, vg.Points(60)); err != nil {
		return ch, err
	}
	half, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0.5}, {X: 1.5, Y: 0.5}})
	if err != nil {
		return ch, err
	}
	half.Color, half.Dashes = grey, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(half)
	p.NominalX(r.A+" better", r.B+" better")
	p.Y.Min, p.Y.Max = 0, 1
	return ch, ch.draw(p)
}

// meanCI is a mean with its 95% interval (normal approximation: mean ±
// 1.96 standard errors), for tokens and dollars per task.
type meanCI struct{ Mean, Low, High float64 }

func meanOf(xs []float64) meanCI {
	if len(xs) == 0 {
		return meanCI{}
	}
	var m, ss float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	half := 0.0
	if len(xs) > 1 {
		half = 1.96 * math.Sqrt(ss/float64(len(xs)-1)/float64(len(xs)))
	}
	return meanCI{m, math.Max(0, m-half), m + half}
}

// arm is one side of a comparison, as the side-by-side table shows it.
type arm struct {
	Name        string
	Wins        int
	Share       eval.Interval // of the decisive comparisons
	Tokens      meanCI        // per task, failed tasks included
	Cost        meanCI
	CostKnown   bool
	TotalCost   float64
	Gain        *eval.Interval
	TotalTokens int
}

// armsOf is both sides of a comparison with their per-task means.
func armsOf(c comparison) []arm {
	r := c.Report
	var tokA, tokB, usdA, usdB []float64
	for _, t := range r.Results {
		tokA, tokB = append(tokA, float64(t.UsageA.Total())), append(tokB, float64(t.UsageB.Total()))
		usdA, usdB = append(usdA, t.CostA), append(usdB, t.CostB)
	}
	return []arm{
		{Name: r.A, Wins: r.WinsA, Share: r.WinRateA, Tokens: meanOf(tokA), Cost: meanOf(usdA), CostKnown: r.CostKnown,
			TotalCost: r.CostA, Gain: r.GainA, TotalTokens: r.UsageA.Total()},
		{Name: r.B, Wins: r.WinsB, Share: eval.Interval{Estimate: 1 - r.WinRateA.Estimate, Low: 1 - r.WinRateA.High, High: 1 - r.WinRateA.Low},
			Tokens: meanOf(tokB), Cost: meanOf(usdB), CostKnown: r.CostKnown, TotalCost: r.CostB, Gain: r.GainB, TotalTokens: r.UsageB.Total()},
	}
}

// failedTask is a task without an outcome and why.
type failedTask struct{ ID, Why string }

func failedTasks(c comparison) []failedTask {
	var out []failedTask
	for _, t := range c.Report.Results {
		if t.Outcome != eval.OutcomeFailed {
			continue
		}
		why := "failed"
		for _, tr := range t.Trials {
			if tr.Error != "" {
				why = tr.Error
				break
			}
		}
		if i := strings.IndexByte(why, '\n'); i >= 0 {
			why = why[:i]
		}
		out = append(out, failedTask{t.ID, clip(why, 300)})
	}
	return out
}

// tokenChart is the mean tokens per task of every side, with intervals.
func tokenChart(st *evalStats) (chart, error) {
	c := chart{Title: "Tokens per task", Caption: "Mean over all tasks, failed ones included; bars: 95% interval of the mean. A refine loop's tokens include its own judge; the comparison judge's are not included."}
	var names []string
	var vals []eval.Interval
	seen := map[string]bool{}
	for _, cmp := range st.Comparisons {
		for _, a := range armsOf(cmp) {
			if !seen[a.Name] {
				seen[a.Name] = true
				names = append(names, a.Name)
				vals = append(vals, eval.Interval{Estimate: a.Tokens.Mean, Low: a.Tokens.Low, High: a.Tokens.High})
			}
		}
	}
	if len(vals) == 0 {
		return c, nil
	}
	p := newPlot("", "tokens")
	if err := bars(p, vals, []color.Color{blue, grey, red, green}, vg.Points(50)); err != nil {
		return c, err
	}
	p.NominalX(names...)
	p.Y.Min = 0
	return c, c.draw(p)
}

func roundChart(st *evalStats) (chart, error) {
	c := chart{Title: "Mean score by round", Caption: "The loop's own judge's score (0–10) of each round's attempt; bars: 95% interval of the mean; dots: lowest and highest."}
	if len(st.Rounds) == 0 {
		return c, nil
	}
	p := newPlot("round (0 = first draft)", "score")
	var pts errXYs
	for _, r := range st.Rounds {
		pts = append(pts, struct{ x, y, low, high float64 }{float64(r.Round), r.Mean, r.Low, r.High})
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return c, err
	}
	line.Color, line.Width = blue, vg.Points(2)
	points.Color, points.Shape, points.Radius = blue, draw.CircleGlyph{}, vg.Points(3.5)
	eb, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return c, err
	}
	eb.Color, eb.Width = blue, vg.Points(1.2)
	var extremes plotter.XYs
	for _, r := range st.Rounds {
		extremes = append(extremes, plotter.XY{X: float64(r.Round), Y: r.Min}, plotter.XY{X: float64(r.Round), Y: r.Max})
	}
	sc, err := plotter.NewScatter(extremes)
	if err != nil {
		return c, err
	}
	sc.Color, sc.Radius = grey, vg.Points(2.5)
	p.Add(plotter.NewGrid(), sc, eb, line, points)
	p.Y.Min, p.Y.Max = 0, 10
	p.X.Min, p.X.Max = -0.3, float64(st.Rounds[len(st.Rounds)-1].Round)+0.3
	var ticks []plot.Tick
	for _, r := range st.Rounds {
		ticks = append(ticks, plot.Tick{Value: float64(r.Round), Label: fmt.Sprint(r.Round)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	return c, c.draw(p)
}

// stopChart is the share of runs that stopped for each reason, with its
// Wilson interval.
func stopChart(st *evalStats) (chart, error) {
	c := chart{Title: "Why runs stopped", Caption: "Share of the runs; bars: 95% Wilson interval."}
	if len(st.StopReasons) == 0 {
		return c, nil
	}
	n := 0
	for _, s := range st.StopReasons {
		n += s.Count
	}
	p := newPlot("", "share of runs")
	vals := make([]eval.Interval, len(st.StopReasons))
	labels := make([]string, len(st.StopReasons))
	for i, s := range st.StopReasons {
		vals[i], labels[i] = eval.Wilson(s.Count, n, 0.95), strings.ReplaceAll(s.Name, "_", " ")
	}
	if err := bars(p, vals, []color.Color{blue}, vg.Points(40)); err != nil {
		return c, err
	}
	p.NominalX(labels...)
	p.Y.Min, p.Y.Max = 0, 1
	return c, c.draw(p)
}

func newPlot(x, y string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.BackgroundColor = color.Transparent
	return p
}

// draw renders p as inline SVG that scales with its box (the viewBox is
// kept; the fixed size and the XML prologue go).
func (c *chart) draw(p *plot.Plot) error {
	cv := vgsvg.New(vg.Points(420), vg.Points(260))
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return err
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, `<svg width=`, `<svg role="img" aria-label="`+template.HTMLEscapeString(c.Title)+`" data-w=`, 1)
	s = strings.Replace(s, ` height=`, ` data-h=`, 1)
	c.SVG = template.HTML(s)
	return nil
}
