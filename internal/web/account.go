package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
)

// The sign-in, setup and account pages. Sign-in, sign-out and setup are
// HTML forms (they set the session cookie); everything else on these pages
// changes data through the JSON API, like the package pages.

// maxFormBytes bounds the sign-in and setup forms.
const maxFormBytes = 16 << 10

type loginData struct {
	Username string
	Next     string
	Expired  bool
	SSO      string // provider name; "" without single sign-on
	Password bool   // local passwords allowed
	Error    *apperror.Error
}

func (u *UI) ssoName() string {
	if u.Auth != nil && u.Auth.SSO != nil {
		return u.Auth.SSO.Name()
	}
	return ""
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if need, _ := u.Auth.SetupRequired(r.Context()); need {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	next := auth.SafeReturn(r.URL.Query().Get("next"))
	if auth.ActorFrom(r.Context()).SignedIn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := loginData{Next: next, Expired: r.URL.Query().Get("expired") == "1", SSO: u.ssoName(), Password: u.Auth.Cfg.PasswordLogin}
	if e := r.URL.Query().Get("error"); e == "sso" {
		d.Error = apperror.New(http.StatusUnauthorized, apperror.CodeSSOFailed, "Single sign-on did not complete. Try again.", "")
	}
	u.render(w, r, http.StatusOK, "login", u.newPage(r, "Sign in", "login", d))
}

func (u *UI) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, http.StatusBadRequest, "That did not work", "The sign-in form could not be read. Reload the page and try again.", "")
		return
	}
	d := loginData{Username: strings.TrimSpace(r.PostForm.Get("username")), Next: auth.SafeReturn(r.PostForm.Get("next")),
		SSO: u.ssoName(), Password: u.Auth.Cfg.PasswordLogin}
	in, err := u.Auth.Login(r.Context(), d.Username, r.PostForm.Get("password"), u.Guard.Client(r))
	if err != nil {
		e, ok := apperror.As(err)
		if !ok {
			u.fail(w, r, err)
			return
		}
		var re *auth.RetryError
		if errors.As(err, &re) {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(re.Until).Seconds()))))
		}
		d.Error = e
		u.render(w, r, e.Status, "login", u.newPage(r, "Sign in", "login", d))
		return
	}
	u.Guard.SetSession(w, r, in)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if err := u.Auth.Logout(r.Context()); err != nil {
		u.fail(w, r, err)
		return
	}
	u.Guard.ClearSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type setupData struct {
	Username, DisplayName string
	Error                 *apperror.Error
}

func (u *UI) setupPage(w http.ResponseWriter, r *http.Request) {
	if need, err := u.Auth.SetupRequired(r.Context()); err != nil || !need {
		if err != nil {
			u.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "setup", u.newPage(r, "Set up VeriPost", "setup", setupData{}))
}

func (u *UI) setupPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, http.StatusBadRequest, "That did not work", "The setup form could not be read. Reload the page and try again.", "")
		return
	}
	f := r.PostForm
	d := setupData{Username: strings.TrimSpace(f.Get("username")), DisplayName: strings.TrimSpace(f.Get("display_name"))}
	var in auth.SignedIn
	err := error(nil)
	if f.Get("password") != f.Get("password_confirm") {
		err = apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, "The two passwords differ. Type the same password twice.", "")
	} else {
		in, err = u.Auth.CompleteSetup(r.Context(), f.Get("code"),
			auth.NewUser{Username: d.Username, DisplayName: d.DisplayName, Password: f.Get("password")}, u.Guard.Client(r))
	}
	if err != nil {
		e, ok := apperror.As(err)
		if !ok {
			u.fail(w, r, err)
			return
		}
		if e.Code == apperror.CodeConflict {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		d.Error = e
		u.render(w, r, e.Status, "setup", u.newPage(r, "Set up VeriPost", "setup", d))
		return
	}
	u.Guard.SetSession(w, r, in)
	http.Redirect(w, r, "/?welcome=1", http.StatusSeeOther)
}

// ssoRedirectURL is where the provider sends people back.
func (u *UI) ssoRedirectURL(r *http.Request) string {
	if u.OIDCRedirectURL != "" {
		return u.OIDCRedirectURL
	}
	return u.Guard.Origin(r) + "/auth/oidc/callback"
}

