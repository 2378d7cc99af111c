package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
)

// browser is a cookie-keeping client that behaves like a page of the app:
// its requests say they come from the same origin.
type browser struct {
	t   *testing.T
	app *servertest.App
	c   *http.Client
}

func newBrowser(t *testing.T, app *servertest.App) *browser {
	jar, _ := cookiejar.New(nil)
	c := *app.Anonymous
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, app: app, c: &c}
}

func (b *browser) do(method, path string, body io.Reader, ctype string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.app.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func (b *browser) get(path string) (*http.Response, string) {
	return b.do(http.MethodGet, path, nil, "")
}

func (b *browser) form(path string, v url.Values, hdr ...string) (*http.Response, string) {
	return b.do(http.MethodPost, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded", hdr...)
}

func (b *browser) json(method, path string, v any, hdr ...string) (*http.Response, string) {
	buf, _ := json.Marshal(v)
	return b.do(method, path, bytes.NewReader(buf), "application/json", hdr...)
}

func (b *browser) login(user, password string) *http.Response {
	b.t.Helper()
	resp, body := b.form("/login", url.Values{"username": {user}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in as %s: %d %s", user, resp.StatusCode, body)
	}
	return resp
}

func (b *browser) session() string {
	u, _ := url.Parse(b.app.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "veripost_session" {
			return c.Value
		}
	}
	return ""
}

// auditActions returns the actions of the trail, oldest first, as
// "action/outcome".
func auditActions(t *testing.T, app *servertest.App, query string) []string {
	t.Helper()
	var page auth.AuditPage
	app.With(t).GetJSON("/api/v1/audit?limit=500&"+query, &page)
	var out []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		out = append(out, page.Items[i].Action+"/"+page.Items[i].Outcome)
	}
	return out
}

func contains(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			if l == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestSignInOutAndExpiry: the sign-in form sets a session cookie with safe
// flags; sign-out ends it; a session ends after the idle time, and after
// the absolute age even while in use.
func TestSignInOutAndExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.SessionIdleTimeout = 1500 * time.Millisecond
		app := servertest.Start(t, cfg)
		br := newBrowser(t, app)

		resp, body := br.form("/login", url.Values{"username": {"admin"}, "password": {"not the password"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "user name or password is wrong") || br.session() != "" {
			t.Fatalf("wrong password: %d, session %q", resp.StatusCode, br.session())
		}
		resp = br.login(app.Admin, app.AdminPassword)
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "veripost_session" {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" {
			t.Fatalf("session cookie %+v", cookie)
		}
		if _, page := br.get("/account"); !strings.Contains(page, `data-signed-in="admin"`) {
			t.Fatal("the account page does not show the signed-in user")
		}
		// Sign out.
		if resp, _ := br.form("/logout", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := br.get("/account"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("after sign-out: %d", resp.StatusCode)
		}

		// Idle expiry.
		br.login(app.Admin, app.AdminPassword)
		time.Sleep(cfg.SessionIdleTimeout + 300*time.Millisecond)
		resp, _ = br.get("/")
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "expired=1") {
			t.Fatalf("after the idle time: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, page := br.get("/login?expired=1"); !strings.Contains(page, "Your session has ended") {
			t.Error("the sign-in page does not say the session ended")
		}

		// Absolute expiry (another app, whose idle time is long): in use
		// every 250 ms, the session still ends at its maximum age.
		cfg2 := b.Config(t)
		cfg2.SessionMaxAge = 3 * time.Second
		app2 := servertest.Start(t, cfg2)
		br2 := newBrowser(t, app2)
		start := time.Now()
		br2.login(app2.Admin, app2.AdminPassword)
		for {
			resp, _ := br2.get("/")
			if resp.StatusCode != http.StatusOK {
				if el := time.Since(start); el < cfg2.SessionMaxAge {
					t.Fatalf("session ended after %v of use (max age %v)", el, cfg2.SessionMaxAge)
				}
				break
			}
			if time.Since(start) > cfg2.SessionMaxAge+5*time.Second {
				t.Fatal("the session outlived its absolute age")
			}
			time.Sleep(250 * time.Millisecond)
		}
		if got := auditActions(t, app, "action=auth."); !contains(got, "auth.login/success", "auth.logout/success", "auth.login_failed/failure") {
			t.Errorf("audit trail of sign-ins: %v", got)
		}
	})
}

// TestSignInThrottle: too many wrong passwords lock the account, and too
// many from one address lock the address, each with a clear message.
func TestSignInThrottle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.LoginMaxFailures = 3
		cfg.LoginMaxFailuresIP = 5
		app := servertest.Start(t, cfg)
		pw := servertest.RandomPassword()
		app.CreateUser("bea", auth.RoleEngineer, pw, "")
		br := newBrowser(t, app)
		for i := 0; i < 3; i++ {
			if resp, _ := br.form("/login", url.Values{"username": {"admin"}, "password": {"wrong password " + fmt.Sprint(i)}}); resp.StatusCode != 401 {
				t.Fatalf("attempt %d: %d", i, resp.StatusCode)
			}
		}
		resp, body := br.form("/login", url.Values{"username": {"admin"}, "password": {app.AdminPassword}})
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins for this account") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("locked account with the right password: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// Another account from the same address: two more failures lock the address.
		for i := 0; i < 2; i++ {
			br.form("/login", url.Values{"username": {"bea"}, "password": {"wrong again " + fmt.Sprint(i)}})
		}
		resp, body = br.form("/login", url.Values{"username": {"bea"}, "password": {pw}})
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "from your network address") {
			t.Fatalf("locked address: %d", resp.StatusCode)
		}
		if got := auditActions(t, app, "action=auth.login_failed"); len(got) < 7 {
			t.Errorf("%d failed sign-ins in the audit trail, want 7", len(got))
		}
	})
}

