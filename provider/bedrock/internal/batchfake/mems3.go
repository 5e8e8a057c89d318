package batchfake

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// MemS3 is an in-memory S3 with the calls bedrock.S3API needs, and a
// Store for the fake control plane. Listing pages hold two keys, so that
// paging is exercised.
type MemS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket + "/" + key
	puts    int
}

// NewMemS3 returns an empty store.
func NewMemS3() *MemS3 { return &MemS3{objects: map[string][]byte{}} }

// Puts counts PutObject calls.
func (m *MemS3) Puts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts
}

// Keys returns the keys of bucket, sorted.
func (m *MemS3) Keys(bucket string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objects {
		if b, key, _ := strings.Cut(k, "/"); b == bucket {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys
}

// Get reads an object (Store).
func (m *MemS3) Get(_ context.Context, bucket, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist: " + key}
	}
	return bytes.Clone(b), nil
}

// Put writes an object (Store).
func (m *MemS3) Put(_ context.Context, bucket, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key] = bytes.Clone(body)
	return nil
}

// PutObject stores the body (bedrock.S3API).
func (m *MemS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := readAll(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.puts++
	m.mu.Unlock()
	return &s3.PutObjectOutput{}, m.Put(ctx, aws.ToString(in.Bucket), aws.ToString(in.Key), body)
}

// GetObject returns an object or a NoSuchKey error (bedrock.S3API).
func (m *MemS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b, err := m.Get(ctx, aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, err
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b)))}, nil
}

// ListObjectsV2 lists keys under the prefix, two a page (bedrock.S3API).
func (m *MemS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	var keys []string
	for _, k := range m.Keys(aws.ToString(in.Bucket)) {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			keys = append(keys, k)
		}
	}
	start := 0
	if t := aws.ToString(in.ContinuationToken); t != "" {
		start, _ = strconv.Atoi(t)
	}
	end := min(start+2, len(keys))
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(end < len(keys)), KeyCount: aws.Int32(int32(end - start))}
	for _, k := range keys[min(start, end):end] {
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k)})
	}
	if end < len(keys) {
		out.NextContinuationToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}
