package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"worker", "--help"}, {"migrate", "--help"},
		{"version", "--help"}, {"reindex", "--help"}, {"healthcheck", "--help"}, {"diff", "--help"}, {"explain", "--help"}, {"search", "--help"},
		{"user", "--help"}, {"user", "create", "--help"}, {"user", "list", "--help"}, {"user", "disable", "--help"},
		{"user", "set-role", "--help"}, {"token", "create", "--help"}, {"token", "list", "--help"}, {"token", "revoke", "--help"},
		{"library", "--help"}, {"library", "register", "--help"},
		{"import", "--help"}, {"fsck", "--help"}, {"backup", "--help"}, {"restore", "--help"}, {"export", "--help"},
	} {
		out, err := run(t, args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: err %v, output %q", args, err, out)
		}
	}
}

func TestVersionAndMigrate(t *testing.T) {
	out, err := run(t, "version")
	if err != nil || !strings.HasPrefix(out, "veripost ") {
		t.Fatalf("version: %v %q", err, out)
	}
	dir := t.TempDir()
	t.Setenv("VERIPOST_DATA_DIR", dir)
	if _, err := run(t, "migrate"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "veripost.db")); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
	// Migrating again is a no-op, not an error.
	if _, err := run(t, "migrate"); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	t.Setenv("VERIPOST_DATABASE_URL", "mysql://nope")
	if _, err := run(t, "migrate"); err == nil || !strings.Contains(err.Error(), "sqlite://") {
		t.Fatalf("unsupported database URL: %v", err)
	}
}

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ready")) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if _, err := run(t, "healthcheck", "--url", ok.URL); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	if _, err := run(t, "healthcheck", "--url", down.URL); err == nil {
		t.Fatal("unhealthy server passed the health check")
	}
}
