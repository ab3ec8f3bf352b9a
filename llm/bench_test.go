package llm

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

// BenchmarkResolveOverhead measures one full resolution against the mock
// server (render, request, parse, validate, record) and, in the same run, a
// bare HTTP POST of the same request body to the same server as the
// baseline. overhead-µs/op is what the llm package adds per call.
func BenchmarkResolveOverhead(b *testing.B) {
	b.Setenv(testKeyEnv, "k")
	h := newHarness(b, nil)
	def := llmtest.Reply(validO4)
	h.srv.Default = &def
	d := loadDecision(b)
	if _, err := h.p.Resolve(context.Background(), d); err != nil {
		b.Fatal(err)
	}
	raw := h.srv.Requests()[0].Raw
	client := &http.Client{}
	post := func() {
		resp, err := client.Post(h.srv.URL()+"/chat/completions", "application/json", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		d.Trial = i
		if _, err := h.p.Resolve(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	resolve := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		post()
	}
	base := time.Since(start)
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(base), "raw-http-ns/op")
	b.ReportMetric(per(resolve)/per(base), "x-raw-http")
	b.ReportMetric((per(resolve)-per(base))/1e3, "overhead-µs/op")
}

func BenchmarkParseAnswer(b *testing.B) {
	d := loadDecision(b)
	answer := "Sure:\n```json\n" + validO4 + "\n```"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAnswer(answer, d.Options); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r, err := NewDefaultRenderer(DefaultConfig().Prompts)
	if err != nil {
		b.Fatal(err)
	}
	d := loadDecision(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(d, 1); err != nil {
			b.Fatal(err)
		}
	}
}
