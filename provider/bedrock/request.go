package bedrock

import (
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/selfrefine/refine"
)

// jsonInstruction is appended to the last user turn of a Request with JSON
// set: Converse has no JSON mode that every model supports.
const jsonInstruction = "Reply with a single valid JSON object only: no code fence, no text before or after it."

// turnSeparator joins consecutive messages of the same role into one turn.
const turnSeparator = "\n\n"

// turn is one Converse message under construction.
type turn struct {
	role types.ConversationRole
	text string
}

// input builds the Converse request for req. It never modifies req.
func (p *Provider) input(req *refine.Request) (*bedrockruntime.ConverseInput, error) {
	var (
		system []types.SystemContentBlock
		turns  []turn
	)
	for i, m := range req.Messages {
		if strings.TrimSpace(m.Content) == "" {
			continue // Converse rejects blank text blocks
		}
		var role types.ConversationRole
		switch m.Role {
		case refine.RoleSystem:
			system = append(system, &types.SystemContentBlockMemberText{Value: m.Content})
			continue
		case refine.RoleUser:
			role = types.ConversationRoleUser
		case refine.RoleAssistant:
			role = types.ConversationRoleAssistant
		default:
			return nil, localError(fmt.Sprintf("message %d has role %q; Converse knows system, user and assistant", i, m.Role))
		}
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].text += turnSeparator + m.Content
			continue
		}
		turns = append(turns, turn{role: role, text: m.Content})
	}
	switch {
	case len(turns) == 0:
		return nil, localError("the request has no user message")
	case turns[0].role != types.ConversationRoleUser:
		return nil, localError("the conversation starts with an assistant turn; Converse needs a user turn first")
	}
	if req.JSON {
		for i := len(turns) - 1; i >= 0; i-- {
			if turns[i].role == types.ConversationRoleUser {
				turns[i].text += turnSeparator + jsonInstruction
				break
			}
		}
	}

	msgs := make([]types.Message, len(turns))
	for i, t := range turns {
		msgs[i] = types.Message{Role: t.role, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: t.text}}}
	}
	modelID := p.modelID // a copy: the edit hook must not reach the Provider
	in := &bedrockruntime.ConverseInput{
		ModelId:         &modelID,
		Messages:        msgs,
		System:          system,
		InferenceConfig: p.inference(req.Sampling),
	}
	if p.cfg.edit != nil {
		p.cfg.edit(in)
	}
	return in, nil
}

// inference maps refine's sampling settings; nil when there is nothing to
// send, so that the model's defaults apply. Seed has no Converse
// counterpart and is ignored.
func (p *Provider) inference(s refine.Sampling) *types.InferenceConfiguration {
	var c types.InferenceConfiguration
	set := false
	if s.Temperature != nil && !p.cfg.noTemperature {
		t := float32(*s.Temperature)
		c.Temperature, set = &t, true
	}
	if s.TopP != nil && !p.cfg.noTopP {
		tp := float32(*s.TopP)
		c.TopP, set = &tp, true
	}
	if s.MaxTokens > 0 {
		n := int32(min(s.MaxTokens, math.MaxInt32))
		c.MaxTokens, set = &n, true
	}
	if len(s.Stop) > 0 {
		c.StopSequences, set = append([]string(nil), s.Stop...), true
	}
	if !set {
		return nil
	}
	return &c
}
