package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/server/servertest"
)

// count returns how many elements match sel on the current page.
func (b *browserT) count(sel string) int {
	b.t.Helper()
	var n int
	b.run("count "+sel, chromedp.Evaluate(`document.querySelectorAll(`+"`"+sel+"`"+`).length`, &n))
	return n
}

// TestBrowserFirstRunAndViewer: a new server sends the browser to the
// setup page, whose link fills in the setup code; the first administrator
// adds a viewer on the Users page; the viewer signs in and sees no upload,
// edit or delete controls, and the package's history.
func TestBrowserFirstRunAndViewer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	cfg := servertest.SQLite.Config(t)
	cfg.Workers = 2
	app := servertest.StartOpts(t, cfg, servertest.Opts{NoAdmin: true})
	code, err := app.Auth.StartSetup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app.URL)

	b.run("first visit", chromedp.Navigate(app.URL+"/"))
	b.waitURL(app.URL + "/setup")
	b.run("setup page", chromedp.Navigate(app.URL+"/setup#"+code), chromedp.WaitVisible(`[data-setup-form]`, chromedp.ByQuery))
	var filled, hash string
	b.run("code filled from the link", chromedp.Value(`#setup-code`, &filled, chromedp.ByQuery), chromedp.Evaluate(`location.hash`, &hash))
	if filled != code || hash != "" {
		t.Errorf("setup code field %q (want the link's code), address hash %q (want it removed)", filled, hash)
	}
	pw := servertest.RandomPassword()
	b.run("create the administrator",
		chromedp.SendKeys(`#setup-user`, "chief", chromedp.ByQuery),
		chromedp.SendKeys(`#setup-password`, pw, chromedp.ByQuery),
		chromedp.SendKeys(`#setup-password2`, pw, chromedp.ByQuery),
	)
	b.screenshot("30-setup")
	b.run("submit setup", chromedp.Submit(`[data-setup-form]`, chromedp.ByQuery))
	b.waitURL(app.URL + "/?welcome=1")
	b.run("welcome", chromedp.WaitVisible(`[data-welcome]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-signed-in="chief"]`, chromedp.ByQuery))
	b.screenshot("31-after-setup")

	// The administrator adds a viewer.
	viewerPW := servertest.RandomPassword()
	b.run("users page", chromedp.Navigate(app.URL+"/admin/users"), chromedp.WaitVisible(`[data-new-user]`, chromedp.ByQuery),
		chromedp.SendKeys(`#nu-name`, "vera", chromedp.ByQuery),
		chromedp.SetValue(`#nu-role`, "viewer", chromedp.ByQuery),
		chromedp.SendKeys(`#nu-pw`, viewerPW, chromedp.ByQuery),
		chromedp.Click(`[data-new-user] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-user="vera"]`, chromedp.ByQuery),
	)
	var role string
	b.run("vera's role", chromedp.Evaluate(`document.querySelector('tr[data-user="vera"] select[name=role]').value`, &role))
	if role != "viewer" {
		t.Errorf("vera's role shows as %q", role)
	}
	b.screenshot("32-users")

	// A package, uploaded by the administrator.
	tok, err := app.Auth.CreateToken(auth.WithActor(context.Background(), auth.System("test")), auth.NewToken{Name: "t", Scope: auth.ScopeWrite, Owner: "chief"})
	if err != nil {
		t.Fatal(err)
	}
	up := app.With(t)
	up.Client = app.ClientWith(tok.Secret)
	res := up.Upload([]servertest.NamedFile{tinySRC("Viewer Test")}, nil)
	up.WaitReady(res.PackageID)

	// A token made on the account page is shown once.
	b.run("account page", chromedp.Navigate(app.URL+"/account"), chromedp.WaitVisible(`#tok-name`, chromedp.ByQuery),
		chromedp.SendKeys(`#tok-name`, "laptop", chromedp.ByQuery),
		chromedp.Click(`.token-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-token-out]`, chromedp.ByQuery))
	shown := b.text(`[data-token-value]`)
	if !strings.HasPrefix(shown, "vpt_") {
		t.Errorf("new token shown as %q", shown)
	}
	b.screenshot("36-account-token")
	b.run("account again", chromedp.Navigate(app.URL+"/account"), chromedp.WaitVisible(`table.tokens`, chromedp.ByQuery))
	var page string
	b.run("page text", chromedp.Evaluate(`document.body.innerText`, &page))
	if strings.Contains(page, shown) || !strings.Contains(page, shown[:12]) {
		t.Error("the token list shows the whole token, or not its prefix")
	}
	b.run("audit page", chromedp.Navigate(app.URL+"/admin/audit"), chromedp.WaitVisible(`table.audit`, chromedp.ByQuery))
	if n := b.count(`table.audit tr[data-action="token.create"]`); n != 2 {
		t.Errorf("the audit page lists %d token creations, want 2", n)
	}
	b.screenshot("37-audit")

	// A page on another origin posts a form to VeriPost: the browser sends
	// the session cookie (same site), VeriPost refuses the request.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/logout"></form><script>document.getElementById("f").submit()</script>`, app.URL)
	}))
	defer evil.Close()
	b.run("forged sign-out", chromedp.Navigate(evil.URL))
	b.waitURL(app.URL + "/logout")
	b.run("refused", chromedp.WaitVisible(`.error-page`, chromedp.ByQuery))
	var errCode string
	b.run("error code", chromedp.Evaluate(`document.querySelector('[data-error-code]').textContent`, &errCode))
	if errCode != "CROSS_ORIGIN_REQUEST" {
		t.Errorf("forged sign-out answered with code %q", errCode)
	}
	b.run("still signed in", chromedp.Navigate(app.URL+"/account"), chromedp.WaitVisible(`[data-signed-in="chief"]`, chromedp.ByQuery))

	b.run("sign out", chromedp.Click(`[data-sign-out]`, chromedp.ByQuery))
	b.waitURL(app.URL + "/login")
	b.run("sign-in page", chromedp.WaitVisible(`[data-login-form]`, chromedp.ByQuery))
	b.login("vera", viewerPW, "/")
	if n := b.count(`a[href="/upload"], [data-uploader]`); n != 0 {
		t.Errorf("the viewer sees %d upload controls on the list", n)
	}
	b.run("package page", chromedp.Navigate(app.URL+"/packages/"+res.PackageID), chromedp.WaitVisible(`#history [data-history]`, chromedp.ByQuery))
	if n := b.count(`[data-delete-open], [data-delete-dialog], [data-meta-form], [data-upload-version], a[href^="/upload"]`); n != 0 {
		t.Errorf("the viewer sees %d upload, edit or delete controls on the package page", n)
	}
	if h := b.text(`#history [data-history]`); !strings.Contains(h, "uploaded version 1") || !strings.Contains(h, "chief") {
		t.Errorf("package history shows %q", h)
	}
	if n := b.count(`a[download]`); n == 0 {
		t.Error("the viewer has no download links")
	}
	b.screenshot("33-viewer-package")
	b.run("upload page refused", chromedp.Navigate(app.URL+"/upload"), chromedp.WaitVisible(`.error-page`, chromedp.ByQuery))
	if h := b.text(`.error-page h1`); h != "Not allowed" {
		t.Errorf("a viewer opening /upload sees %q", h)
	}
	b.checkProblems()
}