// TestTokens: scopes cap what a token may do; a token cannot exceed its
// owner's role; expired, revoked and disabled-owner tokens are refused;
// last use is recorded; only a hash is stored.
func TestTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		viewerTok := app.CreateUser("vera", auth.RoleViewer, "", auth.ScopeRead)
		engRead := app.CreateUser("ed", auth.RoleEngineer, "", auth.ScopeRead)
		vera, ed := app.ClientWith(viewerTok), app.ClientWith(engRead)
		req := func(c *http.Client, method, path string, body any) (int, string) {
			var r io.Reader
			if body != nil {
				buf, _ := json.Marshal(body)
				r = bytes.NewReader(buf)
			}
			rq, _ := http.NewRequest(method, app.URL+path, r)
			rq.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(rq)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(out)
		}
		// A viewer cannot get a write token.
		if st, body := req(vera, "POST", "/api/v1/tokens", map[string]string{"name": "x", "scope": "write"}); st != 403 && st != 422 {
			t.Errorf("viewer asking for a write token: %d %s", st, body)
		}
		// An engineer's read token reads but cannot upload.
		if st, _ := req(ed, "GET", "/api/v1/packages", nil); st != 200 {
			t.Errorf("read token listing: %d", st)
		}
		if st, body := req(ed, "PATCH", "/api/v1/packages/7f0c6d3e-1111-4222-8333-944445555666", map[string]string{"name": "x"}); st != 403 || !strings.Contains(body, "scope") {
			t.Errorf("read token editing: %d %s", st, body)
		}
		// Bearer tokens work on UI pages too.
		if st, body := req(ed, "GET", "/", nil); st != 200 || !strings.Contains(body, `data-signed-in="ed"`) {
			t.Errorf("token on a page: %d", st)
		}
		// Create (as the admin), use, check last use, revoke.
		var created auth.CreatedToken
		st, body := req(app.Client, "POST", "/api/v1/tokens", map[string]string{"name": "ci", "scope": "write", "owner": "ed", "expires_in": "1h"})
		if st != 201 || json.Unmarshal([]byte(body), &created) != nil || !strings.HasPrefix(created.Secret, "vpt_") {
			t.Fatalf("create token: %d %s", st, body)
		}
		ci := app.ClientWith(created.Secret)
		var me map[string]any
		if st, body := req(ci, "GET", "/api/v1/me", nil); st != 200 || json.Unmarshal([]byte(body), &me) != nil || me["scope"] != "write" || me["access"] != "write" {
			t.Fatalf("me: %d %s", st, body)
		}
		var n int
		if err := app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE hash = $1 AND last_used_at IS NOT NULL`, auth.HashSecret(created.Secret)).Scan(&n); err != nil || n != 1 {
			t.Errorf("last use not recorded or hash not stored: %d %v", n, err)
		}
		if err := app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE hash = $1 OR prefix = $1 OR name = $1`, created.Secret).Scan(&n); err != nil || n != 0 {
			t.Errorf("the token itself is stored: %d %v", n, err)
		}
		if st, _ := req(app.Client, "DELETE", "/api/v1/tokens/"+created.ID, nil); st != 200 {
			t.Fatalf("revoke: %d", st)
		}
		if st, body := req(ci, "GET", "/api/v1/me", nil); st != 401 || !strings.Contains(body, "revoked") {
			t.Errorf("revoked token: %d %s", st, body)
		}
		// Someone else's token cannot be revoked by a non-admin.
		var list struct{ Items []auth.Token }
		_, body = req(app.Client, "GET", "/api/v1/tokens?all=true", nil)
		json.Unmarshal([]byte(body), &list)
		for _, tk := range list.Items {
			if tk.Username == "admin" {
				if st, _ := req(ed, "DELETE", "/api/v1/tokens/"+tk.ID, nil); st != 404 {
					t.Errorf("engineer revoking the admin's token: %d", st)
				}
			}
		}
		// Expiry.
		st, body = req(app.Client, "POST", "/api/v1/tokens", map[string]string{"name": "short", "scope": "read", "expires_in": "1s"})
		if st != 201 || json.Unmarshal([]byte(body), &created) != nil {
			t.Fatalf("short token: %d %s", st, body)
		}
		time.Sleep(1100 * time.Millisecond)
		if st, body := req(app.ClientWith(created.Secret), "GET", "/api/v1/packages", nil); st != 401 || !strings.Contains(body, "expired") {
			t.Errorf("expired token: %d %s", st, body)
		}
		// A disabled owner's tokens stop working.
		if st, body := req(app.Client, "PATCH", "/api/v1/users/vera", map[string]any{"disabled": true}); st != 200 {
			t.Fatalf("disable: %d %s", st, body)
		}
		if st, body := req(vera, "GET", "/api/v1/packages", nil); st != 401 || !strings.Contains(body, "disabled") {
			t.Errorf("disabled owner's token: %d %s", st, body)
		}
		// Malformed headers.
		for _, h := range []string{"Basic YWRtaW46eA==", "Bearer ", "Bearer not-a-token", "Bearer vpt_" + strings.Repeat("a", 52)} {
			rq, _ := http.NewRequest("GET", app.URL+"/api/v1/packages", nil)
			rq.Header.Set("Authorization", h)
			resp, err := app.Anonymous.Do(rq)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("Authorization %q: %d", h, resp.StatusCode)
			}
		}
	})
}

