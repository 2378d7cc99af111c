// Package web is VeriPost's browser UI: server-rendered HTML pages from Go
// templates plus a little hand-written JavaScript and CSS, all embedded in
// the binary (no build step, no CDN, no external fonts: it works offline).
//
// The pages read through the same domain interfaces as the JSON API
// (catalog.Repository, catalog.Browser, index.Reader), so the UI shows
// nothing the API cannot give; everything that changes data (upload, edit, delete) goes
// from the browser to the JSON API under /api/v1, so the UI and scripts use
// the same validated paths.
package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/auth/authhttp"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/loader"
	"github.com/veripost/veripost/internal/upload"
)

// Store is what the pages read of packages: the same catalogue
// interfaces the API serves (*store.DB implements them).
type Store interface {
	catalog.Repository
	catalog.Browser
}

// Blobs reads stored file bytes (for the source view). blob.Store
// implements it.
type Blobs interface {
	Open(ctx context.Context, key string) (blob.Object, error)
}

// Deps is what the UI needs.
type Deps struct {
	Store   Store
	Blobs   Blobs
	Index   index.Reader // the same index reader the API uses
	Search  Search       // optional: search, alike posts and sections
	Limits  upload.Limits
	Log     *slog.Logger
	Version string
	// APIPrefix is where the JSON API lives (default "/api/v1").
	APIPrefix string
	// Compare compares versions, packages and library variants (optional:
	// without it the compare pages are absent).
	Compare *compare.Service
	// Explain loads analysed versions for the explanation pages (optional:
	// without it the pages offer no explanations).
	Explain *loader.Loader
	// Auth and Guard serve sign-in, accounts and the audit trail; the
	// guard's middleware (in front of the UI) decides who sees what.
	Auth  *auth.Service
	Guard *authhttp.Guard
	// OIDCRedirectURL overrides the single sign-on callback address.
	OIDCRedirectURL string
	// Registry lists the stock library registry (optional: without it the
	// registry page is absent).
	Registry RegistryReader
	// Copilot is the LLM copilot (nil: off; explanations say so and stay
	// useful); Usage lists its provider calls for the admins' page.
	Copilot *llm.Copilot
	Usage   llm.UsageLister
}

// UI serves the pages. It is an http.Handler.
type UI struct {
	Deps
	pages  map[string]*template.Template
	assets *assets
	router chi.Router
}

// New builds the UI; it panics only if the embedded templates are broken,
// which the tests catch.
func New(d Deps) *UI {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.APIPrefix == "" {
		d.APIPrefix = "/api/v1"
	}
	u := &UI{Deps: d, assets: loadAssets()}
	u.pages = parsePages(u.funcs())
	u.router = u.routes()
	return u
}

func (u *UI) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.GetHead, u.recoverHTML, securityHeaders,
		middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"))
	r.Get("/", u.list)
	r.Get("/upload", u.upload)
	r.Get("/packages/{id}", u.pkg)
	r.Get("/packages/{id}/files/{file_id}", u.source)
	r.Get("/packages/{id}/files/{file_id}/symbol", u.symbolPanel)
	u.explainRoutes(r)
	r.Get("/symbols", u.symbolIndex)
	r.Get("/symbols/{name}", u.symbolPage)
	r.Get("/libraries", u.libraries)
	r.Get("/libraries/{name}", u.library)
	r.Get("/search", u.searchPage)
	r.Get("/sections/{id}/similar", u.similarSectionsPage)
	r.Get("/compare", u.comparePage)
	r.Get("/compare/explain", u.changePage)
	r.Get("/login", u.loginPage)
	r.Post("/login", u.loginPost)
	r.Post("/logout", u.logout)
	r.Get("/setup", u.setupPage)
	r.Post("/setup", u.setupPost)
	r.Get("/auth/oidc/start", u.ssoStart)
	r.Get("/auth/oidc/callback", u.ssoCallback)
	r.Get("/account", u.account)
	r.Get("/admin/users", u.adminUsers)
	r.Get("/admin/tokens", u.adminTokens)
	r.Get("/admin/audit", u.auditPage)
	r.Get("/admin/registry", u.registryPage)
	r.Get("/admin/copilot", u.copilotUsage)
	r.Get("/static/*", u.static)
	r.Get("/favicon.ico", u.assets.favicon)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		u.notFound(w, r, "There is no page at this address.", "")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, http.StatusMethodNotAllowed, "This page cannot be used that way",
			"Pages of VeriPost can only be opened, not sent to. To change data, use the buttons on the pages or the API.", r.Method+" "+r.URL.Path)
	})
	return r
}

