package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/importer"
	"github.com/veripost/veripost/internal/importer/importertest"
	"github.com/veripost/veripost/internal/server/servertest"
)

type importJSON struct {
	importer.Report
	Ingest map[catalog.Status]int `json:"ingestion"`
}

func runImport(t *testing.T, args ...string) importJSON {
	t.Helper()
	out, err := run(t, append([]string{"import", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("import %v: %v\n%s", args, err, out)
	}
	var rep importJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("import output: %v\n%s", err, out)
	}
	return rep
}

// TestImportIntoServer imports the share into a running server, runs it
// again (nothing new), changes one file (one new version), and resumes an
// import that was interrupted after its first package.
func TestImportIntoServer(t *testing.T) {
	share := importertest.BuildShare(t)
	n := len(importertest.Expected)

	out, err := run(t, "import", "--dry-run", share)
	if err != nil || !strings.Contains(out, "plan: 6 packages") || !strings.Contains(out, "skip archive.zip") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}

	app := servertest.Start(t, servertest.SQLite.Config(t))
	t.Setenv(apiclient.EnvServer, "")
	t.Setenv(apiclient.EnvToken, "")
	if out, err := run(t, "import", "--server", app.URL, share); err == nil || !strings.Contains(err.Error(), "VERIPOST_TOKEN") {
		t.Fatalf("import without a token: %v\n%s", err, out)
	}
	t.Setenv(apiclient.EnvToken, app.Token)
	rep := runImport(t, "--server", app.URL, share)
	if rep.Imported != n || rep.Failed != 0 || rep.Unchanged != 0 || rep.Ingest[catalog.StatusReady] != n {
		t.Fatalf("first import: %+v", rep)
	}
	rep = runImport(t, "--server", app.URL, share)
	if rep.Imported != 0 || rep.Unchanged != n || rep.NewVersions != 0 {
		t.Fatalf("second import of the same share: %+v", rep)
	}
	f := filepath.Join(share, "Two", "A.LIB")
	data, _ := os.ReadFile(f)
	if err := os.WriteFile(f, append(data, []byte("* changed\r\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = runImport(t, "--server", app.URL, share)
	if rep.NewVersions != 1 || rep.Unchanged != n-1 || rep.Imported != 0 {
		t.Fatalf("after changing one file: %+v", rep)
	}
	for _, d := range rep.Packages {
		if d.Outcome == importer.NewVersion && (d.Package != "Two/A" || d.Version != 2) {
			t.Fatalf("the new version: %+v", d)
		}
	}
	var page catalog.Page[catalog.Package]
	app.GetJSON("/api/v1/packages?limit=200", &page)
	if len(page.Items) != n {
		t.Fatalf("%d packages on the server, want %d", len(page.Items), n)
	}

	// Interrupted after the first package, then run again.
	second := servertest.Start(t, servertest.SQLite.Config(t))
	t.Setenv(apiclient.EnvToken, second.Token)
	plan, err := importer.MakePlan(os.DirFS(share), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	partial := importer.Run(ctx, os.DirFS(share), plan, apiTarget{apiclient.FromEnv(second.URL)}, importer.RunOptions{
		Progress: func(done, _ int, _ importer.Done) { cancel() }})
	if partial.Imported != 1 {
		t.Fatalf("interrupted import: %+v", partial)
	}
	rep = runImport(t, "--server", second.URL, share)
	if rep.Imported != n-1 || rep.Unchanged != 1 {
		t.Fatalf("resumed import: %+v", rep)
	}
}

// TestImportEmbedded imports straight into the embedded deployment.
func TestImportEmbedded(t *testing.T) {
	share := importertest.BuildShare(t)
	t.Setenv("VERIPOST_DATA_DIR", t.TempDir())
	t.Setenv(apiclient.EnvServer, "")
	t.Setenv("VERIPOST_LOG_LEVEL", "warn")
	rep := runImport(t, share)
	n := len(importertest.Expected)
	if rep.Imported != n || rep.Ingest[catalog.StatusReady] != n || rep.Skipped != len(importertest.Skipped) {
		t.Fatalf("embedded import: %+v", rep)
	}
	rep = runImport(t, share)
	if rep.Unchanged != n || rep.Imported != 0 {
		t.Fatalf("second embedded import: %+v", rep)
	}
	// Each imported package is in the audit trail, done by the command
	// line's user; the unchanged second run added nothing.
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	ctx, svc, done, err := openAuth(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	page, err := svc.Audit(ctx, auth.AuditQuery{Action: auth.ActionPackageUpload, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != n || !strings.HasPrefix(page.Items[0].ActorName, "cli") {
		t.Fatalf("audit after the embedded import: %d entries (want %d), first %+v", len(page.Items), n, page.Items)
	}
}

// TestBackupRestoreAudited backs up an embedded deployment with the CLI,
// restores it into an empty data folder, and finds both in the audit
// trails (the backup in the original's, the restore in the restored one's),
// done by the command line's user.
func TestBackupRestoreAudited(t *testing.T) {
	share := importertest.BuildShare(t)
	t.Setenv("VERIPOST_DATA_DIR", t.TempDir())
	t.Setenv(apiclient.EnvServer, "")
	t.Setenv("VERIPOST_LOG_LEVEL", "warn")
	n := len(importertest.Expected)
	if rep := runImport(t, share); rep.Imported != n {
		t.Fatalf("import: %+v", rep)
	}
	dest := filepath.Join(t.TempDir(), "backup")
	if out, err := run(t, "backup", dest); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	audited := func(action string) []auth.Event {
		t.Helper()
		cmd := &cobra.Command{}
		cmd.SetContext(context.Background())
		ctx, svc, done, err := openAuth(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		page, err := svc.Audit(ctx, auth.AuditQuery{Action: action, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	if got := audited(auth.ActionBackup); len(got) != 1 || !strings.HasPrefix(got[0].ActorName, "cli") || got[0].Details["packages"] != float64(n) {
		t.Fatalf("backup in the audit trail: %+v", got)
	}

	t.Setenv("VERIPOST_DATA_DIR", t.TempDir())
	if out, err := run(t, "restore", dest); err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if got := audited(auth.ActionRestore); len(got) != 1 || !strings.HasPrefix(got[0].ActorName, "cli") {
		t.Fatalf("restore in the restored audit trail: %+v", got)
	}
	if got := audited(auth.ActionPackageUpload); len(got) != n {
		t.Fatalf("restored audit trail has %d uploads, want %d", len(got), n)
	}
	if out, err := run(t, "fsck"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("fsck of the restored deployment: %v\n%s", err, out)
	}
}