// TestCrossOriginRefused: state changes with the session cookie are
// refused when the browser says they come from another site; the same
// requests from VeriPost's own pages, and bearer-token requests, pass.
func TestCrossOriginRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		br := newBrowser(t, app)
		br.login(app.Admin, app.AdminPassword)
		forged := [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site", "Origin", "http://evil.example"},
			{"Sec-Fetch-Site", "", "Origin", "http://evil.example"},
		}
		for _, h := range forged {
			resp, body := br.json("POST", "/api/v1/tokens", map[string]string{"name": "forged", "scope": "admin"}, h...)
			if resp.StatusCode != 403 || !strings.Contains(body, "CROSS_ORIGIN_REQUEST") {
				t.Errorf("forged token creation %v: %d %s", h, resp.StatusCode, body)
			}
			if resp, _ := br.json("PATCH", "/api/v1/users/admin", map[string]any{"display_name": "pwned"}, h...); resp.StatusCode != 403 {
				t.Errorf("forged user edit %v: %d", h, resp.StatusCode)
			}
			if resp, _ := br.form("/logout", nil, h...); resp.StatusCode != 403 {
				t.Errorf("forged sign-out %v: %d", h, resp.StatusCode)
			}
			if resp, _ := br.form("/login", url.Values{"username": {"admin"}, "password": {app.AdminPassword}}, h...); resp.StatusCode != 403 {
				t.Errorf("forged sign-in (login CSRF) %v: %d", h, resp.StatusCode)
			}
		}
		if resp, body := br.json("POST", "/api/v1/tokens", map[string]string{"name": "mine", "scope": "read"}); resp.StatusCode != 201 {
			t.Errorf("same-origin token creation: %d %s", resp.StatusCode, body)
		}
		// A bearer token cannot be sent by a forging page, so it passes.
		rq, _ := http.NewRequest("POST", app.URL+"/api/v1/tokens", strings.NewReader(`{"name":"script","scope":"read"}`))
		rq.Header.Set("Content-Type", "application/json")
		rq.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := app.Client.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("bearer request with a cross-site header: %d", resp.StatusCode)
		}
		if got := auditActions(t, app, "action=token.create"); len(got) != 2+1 { // the harness's own token, mine, script
			t.Errorf("token creations recorded: %v", got)
		}
	})
}

