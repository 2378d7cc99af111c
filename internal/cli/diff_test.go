package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/server/servertest"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func exitCode(err error) int {
	var ee ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		return -1
	}
	return 0
}

const (
	srcV1 = ":SYSTEM=MILL\n:SECTION=START_OF_TAPE\n:T:%<EOL>\n:T:<N><G:90><EOL>\n"
	srcV2 = ":SYSTEM=MILL\n:SECTION=START_OF_TAPE\n:T:%<EOL>\n:T:<N><G:91><EOL>\n"
)

// TestDiffLocalExitCodes: 0 same, 1 different, 2 trouble, for folders and
// files on disk.
func TestDiffLocalExitCodes(t *testing.T) {
	a := writeFiles(t, map[string]string{"POST.SRC": srcV1})
	b := writeFiles(t, map[string]string{"POST.SRC": srcV2})
	same := writeFiles(t, map[string]string{"POST.SRC": strings.ReplaceAll(srcV1, "\n", "\r\n")})

	out, err := run(t, "diff", a, b)
	if exitCode(err) != 1 || !strings.Contains(out, "START_OF_TAPE") || !strings.Contains(out, "+:T:<N><G:91><EOL>") {
		t.Errorf("different folders: exit %d\n%s", exitCode(err), out)
	}
	if out, err := run(t, "diff", a, a); exitCode(err) != 0 || !strings.Contains(out, "identical") {
		t.Errorf("a folder against itself: exit %d\n%s", exitCode(err), out)
	}
	// CRLF against LF differs in bytes; -w ignores line endings.
	if _, err := run(t, "diff", a, same); exitCode(err) != 1 {
		t.Errorf("CRLF against LF: exit %d, want 1", exitCode(err))
	}
	if _, err := run(t, "diff", "-w", a, same); exitCode(err) != 0 {
		t.Errorf("CRLF against LF with -w: exit %d, want 0", exitCode(err))
	}
	// Two single files with different names are compared with each other.
	out, err = run(t, "diff", "--json", filepath.Join(a, "POST.SRC"), filepath.Join(b, "POST.SRC"))
	var c compare.Comparison
	if exitCode(err) != 1 || json.Unmarshal([]byte(out), &c) != nil || c.Result == nil || c.Result.Counts.SectionsChanged != 1 {
		t.Errorf("--json: exit %d\n%s", exitCode(err), out)
	}
	if out, err := run(t, "diff", "--summary", a, b); exitCode(err) != 1 || strings.Contains(out, "@@") {
		t.Errorf("--summary prints no hunks: exit %d\n%s", exitCode(err), out)
	}
	if _, err := run(t, "diff", a, filepath.Join(b, "MISSING.SRC")); exitCode(err) != 2 {
		t.Errorf("a missing file: exit %d, want 2", exitCode(err))
	}
	if _, err := run(t, "diff", a); exitCode(err) == 0 {
		t.Error("one argument accepted")
	}
}

// TestDiffServer: package references are compared by a running server;
// a local folder against a server package downloads the package.
func TestDiffServer(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	p := app.Upload([]servertest.NamedFile{{Name: "POST.SRC", Data: []byte(srcV1)}}, map[string]string{"name": "cli post"})
	app.WaitReady(p.PackageID)
	app.Upload([]servertest.NamedFile{{Name: "POST.SRC", Data: []byte(srcV2)}}, map[string]string{"package_id": p.PackageID})
	app.WaitReady(p.PackageID)

	// Without a token the server refuses, and the CLI says what to do.
	t.Setenv("VERIPOST_TOKEN", "")
	if out, err := run(t, "diff", "--server", app.URL, "cli post@1", "cli post@2"); exitCode(err) != 2 || !strings.Contains(out+err.Error(), "token") {
		t.Errorf("no token: exit %d\n%s %v", exitCode(err), out, err)
	}
	t.Setenv("VERIPOST_TOKEN", app.Token)
	out, err := run(t, "diff", "--server", app.URL, "cli post@1", "cli post@2")
	if exitCode(err) != 1 || !strings.Contains(out, "cli post v1 → cli post v2") || !strings.Contains(out, "START_OF_TAPE") {
		t.Errorf("versions on the server: exit %d\n%s", exitCode(err), out)
	}
	t.Setenv("VERIPOST_SERVER", app.URL)
	if out, err := run(t, "diff", p.PackageID+"@2", "cli post"); exitCode(err) != 0 {
		t.Errorf("latest against @2: exit %d\n%s", exitCode(err), out)
	}
	local := writeFiles(t, map[string]string{"POST.SRC": srcV1})
	if out, err := run(t, "diff", local, "cli post@1"); exitCode(err) != 0 {
		t.Errorf("a folder against the same package on the server: exit %d\n%s", exitCode(err), out)
	}
	if out, err := run(t, "diff", local, "cli post"); exitCode(err) != 1 {
		t.Errorf("a folder against a changed package: exit %d\n%s", exitCode(err), out)
	}
	if out, err := run(t, "diff", "cli post", "no such post"); exitCode(err) != 2 || !strings.Contains(out, "No package is called") {
		t.Errorf("an unknown package: exit %d\n%s", exitCode(err), out)
	}
	if out, err := run(t, "diff", "--server", "http://127.0.0.1:1", "x", "y"); exitCode(err) != 2 || !strings.Contains(out, "Could not reach") {
		t.Errorf("no server: exit %d\n%s", exitCode(err), out)
	}
}
