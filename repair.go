package refine

import (
	"context"
	"errors"
	"fmt"

	"github.com/selfrefine/refine/internal/repair"
)

// readWithRepair reads a judge's reply with read, through the repair turn
// (package repair): an unreadable reply is followed by one request to
// restate it — the same request, then the model's own reply and prompt —
// and the restatement is read instead. When that cannot be read either (or
// the repair call fails), the error is a *VerdictError holding both raw
// replies and the usage of both calls: a verdict is never guessed.
//
// It returns what was read, the response it was read from and the usage of
// every call (resp's included).
func readWithRepair[T any](ctx context.Context, p Provider, req *Request, resp *Response, prompt string, read func(string) (T, error)) (T, *Response, Usage, error) {
	usage := resp.Usage
	got, from, failed := repair.Read(resp, responseText, read, func(echo string) (*Response, error) {
		r := *req
		n := len(req.Messages)
		r.Messages = req.Messages[:n:n]
		if echo != "" {
			r.Messages = append(r.Messages, Message{Role: RoleAssistant, Content: echo})
		}
		r.Messages = append(r.Messages, Message{Role: RoleUser, Content: prompt})
		resp2, err := call(ctx, p, &r, "repair")
		if err != nil {
			return nil, err
		}
		usage = usage.Add(resp2.Usage)
		return resp2, nil
	})
	if failed != nil {
		var zero T
		ve := &VerdictError{Raw: failed.Raw, RepairRaw: failed.RepairRaw, Reason: failed.Reason, Usage: usage}
		if failed.Err != nil {
			// The failed repair call's own tokens travel with its error:
			// UsageOf of the join sums both branches, and the usage
			// returned holds them too.
			return zero, nil, usage.Add(UsageOf(failed.Err)), errors.Join(ve, fmt.Errorf("repair request failed: %w", failed.Err))
		}
		return zero, nil, usage, ve
	}
	return got, from, usage, nil
}

func responseText(r *Response) string { return r.Text }
