package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/server/servertest"
)

// runIO runs the command line with stdin and returns stdout and stderr
// apart.
func runIO(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := NewRoot()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// TestUserAndTokenCommands provisions accounts and a token on the
// configured database without a server, then uses the token against a
// server on the same database.
func TestUserAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VERIPOST_DATA_DIR", dir)
	t.Setenv("VERIPOST_LOG_LEVEL", "error")
	pw := servertest.RandomPassword()
	if out, _, err := runIO(t, pw+"\n", "user", "create", "alice", "--role", "admin", "--password-stdin"); err != nil || !strings.Contains(out, "created user alice (admin)") {
		t.Fatalf("user create: %v %q", err, out)
	}
	if _, _, err := runIO(t, "", "user", "create", "bob", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runIO(t, "short\n", "user", "create", "carl", "--role", "viewer", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("weak password: %v", err)
	}
	if _, _, err := runIO(t, "", "user", "create", "dora", "--role", "boss"); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("unknown role: %v", err)
	}
	if _, _, err := runIO(t, "", "user", "create", "alice", "--role", "viewer"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate: %v", err)
	}
	if _, _, err := runIO(t, "", "user", "set-role", "bob", "engineer"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIO(t, "", "user", "list")
	if err != nil || !regexp.MustCompile(`alice\s+admin\s+active`).MatchString(out) || !regexp.MustCompile(`bob\s+engineer\s+active`).MatchString(out) {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	out, stderr, err := runIO(t, "", "token", "create", "ci", "--scope", "write", "--expires", "720h")
	if err != nil || !regexp.MustCompile(`^vpt_[a-z2-7]{52}\n$`).MatchString(out) || !strings.Contains(stderr, "for alice") {
		t.Fatalf("token create printed %q (stderr %q): %v", out, stderr, err)
	}
	token := strings.TrimSpace(out)
	if _, _, err := runIO(t, "", "token", "create", "too-wide", "--scope", "admin", "--user", "bob"); err == nil || !strings.Contains(err.Error(), "may not hold") {
		t.Errorf("admin token for an engineer: %v", err)
	}
	if _, _, err := runIO(t, "", "user", "disable", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runIO(t, "", "token", "create", "x", "--scope", "read", "--user", "bob"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("token for a disabled user: %v", err)
	}

	// A server on the same database accepts the token.
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	app := servertest.Start(t, cfg)
	rq, _ := http.NewRequest("GET", app.URL+"/api/v1/me", nil)
	rq.Header.Set("Authorization", "Bearer "+token)
	resp, err := app.Anonymous.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		User  auth.User `json:"user"`
		Scope string    `json:"scope"`
	}
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me.User.Username != "alice" || me.Scope != "write" {
		t.Fatalf("token from the CLI: %d %+v", resp.StatusCode, me)
	}
	var page auth.AuditPage
	app.GetJSON("/api/v1/audit?action=user.", &page)
	cli := 0
	for _, ev := range page.Items {
		if strings.HasPrefix(ev.ActorName, "cli") && ev.ActorType == auth.ActorSystem {
			cli++
		}
	}
	if cli < 4 { // create alice, create bob, set-role, disable
		t.Errorf("%d CLI changes in the audit trail, want 4", cli)
	}
}
