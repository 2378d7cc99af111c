package cli

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestSearchCommand runs `veripost search` against a running server: grep
// style text, --json (the API's answer), filters, and exit status 1 when
// nothing matched.
func TestSearchCommand(t *testing.T) {
	// Counting stops after one line once the page is full (the default
	// budget is too big for a test's data); cached answers are off.
	app := servertest.Start(t, servertest.SQLite.Config(t), func(a *server.App) { a.Search.MaxHits, a.Search.CacheBytes = 1, -1 })
	src := ":SYSTEM=MILL\r\n:ATTRNAME=COOLANT TYPE\r\n:ATTRTYPE=INTEGER\r\n:ATTREND\r\n:SECTION=CALC_COOLANT\r\n:C:COOLANT_TYPE=8\r\n:SECTION=START_OF_TAPE\r\n:T:%<EOL>\r\n:T:<M:08><EOL>\r\n"
	res := app.Upload([]servertest.NamedFile{{Name: "CLI.SRC", Data: []byte(src)}}, map[string]string{"name": "Cli post"})
	app.WaitSearchable(res.PackageID)
	t.Setenv(apiclient.EnvServer, app.URL)
	t.Setenv(apiclient.EnvToken, "")
	if _, err := run(t, "search", "COOLANT_TYPE"); err == nil || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Errorf("search without a token: %v", err)
	}
	t.Setenv(apiclient.EnvToken, app.Token)

	out, err := run(t, "search", "COOLANT_TYPE")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	for _, want := range []string{"Cli post v1", "CLI.SRC", "2: definition :ATTRNAME=COOLANT TYPE", "6: assignment :C:COOLANT_TYPE=8",
		"Packages: 1, files: 1, hits: 2 (lexical ranking)."} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "search", "--json", "--section", "calc", "--context", "1", "COOLANT_TYPE")
	if err != nil {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	var r search.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output is not the API's JSON: %v\n%s", err, out)
	}
	if r.Total.Hits != 1 || r.Filter.Section != "calc" || len(r.Packages[0].Files[0].Shown[0].Before) != 1 {
		t.Errorf("--json --section calc --context 1: %+v", r.Total)
	}
	out, err = run(t, "search", "M08", "--server", app.URL)
	if err != nil || !strings.Contains(out, "outputs") || !strings.Contains(out, "M08") {
		t.Errorf("M08: %v\n%s", err, out)
	}
	out, err = run(t, "search", "NOTHING_LIKE_THIS")
	var exit ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(out, "Nothing matched") {
		t.Errorf("no match: %v\n%s", err, out)
	}
	if _, err := run(t, "search", "--server", app.URL, "--", "-coolant"); err == nil || !strings.Contains(err.Error(), "not only what to leave out") {
		t.Errorf("a query of only a negation: %v", err)
	}
	// A second package: one package a page fills the page, so counting
	// stops early and the totals say they are lower bounds.
	more := ":SYSTEM=MILL\r\n:SECTION=CALC_COOLANT\r\n"
	for i := 1; i <= 6; i++ {
		more += ":C:COOLANT_TYPE=" + strconv.Itoa(i) + "\r\n"
	}
	res = app.Upload([]servertest.NamedFile{{Name: "TWO.SRC", Data: []byte(more)}}, map[string]string{"name": "Cli post two"})
	app.WaitSearchable(res.PackageID)
	out, err = run(t, "search", "--limit", "2", "COOLANT_TYPE")
	if err != nil || !strings.Contains(out, "Packages: 2, files: 2, hits: 8 (lexical ranking).") {
		t.Errorf("two packages on a page of two are counted exactly: %v\n%s", err, out)
	}
	out, err = run(t, "search", "--limit", "1", "COOLANT_TYPE")
	if err != nil || !strings.Contains(out, "Packages: 2+, files: 2+, hits: ") || !strings.Contains(out, "counting stopped after the best matches") ||
		!strings.Contains(out, "Cli post v1") {
		t.Errorf("bounded count: %v\n%s", err, out)
	}
	_, err = run(t, "search", "x", "--server", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "Could not reach the VeriPost server") {
		t.Errorf("unreachable server: %v", err)
	}
}
