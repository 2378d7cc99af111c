package cli

import (
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestReindexCommand: after a parser upgrade, `veripost reindex` re-parses
// the stored versions in-process and reports when it is done.
func TestReindexCommand(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	app := servertest.Start(t, cfg)
	res := app.Upload([]servertest.NamedFile{{Name: "R.SRC", Data: []byte(":SYSTEM=MILL\r\n:SECTION=START_OF_TAPE\r\n:T:%<EOL>\r\n")}}, nil)
	app.WaitReady(res.PackageID)
	app.Stop()

	t.Setenv("VERIPOST_DATA_DIR", cfg.DataDir)
	old := analysis.ParserVersion
	analysis.ParserVersion = old + "-upgraded"
	defer func() { analysis.ParserVersion = old }()

	out, err := run(t, "reindex", "--workers", "1")
	if err != nil || !strings.Contains(out, "1 queued") || !strings.Contains(out, "done: 1 versions indexed by parser version "+old+"-upgraded") {
		t.Fatalf("reindex: %v\n%s", err, out)
	}
	out, err = run(t, "reindex", "--workers", "0")
	if err != nil || !strings.Contains(out, "1 of 1 versions indexed, 0 queued") {
		t.Fatalf("second reindex: %v\n%s", err, out)
	}
}