func (u *UI) ssoStart(w http.ResponseWriter, r *http.Request) {
	st, err := u.Auth.StartSSO(r.Context(), u.ssoRedirectURL(r), r.URL.Query().Get("next"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.Guard.SetSSOState(w, r, st.State)
	http.Redirect(w, r, st.URL, http.StatusSeeOther)
}

func (u *UI) ssoCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cookie := u.Guard.TakeSSOState(w, r)
	if e := q.Get("error"); e != "" {
		// The provider refused (or the person cancelled); its error code
		// is safe to show, the rest of the address is not echoed.
		u.Auth.Record(r.Context(), auth.NewEvent(auth.WithActor(r.Context(), auth.Actor{Kind: auth.ActorAnonymous, Address: u.Guard.ClientAddress(r)}),
			auth.ActionSSOFailed, "single sign-on refused by the provider: "+clipText(e, 60)).Failed())
		u.renderError(w, r, http.StatusUnauthorized, "Single sign-on did not complete",
			"The sign-in provider did not sign you in ("+clipText(e, 60)+"). Go back to the sign-in page and try again.", "")
		return
	}
	res, err := u.Auth.FinishSSO(r.Context(), q.Get("state"), cookie, q.Get("code"), u.Guard.Client(r))
	if err != nil {
		e, ok := apperror.As(err)
		if !ok {
			u.fail(w, r, err)
			return
		}
		// The technical detail goes to the log only; it may quote the
		// provider.
		u.Log.WarnContext(r.Context(), "single sign-on refused", "code", e.Code, "detail", e.Detail)
		u.renderError(w, r, e.Status, "Single sign-on did not complete", e.Message, "")
		return
	}
	u.Guard.SetSession(w, r, res.SignedIn)
	// Leave the callback address (it carries the code) for a clean one.
	http.Redirect(w, r, res.ReturnTo, http.StatusSeeOther)
}

func clipText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

type accountData struct {
	User   auth.User
	Tokens []auth.Token
	Scopes []auth.Scope
	All    bool // the administrators' list of everyone's tokens
	Users  []auth.User
}

// scopesFor lists the scopes a role may give its tokens.
func scopesFor(r auth.Role) []auth.Scope {
	var out []auth.Scope
	for _, s := range []auth.Scope{auth.ScopeRead, auth.ScopeWrite, auth.ScopeAdmin} {
		if s.Level() <= r.Level() {
			out = append(out, s)
		}
	}
	return out
}

func (u *UI) account(w http.ResponseWriter, r *http.Request) {
	me, err := u.Auth.Me(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ts, err := u.Auth.ListTokens(r.Context(), false)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "account", u.newPage(r, "Your account", "account", accountData{User: me, Tokens: ts, Scopes: scopesFor(me.Role)}))
}

func (u *UI) adminUsers(w http.ResponseWriter, r *http.Request) {
	us, err := u.Auth.ListUsers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "users", u.newPage(r, "Users", "users", accountData{Users: us}))
}

func (u *UI) adminTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := u.Auth.ListTokens(r.Context(), true)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	us, err := u.Auth.ListUsers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "tokens", u.newPage(r, "API tokens", "tokens",
		accountData{Tokens: ts, All: true, Users: us, Scopes: scopesFor(auth.RoleAdmin)}))
}

type auditData struct {
	Page    auth.AuditPage
	F       auditFilters
	Actions []string
	NextURL string
	Err     string
}

type auditFilters struct {
	User, Action, Package, Since, Until string
}

func (f auditFilters) query(before int64) string {
	v := url.Values{}
	for k, s := range map[string]string{"user": f.User, "action": f.Action, "package": f.Package, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + v.Encode()
}

// parseDay reads a date (2006-01-02) or an RFC 3339 time; until dates
// include the whole day.
func parseDay(s string, endOfDay bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, false
	}
	if endOfDay {
		t = t.Add(24 * time.Hour)
	}
	return t, true
}

func (u *UI) auditPage(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	f := auditFilters{User: clipText(strings.TrimSpace(qv.Get("user")), 100), Action: clipText(qv.Get("action"), 60),
		Package: clipText(strings.TrimSpace(qv.Get("package")), 60), Since: clipText(qv.Get("since"), 40), Until: clipText(qv.Get("until"), 40)}
	d := auditData{F: f, Actions: auth.Actions}
	q := auth.AuditQuery{User: f.User, Action: f.Action, PackageID: f.Package, Limit: 50}
	q.Before, _ = strconv.ParseInt(qv.Get("before"), 10, 64)
	var ok1, ok2 bool
	q.Since, ok1 = parseDay(f.Since, false)
	q.Until, ok2 = parseDay(f.Until, true)
	if !ok1 || !ok2 {
		d.Err = "Write dates as YYYY-MM-DD."
	}
	p, err := u.Auth.Audit(r.Context(), q)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Page = p
	if p.NextBefore > 0 {
		d.NextURL = f.query(p.NextBefore)
	}
	u.render(w, r, http.StatusOK, "audit", u.newPage(r, "Audit trail", "audit", d))
}

// RenderError shows a refusal from the access guard as a page.
func (u *UI) RenderError(w http.ResponseWriter, r *http.Request, e *apperror.Error) {
	heading := "That did not work"
	switch e.Status {
	case http.StatusUnauthorized:
		heading = "Sign in needed"
	case http.StatusForbidden:
		heading = "Not allowed"
	}
	p := u.newPage(r, heading, "", errorData{Status: e.Status, Heading: heading, Message: e.Message, Detail: e.Detail, Code: e.Code})
	u.render(w, r, e.Status, "error", p)
}
