package repair

import (
	"errors"
	"strconv"
	"testing"
)

// number reads a reply that is a number, as a judge's reader reads its
// format.
func number(s string) (int, error) { return strconv.Atoi(s) }

func self(s string) string { return s }

func TestRead(t *testing.T) {
	callErr := errors.New("connection reset")
	tests := []struct {
		name     string
		reply    string
		restated string // "" with restateErr: the repair request fails
		restErr  error
		// want
		got     int
		from    string
		asked   bool   // restate was called
		echo    string // what restate was given
		failure *Failure
	}{
		{name: "readable: no repair", reply: "7", got: 7, from: "7"},
		{name: "unreadable, restated", reply: "seven", restated: "7",
			got: 7, from: "7", asked: true, echo: "seven"},
		{name: "blank reply is not echoed", reply: " \n", restated: "7",
			got: 7, from: "7", asked: true, echo: ""},
		{name: "restatement unreadable", reply: "seven", restated: "still seven", asked: true, echo: "seven",
			failure: &Failure{Raw: "seven", RepairRaw: "still seven",
				Reason: `strconv.Atoi: parsing "seven": invalid syntax; restated: strconv.Atoi: parsing "still seven": invalid syntax`}},
		{name: "repair request fails", reply: "seven", restErr: callErr, asked: true, echo: "seven",
			failure: &Failure{Raw: "seven", Reason: `strconv.Atoi: parsing "seven": invalid syntax`, Err: callErr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked, echo := false, ""
			got, from, failure := Read(tc.reply, self, number, func(e string) (string, error) {
				if asked {
					t.Fatal("restate called twice")
				}
				asked, echo = true, e
				return tc.restated, tc.restErr
			})
			if asked != tc.asked || echo != tc.echo {
				t.Errorf("restate called %v with %q; want %v with %q", asked, echo, tc.asked, tc.echo)
			}
			if tc.failure != nil {
				if failure == nil || *failure != *tc.failure {
					t.Fatalf("failure: got %+v, want %+v", failure, tc.failure)
				}
				if got != 0 || from != "" {
					t.Errorf("with a failure: got %d from %q, want the zero values", got, from)
				}
				return
			}
			if failure != nil {
				t.Fatalf("unexpected failure %+v", failure)
			}
			if got != tc.got || from != tc.from {
				t.Errorf("got %d from %q, want %d from %q", got, from, tc.got, tc.from)
			}
		})
	}
}
