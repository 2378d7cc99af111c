package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm/llmtest"
)

var explainFixture = filepath.Join("..", "explain", "testdata", "fixtures", "demo-mill")

func TestExplainCommand(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"overview", []string{explainFixture}, []string{
			"Overview of DEMO.SRC", "The machine is `Demo Mill 3X`", "[DEMO.SRC:11; DEMO.SRC:14]", "Notable settings", "Diagnostics",
		}},
		{"section", []string{explainFixture, "--section", "INIT_TOOL_CHANGE_MILL"}, []string{
			"Section INIT_TOOL_CHANGE_MILL  (DEMO.SRC:47-52)", "the `G` code `43`", "`CALC_INIT_TOOL_CHANGE_MILL` (MILL.LIB) calls it when it exists",
		}},
		{"section of one file", []string{explainFixture, "--file", "MILL.LIB", "--section", "CALC_START_OF_TAPE"}, []string{
			"This copy of `CALC_START_OF_TAPE` never runs: the copy in DEMO.LIB line 72 wins",
		}},
		{"attribute", []string{explainFixture, "--attribute", "probe tool"}, []string{"Its choices are 1 = `No`, 2 = `Yes`"}},
		{"lines of a file", []string{filepath.Join(explainFixture, "DEMO.SRC"), "--lines", "36-37"}, []string{
			"Lines 36–37 of DEMO.SRC", "`:LIBRARY=.\\MILL.LIB` names MILL.LIB, which is not in the package",
		}},
		{"markdown", []string{explainFixture, "--section", "END_OF_TAPE", "--markdown"}, []string{"## Section END\\_OF\\_TAPE", "### What it outputs", "- Outputs the text `%` and ends the block. (DEMO.SRC:60)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, append([]string{"explain"}, c.args...)...)
			if err != nil {
				t.Fatalf("err %v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestExplainJSONAndCopilotFlag(t *testing.T) {
	out, err := run(t, "explain", "--json", "--llm", "--section", "PRINT_SUMMARY", explainFixture)
	if err != nil {
		t.Fatalf("err %v\n%s", err, out)
	}
	msg := "veripost: the copilot is not configured, so only the offline explanation is shown"
	if !strings.Contains(out, msg) {
		t.Errorf("--llm does not say the copilot is not configured:\n%s", out)
	}
	var doc struct {
		Explanation explain.Explanation `json:"explanation"`
		Copilot     explain.Copilot     `json:"copilot"`
	}
	if err := json.Unmarshal([]byte(strings.Replace(out, msg, "", 1)), &doc); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if doc.Explanation.Subject != "PRINT_SUMMARY" || doc.Copilot.Status != "not_configured" {
		t.Errorf("JSON: %+v %+v", doc.Explanation, doc.Copilot)
	}
	ss := doc.Explanation.Sentences()
	if len(ss) == 0 || len(ss[0].Cites) == 0 || ss[0].Cites[0].File != "DEMO.SRC" {
		t.Errorf("sentences without citations: %+v", ss)
	}
}

func TestExplainCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{explainFixture, "--section", "INIT_TOOL_CHANGE"}, `no section "INIT_TOOL_CHANGE" in the package; did you mean INIT_TOOL_CHANGE_MILL`},
		{[]string{explainFixture, "--lines", "1-5"}, "--lines needs the file"},
		{[]string{explainFixture, "--file", "DEMO.SRC", "--lines", "5-1"}, "write the lines as FROM-TO"},
		{[]string{explainFixture, "--section", "X", "--attribute", "Y"}, "only one of"},
		{[]string{filepath.Join(explainFixture, "DEMO.SRC"), "--file", "X"}, "--file is for a folder"},
		{[]string{filepath.Join(explainFixture, "nope")}, "no such file"},
	} {
		out, err := run(t, append([]string{"explain"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q\n%s", c.args, err, c.want, out)
		}
	}
}

// TestExplainLLM asks the copilot from the command line, against local
// servers speaking each provider's wire format: the answer follows the
// offline explanation with its verified citations; an unverifiable one is
// removed and said; --json carries the answer as sentences; --ask asks a
// free question; a provider failure is an error that keeps the offline
// text.
func TestExplainLLM(t *testing.T) {
	for _, kind := range llmtest.Providers {
		t.Run(kind, func(t *testing.T) {
			fake := llmtest.New(t, kind, func(s *llmtest.SSE) {
				s.Answer(llmtest.T("It calls the tool change and prints G43."), llmtest.C("DEMO.SRC", 49, 49),
					llmtest.T(" And more."), llmtest.C("DEMO.SRC", 400, 401))
			})
			for k, v := range fake.Env() {
				t.Setenv(k, v)
			}
			out, err := run(t, "explain", explainFixture, "--section", "INIT_TOOL_CHANGE_MILL", "--llm")
			if err != nil {
				t.Fatalf("err %v\n%s", err, out)
			}
			for _, w := range []string{"Section INIT_TOOL_CHANGE_MILL  (DEMO.SRC:47-52)", "## The copilot (test-model) says",
				"It calls the tool change and prints G43. [DEMO.SRC:49] And more.", "1 citation could not be verified against the files and was removed"} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "400") {
				t.Errorf("the unverifiable citation is shown:\n%s", out)
			}

			out, err = run(t, "explain", explainFixture, "--ask", "Where is the tool change output?", "--json")
			if err != nil {
				t.Fatalf("err %v\n%s", err, out)
			}
			var doc struct {
				Copilot explain.Copilot `json:"copilot"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			a := doc.Copilot.Answer
			if doc.Copilot.Status != "answered" || a == nil || a.Unverified != 1 || len(a.Sentences) < 1 ||
				a.Sentences[0].Text != "It calls the tool change and prints G43." || len(a.Sentences[0].Cites) != 1 || a.Sentences[0].Cites[0].Start != 49 {
				t.Errorf("--json copilot: %+v %+v", doc.Copilot, a)
			}
			if !strings.Contains(fake.Prompt(), "Question: Where is the tool change output?") {
				t.Errorf("the free question was not asked: %.400s", fake.Prompt())
			}

			fake.SetPlay(func(s *llmtest.SSE) { s.RateLimited(30) })
			out, err = run(t, "explain", explainFixture, "--attribute", "probe tool", "--llm")
			if err == nil || !strings.Contains(err.Error(), "Try again in 30 seconds") || !strings.Contains(out, "Attribute probe tool") || strings.Contains(out, "The copilot") {
				t.Errorf("rate limited: err %v\n%s", err, out)
			}
		})
	}
}
