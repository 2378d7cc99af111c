package server_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/server/servertest"
)

// provider is a real OpenID Connect server (mockoidc) on a local port. It
// can tamper with the ID tokens it issues, re-signing them with its own
// key, to show that VeriPost checks each claim and not just the signature.
type provider struct {
	*mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(jwt.MapClaims)
	codes  []string // authorization codes redeemed
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{MockOIDC: m}
	if err := m.AddMiddleware(p.middleware); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

func (p *provider) setTamper(f func(jwt.MapClaims)) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

func (p *provider) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		_ = r.ParseForm()
		p.mu.Lock()
		p.codes = append(p.codes, r.PostForm.Get("code"))
		tamper := p.tamper
		p.mu.Unlock()
		if tamper == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil {
			if raw, ok := body["id_token"].(string); ok {
				claims := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err == nil {
					tamper(claims)
					if signed, err := p.Keypair.SignJWT(claims); err == nil {
						body["id_token"] = signed
					}
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(body)
	})
}

func (p *provider) configure(cfg *config.Config) {
	cfg.OIDCIssuer = p.Issuer()
	cfg.OIDCClientID = p.ClientID
	cfg.OIDCClientSecret = p.ClientSecret
	cfg.OIDCScopes = []string{"openid", "profile", "email", "groups"}
	cfg.OIDCRoleClaim = "groups"
	cfg.OIDCRoleMap = "engineering=engineer, veripost-admins=admin"
}

// ssoSignIn follows the whole redirect dance as a browser would and
// returns the last answer (VeriPost's, after the callback) and the
// addresses it went through.
func ssoSignIn(t *testing.T, br *browser, next string) (*http.Response, string, []string) {
	t.Helper()
	resp, _ := br.get("/auth/oidc/start?next=" + url.QueryEscape(next))
	var hops []string
	for i := 0; i < 5 && (resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther); i++ {
		loc := resp.Header.Get("Location")
		hops = append(hops, loc)
		if strings.HasPrefix(loc, "/") {
			return resp, "", hops
		}
		r, err := br.c.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		r.Body.Close()
		resp = r
		if !strings.HasPrefix(loc, br.app.URL) {
			continue
		}
		if resp.StatusCode != http.StatusSeeOther {
			return resp, buf.String(), hops
		}
	}
	return resp, "", hops
}

func me(t *testing.T, br *browser) map[string]any {
	t.Helper()
	resp, body := br.get("/api/v1/me")
	if resp.StatusCode != 200 {
		return nil
	}
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	return m["user"].(map[string]any)
}

// TestSingleSignOn signs in through a real OpenID Connect provider
// (authorization code with PKCE, state and nonce): accounts are created on
// first sign-in with the role their groups map to, and a wrong issuer, an
// expired token, a wrong nonce, an unknown group and a forged state are
// each refused.
func TestSingleSignOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		p := startProvider(t)
		cfg := b.Config(t)
		p.configure(&cfg)
		app := servertest.Start(t, cfg)
		app.CreateUser("sam", "viewer", servertest.RandomPassword(), "")

		// Success: jane.doe (groups engineering, design) becomes an engineer.
		br := newBrowser(t, app)
		resp, body, hops := ssoSignIn(t, br, "/libraries")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/libraries" {
			t.Fatalf("SSO sign-in: %d %s %s (hops %v)", resp.StatusCode, resp.Header.Get("Location"), body, hops)
		}
		authURL, _ := url.Parse(hops[0])
		q := authURL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			t.Errorf("authorization request lacks PKCE, nonce or state: %s", authURL.RawQuery)
		}
		u := me(t, br)
		if u == nil || u["username"] != "jane.doe" || u["role"] != "engineer" || u["sso"] != true {
			t.Fatalf("SSO account: %v", u)
		}
		// Signing in again as an admin-group member updates the role.
		p.QueueUser(&mockoidc.MockUser{Subject: "1234567890", PreferredUsername: "jane.doe", Email: "jane.doe@example.com", Groups: []string{"veripost-admins"}})
		br2 := newBrowser(t, app)
		if resp, _, _ := ssoSignIn(t, br2, "/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("second SSO sign-in: %d", resp.StatusCode)
		}
		if u := me(t, br2); u == nil || u["role"] != "admin" || u["username"] != "jane.doe" {
			t.Fatalf("after group change: %v", u)
		}
		// A provider user named like a local account gets its own account.
		p.QueueUser(&mockoidc.MockUser{Subject: "other-sam", PreferredUsername: "sam", Groups: []string{"engineering"}})
		br3 := newBrowser(t, app)
		ssoSignIn(t, br3, "/")
		if u := me(t, br3); u == nil || u["username"] == "sam" || !strings.HasPrefix(u["username"].(string), "sam-") || u["role"] != "engineer" {
			t.Errorf("SSO user named like a local account: %v", u)
		}

		refused := func(name, want string) {
			t.Helper()
			br := newBrowser(t, app)
			resp, body, _ := ssoSignIn(t, br, "/")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, want) {
				t.Errorf("%s: %d, want 401 with %q; body %.300s", name, resp.StatusCode, want, body)
			}
			if br.session() != "" {
				t.Errorf("%s: a session was opened", name)
			}
		}
		p.setTamper(func(c jwt.MapClaims) { c["iss"] = "http://127.0.0.1:1/not-the-issuer" })
		refused("wrong issuer", "could not be verified")
		p.setTamper(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		})
		refused("expired token", "could not be verified")
		p.setTamper(func(c jwt.MapClaims) { c["nonce"] = "a-nonce-from-another-sign-in" })
		refused("bad nonce", "could not be verified")
		p.setTamper(func(c jwt.MapClaims) { c["aud"] = "someone-else" })
		refused("wrong audience", "could not be verified")
		p.setTamper(nil)
		p.QueueUser(&mockoidc.MockUser{Subject: "m-1", PreferredUsername: "mallory", Groups: []string{"marketing"}})
		refused("unknown group", "none of your groups gives access")
		if resp, _ := newBrowser(t, app).get("/auth/oidc/callback?state=forged&code=forged"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("forged state: %d", resp.StatusCode)
		}
		var users struct{ Items []map[string]any }
		app.GetJSON("/api/v1/users", &users)
		for _, u := range users.Items {
			if u["username"] == "mallory" {
				t.Error("a refused person got an account")
			}
		}
		failed := auditActions(t, app, "action=auth.sso_failed")
		if len(failed) != 6 {
			t.Errorf("%d refused SSO sign-ins in the trail, want 6: %v", len(failed), failed)
		}
		if got := auditActions(t, app, "action=auth.sso_login"); len(got) != 3 {
			t.Errorf("SSO sign-ins in the trail: %v", got)
		}
	})
}

