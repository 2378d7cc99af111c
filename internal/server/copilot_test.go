package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/llm/llmtest"
	"github.com/veripost/veripost/internal/server/servertest"
)

// sseEvent is one server-sent event of an answer.
type sseEvent struct {
	Name string
	Data api.AskEvent
	Ctx  api.AskContext
	Err  servertest.APIError // of an error event
}

// askStream posts to an ask route and reads the whole answer. stop, when
// set, is called with each event; returning true closes the connection.
func askStream(t *testing.T, c *http.Client, url string, body any, stop func(sseEvent) bool) (int, http.Header, []sseEvent, []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if body != nil { // nil: no body at all
		b, _ := json.Marshal(body)
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var raw bytes.Buffer
		_, _ = raw.ReadFrom(res.Body)
		return res.StatusCode, res.Header, nil, raw.Bytes()
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	var evs []sseEvent
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			var err error
			switch ev.Name {
			case "context":
				err = json.Unmarshal(data, &ev.Ctx)
			case "error":
				var v struct {
					Error servertest.APIError `json:"error"`
				}
				err = json.Unmarshal(data, &v)
				ev.Err = v.Error
			default:
				err = json.Unmarshal(data, &ev.Data)
			}
			if err != nil {
				t.Fatalf("event %s: %v: %s", ev.Name, err, data)
			}
		case line == "":
			if ev.Name == "" {
				continue
			}
			evs = append(evs, ev)
			if stop != nil && stop(ev) {
				cancel()
				return res.StatusCode, res.Header, evs, nil
			}
			ev = sseEvent{}
		}
	}
	return res.StatusCode, res.Header, evs, nil
}

// answer sums up a stream: the text, the citations and the final event.
func answer(t *testing.T, evs []sseEvent) (string, []api.AskCitation, *llm.Answer) {
	t.Helper()
	if len(evs) == 0 || evs[0].Name != "context" {
		t.Fatalf("the stream does not start with the context: %+v", evs)
	}
	var text strings.Builder
	var cites []api.AskCitation
	var done *llm.Answer
	for _, ev := range evs[1:] {
		switch ev.Name {
		case "text":
			text.WriteString(ev.Data.Text)
		case "citation":
			cites = append(cites, *ev.Data.Citation)
		case "done":
			done = ev.Data.Answer
		case "error":
			t.Fatalf("error event: %+v", ev.Err)
		}
	}
	if done == nil {
		t.Fatalf("no done event in %+v", evs)
	}
	return text.String(), cites, done
}

func copilotApp(t *testing.T, b servertest.Backend, f *llmtest.Fake) *servertest.App {
	t.Helper()
	cfg := b.Config(t)
	cfg.LLMProvider, cfg.LLMBaseURL, cfg.LLMModel, cfg.LLMAPIKey = f.Kind, f.BaseURL(), "test-model", llmtest.Key
	return servertest.Start(t, cfg)
}

func readFixtureDir(t *testing.T, dir string) []servertest.NamedFile {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []servertest.NamedFile
	for _, e := range es {
		if filepath.Ext(e.Name()) == ".txt" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, servertest.NamedFile{Name: e.Name(), Data: data})
	}
	return out
}

// begin starts an answer in the fake's wire format.
func begin(s *llmtest.SSE) {
	if s.Kind == llmtest.Anthropic {
		s.MessageStart(300)
		return
	}
	s.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)
}

var linesRE = regexp.MustCompile(`^(.+) lines (\d+)-(\d+)$`)

