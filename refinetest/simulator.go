package refinetest

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/selfrefine/refine"
)

// Simulator is NOT a model. It is a deterministic stand-in that plays the
// parts a model plays in a refine loop — drafter, judge, refiner, and (via
// Pairwise) pairwise judge — so that examples, demos (`refine ask
// --provider demo`) and tests run with no account and no network. Its
// answers are canned sentences and its scores come from a formula or a
// script: they show how the loop behaves, never how good a model is.
// Anything printed from a Simulator's output should say so (SimulatedWriter
// does).
//
// It tells its parts apart by public signals only, never by refine's prompt
// wording or markup, so that editing a prompt cannot break it:
//   - a request with Request.Schema asks for a typed answer (written);
//   - a request with Request.JSON and no Schema asks for a verdict: it
//     grades the answer of its own that the request quotes;
//   - any other request asks for an answer: the draft when the request
//     quotes none of the Simulator's earlier answers, otherwise the revision
//     after the latest one it quotes.
//
// Without a Script it generates answers in the language of the query
// (Korean for a query with Hangul, English otherwise). Each ends with a line
// such as
//
//	(simulated answer en-3fa2c1, revision 2, quality 7.5)
//
// naming the question (a hash), the revision, and the answer's "true"
// quality, a deterministic function of the question and Seed: drafts are
// worth 5 to 6, the second revision 1.5 to 2.5 more, later ones usually a
// little more, though some questions gain nothing or get worse. The judge
// sees that quality through deterministic noise (±0.5) and, for some
// questions, a bias, so that now and then the loop keeps an answer that is
// not really better, as with a real judge. The line makes the Simulator
// stateless: two processes judge the same answer alike.
//
// With a Script, revision n is Script[n-1] (the last one repeats) and the
// judge says what the script says of it; scripted answers carry no marker
// line (a typed answer must stay JSON), so they are recognised by their
// exact text, remembered in memory.
//
// Set the fields before the first call and do not change them after; from
// then on a Simulator is safe for concurrent use. The zero value is ready.
// Token usage counts words (strings.Fields) of the request and the reply.
type Simulator struct {
	// Model is reported as Response.Model (give it a price with
	// refine.WithPrices under this name); "" reports "simulated".
	Model string
	// Seed varies the generated answers' qualities: simulators with
	// different seeds stand for different models answering one question.
	Seed uint32
	// Script, when not empty, replaces the generated answers and grades.
	Script []Turn

	mu      sync.Mutex
	written map[string]int // scripted answer text → revision (1 is the draft)
}

// Turn is one scripted revision: what the Simulator writes, and what its
// judge says of it.
type Turn struct {
	Answer string
	Score  float64  // 0..10
	Issues []string // the judge's critique; suggestions are derived from it
}

// NewSimulator returns a Simulator that plays script (see Simulator.Script);
// with no turns it generates its answers.
func NewSimulator(script ...Turn) *Simulator {
	return &Simulator{Script: script}
}

var simMarker = regexp.MustCompile(`\(simulated answer (en|ko)-([0-9a-f]{6}), revision (\d+), quality (\d+(?:\.\d+)?)\)`)

// Complete answers req in the part its public signals ask for. It honours
// ctx and rejects a request with no messages as refine.ErrInvalidRequest.
func (s *Simulator) Complete(ctx context.Context, req *refine.Request) (*refine.Response, error) {
	return s.Stream(ctx, req, nil)
}

// Stream is Complete, handing a written answer (not a verdict) to delta a
// word at a time, as a streaming model would.
func (s *Simulator) Stream(ctx context.Context, req *refine.Request, delta func(string)) (*refine.Response, error) {
	if err := s.check(ctx, req); err != nil {
		return nil, err
	}
	if req.JSON && req.Schema == nil {
		return s.response(req, s.verdict(join(req.Messages))), nil
	}
	text := s.write(req.Messages)
	if delta != nil {
		for _, w := range strings.SplitAfter(text, " ") {
			delta(w)
		}
	}
	return s.response(req, text), nil
}

