package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
)

// Invoice is what we extract. The jsonschema tags are the schema's
// descriptions: the model reads them.
type Invoice struct {
	Vendor   string  `json:"vendor" jsonschema:"the seller's name exactly as the document writes it"`
	Number   string  `json:"number" jsonschema:"the invoice number as written"`
	Currency string  `json:"currency" jsonschema:"ISO 4217 code, such as KRW or USD"`
	Lines    []Line  `json:"lines"`
	Tax      float64 `json:"tax" jsonschema:"tax added on top of the lines; 0 when none is added"`
	Total    float64 `json:"total" jsonschema:"the amount due, as the document states it"`
}

// Line is one item of an invoice.
type Line struct {
	Description string  `json:"description" jsonschema:"the item as written, in the document's language"`
	Quantity    float64 `json:"quantity"`
	UnitPrice   float64 `json:"unit_price"`
	Amount      float64 `json:"amount" jsonschema:"the line's amount as written"`
}

// addsUp is the domain check the schema cannot express: every line is
// quantity × unit price, and the total is the lines plus tax. Its messages
// go to the model as they are, so they say what to fix.
func addsUp(inv Invoice) []string {
	var problems []string
	sum := 0.0
	for i, l := range inv.Lines {
		if want := l.Quantity * l.UnitPrice; cents(want) != cents(l.Amount) {
			problems = append(problems, fmt.Sprintf("lines[%d] (%s): %s × %s = %s, but amount is %s",
				i, l.Description, money(l.Quantity), money(l.UnitPrice), money(want), money(l.Amount)))
		}
		sum += l.Amount
	}
	if cents(sum+inv.Tax) != cents(inv.Total) {
		problems = append(problems, fmt.Sprintf("total is %s, but lines (%s) + tax (%s) = %s: is a line missing or an amount misread?",
			money(inv.Total), money(sum), money(inv.Tax), money(sum+inv.Tax)))
	}
	return problems
}

// Amounts are compared and shown to the cent: 3 × 89.9 is 269.7, not
// 269.70000000000005.
func cents(x float64) int64 { return int64(math.Round(x * 100)) }

func money(x float64) string { return strconv.FormatFloat(float64(cents(x))/100, 'f', -1, 64) }

// printInvoice shows the extracted value.
func printInvoice(w io.Writer, inv Invoice) {
	fmt.Fprintf(w, "Invoice %s from %s (%s)\n", inv.Number, inv.Vendor, inv.Currency)
	for _, l := range inv.Lines {
		fmt.Fprintf(w, "  %s × %s @ %s = %s\n", money(l.Quantity), l.Description, money(l.UnitPrice), money(l.Amount))
	}
	fmt.Fprintf(w, "  tax %s, total %s\n", money(inv.Tax), money(inv.Total))
}