// TestBrowserSingleSignOn signs in through a real OpenID provider's HTML
// login form (the example OP of zitadel/oidc, in this process) and lands
// signed in, with the role the provider's claims map to.
func TestBrowserSingleSignOn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	opSrv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + opSrv.Listener.Addr().String() + "/"
	opSrv.Config.Handler = exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false, op.WithAllowInsecure())
	opSrv.Start()
	t.Cleanup(opSrv.Close)

	cfg := servertest.SQLite.Config(t)
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = issuer, "veripost-test", "veripost-secret"
	cfg.OIDCScopes = []string{"openid", "profile", "email"}
	// This provider sends no groups; its e-mail claim decides the role.
	cfg.OIDCRoleClaim, cfg.OIDCRoleMap = "email", "test-user@zitadel.ch=engineer"
	cfg.OIDCDisplayName = "Example OP"
	app := servertest.Start(t, cfg)
	storage.RegisterClients(storage.WebClient("veripost-test", "veripost-secret", app.URL+"/auth/oidc/callback"))

	b := newBrowser(t, app.URL)
	b.run("sign-in page", chromedp.Navigate(app.URL+"/login"), chromedp.WaitVisible(`[data-sso]`, chromedp.ByQuery))
	if s := b.text(`[data-sso]`); s != "Sign in with Example OP" {
		t.Errorf("SSO button says %q", s)
	}
	b.run("to the provider", chromedp.Click(`[data-sso]`, chromedp.ByQuery))
	b.waitURL(strings.TrimSuffix(issuer, "/") + "/login/username")
	b.run("provider's form", chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "test-user@127.0.0.1", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "verysecure", chromedp.ByQuery))
	b.screenshot("34-sso-provider-form")
	b.run("submit at the provider", chromedp.Submit(`#username`, chromedp.ByQuery))
	b.waitURL(app.URL + "/")
	b.run("signed in by SSO", chromedp.WaitVisible(`[data-signed-in="test-user@127.0.0.1"]`, chromedp.ByQuery))
	var loc string
	b.run("address", chromedp.Location(&loc))
	if strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		t.Errorf("the code stays in the address bar: %s", loc)
	}
	if role := b.text(`.who .role-badge`); role != "engineer" {
		t.Errorf("SSO user's role = %q, want engineer", role)
	}
	if n := b.count(`.topbar a[href="/upload"]`); n != 1 {
		t.Error("the engineer has no upload button")
	}
	b.screenshot("35-sso-signed-in")
	b.checkProblems()
}