// Pairwise returns the Simulator as a pairwise judge (for
// refine.NewPairwiseJudge): it finds two of its answers in the request, in
// the order they appear (the first is answer A), and prefers the one of
// higher quality, calling a difference under half a point a tie.
func (s *Simulator) Pairwise() refine.Provider {
	return refine.ProviderFunc(func(ctx context.Context, req *refine.Request) (*refine.Response, error) {
		if err := s.check(ctx, req); err != nil {
			return nil, err
		}
		found := s.find(join(req.Messages))
		verdict, why := "[[C]]", "Both answers are about as good."
		if len(found) >= 2 {
			a, b := found[0], found[1]
			switch {
			case a.quality-b.quality >= 0.5:
				verdict, why = "[[A]]", "Answer A covers more of what was asked."
			case b.quality-a.quality >= 0.5:
				verdict, why = "[[B]]", "Answer B covers more of what was asked."
			}
			if a.lang == "ko" {
				why = map[string]string{"[[A]]": "답변 A가 질문에 더 충실합니다.", "[[B]]": "답변 B가 질문에 더 충실합니다.", "[[C]]": "두 답변의 수준이 비슷합니다."}[verdict]
			}
		}
		return s.response(req, "(simulated judge) "+why+"\n"+verdict), nil
	})
}

func (s *Simulator) check(ctx context.Context, req *refine.Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if req == nil || len(req.Messages) == 0 {
		return fmt.Errorf("refinetest: Simulator: a request with no messages: %w", refine.ErrInvalidRequest)
	}
	return nil
}

func (s *Simulator) response(req *refine.Request, text string) *refine.Response {
	model := s.Model
	if model == "" {
		model = "simulated"
	}
	return &refine.Response{Text: text, Model: model, FinishReason: refine.FinishStop,
		Usage: refine.Usage{InputTokens: words(req.Messages...), OutputTokens: len(strings.Fields(text))}}
}

// seen is one of the Simulator's answers found in a request.
type seen struct {
	pos     int // where it starts in the request
	lang    string
	id      string // question hash; "" for a scripted answer
	rev     int
	quality float64
	text    string // the marker, or the scripted answer
}

