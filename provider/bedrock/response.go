package bedrock

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
)

// response reads a Converse reply.
func (p *Provider) response(out *bedrockruntime.ConverseOutput) *refine.Response {
	return &refine.Response{
		Text:         replyText(out.Output),
		Usage:        usage(out.Usage),
		Model:        p.modelID,
		FinishReason: finishReason(out.StopReason),
	}
}

// replyText concatenates the text blocks of the reply. Reasoning blocks
// (which some models put first), tool use and other blocks are skipped.
// Several text blocks are parts of one answer (Claude splits its text
// around citations), so they are joined with nothing between them.
func replyText(o types.ConverseOutput) string {
	msg, ok := o.(*types.ConverseOutputMemberMessage)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, c := range msg.Value.Content {
		if t, ok := c.(*types.ContentBlockMemberText); ok {
			b.WriteString(t.Value)
		}
	}
	return b.String()
}

// usage maps Bedrock's token counts. Cached prompt tokens are reported
// apart from inputTokens and are added to InputTokens (see the package doc).
func usage(u *types.TokenUsage) refine.Usage {
	if u == nil {
		return refine.Usage{}
	}
	return refine.Usage{
		InputTokens:  deref(u.InputTokens) + deref(u.CacheReadInputTokens) + deref(u.CacheWriteInputTokens),
		OutputTokens: deref(u.OutputTokens),
	}
}

func deref(n *int32) int {
	if n == nil {
		return 0
	}
	return int(*n)
}

// finishReason normalises Bedrock's stop reason.
func finishReason(r types.StopReason) string {
	switch r {
	case types.StopReasonEndTurn, types.StopReasonStopSequence:
		return refine.FinishStop
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return refine.FinishLength
	case types.StopReasonContentFiltered, types.StopReasonGuardrailIntervened:
		return refine.FinishContentFilter
	default:
		return string(r)
	}
}
