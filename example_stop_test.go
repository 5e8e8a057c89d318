package refine_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// A stop condition of your own can stop the run, or fail it when it cannot
// decide safely: the run then returns the Result so far with a
// *StepError of stage "stop". Before the first call the loop asks once
// with no attempts, where an error refuses the run.
func ExampleStopFunc() {
	errQuota := errors.New("the quota service is down")
	quotaLeft := func(round int) bool { return round < 1 } // stands for a service call
	stop := refine.StopFunc(func(p refine.Progress) (refine.StopReason, error) {
		if len(p.Attempts) == 0 {
			return "", nil // the check before the first call: nothing to refuse
		}
		if !quotaLeft(p.Round) {
			return "", errQuota
		}
		return "", nil
	})
	model := refinetest.NewProvider("draft", "better")
	res, err := refine.Run(context.Background(), "q", refine.WithProvider(model),
		refine.WithJudge(refinetest.NewJudge(4, 6, 8)), refine.WithStop(stop))
	var se *refine.StepError
	fmt.Println(len(res.Attempts), res.Answer, errors.As(err, &se), se.Stage, errors.Is(err, errQuota))
	// Output:
	// 2 better true stop true
}
