package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/llm/llmtest"
	"github.com/veripost/veripost/internal/server/servertest"
)

// BenchmarkAskFirstText measures how long the first words of an answer
// take from the (local, Anthropic wire format) provider writing them to a
// client of the API reading them as a server-sent event: the SDK, the
// copilot's verification loop, the handler and HTTP in between. Target:
// 100 ms.
func BenchmarkAskFirstText(b *testing.B) {
	sent := make(chan time.Time, 1)
	fake := llmtest.New(b, llmtest.Anthropic, func(s *llmtest.SSE) {
		s.MessageStart(100)
		s.BlockStart(0, false)
		sent <- time.Now()
		s.TextDelta(0, "First words.")
		s.BlockStop(0)
		s.MessageEnd("end_turn", 3)
	})
	cfg := servertest.SQLite.Config(b)
	cfg.LLMProvider, cfg.LLMBaseURL, cfg.LLMModel, cfg.LLMAPIKey = fake.Kind, fake.BaseURL(), "test-model", llmtest.Key
	app := servertest.Start(b, cfg)
	res := app.Upload(explainFixtureTB(b), nil)
	app.WaitReady(res.PackageID)
	url := app.URL + "/api/v1/packages/" + res.PackageID + "/ask"
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++ // a new question each time: no cache hit
		body, _ := json.Marshal(map[string]string{"question": "Where is the tool change output? " + strconv.Itoa(i)})
		resp, err := app.Client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("ask: %v %v", err, resp)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "event: text" {
				lat = append(lat, time.Since(<-sent))
				break
			}
		}
		for sc.Scan() { // the rest of the answer
		}
		resp.Body.Close()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	}
}
