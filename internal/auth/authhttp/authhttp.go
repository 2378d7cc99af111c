// Package authhttp puts internal/auth in front of VeriPost's HTTP handlers:
// one middleware authenticates every request (API token, session cookie
// or, when allowed, anonymous), checks it against the route's rule, refuses
// cross-origin state changes, and puts the actor in the request context.
// It also owns the session and single sign-on cookies.
package authhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
)

// Cookie names.
const (
	SessionCookie = "veripost_session"
	ssoCookie     = "veripost_sso"
)

// Rule is what a route needs.
type Rule struct {
	Level auth.Level
	// BeforeSetup: reachable while no account exists yet (health checks,
	// static files, the setup page).
	BeforeSetup bool
}

// Options configure the guard.
type Options struct {
	// AnonymousRead lets requests without credentials read and download.
	AnonymousRead bool
	// SecureCookies: "auto" (Secure when the request came over HTTPS),
	// "true" or "false".
	SecureCookies string
	// TrustProxy takes the client address from X-Forwarded-For (the last
	// hop, the one the proxy added) and HTTPS from X-Forwarded-Proto.
	TrustProxy bool
	// TrustedOrigins may send cross-origin state-changing requests
	// ("https://portal.example.com").
	TrustedOrigins []string
	// APIPrefix marks requests answered in JSON ("/api/v1").
	APIPrefix string
	// UIError renders a refusal of a page as HTML.
	UIError func(w http.ResponseWriter, r *http.Request, e *apperror.Error)
	Log     *slog.Logger
}

// Guard is the access control in front of every route.
type Guard struct {
	Svc *auth.Service
	Opt Options
	cop *http.CrossOriginProtection
}

// New builds a guard.
func New(svc *auth.Service, opt Options) (*Guard, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.APIPrefix == "" {
		opt.APIPrefix = "/api/v1"
	}
	g := &Guard{Svc: svc, Opt: opt, cop: http.NewCrossOriginProtection()}
	for _, o := range opt.TrustedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			if err := g.cop.AddTrustedOrigin(o); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// IsAPI reports whether r is answered in JSON.
func (g *Guard) IsAPI(r *http.Request) bool {
	p := r.URL.Path
	return p == "/api" || strings.HasPrefix(p, "/api/")
}

// Middleware authenticates and authorises each request by the rule that
// resolve finds for it. A route that resolve knows but has no rule for
// (ok false) is refused: access is granted only by the table.
func (g *Guard) Middleware(resolve func(r *http.Request) (Rule, bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			addr := g.ClientAddress(r)
			rule, ok := resolve(r)
			if !ok {
				g.Opt.Log.ErrorContext(ctx, "route has no access rule; refused", "method", r.Method, "path", r.URL.Path)
				g.refuse(w, r, apperror.New(http.StatusForbidden, apperror.CodeForbidden,
					"This address is not open to anyone yet. Ask your administrator.", "no access rule for "+r.Method+" "+r.URL.Path))
				return
			}
			if !rule.BeforeSetup {
				need, err := g.Svc.SetupRequired(ctx)
				if err != nil {
					g.refuse(w, r, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
						"The database is not reachable. Try again in a minute.", err.Error()))
					return
				}
				if need {
					g.setupFirst(w, r)
					return
				}
			}

			actor, bearer, expired, authErr := g.authenticate(w, r, addr)
			// Public routes do not need to know who is asking; a bad token
			// or a database hiccup must not take /healthz down.
			if authErr != nil && rule.Level != auth.LevelPublic {
				if authErr.Status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="VeriPost"`)
				}
				g.refuse(w, r, authErr)
				return
			}
			if authErr != nil {
				actor, bearer = auth.Actor{Kind: auth.ActorAnonymous, Address: addr}, false
			}

			// Browsers attach cookies to cross-site requests on their own;
			// they never attach an Authorization header. So only requests
			// without a bearer token can be forged, and those must come from
			// this site.
			if !bearer {
				if err := g.cop.Check(r); err != nil {
					g.refuse(w, r, apperror.New(http.StatusForbidden, apperror.CodeCrossOrigin,
						"This request came from another web site, so VeriPost refused it. Use VeriPost's own pages, or an API token from scripts.", err.Error()))
					return
				}
			}

			switch {
			case rule.Level == auth.LevelPublic:
			case actor.Kind == auth.ActorAnonymous:
				if !(rule.Level == auth.LevelRead && g.Opt.AnonymousRead) {
					msg := "Sign in to use VeriPost, or send an API token as \"Authorization: Bearer vpt_…\"."
					if expired {
						msg = "Your session has ended. Sign in again."
					}
					g.unauthenticated(w, r, apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated, msg, ""), expired)
					return
				}
			case !actor.Allowed(rule.Level):
				g.refuse(w, r, forbidden(actor, rule.Level))
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithActor(ctx, actor)))
		})
	}
}

// authenticate finds the actor: an API token in the Authorization header,
// else a session cookie, else anonymous. expired reports a session cookie
// that no longer works (it is removed).
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request, addr string) (actor auth.Actor, bearer, expired bool, _ *apperror.Error) {
	ctx := r.Context()
	actor = auth.Actor{Kind: auth.ActorAnonymous, Address: addr}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return actor, true, false, apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated,
				"Send the API token as \"Authorization: Bearer vpt_…\".", "unsupported Authorization scheme")
		}
		a, err := g.Svc.AuthenticateToken(ctx, strings.TrimSpace(tok), addr)
		if err != nil {
			return actor, true, false, g.asAppError(ctx, err)
		}
		return a, true, false, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return actor, false, false, nil
	}
	a, err := g.Svc.AuthenticateSession(ctx, c.Value, addr)
	switch {
	case err == nil:
		return a, false, false, nil
	case errors.Is(err, auth.ErrSessionEnded):
		g.ClearSession(w, r)
		return actor, false, true, nil
	}
	return actor, false, false, g.asAppError(ctx, err)
}

func forbidden(a auth.Actor, need auth.Level) *apperror.Error {
	msg := "Your account may not do this. Ask an administrator if you need access."
	if need == auth.LevelAdmin {
		msg = "Only administrators may do this."
	} else if need == auth.LevelWrite {
		msg = "Your account may read but not change packages. Ask an administrator for the engineer role if you need to upload or edit."
	}
	detail := "needs " + need.String() + "; role " + string(a.Role)
	if a.Kind == auth.ActorToken {
		detail += ", token scope " + string(a.Scope)
		if a.Role.Level() >= need {
			msg = "This API token's scope does not allow this. Create a token with a wider scope."
		}
	}
	return apperror.New(http.StatusForbidden, apperror.CodeForbidden, msg, detail)
}

// asAppError keeps user-facing errors and hides others behind a 503
// (the detail goes to the log).
func (g *Guard) asAppError(ctx context.Context, err error) *apperror.Error {
	if e, ok := apperror.As(err); ok {
		return e
	}
	g.Opt.Log.ErrorContext(ctx, "authentication failed", "err", err)
	return apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
		"VeriPost cannot check who you are right now (the database did not answer). Try again in a minute.", "")
}

func (g *Guard) setupFirst(w http.ResponseWriter, r *http.Request) {
	if !g.IsAPI(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	WriteJSONError(w, apperror.New(http.StatusServiceUnavailable, apperror.CodeSetupRequired,
		"VeriPost has no accounts yet. Open the setup link that `veripost serve` printed, or create an administrator with `veripost user create NAME --role admin --password-stdin`.", ""))
}

// unauthenticated answers 401 JSON for the API and sends a browser to the
// sign-in page.
func (g *Guard) unauthenticated(w http.ResponseWriter, r *http.Request, e *apperror.Error, expired bool) {
	if g.IsAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="VeriPost"`)
		WriteJSONError(w, e)
		return
	}
	q := url.Values{}
	if next := r.URL.RequestURI(); next != "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		q.Set("next", auth.SafeReturn(next))
	}
	if expired {
		q.Set("expired", "1")
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, e *apperror.Error) {
	if g.IsAPI(r) {
		WriteJSONError(w, e)
		return
	}
	g.uiError(w, r, e)
}

