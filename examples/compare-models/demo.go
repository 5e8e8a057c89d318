package main

import (
	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

// simulatedContest is what -demo runs on: refinetest's Simulator, which is
// not a model. Two seeds stand for two models (their answers' simulated
// qualities differ); its pairwise judge compares those qualities.
func simulatedContest() (a, b, judge refine.Provider) {
	return &refinetest.Simulator{Model: "simulated-a", Seed: 1},
		&refinetest.Simulator{Model: "simulated-b", Seed: 2},
		(&refinetest.Simulator{}).Pairwise()
}
