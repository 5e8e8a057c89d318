package bedrock_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/provider/bedrock"
	"github.com/selfrefine/refine/provider/bedrock/internal/batchfake"
)

// Three questions asked at once go to Bedrock as one batch inference job.
// Offline stand-ins play S3 and the control plane here; against AWS, leave
// S3 and Control nil and build the Provider with bedrock.FromEnv, which
// makes both clients from the AWS configuration.
func ExampleWithBatch() {
	store := batchfake.NewMemS3() // an *s3.Client against AWS
	ctl := batchfake.New(store)   // Bedrock's control plane
	defer ctl.Close()
	runtime := exampleBedrock(func(string, string) string { return "(on demand)" })
	defer runtime.Close()

	p := bedrock.New(exampleClient(runtime.URL), "us.amazon.nova-lite-v1:0", bedrock.WithBatch(bedrock.BatchOptions{
		RoleARN:     "arn:aws:iam::123456789012:role/bedrock-batch",
		InputURI:    "s3://my-bucket/refine/in",
		OutputURI:   "s3://my-bucket/refine/out",
		MinRequests: 3, // the service wants 100 records or more; this stand-in takes 3
		MaxRequests: 3,
		Poll:        time.Millisecond, // default 30s
		S3:          store,
		Control:     ctl.Client(), // a *bedrock.Client (service/bedrock) against AWS
	}))
	defer p.Close(context.Background())

	questions := []string{"Name a prime.", "Name a color.", "Name a river."}
	answers := make([]string, len(questions))
	var wg sync.WaitGroup
	for i, q := range questions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.Complete(context.Background(), &refine.Request{Messages: []refine.Message{{Role: refine.RoleUser, Content: q}}})
			if err != nil {
				log.Fatal(err)
			}
			answers[i] = fmt.Sprintf("%s (batch: %v)", resp.Text, resp.Batch)
		}()
	}
	wg.Wait()
	for _, a := range answers {
		fmt.Println(a)
	}
	fmt.Println("jobs:", len(ctl.Jobs()))
	// Output:
	// answer: Name a prime. (batch: true)
	// answer: Name a color. (batch: true)
	// answer: Name a river. (batch: true)
	// jobs: 1
}
