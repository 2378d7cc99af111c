// Package web is VeriPost's browser UI: server-rendered HTML pages from Go
// templates plus a little hand-written JavaScript and CSS, all embedded in
// the binary (no build step, no CDN, no external fonts: it works offline).
//
// The pages read through small interfaces defined here (Store, Blobs,
// Index); everything that changes data (upload, edit, delete) goes
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
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/upload"
)

// Store is what the pages read. *store.DB implements it.
type Store interface {
	BrowsePackages(ctx context.Context, q store.BrowseQuery) (store.BrowseResult, error)
	BrowseFacets(ctx context.Context) (store.BrowseFacets, error)
	GetPackage(ctx context.Context, id string) (catalog.Package, error)
	ListVersions(ctx context.Context, packageID string) ([]catalog.Version, error)
	GetVersion(ctx context.Context, versionID string) (catalog.Version, error)
	VersionFiles(ctx context.Context, versionID string) ([]catalog.File, error)
	GetFile(ctx context.Context, packageID, fileID string) (catalog.File, error)
}

// Blobs reads stored file bytes (for the source view). blob.Store
// implements it.
type Blobs interface {
	Open(ctx context.Context, key string) (blob.Object, error)
}

// Index reads the package index (the parser's and resolver's findings).
// *store.DB implements it. It is optional: without it the pages show the
// parser's findings for one file only and no cross-file navigation.
type Index interface {
	VersionDiagnostics(ctx context.Context, versionID, severity, fileID string) ([]index.DiagnosticRow, error)
	VersionSymbol(ctx context.Context, versionID, canonical string) ([]index.SymbolOccurrence, error)
	SymbolUsage(ctx context.Context, canonical string, limit, offset int) ([]index.SymbolPackage, int, error)
	// VersionLibraries: how a version's :LIBRARY=/:INCLUDE= paths resolved.
	VersionLibraries(ctx context.Context, versionID string) ([]index.LibraryUse, error)
	// LibraryNames, LibraryVariants and LibraryPackages answer "which
	// variants of MILL.LIB exist, and which posts use this exact one?".
	LibraryNames(ctx context.Context, limit int) ([]store.LibraryName, error)
	LibraryVariants(ctx context.Context, name string) ([]index.LibraryVariant, error)
	LibraryPackages(ctx context.Context, sha string) ([]index.PackageRef, error)
}

// Deps is what the UI needs.
type Deps struct {
	Store   Store
	Blobs   Blobs
	Index   Index  // optional
	Search  Search // optional: search, alike posts and sections
	Limits  upload.Limits
	Log     *slog.Logger
	Version string
	// APIPrefix is where the JSON API lives (default "/api/v1").
	APIPrefix string
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
	r.Get("/symbols/{name}", u.symbolPage)
	r.Get("/libraries", u.libraries)
	r.Get("/libraries/{name}", u.library)
	r.Get("/search", u.searchPage)
	r.Get("/sections/{id}/similar", u.similarSectionsPage)
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
	Data      any
}

func (u *UI) newPage(r *http.Request, title, nav string, data any) page {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return page{Title: title, Nav: nav, Version: u.Version, API: u.APIPrefix,
		RequestID: middleware.GetReqID(r.Context()), Origin: scheme + "://" + r.Host, Data: data}
}

// render executes a page into a buffer first, so a template failure becomes
// the error page instead of half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := u.pages[name]
	if !ok {
		u.fail(w, r, errors.New("web: no template "+name))
		return
	}
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
	u.renderError(w, r, http.StatusInternalServerError, "Something went wrong",
		"VeriPost could not show this page because of a problem on the server. Try again; if it keeps happening, ask your administrator to check the server log.", "")
}
