package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/selfrefine/refine"
)

const maxWords = 80

var (
	ticketRE = regexp.MustCompile(`\bTCK-\d{6}\b`)
	// A promise: "we will refund", "I'll get your money back", "refund is guaranteed".
	promiseRE = regexp.MustCompile(`(?i)\b(will|'ll|going to|guarantee\w*)\b[^.!?]{0,40}\b(refund|reimburse|money back)|\brefunds? (is|are|has been|have been) (approved|issued|guaranteed)`)
)

// policy is the support team's rules as a judge: replies must not promise
// refunds (billing decides), must quote the ticket number and must stay
// within maxWords words. Each broken rule is an issue the refiner must fix.
// Like every Judge it honours its context; main_test.go checks it with
// refinetest.TestJudge, the conformance check for your own judges.
func policy(ctx context.Context, query, reply string) (*refine.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var issues []string
	if promiseRE.MatchString(reply) {
		issues = append(issues, "promises a refund: agents may not; say that billing will review the charge")
	}
	if ticket := ticketRE.FindString(query); ticket != "" && !strings.Contains(reply, ticket) {
		issues = append(issues, "does not quote the ticket number "+ticket)
	} else if ticket == "" && !ticketRE.MatchString(reply) {
		issues = append(issues, "has no ticket number in the form TCK-123456")
	}
	if n := len(strings.Fields(reply)); n > maxWords {
		issues = append(issues, fmt.Sprintf("is %d words long: the limit is %d", n, maxWords))
	}
	return &refine.Verdict{Score: 10 * (1 - float64(len(issues))/3), Issues: issues}, nil
}
