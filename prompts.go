package refine

import (
	"crypto/sha256"
	"embed"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/selfrefine/refine/internal/fence"
)

// The prompts are product: they live as text in prompts/, are reviewed like
// code and covered by golden tests (go test -run Golden -update rewrites
// testdata/golden after a deliberate change).
//
//go:embed prompts
var promptFS embed.FS

// defaultSystemPrompt is the system prompt of drafts and refinements unless
// WithSystemPrompt replaces it.
var defaultSystemPrompt = strings.TrimSpace(mustRead("prompts/system.txt"))

var (
	judgeSystemTmpl    = mustTemplate("prompts/judge_system.tmpl")
	judgeUserTmpl      = mustTemplate("prompts/judge_user.tmpl")
	judgeRepairPrompt  = strings.TrimSpace(mustRead("prompts/judge_repair.txt"))
	pairwiseSystemTmpl = mustTemplate("prompts/pairwise_system.tmpl")
	pairwiseUserTmpl   = mustTemplate("prompts/pairwise_user.tmpl")
	pairwiseRepair     = strings.TrimSpace(mustRead("prompts/pairwise_repair.txt"))
	refineTmpl         = mustTemplate("prompts/refine.tmpl")
)

func mustRead(name string) string {
	b, err := promptFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustTemplate(name string) *template.Template {
	return template.Must(template.New(name).Option("missingkey=error").Parse(mustRead(name)))
}

// render executes a prompt template and trims the result.
func render(t *template.Template, data any) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		// The templates are fixed and their data types are ours: an
		// execution error is a bug caught by the golden tests.
		panic("refine: prompt template " + t.Name() + ": " + err.Error())
	}
	return strings.TrimSpace(b.String())
}

// Rendering a template per call costs more than the rest of a judge's work
// (reflection over the data, an allocation per field). Most of a prompt is
// fixed once the judge is built — the criteria, the reference, the rubric
// — and the per-call texts (tag, question, answers) are only printed, never
// tested. So each prompt is rendered once with a marker in every per-call
// field and cut at the markers; a call joins the pieces with its texts.
// The output is byte for byte what the template renders (the templates stay
// the one source of the prompts; TestSplitPromptMatchesTemplate checks it).

// splitPrompt is a rendered template cut at its per-call fields.
type splitPrompt struct {
	lits   []string // len(fields)+1 pieces of fixed text
	fields []int    // the value that goes after lits[i]
	size   int      // bytes of fixed text
}

// fieldMark is the marker of per-call field i while a prompt is split. The
// NUL bytes cannot come from the templates, and fixed texts holding one
// (a reference, a criterion) make split refuse, falling back to render.
// Per-call texts may hold anything: fill never reads them.
func fieldMark(i int) string { return "\x00" + string(rune('A'+i)) + "\x00" }

// split renders t with data, whose per-call fields hold fieldMark(0..n-1)
// and whose other fields hold fixed, and cuts the result at the marks. It
// reports false when the output cannot be cut faithfully: a NUL byte in a
// fixed text, or a field at either end (where render's trimming would
// depend on the value).
func split(t *template.Template, data any, n int, fixed ...string) (*splitPrompt, bool) {
	for _, f := range fixed {
		if strings.IndexByte(f, 0) >= 0 {
			return nil, false
		}
	}
	out := render(t, data)
	sp := &splitPrompt{}
	for {
		k := strings.IndexByte(out, 0)
		if k < 0 {
			break
		}
		if k+2 >= len(out) || out[k+2] != 0 || out[k+1] < 'A' || int(out[k+1]-'A') >= n {
			return nil, false
		}
		sp.lits = append(sp.lits, out[:k])
		sp.fields = append(sp.fields, int(out[k+1]-'A'))
		sp.size += k
		out = out[k+3:]
	}
	sp.lits = append(sp.lits, out)
	sp.size += len(out)
	if len(sp.fields) == 0 || sp.lits[0] == "" || out == "" {
		return nil, false
	}
	return sp, true
}

