package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/auth/authhttp"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
)

// fillPath puts values into a route pattern's parameters.
func fillPath(pattern string) string {
	p := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllStringFunc(pattern, func(s string) string {
		switch s {
		case "{name}":
			return "MACHINE_NAME"
		case "{sha256}":
			return strings.Repeat("ab", 32)
		}
		return "7f0c6d3e-1111-4222-8333-944445555666"
	})
	return strings.ReplaceAll(p, "/*", "/app.css")
}

func send(t *testing.T, c *http.Client, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// errorShape checks the API's {message, detail, code} body.
func errorShape(t *testing.T, what string, body []byte, code string) {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s: body is not JSON: %s", what, body)
		return
	}
	if _, ok := e["message"].(string); !ok || e["code"] != code {
		t.Errorf("%s: want {message, detail, code=%s}, got %s", what, code, body)
	}
	if _, ok := e["detail"]; !ok {
		t.Errorf("%s: no detail in %s", what, body)
	}
}

// TestEveryRouteHasAnAccessRule enumerates every API operation (from the
// OpenAPI document) and every route of the root and UI routers (chi.Walk)
// and checks each has a rule that holds: without credentials 401 (API) or
// a redirect to the sign-in page (UI); with too low a role 403 in the
// standard shape; with enough, neither.
func TestEveryRouteHasAnAccessRule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		viewer := app.CreateUser("vic", auth.RoleViewer, "", auth.ScopeRead)
		engineer := app.CreateUser("eng", auth.RoleEngineer, "", auth.ScopeWrite)
		// Who has exactly one level less than a rule needs.
		below := map[auth.Level]*http.Client{
			auth.LevelWrite: noRedirects(app.ClientWith(viewer)),
			auth.LevelAdmin: noRedirects(app.ClientWith(engineer)),
		}
		enough := map[auth.Level]*http.Client{
			auth.LevelSignedIn: noRedirects(app.ClientWith(viewer)), auth.LevelRead: noRedirects(app.ClientWith(viewer)),
			auth.LevelWrite: noRedirects(app.ClientWith(engineer)), auth.LevelAdmin: noRedirects(app.Client),
		}
		anon := noRedirects(app.Anonymous)

		check := func(kind, method, pattern string, rule authhttp.Rule, ok bool) {
			t.Helper()
			if !ok {
				t.Errorf("%s route %s %s has no access rule: add it to the table in internal/server/access.go", kind, method, pattern)
				return
			}
			url := app.URL + fillPath(pattern)
			what := kind + " " + method + " " + pattern
			resp, body := send(t, anon, method, url)
			switch {
			case rule.Level == auth.LevelPublic:
				// The handler may refuse (a sign-in without a password is
				// a 401), but the guard must let the request through.
				// (The setup page, once set up, forwards to the sign-in page.)
				if resp.StatusCode == 403 || (strings.HasPrefix(resp.Header.Get("Location"), "/login") && pattern != "/setup") {
					t.Errorf("%s is public but answered %d (to %q) without credentials", what, resp.StatusCode, resp.Header.Get("Location"))
				}
			case kind == "API":
				if resp.StatusCode != 401 {
					t.Errorf("%s without credentials: %d, want 401", what, resp.StatusCode)
				}
				errorShape(t, what, body, "UNAUTHENTICATED")
			default:
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
					t.Errorf("%s without credentials: %d to %q, want a redirect to /login", what, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			if c, ok := below[rule.Level]; ok {
				resp, body := send(t, c, method, url)
				if resp.StatusCode != 403 {
					t.Errorf("%s with too low a role: %d, want 403", what, resp.StatusCode)
				}
				if kind == "UI" {
					if !strings.Contains(string(body), "FORBIDDEN") {
						t.Errorf("%s: the 403 page does not show the code", what)
					}
				} else {
					errorShape(t, what, body, "FORBIDDEN")
				}
			}
			if c, ok := enough[rule.Level]; ok {
				if resp, body := send(t, c, method, url); resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode >= 500 {
					t.Errorf("%s with enough access: %d %.300s", what, resp.StatusCode, body)
				}
			}
		}

		ops := server.Operations(app.API.OpenAPI())
		apiRoutes := map[string]bool{}
		for _, op := range ops {
			rule, ok := server.APIRules[op.OperationID]
			apiRoutes[op.Method+" "+op.Path] = true
			check("API", op.Method, op.Path, rule, ok)
		}
		root := 0
		err := chi.Walk(app.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if apiRoutes[method+" "+route] {
				return nil
			}
			root++
			rule, ok := server.RootRules[method+" "+route]
			kind := "UI"
			if strings.HasPrefix(route, "/api/") {
				kind = "API"
			}
			check(kind, method, route, rule, ok)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ui := 0
		err = chi.Walk(app.UI.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			ui++
			rule, ok := server.UIRules[method+" "+route]
			check("UI", method, route, rule, ok)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) < 25 || ui < 20 {
			t.Errorf("only %d API operations and %d UI routes found; the walk is broken", len(ops), ui)
		}
		t.Logf("checked %d API operations, %d other root routes and %d UI routes", len(ops), root, ui)
	})
}
