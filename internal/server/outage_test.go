package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/resilience"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestDatabaseOutageAnswers503WithoutInternals: with the database gone,
// reads and writes answer 503 SERVICE_UNAVAILABLE with a friendly message
// and no host, port, user, database name or SQL in any answer; when it is
// back, the same requests work again. PostgreSQL is cut off through a TCP
// proxy (what a stopped server looks like); SQLite's pools are closed.
func TestDatabaseOutageAnswers503WithoutInternals(t *testing.T) {
	t.Run("postgres+s3", func(t *testing.T) {
		cfg := servertest.Postgres.Config(t)
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy, err := resilience.NewProxy(u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		secrets := []string{u.Host, u.Hostname(), proxy.Addr(), strings.TrimPrefix(u.Path, "/"), u.User.Username()}
		u.Host = proxy.Addr()
		cfg.DatabaseURL = u.String()
		app := servertest.Start(t, cfg)
		id := app.Upload([]servertest.NamedFile{{Name: "UP.SRC", Data: []byte("* up\r\n")}}, nil).PackageID
		app.WaitReady(id)
		proxy.Cut()
		checkOutage(t, app, id, secrets)
		proxy.Restore()
		checkRecovered(t, app, id)
	})
	t.Run("sqlite+disk", func(t *testing.T) {
		cfg := servertest.SQLite.Config(t)
		app := servertest.Start(t, cfg)
		id := app.Upload([]servertest.NamedFile{{Name: "UP.SRC", Data: []byte("* up\r\n")}}, nil).PackageID
		app.WaitReady(id)
		app.DB.R.Close()
		app.DB.SQL.Close()
		checkOutage(t, app, id, []string{cfg.DataDir, "veripost.db"})
	})
}

func checkOutage(t *testing.T, app *servertest.App, id string, secrets []string) {
	t.Helper()
	secrets = append(secrets, "SELECT", "INSERT", "UPDATE ", "sql:", "dial", "sqlite", "pgx", "SQLSTATE")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/packages"},
		{"GET", "/api/v1/packages?search=x"},
		{"GET", "/api/v1/packages/" + id},
		{"GET", "/api/v1/packages/" + id + "/status"},
		{"GET", "/api/v1/packages/" + id + "/versions"},
		{"GET", "/api/v1/packages/" + id + "/outline"},
		{"GET", "/api/v1/symbols/MACHINE_NAME"},
		{"GET", "/api/v1/libraries"},
		{"PATCH", "/api/v1/packages/" + id},
		{"DELETE", "/api/v1/packages/" + id},
		{"GET", "/api/v1/packages/facets"},
		{"GET", "/api/v1/packages/" + id + "/explain"},
		{"GET", "/api/v1/compare?a=" + id + "&b=" + id},
		{"GET", "/api/v1/registry"},
		{"GET", "/api/v1/me"},
		{"GET", "/api/v1/audit"},
		{"GET", "/api/v1/tokens"},
		{"POST", "/api/v1/tokens"},
		{"GET", "/readyz"},
		{"GET", "/"},
		{"GET", "/packages/" + id},
	} {
		var body any
		switch {
		case c.method == "PATCH":
			body = map[string]string{"machine_type": "x"}
		case c.path == "/api/v1/tokens":
			body = map[string]string{"name": "t", "scope": "read"}
		}
		status, got := app.Do(c.method, c.path, body)
		checkHidden(t, c.method+" "+c.path, status, got, secrets)
	}
	status, got := app.PostUpload([]servertest.NamedFile{{Name: "NEW.SRC", Data: []byte("* new\r\n")}}, nil)
	checkHidden(t, "upload", status, got, secrets)
}

func checkHidden(t *testing.T, what string, status int, body []byte, secrets []string) {
	t.Helper()
	if status != http.StatusServiceUnavailable {
		t.Errorf("%s with the database down: %d %s, want 503", what, status, body)
	}
	if !strings.Contains(string(body), "SERVICE_UNAVAILABLE") && !strings.Contains(string(body), "Not available right now") {
		t.Errorf("%s: the answer does not say the service is unavailable: %s", what, body)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(strings.ToLower(string(body)), strings.ToLower(s)) {
			t.Errorf("%s: the answer gives away %q: %s", what, s, body)
		}
	}
}

func checkRecovered(t *testing.T, app *servertest.App, id string) {
	t.Helper()
	var st servertest.StatusBody
	app.GetJSON("/api/v1/packages/"+id+"/status", &st)
	if st.Status != "ready" {
		t.Fatalf("after the outage: %+v", st)
	}
	res := app.Upload([]servertest.NamedFile{{Name: "AFTER.SRC", Data: []byte("* after\r\n")}}, nil)
	app.WaitReady(res.PackageID)
}