// Routes is the UI's router (for the access table and its test).
func (u *UI) Routes() chi.Routes { return u.router }

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.router.ServeHTTP(w, r) }

// securityHeaders: the pages load nothing from elsewhere and run no inline
// script, so a strict policy costs nothing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recoverHTML turns a panic into the friendly 500 page; the stack goes to
// the log only.
func (u *UI) recoverHTML(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				u.Log.ErrorContext(r.Context(), "panic serving page", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				u.renderError(w, r, http.StatusInternalServerError, "Something went wrong",
					"VeriPost could not show this page because of a problem on the server. Try again; if it keeps happening, ask your administrator to check the server log.", "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title     string
	Nav       string // "packages", "libraries" or "upload": the current section
	Version   string
	API       string
	RequestID string
	Origin    string // scheme://host as the browser sees this server
	Wide      bool   // full-width layout (source view)
	// Kind names the page's template and Key the thing it shows (a package
	// or file id): the body carries both, so a test (or a script) can tell
	// that the page it waits for is there, not the one before it.
	Kind string
	Key  string
	Data any
	// Actor is who is looking (anonymous when anonymous read is on).
	Actor auth.Actor
}

func (u *UI) newPage(r *http.Request, title, nav string, data any) page {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return page{Title: title, Nav: nav, Version: u.Version, API: u.APIPrefix,
		RequestID: middleware.GetReqID(r.Context()), Origin: scheme + "://" + r.Host, Data: data, Actor: auth.ActorFrom(r.Context())}
}

// render executes a page into a buffer first, so a template failure becomes
// the error page instead of half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := u.pages[name]
	if !ok {
		u.fail(w, r, errors.New("web: no template "+name))
		return
	}
	p.Kind = name
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		if name == "error" {
			// The error page itself failed: plain text, still no stack.
			u.Log.ErrorContext(r.Context(), "rendering the error page failed", "err", err)
			http.Error(w, "VeriPost could not show this page. Ask your administrator to check the server log.", http.StatusInternalServerError)
			return
		}
		u.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Heading string
	Message string
	Detail  string
	Code    string
}

func (u *UI) renderError(w http.ResponseWriter, r *http.Request, status int, heading, message, detail string) {
	p := u.newPage(r, heading, "", errorData{Status: status, Heading: heading, Message: message, Detail: detail})
	u.render(w, r, status, "error", p)
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request, message, detail string) {
	u.renderError(w, r, http.StatusNotFound, "Page not found", message, detail)
}

// fail shows err: its own status and friendly message when it is a
// user-facing error, otherwise a 500 whose detail only goes to the log.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, catalog.ErrNotFound) {
		u.notFound(w, r, "This package or file does not exist. It may have been deleted.", "")
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	if e, ok := apperror.As(err); ok && e.Status < 500 {
		u.renderError(w, r, e.Status, "That did not work", e.Message, e.Detail)
		return
	}
	u.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err, "request_id", middleware.GetReqID(r.Context()))
	if e := apperror.From(err); e.Status == http.StatusServiceUnavailable {
		u.renderError(w, r, e.Status, "Not available right now", e.Message, "")
		return
	}
	u.renderError(w, r, http.StatusInternalServerError, "Something went wrong",
		"VeriPost could not show this page because of a problem on the server. Try again; if it keeps happening, ask your administrator to check the server log.", "")
}