func (g *Guard) uiError(w http.ResponseWriter, r *http.Request, e *apperror.Error) {
	if g.Opt.UIError != nil && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		g.Opt.UIError(w, r, e)
		return
	}
	WriteJSONError(w, e)
}

// WriteJSONError writes e in the API's {message, detail, code} shape.
func WriteJSONError(w http.ResponseWriter, e *apperror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// ---- client facts ---------------------------------------------------------

// ClientAddress is the client's IP address: the connection's, or with
// TrustProxy the last X-Forwarded-For hop.
func (g *Guard) ClientAddress(r *http.Request) string {
	if g.Opt.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Client describes the request's client for sign-in records.
func (g *Guard) Client(r *http.Request) auth.Client {
	return auth.Client{Address: g.ClientAddress(r), UserAgent: r.UserAgent()}
}

// HTTPS reports whether the browser sees this server over HTTPS.
func (g *Guard) HTTPS(r *http.Request) bool {
	return r.TLS != nil || (g.Opt.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// Origin is scheme://host as the browser sees this server.
func (g *Guard) Origin(r *http.Request) string {
	if g.HTTPS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (g *Guard) secure(r *http.Request) bool {
	switch strings.ToLower(g.Opt.SecureCookies) {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	return g.HTTPS(r)
}

// ---- cookies -----------------------------------------------------------------

// SetSession gives the browser its session cookie: HttpOnly, SameSite=Lax
// (so it goes along when a person follows a link to VeriPost, but not on
// cross-site posts), Secure over HTTPS, ending with the absolute expiry.
func (g *Guard) SetSession(w http.ResponseWriter, r *http.Request, in auth.SignedIn) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: in.SessionID, Path: "/", HttpOnly: true,
		Secure: g.secure(r), SameSite: http.SameSiteLaxMode, Expires: in.ExpiresAt, MaxAge: int(math.Ceil(time.Until(in.ExpiresAt).Seconds()))})
}

// ClearSession removes the session cookie.
func (g *Guard) ClearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: g.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// SetSSOState binds a started single sign-on to this browser.
func (g *Guard) SetSSOState(w http.ResponseWriter, r *http.Request, state string) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state, Path: "/auth/oidc", HttpOnly: true, Secure: g.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: 600})
}

// TakeSSOState returns and clears the single sign-on cookie.
func (g *Guard) TakeSSOState(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(ssoCookie)
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/auth/oidc", HttpOnly: true, Secure: g.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if err != nil {
		return ""
	}
	return c.Value
}