// TestCopilotAPI asks every kind of question through the API of a real
// app whose provider is a local server speaking the Anthropic wire format
// (SQLite) or the OpenAI one (PostgreSQL): the answer streams as SSE with
// verified citations linked into the source view, an unverifiable one is
// dropped and counted, the second ask is served from the cache, a rate
// limit is a 429 with Retry-After, a cancelled answer is recorded, and the
// admins' report lists who asked about what.
func TestCopilotAPI(t *testing.T) {
	kinds := map[string]string{servertest.SQLite.Name: llmtest.Anthropic, servertest.Postgres.Name: llmtest.OpenAI}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		fake := llmtest.New(t, kinds[b.Name], func(s *llmtest.SSE) {
			s.Answer(llmtest.T("It prints the tool change block."), llmtest.C("DEMO.SRC", 47, 48),
				llmtest.T(" It also does something the source does not show."), llmtest.C("DEMO.SRC", 900, 901))
		})
		app := copilotApp(t, b, fake)
		res := app.Upload(explainFixture(t), map[string]string{"name": "Demo mill"})
		app.WaitReady(res.PackageID)
		pf := listFiles(t, app, res.PackageID)
		src := pf.byName["DEMO.SRC"]
		base := "/api/v1/packages/" + res.PackageID

		// The explanation offers the copilot, at the ask route of the same subject.
		var sec api.ExplainBody
		app.GetJSON(base+"/files/"+src+"/sections/INIT_TOOL_CHANGE_MILL/explain", &sec)
		wantAsk := base + "/files/" + src + "/sections/INIT_TOOL_CHANGE_MILL/ask"
		if sec.Copilot.Status != "available" || sec.Copilot.AskURL != wantAsk || !strings.Contains(sec.Copilot.Message, "test-model") {
			t.Fatalf("copilot slot %+v, want available at %s", sec.Copilot, wantAsk)
		}

		status, _, evs, raw := askStream(t, app.Client, app.URL+sec.Copilot.AskURL, struct{}{}, nil)
		if status != http.StatusOK {
			t.Fatalf("ask: %d %s", status, raw)
		}
		info := evs[0].Ctx
		if info.Kind != "section" || len(info.Sources) == 0 || info.Sources[0] != "DEMO.SRC lines 47-52" || info.Model != "test-model" {
			t.Errorf("context event %+v", info)
		}
		text, cites, done := answer(t, evs)
		if !strings.Contains(text, "It prints the tool change block.") || strings.Contains(text, "[") {
			t.Errorf("answer text %q", text)
		}
		wantHref := "/packages/" + res.PackageID + "/files/" + src + "?hl=47-48#L47"
		if len(cites) != 1 || cites[0].Href != wantHref || cites[0].SourceID != src || cites[0].StartLine != 47 {
			t.Fatalf("citations %+v, want one at %s", cites, wantHref)
		}
		if done.Dropped != 1 || done.Cached || done.Usage.InputTokens != 500 || len(done.Citations) != 1 {
			t.Errorf("done %+v: want 1 dropped citation, not cached, 500 tokens in", done)
		}
		calls := fake.Calls.Load()

		// The same question again costs nothing.
		_, _, evs, _ = askStream(t, app.Client, app.URL+sec.Copilot.AskURL, nil, nil)
		text2, cites2, done2 := answer(t, evs)
		if !done2.Cached || text2 != text || len(cites2) != 1 || cites2[0].Href != wantHref || fake.Calls.Load() != calls {
			t.Errorf("second ask: cached %v, %d provider calls (was %d)", done2.Cached, fake.Calls.Load(), calls)
		}

		// A free question about the package: its words find the section.
		fake.SetPlay(func(s *llmtest.SSE) {
			s.Answer(llmtest.T("The tool change is output in INIT_TOOL_CHANGE_MILL."), llmtest.C("DEMO.SRC", 49, 49))
		})
		var ov api.ExplainBody
		app.GetJSON(base+"/explain", &ov)
		if ov.Copilot.AskURL != base+"/ask?version=1" {
			t.Errorf("overview ask url %q", ov.Copilot.AskURL)
		}
		_, _, evs, raw = askStream(t, app.Client, app.URL+base+"/ask", map[string]string{"question": "Where is the tool change output?"}, nil)
		if evs == nil {
			t.Fatalf("free question: %s", raw)
		}
		_, cites, _ = answer(t, evs)
		if evs[0].Ctx.Kind != "question" || !strings.Contains(strings.Join(evs[0].Ctx.Sources, ","), "DEMO.SRC lines 47-52") {
			t.Errorf("free question context %+v", evs[0].Ctx)
		}
		if !strings.Contains(fake.Prompt(), "Where is the tool change output?") || len(cites) != 1 {
			t.Errorf("free question: %d citations; prompt %.300s", len(cites), fake.Prompt())
		}

		// A question on a fixed subject is refused; so is an anonymous reader.
		status, _, _, raw = askStream(t, app.Client, app.URL+sec.Copilot.AskURL, map[string]string{"question": "why?"}, nil)
		if status != http.StatusBadRequest {
			t.Errorf("question on a section: %d %s", status, raw)
		}
		status, _, _, _ = askStream(t, app.Anonymous, app.URL+sec.Copilot.AskURL, nil, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("anonymous ask: %d", status)
		}

		// A rate limit before the answer starts is a plain JSON error.
		fake.SetPlay(func(s *llmtest.SSE) { s.RateLimited(7) })
		status, h, _, raw := askStream(t, app.Client, app.URL+base+"/files/"+src+"/ask?from=47&to=49", nil, nil)
		var e servertest.APIError
		_ = json.Unmarshal(raw, &e)
		if status != http.StatusTooManyRequests || e.Code != "LLM_RATE_LIMITED" || h.Get("Retry-After") != "7" || !strings.Contains(e.Message, "offline explanation") {
			t.Errorf("rate limited: %d %s Retry-After %q", status, raw, h.Get("Retry-After"))
		}

		// Closing the connection stops the answer; the call is recorded.
		fake.SetPlay(func(s *llmtest.SSE) {
			begin(s)
			if s.Kind == llmtest.Anthropic {
				s.BlockStart(0, false)
				s.TextDelta(0, "The probe")
			} else {
				s.Content("The probe")
			}
			s.WaitGone()
		})
		_, _, evs, _ = askStream(t, app.Client, app.URL+base+"/attributes/probe%20tool/ask", nil, func(ev sseEvent) bool { return ev.Name == "text" })
		if len(evs) < 2 || evs[len(evs)-1].Data.Text != "The probe" {
			t.Errorf("cancelled stream: %+v", evs)
		}

		// A stream that breaks off ends with an error event; the text so far stays.
		fake.SetPlay(func(s *llmtest.SSE) {
			begin(s)
			if s.Kind == llmtest.Anthropic {
				s.BlockStart(0, false)
				s.TextDelta(0, "The machine")
			} else {
				s.Content("The machine")
			}
			s.Cut()
		})
		_, _, evs, _ = askStream(t, app.Client, app.URL+base+"/attributes/MACHINE%20NAME/ask", nil, nil)
		if last := evs[len(evs)-1]; last.Name != "error" || last.Err.Code != "LLM_BAD_REPLY" ||
			!strings.Contains(last.Err.Message, "offline explanation") || evs[len(evs)-2].Data.Text != "The machine" {
			t.Errorf("broken stream: %+v", evs)
		}

		// The admins' report: who asked about what, and the outcomes.
		var rep llm.UsageReport
		deadline := time.Now().Add(5 * time.Second)
		for {
			app.GetJSON("/api/v1/copilot/usage", &rep)
			if len(rep.Recent) >= 5 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		outcomes := map[string]bool{}
		for _, r := range rep.Recent {
			outcomes[r.Outcome] = true
			if r.User != servertest.AdminName || !strings.Contains(r.Subject, "Demo mill v1") {
				t.Errorf("usage record %+v: want user admin and the version in the subject", r)
			}
		}
		if !rep.Enabled || rep.Month.Calls != 5 || rep.Month.Failed != 2 || !outcomes["ok"] || !outcomes["LLM_RATE_LIMITED"] || !outcomes["canceled"] || !outcomes["LLM_BAD_REPLY"] {
			t.Errorf("usage report: %+v", rep)
		}
		if !strings.Contains(rep.Recent[len(rep.Recent)-1].Subject, "section INIT_TOOL_CHANGE_MILL") {
			t.Errorf("the first call's subject is %q", rep.Recent[len(rep.Recent)-1].Subject)
		}
		// Only administrators see it.
		reader := app.CreateUser("reader", auth.RoleViewer, servertest.RandomPassword(), auth.ScopeRead)
		if status, _, _ := app.Get("/api/v1/copilot/usage", "Authorization", "Bearer "+reader); status != http.StatusForbidden {
			t.Errorf("usage for a reader: %d", status)
		}

		// Explain a change: offline, then with the copilot citing side B.
		v2 := app.Upload(readFixtureDir(t, filepath.Join("..", "explain", "testdata", "change", "demo-mill-v2")),
			map[string]string{"package_id": res.PackageID})
		app.WaitVersionReady(res.PackageID, v2.Version)
		pf2 := listFiles(t, app, res.PackageID)
		sides := "a=" + res.PackageID + "@1&b=" + res.PackageID + "@2"
		var ch api.ChangeBody
		app.GetJSON("/api/v1/compare/explain?"+sides, &ch)
		askURL, _ := url.Parse(ch.Copilot.AskURL)
		if ch.Explanation.Kind != explain.KindChange || askURL.Path != "/api/v1/compare/ask" ||
			askURL.Query().Get("a") != res.PackageID+"@1" || askURL.Query().Get("b") != res.PackageID+"@2" {
			t.Fatalf("change: %s, ask %q", ch.Explanation.Kind, ch.Copilot.AskURL)
		}
		nb := 0
		for _, s := range ch.Explanation.Sentences() {
			for _, c := range s.Cites {
				ids := pf.byName
				if c.Side == explain.SideB {
					ids, nb = pf2.byName, nb+1
				}
				if c.FileID == "" || c.FileID != ids[c.File] {
					t.Fatalf("change citation %s has file id %q", c, c.FileID)
				}
			}
		}
		if nb == 0 || !strings.Contains(ch.Markdown, "/packages/"+res.PackageID+"/files/"+pf2.byName["DEMO.SRC"]) {
			t.Errorf("change explanation: %d citations of B; markdown %.300s", nb, ch.Markdown)
		}
		// The context lists the hunks; the first ask (stopped, so nothing
		// is cached) finds the first one of B's DEMO.SRC to cite.
		var first [3]string
		fake.SetPlay(func(s *llmtest.SSE) {
			begin(s)
			s.WaitGone()
		})
		status, _, evs, raw = askStream(t, app.Client, app.URL+ch.Copilot.AskURL, nil, func(ev sseEvent) bool {
			for _, s := range ev.Ctx.Sources {
				if m := linesRE.FindStringSubmatch(s); m != nil && strings.HasPrefix(m[1], "B/DEMO.SRC") {
					copy(first[:], m[1:])
					break
				}
			}
			return true
		})
		if status != http.StatusOK || first[0] == "" {
			t.Fatalf("change ask: %d %s; context %+v", status, raw, evs)
		}
		fake.SetPlay(func(s *llmtest.SSE) {
			n, _ := strconv.Atoi(first[1])
			s.Answer(llmtest.T("Version 2 stops the spindle differently."), llmtest.C(first[0], n, n))
		})
		_, _, evs, _ = askStream(t, app.Client, app.URL+ch.Copilot.AskURL, nil, nil)
		_, cites, done = answer(t, evs)
		want := "/packages/" + res.PackageID + "/files/" + pf2.byName["DEMO.SRC"] + "#L" + first[1]
		if len(cites) != 1 || cites[0].Href != want || done.Dropped != 0 {
			t.Errorf("change citations %+v, want %s", cites, want)
		}
	})
}

// TestCopilotOff: with no provider the ask routes say so, and nothing else
// changes.
func TestCopilotOff(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	res := app.Upload(explainFixture(t), nil)
	app.WaitReady(res.PackageID)
	status, _, _, raw := askStream(t, app.Client, app.URL+"/api/v1/packages/"+res.PackageID+"/ask", nil, nil)
	var e servertest.APIError
	_ = json.Unmarshal(raw, &e)
	if status != http.StatusServiceUnavailable || e.Code != "LLM_DISABLED" || !strings.Contains(e.Message, "offline explanation") {
		t.Errorf("ask with the copilot off: %d %s", status, raw)
	}
	var rep llm.UsageReport
	app.GetJSON("/api/v1/copilot/usage", &rep)
	if rep.Enabled || rep.Month.Calls != 0 || rep.Recent == nil {
		t.Errorf("usage report with the copilot off: %+v", rep)
	}
}
