package refine

import (
	"context"
	"strings"
)

// Refiner produces the answers of a run. An empty history asks for the first
// draft; otherwise history holds the attempts being refined, oldest first,
// each with its verdict, and the Refiner returns the next answer. The
// history slice must not be modified. Refiners are called concurrently
// (candidates, concurrent runs) and must be safe for that. A Refiner that
// implements Validator is validated by New and Run before any model call.
type Refiner interface {
	Refine(ctx context.Context, query string, history []Attempt) (*Response, error)
}

// RefinerFunc adapts a function to the Refiner interface.
type RefinerFunc func(ctx context.Context, query string, history []Attempt) (*Response, error)

// Refine calls f(ctx, query, history).
func (f RefinerFunc) Refine(ctx context.Context, query string, history []Attempt) (*Response, error) {
	return f(ctx, query, history)
}

// llmRefiner is the default Refiner: a draft is the query under the system
// prompt; a refinement shows the model the latest attempts with their
// critiques (see prompts/refine.tmpl). Its calls go through call, so the
// run counts and observes them; retries are the provider's own (the
// adapters retry by default; the Loop never wraps a provider).
type llmRefiner struct {
	p        Provider
	sampling Sampling
	system   string
	history  int     // attempts shown in a refinement prompt
	schema   *Schema // typed answers: the schema every answer must follow
}

// Validate rejects what the options cannot have made by mistake but a
// zero value could: no provider, no history.
func (r *llmRefiner) Validate() error {
	switch {
	case r.p == nil:
		return optionError("WithProvider", "nil", "the refiner has no provider")
	case r.history < 1:
		return optionError("WithHistory", r.history, "must be >= 1")
	}
	return nil
}

func (r *llmRefiner) Refine(ctx context.Context, query string, history []Attempt) (*Response, error) {
	msgs := make([]Message, 0, 2)
	if r.system != "" {
		msgs = append(msgs, Message{Role: RoleSystem, Content: r.system})
	}
	if len(history) == 0 {
		msgs = append(msgs, Message{Role: RoleUser, Content: query})
	} else {
		msgs = append(msgs, Message{Role: RoleUser, Content: refinePrompt(query, history, r.history)})
	}
	return call(ctx, r.p, &Request{Messages: msgs, Sampling: r.sampling, Schema: r.schema}, "")
}

type refineRound struct {
	Round    int
	Answer   string
	Score    string
	Feedback string
}

// refinePrompt renders the refinement request from the last n attempts.
func refinePrompt(query string, history []Attempt, n int) string {
	if len(history) > n {
		history = history[len(history)-n:]
	}
	texts := []string{query}
	rounds := make([]refineRound, len(history))
	for i, a := range history {
		rounds[i] = refineRound{Round: a.Round, Answer: a.Answer, Feedback: critique(a.Verdict)}
		if a.Verdict != nil {
			rounds[i].Score = formatScore(a.Verdict.Score)
		}
		texts = append(texts, a.Answer, rounds[i].Feedback)
	}
	return renderRefine(refineData{Tag: newTag(texts...), Question: query, History: rounds})
}

// critique is the feedback handed to the refiner: the verdict's Feedback,
// or, for judges that only fill Issues and Suggestions, those as lists.
func critique(v *Verdict) string {
	if v == nil {
		return ""
	}
	if s := strings.TrimSpace(v.Feedback); s != "" {
		return s
	}
	return buildFeedback(v.Issues, v.Suggestions, "")
}

// buildFeedback lays out issues, suggestions and an assessment as the
// critique a refiner reads.
func buildFeedback(issues, suggestions []string, assessment string) string {
	n := len("Issues:\n\nSuggestions:\n\nAssessment: ") + len(assessment)
	for _, it := range issues {
		n += len(it) + 3
	}
	for _, it := range suggestions {
		n += len(it) + 3
	}
	var b strings.Builder
	b.Grow(n)
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(title)
		b.WriteString(":\n")
		for _, it := range items {
			b.WriteString("- ")
			b.WriteString(it)
			b.WriteString("\n")
		}
	}
	list("Issues", issues)
	list("Suggestions", suggestions)
	if a := strings.TrimSpace(assessment); a != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Assessment: ")
		b.WriteString(a)
	}
	return strings.TrimSpace(b.String())
}
