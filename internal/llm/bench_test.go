package llm_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/llm"
)

// BenchmarkDeltaLatency measures the delay between the local provider
// writing a text delta to its socket and Stream yielding it: the SDK's SSE
// decoding, this package's event handling (citation markers included) and
// the channel hop. The target is the first token on the page within
// 100 ms of the provider sending it; this layer should add next to nothing.
// The provider waits for each delta to arrive before sending the next, so
// every sample is one delta's own delay, not queueing. Reported: p50, p99
// and max in microseconds.
//
//	go test -run '^$' -bench DeltaLatency ./internal/llm/
func BenchmarkDeltaLatency(b *testing.B) {
	words := []string{" On", " a", " tool", " change", " the", " post", " stops", " the", " spindle", " with", " M05"}
	for _, prov := range providers {
		b.Run(prov, func(b *testing.B) {
			sent := make(chan time.Time, 1)
			ack := make(chan struct{})
			f := newFake(b, prov, func(s *sse) {
				s.Sent = sent
				if s.Kind == llm.ProviderAnthropic {
					s.MessageStart(500)
					s.BlockStart(0, false)
				}
				for _, w := range words {
					if s.Kind == llm.ProviderAnthropic {
						s.TextDelta(0, w)
					} else {
						s.Content(w)
					}
					select {
					case <-ack:
					case <-time.After(10 * time.Second):
						return
					}
				}
				if s.Kind == llm.ProviderAnthropic {
					s.BlockStop(0)
					s.MessageEnd("end_turn", len(words))
				} else {
					s.Finish("stop", 500, len(words))
				}
			})
			cp := newCopilot(b, f, nil, nil)
			req := request(b)
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				ch, err := cp.Stream(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				for ev := range ch {
					switch ev.Kind {
					case llm.EventText:
						lat = append(lat, time.Since(<-sent))
						ack <- struct{}{}
					case llm.EventError:
						b.Fatal(ev.Err)
					}
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
			b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
			b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
			b.ReportMetric(us(lat[len(lat)-1]), "max-µs")
		})
	}
}
