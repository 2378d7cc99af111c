package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestSearchCommand runs `veripost search` against a running server: grep
// style text, --json (the API's answer), filters, and exit status 1 when
// nothing matched.
func TestSearchCommand(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
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
	_, err = run(t, "search", "x", "--server", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "Could not reach the VeriPost server") {
		t.Errorf("unreachable server: %v", err)
	}
}
