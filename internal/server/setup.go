package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// browsable is the listener's address as a link: a wildcard address
// (0.0.0.0, ::) becomes localhost.
func browsable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// SetupOut receives the first-run setup link besides the log (stdout for
// `veripost serve`; tests replace it).
var SetupOut io.Writer = os.Stdout

// announceSetup prints a one-time setup link when no account exists yet.
// The code travels after "#", so it never reaches a server log or a
// Referer header; the setup page's script copies it into the form.
func (a *App) announceSetup(ctx context.Context, base string) error {
	code, err := a.Auth.StartSetup(ctx)
	if err != nil || code == "" {
		return err
	}
	link := base + "/setup#" + code
	a.Log.Warn("VeriPost has no accounts yet: open the setup link to create the first administrator (it works once)",
		"link", link, "valid_for", a.Config.SetupTokenTTL)
	fmt.Fprintf(SetupOut, "\nVeriPost has no accounts yet. Open this link to create the first administrator\n(it works once, for %s; restart `veripost serve` for a new one):\n\n    %s\n\n", a.Config.SetupTokenTTL, link)
	return nil
}

// cleanupLoop removes expired sessions and abandoned sign-ins every few
// minutes while the server runs.
func (a *App) cleanupLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Auth.Cleanup(ctx); err != nil {
				a.Log.Warn("removing expired sessions failed", "err", err)
			}
		}
	}
}