// TestNoSecretInLogsOrTrail runs a full round of sign-ins, password
// changes, tokens and single sign-on with the log at debug level, then
// looks for every secret used in the log, the audit table, addresses
// VeriPost redirected to, and its error answers.
func TestNoSecretInLogsOrTrail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		p := startProvider(t)
		cfg := b.Config(t)
		p.configure(&cfg)
		var logs syncBuffer
		app := servertest.StartOpts(t, cfg, servertest.Opts{Log: &logs, LogLevel: -4})
		secrets := map[string]string{"admin password": app.AdminPassword, "admin token": app.Token}
		var answers []string // Location headers and error bodies

		p1, p2, p3 := servertest.RandomPassword(), servertest.RandomPassword(), servertest.RandomPassword()
		secrets["first password"], secrets["wrong password"], secrets["new password"] = p1, p2, p3
		if st, body := app.Do("POST", "/api/v1/users", map[string]string{"username": "lena", "role": "engineer", "password": p1}); st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
		br := newBrowser(t, app)
		resp, body := br.form("/login", url.Values{"username": {"lena"}, "password": {p2}})
		answers = append(answers, body)
		resp = br.login("lena", p1)
		answers = append(answers, resp.Header.Get("Location"))
		secrets["session id"] = br.session()
		resp, body = br.json("POST", "/api/v1/me/password", map[string]string{"current_password": p2, "new_password": p3})
		answers = append(answers, body)
		br.json("POST", "/api/v1/me/password", map[string]string{"current_password": p1, "new_password": p3})
		var tok struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		_, body = br.json("POST", "/api/v1/tokens", map[string]string{"name": "ci", "scope": "write"})
		json.Unmarshal([]byte(body), &tok)
		secrets["api token"] = tok.Token
		c := app.ClientWith(tok.Token)
		lena := app.With(t)
		lena.Client = c
		res := lena.Upload([]servertest.NamedFile{{Name: "L.SRC", Data: []byte("*\r\n")}}, nil)
		lena.WaitDone(res.PackageID, time.Minute)
		br.do("DELETE", "/api/v1/tokens/"+tok.ID, nil, "")
		st, errBody := lena.Do("GET", "/api/v1/me", nil)
		if st != 401 {
			t.Errorf("revoked token: %d", st)
		}
		answers = append(answers, string(errBody))
		fake := "vpt_" + strings.Repeat("q", 52)
		secrets["guessed token"] = fake
		guess := app.With(t)
		guess.Client = app.ClientWith(fake)
		_, errBody = guess.Do("GET", "/api/v1/me", nil)
		answers = append(answers, string(errBody))
		br.form("/logout", nil)

		// Single sign-on, once fine and once refused.
		sso := newBrowser(t, app)
		resp, _, _ = ssoSignIn(t, sso, "/")
		answers = append(answers, resp.Header.Get("Location"))
		secrets["sso session id"] = sso.session()
		p.setTamper(func(c jwt.MapClaims) { c["nonce"] = "x" })
		_, body, _ = ssoSignIn(t, newBrowser(t, app), "/")
		answers = append(answers, body)
		p.mu.Lock()
		for i, code := range p.codes {
			secrets["oidc code "+string(rune('a'+i))] = code
		}
		p.mu.Unlock()
		if len(p.codes) < 2 {
			t.Fatalf("the provider redeemed %d codes", len(p.codes))
		}

		// Where to look.
		var trail bytes.Buffer
		rows, err := app.DB.SQL.Query(`SELECT at, actor_type, actor_id, actor_name, token_id, address, action, outcome, target_type, target_id, package_id, summary, details FROM audit_log`)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var cols [13]any
			ptrs := make([]any, len(cols))
			for i := range cols {
				ptrs[i] = &cols[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			n++
			for _, c := range cols {
				trail.WriteString(toString(c))
				trail.WriteByte('\t')
			}
			trail.WriteByte('\n')
		}
		rows.Close()
		var sessions bytes.Buffer
		srows, _ := app.DB.SQL.Query(`SELECT id_hash FROM sessions`)
		for srows.Next() {
			var h string
			srows.Scan(&h)
			sessions.WriteString(h + "\n")
		}
		srows.Close()
		places := map[string]string{"application log": logs.String(), "audit trail": trail.String(),
			"answers and redirects": strings.Join(answers, "\n"), "sessions table": sessions.String()}
		if n < 12 || !strings.Contains(logs.String(), "level=DEBUG") {
			t.Fatalf("too little recorded to judge: %d audit rows, %d log bytes", n, logs.Len())
		}
		for what, secret := range secrets {
			if len(secret) < 8 {
				t.Fatalf("secret %s was not captured (%q)", what, secret)
			}
			for where, text := range places {
				if strings.Contains(text, secret) {
					t.Errorf("the %s contains the %s", where, what)
				}
			}
		}
		// Every SSO redirect back to VeriPost is a clean address.
		if loc := answers[len(answers)-2]; loc != "/" {
			t.Errorf("after SSO the browser was sent to %q", loc)
		}
	})
}

func toString(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// TestValidationErrorsHideSecrets: a password that fails the schema is
// not quoted back.
func TestValidationErrorsHideSecrets(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	long := "secret-" + strings.Repeat("x", 1100)
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/users", map[string]any{"username": "x", "role": "viewer", "password": long}},
		{"/api/v1/me/password", map[string]any{"current_password": long, "new_password": "y"}},
		{"/api/v1/users/admin/password", map[string]any{"password": 12345678901234}},
	} {
		st, body := app.Do("POST", c.path, c.body)
		if st < 400 || st >= 500 || strings.Contains(string(body), "xxxxxxxx") || strings.Contains(string(body), "12345678901234") {
			t.Errorf("POST %s: %d %.300s", c.path, st, body)
		}
	}
}
