package refine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/selfrefine/refine"
	"github.com/selfrefine/refine/refinetest"
)

func TestLoggerLogsStepsNotPrompts(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := refinetest.NewProvider("SECRET-ANSWER", verdict(5, "SECRET-ISSUE"), "SECRET-REFINED", verdict(9, "none")).
		FailAt(1, refinetest.Transient(refine.ErrUnavailable, 0))
	_, err := refine.Run(context.Background(), "SECRET-QUERY", refine.WithProvider(fast(p)), refine.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"refine: judged", "score=5", "score=9", "refine: retrying model call", "refine: stopped", "reason=threshold"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("log holds prompt or answer text:\n%s", out)
	}
}
