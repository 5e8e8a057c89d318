// Package repair holds the repair turn: what a judge does when its model's
// reply cannot be read.
//
// A verdict is never guessed. The model is asked once to restate it — its
// own reply goes back to it, then a prompt asking for the format — and the
// restatement is read instead. When that cannot be read either, or the
// request fails, the caller gets both raw replies and the reasons, to
// report them. The LLM and pairwise judges share the turn; only how a
// reply is read, and the prompt, differ. The package knows none of the
// SDK's types: the caller makes the call.
package repair

import "strings"

// A Failure says why neither the reply nor its restatement could be read.
type Failure struct {
	Raw       string // the reply
	RepairRaw string // the restatement; "" when the repair request failed
	// Reason is why the reply could not be read, followed by why the
	// restatement could not ("…; restated: …").
	Reason string
	// Err is the repair request's error; nil when it was answered.
	Err error
}

// Read reads the text of first, a model's response, with read. When it
// cannot be read, restate is called once to ask the model to restate it,
// and the text of its response is read instead. restate is given what to
// echo back to the model as its own turn before the prompt: the reply, or
// "" when the reply is blank (some APIs reject empty turns).
//
// It returns what was read and the response it was read from, first or
// restate's; or, when neither could be read, a Failure.
func Read[T, R any](first R, text func(R) string, read func(string) (T, error), restate func(echo string) (R, error)) (T, R, *Failure) {
	reply := text(first)
	got, perr := read(reply)
	if perr == nil {
		return got, first, nil
	}
	var zero T
	var none R
	echo := reply
	if strings.TrimSpace(reply) == "" {
		echo = ""
	}
	second, err := restate(echo)
	if err != nil {
		return zero, none, &Failure{Raw: reply, Reason: perr.Error(), Err: err}
	}
	reply2 := text(second)
	got, err = read(reply2)
	if err != nil {
		return zero, none, &Failure{Raw: reply, RepairRaw: reply2, Reason: perr.Error() + "; restated: " + err.Error()}
	}
	return got, second, nil
}
