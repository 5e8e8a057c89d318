package verdict

import "strings"

// Feedback lays out issues, suggestions and an assessment as the critique
// a refiner reads. A reply's Feedback and that of verdicts merged from
// several replies are laid out alike, so that a refiner sees one shape
// whichever way the verdict was made.
func Feedback(issues, suggestions []string, assessment string) string {
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
