package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/calibrate"
)

// simulatedJudge is what -demo measures: a made-up judge, not a model. A
// judge is calibrated on answers it did not write, which refinetest's
// Simulator cannot grade, so this stand-in reads the people's scores
// and is wrong in known ways, for the report to find:
//
//   - lenient: it gives the human score + 1 (capped at 10, so answers
//     people gave 10 cannot be over-scored and the measured bias comes out
//     a little under +1);
//   - noisy: its k-th judgement of an answer moves by 0, +0.5, −0.5 in
//     turn, so each answer's repeats have a standard deviation near 0.5.
func simulatedJudge(data []calibrate.Example) refine.Judge {
	human := make(map[string]float64, len(data))
	for _, ex := range data {
		human[ex.Query+"\x00"+ex.Answer] = ex.Human
	}
	wobble := [...]float64{0, 0.5, -0.5}
	var mu sync.Mutex
	seen := map[string]int{}
	return refine.JudgeFunc(func(ctx context.Context, query, answer string) (*refine.Verdict, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key := query + "\x00" + answer
		h, ok := human[key]
		if !ok {
			return nil, fmt.Errorf("simulated judge: no label for %q", answer)
		}
		mu.Lock()
		k := seen[key]
		seen[key]++
		mu.Unlock()
		return &refine.Verdict{Score: min(max(h+1+wobble[k%len(wobble)], 0), 10), Feedback: "simulated", Method: refine.MethodSingle}, nil
	})
}
