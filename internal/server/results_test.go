package server_test

import (
	"context"
	"testing"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// TestStoredResultForms: a version result stored without its cross-file
// diagnostics (rebuilt from the files' stored facts on read) answers
// exactly as the full result stored before did — outline, diagnostics
// (aggregated and each), symbols and the package — and stays small.
func TestStoredResultForms(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		ctx := context.Background()
		for _, p := range pkgs {
			t.Run(p.Name, func(t *testing.T) {
				app := app.With(t)
				up := app.Upload(servertest.CorpusFiles(p), nil)
				app.WaitReady(up.PackageID)
				snapshot := func() string {
					var each api.DiagnosticsBody
					app.GetJSON("/api/v1/packages/"+up.PackageID+"/diagnostics?each=true&limit=1000", &each)
					return indexSnapshot(t, app, up.PackageID) + string(jsonOf(t, each))
				}
				var id int64
				var fileSet string
				var stored int
				if err := app.DB.R.QueryRowContext(ctx, `SELECT r.id, r.fileset, LENGTH(r.result) FROM version_analyses r
					JOIN package_versions v ON v.analysis_id = r.id WHERE v.package_id = $1`, up.PackageID).Scan(&id, &fileSet, &stored); err != nil {
					t.Fatal(err)
				}
				if stored > 2048 {
					t.Errorf("stored result takes %d bytes, want at most 2048", stored)
				}
				now := snapshot()

				// The form written before: the full result, computed on the
				// files in the order the store lists them, under a new row
				// id (the decoded results are cached by id).
				var outline api.OutlineBody
				app.GetJSON("/api/v1/packages/"+up.PackageID+"/outline", &outline)
				byName := map[string][]byte{}
				for _, f := range p.Files {
					byName[f.Name] = f.Data
				}
				inputs := make([]analysis.Input, len(outline.Files))
				for i, f := range outline.Files {
					inputs[i] = analysis.Input{Name: f.Filename, Data: byName[f.Filename]}
				}
				full := index.ResultOf(fileSet, analysis.Analyze(inputs))
				blob, err := analysis.PackJSON(full)
				if err != nil {
					t.Fatal(err)
				}
				if len(blob) <= stored && len(full.Diagnostics) > 0 {
					t.Errorf("the full result (%d bytes) is not larger than the stored one (%d)", len(blob), stored)
				}
				for _, st := range []struct {
					q    string
					args []any
				}{
					{`UPDATE version_analyses SET fileset = 'old:' || fileset WHERE id = $1`, []any{id}},
					{`INSERT INTO version_analyses (fileset, parser_version, result, created_at)
						SELECT $2, parser_version, $3, created_at FROM version_analyses WHERE id = $1`, []any{id, fileSet, blob}},
					{`UPDATE package_versions SET analysis_id = (SELECT id FROM version_analyses WHERE fileset = $2) WHERE analysis_id = $1`, []any{id, fileSet}},
					{`DELETE FROM version_analyses WHERE id = $1`, []any{id}},
				} {
					if _, err := app.DB.SQL.ExecContext(ctx, st.q, st.args...); err != nil {
						t.Fatalf("%s: %v", st.q, err)
					}
				}
				if before := snapshot(); before != now {
					t.Errorf("answers differ between the stored forms:\n%s", firstDiff(before, now))
				}
			})
		}
	})
}
