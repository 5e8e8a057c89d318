// Package eval answers "is refinement worth it on my tasks?" with numbers
// that say how sure they are. It is the engine under `refine eval` and
// `refine compare`, and works from Go and from `go test`.
//
// Compare answers every task with two arms and has a pairwise judge
// compare the two answers in both orders (a split decision is a tie). An
// arm is a refine.Loop, or one call of a Provider with no judge and no
// refinement: the baseline a user would pick instead. So one can ask
// "small model + refine against big model, one call" or "threshold 8
// against 9" on the same tasks.
//
// The numbers are honest:
//
//   - A's win rate over the decisive comparisons carries a Wilson
//     interval, and A against B a two-sided exact sign test (SignTest).
//     Report.Verdict says in words when the tasks are too few to tell.
//   - A Loop arm's mean gain of its final score over its first draft's,
//     and the token and cost ratios of the arms, carry a seeded,
//     reproducible bootstrap interval.
//   - A task whose arm or comparison failed, or whose verdict could not be
//     read, is counted in Report.Failed and never scored; its tokens and
//     dollars are counted.
//   - With Repeat, the trials of a task are aggregated into one outcome
//     before the interval and the test (trials of a task are not
//     independent), and the report shows how often trials agree and how
//     often the judge repeats its own verdict.
//
// Judge with a model that did not train the answers: a Loop optimises its
// answers toward its own judge, and a model grading its own answers is
// lenient, so either overstates the gain.
//
// In a test, gate a prompt or model change on not being significantly
// worse than the baseline:
//
//	if _, err := eval.CheckNotWorse(ctx, tasks, judge, baseline, candidate); err != nil {
//		t.Fatal(err)
//	}
package eval
