package main

import "github.com/selfrefine/refine/refinetest"

// simulatedExtractor is what -demo runs on: refinetest's Simulator playing a
// script per document (it is not a model), to show what the loop does with
// a typical model's mistakes.
func simulatedExtractor(doc document) *refinetest.Simulator {
	return refinetest.NewSimulator(scripts[doc.title]...)
}

var scripts = map[string][]refinetest.Turn{
	// The draft misses the delivery line, so the total does not add up
	// (the Check catches it); the refinement is right.
	"거래명세서 (Korean)": {
		{Answer: `{"vendor":"한빛문구(주)","number":"2025-0311","currency":"KRW","lines":[{"description":"A4 복사용지","quantity":10,"unit_price":25000,"amount":250000},{"description":"토너 카트리지","quantity":2,"unit_price":89000,"amount":178000}],"tax":0,"total":433000}`},
		{Answer: `{"vendor":"한빛문구(주)","number":"2025-0311","currency":"KRW","lines":[{"description":"A4 복사용지","quantity":10,"unit_price":25000,"amount":250000},{"description":"토너 카트리지","quantity":2,"unit_price":89000,"amount":178000},{"description":"배송비","quantity":1,"unit_price":5000,"amount":5000}],"tax":0,"total":433000}`,
			Score: 9},
	},
	// The draft has a price as a string and no currency (the schema
	// catches it); the refinement is valid but shortens the vendor's name
	// (the judge catches it); the second is right.
	"Invoice (English)": {
		{Answer: `{"vendor":"Acme Tools Ltd.","number":"A-1042","lines":[{"description":"Cordless drill","quantity":3,"unit_price":"$89.90","amount":269.7},{"description":"Drill bit set","quantity":1,"unit_price":24.5,"amount":24.5}],"tax":58.84,"total":353.04}`},
		{Answer: `{"vendor":"Acme Tools","number":"A-1042","currency":"USD","lines":[{"description":"Cordless drill","quantity":3,"unit_price":89.9,"amount":269.7},{"description":"Drill bit set","quantity":1,"unit_price":24.5,"amount":24.5}],"tax":58.84,"total":353.04}`,
			Score: 6, Issues: []string{`vendor is "Acme Tools" but the invoice names "Acme Tools Ltd."`}},
		{Answer: `{"vendor":"Acme Tools Ltd.","number":"A-1042","currency":"USD","lines":[{"description":"Cordless drill","quantity":3,"unit_price":89.9,"amount":269.7},{"description":"Drill bit set","quantity":1,"unit_price":24.5,"amount":24.5}],"tax":58.84,"total":353.04}`,
			Score: 9},
	},
}