// TestAuditTrail: every kind of change is recorded with who, when, from
// where and before/after; the trail filters and pages; "uploaded by" is
// filled; engineers delete only their own packages; the table refuses
// edits.
func TestAuditTrail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		engPW := servertest.RandomPassword()
		engTok := app.CreateUser("erin", auth.RoleEngineer, engPW, auth.ScopeWrite)
		erin := app.With(t)
		erin.Client = app.ClientWith(engTok)
		start := time.Now().UTC().Add(-time.Second)

		mine := erin.Upload([]servertest.NamedFile{{Name: "MINE.SRC", Data: []byte("*FANUCM\r\n:SYSTEM=MILL\r\n")}}, nil)
		theirs := app.Upload([]servertest.NamedFile{{Name: "THEIRS.SRC", Data: []byte("*FANUCM\r\n")}}, nil)
		erin.WaitDone(mine.PackageID, time.Minute)
		app.WaitDone(theirs.PackageID, time.Minute)
		var vs struct {
			Items []struct {
				UploadedBy string `json:"uploaded_by"`
			}
		}
		app.GetJSON("/api/v1/packages/"+mine.PackageID+"/versions", &vs)
		if len(vs.Items) != 1 || vs.Items[0].UploadedBy != "erin" {
			t.Errorf("uploaded_by = %+v, want erin", vs.Items)
		}
		if _, _, page := erin.Get("/packages/" + theirs.PackageID); strings.Contains(string(page), "data-delete-open") {
			t.Error("an engineer sees a delete button on another's package")
		}
		if _, _, page := erin.Get("/packages/" + mine.PackageID); !strings.Contains(string(page), "data-delete-open") {
			t.Error("an engineer sees no delete button on their own package")
		}
		if st, body := erin.Do("PATCH", "/api/v1/packages/"+mine.PackageID, map[string]string{"machine_type": "Haas VF-2"}); st != 200 {
			t.Fatalf("edit: %d %s", st, body)
		}
		if st, body := erin.Do("DELETE", "/api/v1/packages/"+theirs.PackageID, nil); st != 403 || !strings.Contains(string(body), "uploaded yourself") {
			t.Errorf("engineer deleting another's package: %d %s", st, body)
		}
		if st, _ := erin.Do("DELETE", "/api/v1/packages/"+mine.PackageID, nil); st != 204 {
			t.Errorf("engineer deleting their own package: %d", st)
		}
		if st, body := app.Do("POST", "/api/v1/users", map[string]string{"username": "nina", "role": "viewer", "password": servertest.RandomPassword()}); st != 201 {
			t.Fatalf("create user: %d %s", st, body)
		}
		app.Do("PATCH", "/api/v1/users/nina", map[string]string{"role": "reviewer"})
		app.Do("PATCH", "/api/v1/users/nina", map[string]any{"disabled": true})
		app.Do("POST", "/api/v1/users/nina/password", map[string]string{"password": servertest.RandomPassword()})
		app.Do("POST", "/api/v1/admin/reindex", nil)
		br := newBrowser(t, app)
		br.login("erin", engPW)
		if resp, body := br.json("POST", "/api/v1/me/password", map[string]string{"current_password": engPW, "new_password": servertest.RandomPassword()}); resp.StatusCode != 204 {
			t.Fatalf("password change: %d %s", resp.StatusCode, body)
		}
		var tok auth.CreatedToken
		_, body := br.json("POST", "/api/v1/tokens", map[string]string{"name": "laptop", "scope": "read"})
		json.Unmarshal([]byte(body), &tok)
		br.do("DELETE", "/api/v1/tokens/"+tok.ID, nil, "")
		br.form("/logout", nil)

		all := auditActions(t, app, "")
		for _, want := range []string{"package.upload/success", "package.edit/success", "package.delete/success",
			"user.create/success", "user.role_change/success", "user.disable/success", "user.password_reset/success",
			"admin.reindex/success", "auth.login/success", "user.password_change/success", "token.create/success",
			"token.revoke/success", "auth.logout/success"} {
			if !contains(all, want) {
				t.Errorf("the trail has no %s: %v", want, all)
			}
		}
		// Filters: user, action prefix, package, time range, paging.
		var page auth.AuditPage
		app.GetJSON("/api/v1/audit?user=erin&action=package.", &page)
		if len(page.Items) != 3 {
			t.Errorf("erin's package actions: %d, want 3", len(page.Items))
		}
		for _, ev := range page.Items {
			if ev.ActorName != "erin" || ev.ActorType != auth.ActorToken || ev.Address == "" || ev.PackageID != mine.PackageID {
				t.Errorf("entry %+v", ev)
			}
			if ev.Action == auth.ActionPackageEdit {
				before, _ := ev.Details["before"].(map[string]any)
				after, _ := ev.Details["after"].(map[string]any)
				if before["machine_type"] == "Haas VF-2" || after["machine_type"] != "Haas VF-2" {
					t.Errorf("edit before/after: %v", ev.Details)
				}
			}
		}
		app.GetJSON("/api/v1/audit?package_id="+mine.PackageID, &page)
		if len(page.Items) != 3 {
			t.Errorf("package filter: %d entries", len(page.Items))
		}
		var hist auth.AuditPage
		app.GetJSON("/api/v1/packages/"+theirs.PackageID+"/history", &hist)
		if len(hist.Items) != 1 || hist.Items[0].Action != auth.ActionPackageUpload {
			t.Errorf("package history: %+v", hist.Items)
		}
		app.GetJSON("/api/v1/audit?until="+url.QueryEscape(start.Format(time.RFC3339)), &page)
		for _, ev := range page.Items {
			if !ev.At.Before(start) {
				t.Errorf("until filter let %v through", ev.At)
			}
		}
		app.GetJSON("/api/v1/audit?since="+url.QueryEscape(start.Format(time.RFC3339))+"&limit=2", &page)
		seen := map[int64]bool{}
		pages := 0
		for {
			pages++
			for _, ev := range page.Items {
				if seen[ev.ID] {
					t.Fatalf("entry %d on two pages", ev.ID)
				}
				seen[ev.ID] = true
			}
			if page.NextBefore == 0 {
				break
			}
			next := page.NextBefore
			page = auth.AuditPage{}
			app.GetJSON(fmt.Sprintf("/api/v1/audit?since=%s&limit=2&before=%d", url.QueryEscape(start.Format(time.RFC3339)), next), &page)
		}
		if len(seen) < len(all)-3 || pages < 5 {
			t.Errorf("paging saw %d entries in %d pages; the trail has %d", len(seen), pages, len(all))
		}
		// The UI pages.
		if st, _, body := app.Get("/admin/audit?user=erin&action=package."); st != 200 || !strings.Contains(string(body), "package.edit") {
			t.Errorf("audit page: %d", st)
		}
		if st, _, body := app.Get("/packages/" + theirs.PackageID); st != 200 || !strings.Contains(string(body), "data-history") {
			t.Errorf("package page history: %d", st)
		}
		// Append-only.
		if _, err := app.DB.SQL.Exec(`UPDATE audit_log SET actor_name = 'nobody'`); err == nil {
			t.Error("the audit trail accepted an UPDATE")
		}
		if _, err := app.DB.SQL.Exec(`DELETE FROM audit_log`); err == nil {
			t.Error("the audit trail accepted a DELETE")
		}
	})
}