// find returns the Simulator's answers quoted in prompt, in order of
// appearance.
func (s *Simulator) find(prompt string) []seen {
	var found []seen
	for _, ix := range simMarker.FindAllStringSubmatchIndex(prompt, -1) {
		rev, _ := strconv.Atoi(prompt[ix[6]:ix[7]])
		q, _ := strconv.ParseFloat(prompt[ix[8]:ix[9]], 64)
		found = append(found, seen{pos: ix[0], lang: prompt[ix[2]:ix[3]], id: prompt[ix[4]:ix[5]], rev: rev, quality: q, text: prompt[ix[0]:ix[1]]})
	}
	s.mu.Lock()
	for text, rev := range s.written {
		if i := strings.Index(prompt, text); i >= 0 {
			found = append(found, seen{pos: i, lang: simLang(text), rev: rev, quality: s.turn(rev).Score, text: text})
		}
	}
	s.mu.Unlock()
	// A scripted answer may contain another (an earlier, shorter one): at
	// one position the longest wins.
	sort.Slice(found, func(i, j int) bool {
		if found[i].pos != found[j].pos {
			return found[i].pos < found[j].pos
		}
		return len(found[i].text) > len(found[j].text)
	})
	var out []seen
	for _, f := range found {
		if len(out) > 0 && f.pos < out[len(out)-1].pos+len(out[len(out)-1].text) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *Simulator) turn(rev int) Turn {
	return s.Script[min(rev, len(s.Script))-1]
}

// write drafts, or revises the latest of its answers found in msgs.
func (s *Simulator) write(msgs []refine.Message) string {
	var latest seen
	for _, f := range s.find(join(msgs)) {
		if f.rev > latest.rev {
			latest = f
		}
	}
	rev := latest.rev + 1
	if len(s.Script) > 0 {
		text := s.turn(rev).Answer
		s.mu.Lock()
		if s.written == nil {
			s.written = map[string]int{}
		}
		if _, ok := s.written[text]; !ok {
			s.written[text] = rev
		}
		s.mu.Unlock()
		return text
	}
	lang, id := latest.lang, latest.id
	if rev == 1 { // a draft: the query is the last message
		q := msgs[len(msgs)-1].Content
		lang, id = simLang(q), s.questionID(q)
	}
	additions := map[string][]string{
		"en": {"a concrete example", "the main caveat", "a short summary", "the edge cases", "a worked case"},
		"ko": {"구체적인 예시를", "주의할 점을", "짧은 요약을", "예외 상황을", "풀이 사례를"},
	}[lang]
	var body string
	switch {
	case rev == 1 && lang == "ko":
		body = "짧은 첫 답변입니다. 핵심은 다루지만 세부 사항과 예시가 빠져 있습니다."
	case rev == 1:
		body = "A short first answer: it states the main point but leaves out details and examples."
	case lang == "ko":
		body = fmt.Sprintf("%d차 수정 답변입니다. 앞선 비평에 따라 %s 덧붙이고 설명을 다듬었습니다.", rev-1, additions[(rev-2)%len(additions)])
	default:
		body = fmt.Sprintf("Revised answer (round %d): following the critique, it adds %s and tightens the explanation.", rev-1, additions[(rev-2)%len(additions)])
	}
	return fmt.Sprintf("%s\n\n(simulated answer %s-%s, revision %d, quality %s)", body, lang, id, rev, fmtScore(simQuality(id, rev)))
}

// verdict grades the first of its answers that prompt quotes.
func (s *Simulator) verdict(prompt string) string {
	found := s.find(prompt)
	if len(found) == 0 {
		return `{"score": 2, "issues": ["this is not an answer the simulator wrote"], "suggestions": ["let the simulator write the answers it judges"], "assessment": "(simulated judge) The simulator can only grade its own answers."}`
	}
	a := found[0]
	if a.id == "" { // scripted
		t := s.turn(a.rev)
		issues, suggestions := []string{}, []string{}
		for _, i := range t.Issues {
			issues = append(issues, i)
			suggestions = append(suggestions, "fix: "+i)
		}
		return fmt.Sprintf(`{"score": %s, "issues": %s, "suggestions": %s, "assessment": "(simulated judge) revision %d."}`,
			fmtScore(t.Score), jsonStrings(issues), jsonStrings(suggestions), a.rev)
	}
	h := fnv.New32a()
	h.Write([]byte(a.text))
	score := min(10, max(0, a.quality+simBias(a.id, a.rev)+0.5*float64(int(h.Sum32()%3)-1)))
	if a.rev == 1 {
		score = min(6, max(5, score)) // drafts are fair: 5 to 6
	}
	issues := map[string][]string{
		"en": {"it lacks a concrete example", "the main caveat is missing", "it has no summary", "edge cases are not covered"},
		"ko": {"구체적인 예시가 없습니다", "주의할 점이 빠져 있습니다", "요약이 없습니다", "예외 상황을 다루지 않습니다"},
	}[a.lang]
	issue := issues[(a.rev-1)%len(issues)]
	return fmt.Sprintf(`{"score": %s, "issues": [%q], "suggestions": [%q], "assessment": "(simulated judge) revision %d."}`,
		fmtScore(score), issue, "fix: "+issue, a.rev)
}

func (s *Simulator) questionID(q string) string {
	h := fnv.New32a()
	if s.Seed != 0 {
		fmt.Fprintf(h, "seed %d\x00", s.Seed)
	}
	h.Write([]byte(q))
	return fmt.Sprintf("%06x", h.Sum32()&0xffffff)
}

// simQuality is the simulated true quality of revision rev of question
// id, and simBias how far the pointwise judge overrates it. Most
// questions gain from refinement; one in eight gains nothing (and the
// judge thinks it did a little), one in eight is padded into a worse
// answer the judge likes (a length bias, as real judges have).
func simQuality(id string, rev int) float64 {
	h := simHash(id)
	q := 5 + 0.5*float64(h%3)
	for r := 2; r <= rev; r++ {
		switch kind := (h >> 9) % 8; {
		case kind == 0:
			q -= 0.5
		case kind == 1:
		case r == 2:
			q += 1.5 + 0.5*float64((h>>8)%3)
		case r == 3 && (h>>12)%4 == 0:
			q -= 1
		default:
			q += 0.5
		}
	}
	return min(q, 9.5)
}

func simBias(id string, rev int) float64 {
	if rev == 1 {
		return 0
	}
	switch (simHash(id) >> 9) % 8 {
	case 0:
		return 2
	case 1:
		return 1
	}
	return 0
}

func simHash(id string) uint64 {
	h, _ := strconv.ParseUint(id, 16, 32)
	return h
}

func simLang(s string) string {
	for _, r := range s {
		if unicode.Is(unicode.Hangul, r) {
			return "ko"
		}
	}
	return "en"
}

func join(msgs []refine.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Content)
		b.WriteByte('\n')
	}
	return b.String()
}

func jsonStrings(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// SimulatedWriter returns a writer that starts every line written through
// it with "[simulated] ", so that what a program prints while it runs on a
// Simulator cannot be mistaken for a model's work. Writes may end mid-line
// (streamed text); the label goes before the first byte of each line. It is
// safe for concurrent use; each Write is labelled as a whole.
func SimulatedWriter(w io.Writer) io.Writer {
	return &labelWriter{w: w, atStart: true}
}

type labelWriter struct {
	mu      sync.Mutex
	w       io.Writer
	atStart bool
}

func (l *labelWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if l.atStart {
			b.WriteString("[simulated] ")
		}
		b.Write(line)
		l.atStart = line[len(line)-1] == '\n'
	}
	if _, err := l.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
