package main

import "github.com/selfrefine/refine/refinetest"

// simulatedAgent is what -demo runs on: refinetest's Simulator playing a
// script (it is not a model). Its draft breaks all three rules, which its
// own judging does not notice (8/10); the refinement keeps them.
func simulatedAgent() *refinetest.Simulator {
	return refinetest.NewSimulator(
		refinetest.Turn{Answer: draftReply, Score: 8, Issues: []string{"a little long-winded"}},
		refinetest.Turn{Answer: compliantReply, Score: 9},
	)
}

const draftReply = "Hi there, and thank you so much for reaching out to us today! I'm really sorry to hear that you were charged twice " +
	"for your subscription this month. I completely understand how frustrating it is to see an unexpected charge on your statement, " +
	"especially when you were only expecting one. Don't worry at all: we will refund the duplicate charge right away, and you should " +
	"see the money back in your account within three to five business days. If there is anything else I can help you with, " +
	"please don't hesitate to let me know!"

const compliantReply = "Hi, I'm sorry about the double charge on your subscription this month. I've passed ticket TCK-482913 " +
	"to our billing team, who will review both charges within 2 business days and email you the outcome. If you have the dates " +
	"of the two charges, reply here and I'll add them to the ticket."