// TestFirstRunSetup: with no account, serve prints a one-time setup link;
// nothing but health, metrics, static files and the setup page answers
// until it is used; it works once.
func TestFirstRunSetup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		app := servertest.StartOpts(t, cfg, servertest.Opts{NoAdmin: true})
		br := newBrowser(t, app)
		for _, c := range []struct {
			path   string
			status int
		}{{"/healthz", 200}, {"/readyz", 200}, {"/metrics", 200}, {"/static/app.css", 200}, {"/setup", 200},
			{"/", 303}, {"/login", 303}, {"/packages/x", 303}, {"/api/v1/packages", 503}, {"/api/v1/me", 503}} {
			resp, body := br.get(c.path)
			if resp.StatusCode != c.status {
				t.Errorf("GET %s before setup: %d, want %d", c.path, resp.StatusCode, c.status)
			}
			if c.status == 303 && resp.Header.Get("Location") != "/setup" {
				t.Errorf("GET %s before setup goes to %q", c.path, resp.Header.Get("Location"))
			}
			if c.status == 503 && !strings.Contains(body, "SETUP_REQUIRED") {
				t.Errorf("GET %s: %s", c.path, body)
			}
		}
		code, err := app.Auth.StartSetup(context.Background())
		if err != nil || len(code) < 20 {
			t.Fatalf("setup code %q: %v", code, err)
		}
		pw := servertest.RandomPassword()
		form := url.Values{"code": {"wrong" + code}, "username": {"root"}, "password": {pw}, "password_confirm": {pw}}
		if resp, body := br.form("/setup", form); resp.StatusCode != 403 || !strings.Contains(body, "setup code is wrong") {
			t.Fatalf("wrong code: %d", resp.StatusCode)
		}
		form.Set("code", code)
		resp, _ := br.form("/setup", form)
		if resp.StatusCode != 303 || br.session() == "" {
			t.Fatalf("setup: %d", resp.StatusCode)
		}
		if resp, page := br.get("/"); resp.StatusCode != 200 || !strings.Contains(page, `data-signed-in="root"`) {
			t.Fatalf("after setup: %d", resp.StatusCode)
		}
		// Used once: a second try (another browser) is sent to sign in.
		if resp, _ := newBrowser(t, app).form("/setup", form); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Errorf("second setup: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if n, _ := app.Auth.Store.CountUsers(context.Background()); n != 1 {
			t.Errorf("%d accounts after setup", n)
		}
		if got := auditActions(t, withToken(t, app, "root"), "action=auth.setup"); !contains(got, "auth.setup/success", "auth.setup/failure") {
			t.Errorf("setup in the trail: %v", got)
		}
	})
}

