package openai_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/internal/batch/openaifake"
	"github.com/selfrefine/refine/provider/openai"
)

// Three calls made at once go out as one batch job (here to a fake batch
// server on loopback; give OpenAI's base URL, or any server with its files
// and batches API), and each caller gets its own line back.
func ExampleWithBatch() {
	srv := openaifake.New() // a stand-in for the Batch API
	defer srv.Close()

	p := openai.New("gpt-4o-mini", openai.WithBaseURL(srv.BaseURL()), openai.WithAPIKey("sk-test"),
		openai.WithBatch(openai.BatchOptions{MaxRequests: 3, Poll: time.Millisecond}))
	defer p.Close(context.Background())

	questions := []string{"What is a closure?", "Why use a mutex?", "What does fsync do?"}
	answers := make([]*refine.Response, len(questions))
	var wg sync.WaitGroup
	for i, q := range questions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: q}}})
			if err != nil {
				fmt.Println(err)
				return
			}
			answers[i] = resp
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if a != nil {
			fmt.Printf("%s (batch: %v)\n", a.Text, a.Batch)
		}
	}
	fmt.Println("batch jobs:", len(srv.Batches()))
	// Output:
	// answer: What is a closure? (batch: true)
	// answer: Why use a mutex? (batch: true)
	// answer: What does fsync do? (batch: true)
	// batch jobs: 1
}
