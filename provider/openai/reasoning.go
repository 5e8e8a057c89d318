package openai

import (
	"context"
	"log/slog"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"
)

// Reasoning models (o1, o3, o4-mini, gpt-5, ...) reject temperature and
// top_p other than 1, logprobs, and max_tokens; go-openai even refuses such
// requests client-side, before any HTTP call. A loop configured once for
// many models should not fail on them, so the adapter drops those
// parameters, sends max_completion_tokens instead of max_tokens, and tells
// the user once per Provider and parameter, not on every call.

// isReasoningModel mirrors go-openai's ReasoningValidator: the prefixes it
// checks, and the GPT-6 models it knows (which reason by default).
func isReasoningModel(model string) bool {
	for _, prefix := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(model, prefix) {
			return true
		}
	}
	switch model {
	case goopenai.GPT6Astra, goopenai.GPT6Dot1Sol, goopenai.GPT6Sol, goopenai.GPT6Luna:
		return true
	}
	return false
}

// A parameter reasoning models do not accept.
type droppedParam int

const (
	dropTemperature droppedParam = iota
	dropTopP
	dropLogprobs
	numDropped
)

var droppedNames = [numDropped]string{"temperature", "top_p", "logprobs"}

// dropped records that a parameter was left out of a request for a
// reasoning model, and warns the first time. A temperature or top_p of 1 is
// what these models use anyway: dropping it changes nothing, so it is not
// worth a warning.
func (p *Provider) dropped(ctx context.Context, param droppedParam, value any) {
	if f, ok := value.(float64); ok && f == 1 {
		return
	}
	p.warned[param].Do(func() {
		l := p.logger
		if l == nil {
			l = slog.Default()
		}
		l.WarnContext(ctx, "openai: reasoning model does not accept "+droppedNames[param]+"; dropping it from every request",
			"model", p.model, "parameter", droppedNames[param], "value", value)
	})
}