// withToken returns app acting with a new admin token of user.
func withToken(t *testing.T, app *servertest.App, user string) *servertest.App {
	ctx := auth.WithActor(context.Background(), auth.System("test"))
	tok, err := app.Auth.CreateToken(ctx, auth.NewToken{Name: "t", Scope: auth.ScopeAdmin, Owner: user})
	if err != nil {
		t.Fatal(err)
	}
	a := app.With(t)
	a.Client = app.ClientWith(tok.Secret)
	return a
}

// TestSetupLinkPrinted: `serve` on an empty database prints the setup link
// (stdout and log); the code expires.
func TestSetupLinkPrinted(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.SetupTokenTTL = 2 * time.Second
	var out, logs bytes.Buffer
	app := servertest.StartOpts(t, cfg, servertest.Opts{NoAdmin: true, Log: &logs, LogLevel: -4})
	printed := server.PrintSetupLink(t, app.App, &out)
	if !strings.Contains(logs.String(), printed) {
		t.Errorf("the log does not carry the setup link")
	}
	code := printed[strings.Index(printed, "#")+1:]
	time.Sleep(cfg.SetupTokenTTL + 200*time.Millisecond)
	pw := servertest.RandomPassword()
	resp, _ := newBrowser(t, app).form("/setup", url.Values{"code": {code}, "username": {"late"}, "password": {pw}, "password_confirm": {pw}})
	if resp.StatusCode != 403 {
		t.Errorf("expired setup code: %d", resp.StatusCode)
	}
}