// fill joins the pieces with vals.
func (sp *splitPrompt) fill(vals ...string) string {
	n := sp.size
	for _, f := range sp.fields {
		n += len(vals[f])
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range sp.fields {
		b.WriteString(sp.lits[i])
		b.WriteString(vals[f])
	}
	b.WriteString(sp.lits[len(sp.lits)-1])
	return b.String()
}

// judgePrompts are an LLM judge's prompts with its criteria and reference
// filled in.
type judgePrompts struct {
	system string
	user   *splitPrompt // nil: render per call
	data   judgeData    // the fixed fields, for render
	digest [sha256.Size]byte
}

type judgeData struct {
	Tag, Question, Answer, Reference string
	Criteria                         []Criterion
}

func newJudgePrompts(criteria []Criterion, reference string) *judgePrompts {
	d := judgeData{Reference: reference, Criteria: criteria}
	jp := &judgePrompts{system: render(judgeSystemTmpl, d), data: d}
	jp.digest = sha256.Sum256([]byte(jp.system))
	m := d
	m.Tag, m.Question, m.Answer = fieldMark(0), fieldMark(1), fieldMark(2)
	if sp, ok := split(judgeUserTmpl, m, 3, fixedTexts(criteria, reference)...); ok {
		jp.user = sp
	}
	return jp
}

// fixedTexts lists the texts of a judge's prompts that do not change per
// call.
func fixedTexts(criteria []Criterion, reference string) []string {
	out := []string{reference}
	for _, c := range criteria {
		out = append(out, c.Name, c.Description)
	}
	return out
}

var (
	defaultJudgeOnce    sync.Once
	defaultJudgePrompts *judgePrompts
)

// judgePromptsFor returns the prompts of a judge; the default judge's are
// built once per process, as the Loop builds a default judge per run.
func judgePromptsFor(criteria []Criterion, reference string) *judgePrompts {
	if reference == "" && len(criteria) == len(generalCriteria) && &criteria[0] == &generalCriteria[0] {
		defaultJudgeOnce.Do(func() { defaultJudgePrompts = newJudgePrompts(generalCriteria[:], "") })
		return defaultJudgePrompts
	}
	return newJudgePrompts(criteria, reference)
}

func (jp *judgePrompts) messages(query, answer string) []Message {
	// The system prompt holds the criteria and the reference: its digest
	// stands for them in the tag.
	tag := fence.Tag(string(jp.digest[:]), query, answer, jp.data.Reference)
	var user string
	if jp.user != nil {
		user = jp.user.fill(tag, query, answer)
	} else {
		d := jp.data
		d.Tag, d.Question, d.Answer = tag, query, answer
		user = render(judgeUserTmpl, d)
	}
	return []Message{{Role: RoleSystem, Content: jp.system}, {Role: RoleUser, Content: user}}
}

// pairwisePrompts are a pairwise judge's prompts with its criteria and
// reference filled in.
type pairwisePrompts struct {
	system string
	user   *splitPrompt
	data   pairwiseData
	digest [sha256.Size]byte
}

type pairwiseData struct {
	Tag, Question, A, B, Reference string
	Criteria                       []Criterion
}

func newPairwisePrompts(criteria []Criterion, reference string) *pairwisePrompts {
	d := pairwiseData{Reference: reference, Criteria: criteria}
	pp := &pairwisePrompts{system: render(pairwiseSystemTmpl, d), data: d}
	pp.digest = sha256.Sum256([]byte(pp.system))
	m := d
	m.Tag, m.Question, m.A, m.B = fieldMark(0), fieldMark(1), fieldMark(2), fieldMark(3)
	if sp, ok := split(pairwiseUserTmpl, m, 4, fixedTexts(criteria, reference)...); ok {
		pp.user = sp
	}
	return pp
}

func (pp *pairwisePrompts) messages(query, first, second string) []Message {
	tag := fence.Tag(string(pp.digest[:]), query, first, second, pp.data.Reference)
	var user string
	if pp.user != nil {
		user = pp.user.fill(tag, query, first, second)
	} else {
		d := pp.data
		d.Tag, d.Question, d.A, d.B = tag, query, first, second
		user = render(pairwiseUserTmpl, d)
	}
	return []Message{{Role: RoleSystem, Content: pp.system}, {Role: RoleUser, Content: user}}
}

// refineSplits caches the refinement prompt split for each number of rounds
// shown (a *splitPrompt, or nil when it cannot be split).
var refineSplits sync.Map

type refineData struct {
	Tag      string
	Question string
	History  []refineRound
}

// renderRefine renders prompts/refine.tmpl.
func renderRefine(d refineData) string {
	n := len(d.History)
	c, ok := refineSplits.Load(n)
	if !ok {
		type round struct{ Round, Answer, Score, Feedback string }
		m := struct {
			Tag, Question string
			History       []round
		}{Tag: fieldMark(0), Question: fieldMark(1), History: make([]round, n)}
		for i := range m.History {
			m.History[i] = round{fieldMark(2 + 4*i), fieldMark(3 + 4*i), fieldMark(4 + 4*i), fieldMark(5 + 4*i)}
		}
		var sp *splitPrompt
		if 2+4*n <= 'z'-'A' { // marks are single bytes
			sp, _ = split(refineTmpl, m, 2+4*n)
		}
		c, _ = refineSplits.LoadOrStore(n, sp)
	}
	sp := c.(*splitPrompt)
	if sp == nil {
		return render(refineTmpl, d)
	}
	vals := make([]string, 0, 2+4*n)
	vals = append(vals, d.Tag, d.Question)
	for _, r := range d.History {
		vals = append(vals, strconv.Itoa(r.Round), r.Answer, r.Score, r.Feedback)
	}
	return sp.fill(vals...)
}

// formatScore prints a score without trailing zeros: 7, 7.5, 8.25.
func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
