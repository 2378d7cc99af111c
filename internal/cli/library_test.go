package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/server/servertest"
)

// TestLibraryCommands: register a library file, list it, make it the
// default, against a running server.
func TestLibraryCommands(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	t.Setenv("VERIPOST_TOKEN", app.Token) // the admin's token
	lib := filepath.Join(t.TempDir(), "MILL.LIB")
	if err := os.WriteFile(lib, []byte(":SECTION=CALC_X\n:C: A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "library", "register", lib, "--label", "CAMWorks 2024 SP2", "--server", app.URL)
	sha := regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
	if err != nil || sha == "" {
		t.Fatalf("register: %v %q", err, out)
	}
	out, err = run(t, "library", "default", "MILL.LIB", sha, "--server", app.URL)
	if err != nil || !strings.Contains(out, "0 version(s) queued") {
		t.Fatalf("default: %v %q", err, out)
	}
	out, err = run(t, "library", "list", "--server", app.URL)
	if err != nil || !regexp.MustCompile(`MILL.LIB\s+yes\s+CAMWorks 2024 SP2\s+`+sha).MatchString(out) {
		t.Fatalf("list: %v %q", err, out)
	}
	if _, err := run(t, "library", "default", "MILL.LIB", strings.Repeat("b", 64), "--server", app.URL); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("default of an unknown variant: %v", err)
	}
}
