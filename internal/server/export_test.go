package server

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

// PrintSetupLink runs the first-run announcement into out and returns the
// link it printed.
func PrintSetupLink(t *testing.T, a *App, out *bytes.Buffer) string {
	t.Helper()
	old := SetupOut
	defer func() { SetupOut = old }()
	SetupOut = out
	if err := a.announceSetup(context.Background(), "http://127.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`http://\S+/setup#[a-z0-9]+`).FindString(out.String())
	if m == "" {
		t.Fatalf("no setup link in %q", out.String())
	}
	return m
}
