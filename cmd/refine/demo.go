package main

import (
	"strconv"

	"github.com/selfrefine/refine/refinetest"
)

// demoModel is the offline model behind --provider demo: refinetest's
// Simulator, which is NOT a model but a deterministic stand-in that drafts,
// judges and refines by formula, in the language of the question (see
// refinetest.Simulator). Its generated answers name the question and
// their "true" quality, and its judges grade by them, so that the
// evaluation report shows wins, ties and losses. The name is the key of
// sample/demo-prices.json.
func demoModel() *refinetest.Simulator {
	return &refinetest.Simulator{Model: "demo-simulated"}
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