// TestAnonymousRead: with VERIPOST_ANONYMOUS_READ, visitors read and
// download without signing in, and nothing more.
func TestAnonymousRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.AnonymousRead = true
		app := servertest.Start(t, cfg)
		res := app.Upload([]servertest.NamedFile{{Name: "OPEN.SRC", Data: []byte("*FANUCM\r\n")}}, nil)
		app.WaitDone(res.PackageID, time.Minute)
		anon := newBrowser(t, app)
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/", 200}, {"GET", "/packages/" + res.PackageID, 200}, {"GET", "/api/v1/packages", 200},
			{"GET", "/api/v1/packages/" + res.PackageID + "/download", 200}, {"GET", "/api/v1/packages/" + res.PackageID + "/history", 200},
			{"POST", "/api/v1/parse", 401}, {"POST", "/api/v1/packages", 401}, {"DELETE", "/api/v1/packages/" + res.PackageID, 401},
			{"GET", "/api/v1/me", 401}, {"GET", "/api/v1/audit", 401}, {"GET", "/upload", 303}, {"GET", "/admin/users", 303},
		} {
			if resp, _ := anon.do(c.method, c.path, nil, "application/json"); resp.StatusCode != c.status {
				t.Errorf("anonymous %s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
			}
		}
		if _, page := anon.get("/packages/" + res.PackageID); strings.Contains(page, "data-delete-open") || !strings.Contains(page, `href="/login"`) {
			t.Error("an anonymous visitor sees delete controls, or no sign-in link")
		}
	})
}

// TestSessionsEndWithAccountChanges: changing one's password signs out
// the other sessions (not this one); disabling an account signs it out.
func TestSessionsEndWithAccountChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		pw := servertest.RandomPassword()
		app.CreateUser("olga", auth.RoleEngineer, pw, "")
		here, there := newBrowser(t, app), newBrowser(t, app)
		here.login("olga", pw)
		there.login("olga", pw)
		pw2 := servertest.RandomPassword()
		if resp, body := here.json("POST", "/api/v1/me/password", map[string]string{"current_password": pw, "new_password": pw2}); resp.StatusCode != 204 {
			t.Fatalf("change: %d %s", resp.StatusCode, body)
		}
		if resp, _ := here.get("/account"); resp.StatusCode != 200 {
			t.Errorf("the session that changed the password: %d", resp.StatusCode)
		}
		if resp, _ := there.get("/account"); resp.StatusCode != 303 {
			t.Errorf("the other session after a password change: %d", resp.StatusCode)
		}
		if resp, _ := there.form("/login", url.Values{"username": {"olga"}, "password": {pw}}); resp.StatusCode != 401 {
			t.Errorf("the old password still works: %d", resp.StatusCode)
		}
		if st, _ := app.Do("PATCH", "/api/v1/users/olga", map[string]any{"disabled": true}); st != 200 {
			t.Fatal(st)
		}
		if resp, _ := here.get("/account"); resp.StatusCode != 303 {
			t.Errorf("a disabled account's session: %d", resp.StatusCode)
		}
		if resp, body := there.form("/login", url.Values{"username": {"olga"}, "password": {pw2}}); resp.StatusCode != 403 || !strings.Contains(body, "disabled") {
			t.Errorf("signing in to a disabled account: %d", resp.StatusCode)
		}
		// An administrator cannot lock themselves out.
		if st, body := app.Do("PATCH", "/api/v1/users/admin", map[string]any{"role": "viewer"}); st != 409 {
			t.Errorf("self-demotion: %d %s", st, body)
		}
	})
}
