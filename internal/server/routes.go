package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth/authhttp"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/httpguard"
	"github.com/veripost/veripost/internal/loader"
	"github.com/veripost/veripost/internal/web"
)

var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "veripost_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "veripost_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
)

// OpsHandler serves only /healthz, /readyz and /metrics (for workers).
func (a *App) OpsHandler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, a.observe, a.recoverJSON)
	a.opsRoutes(r)
	return r
}

func (a *App) opsRoutes(r chi.Router) {
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": a.version})
	})
	r.Get("/readyz", a.ready)
	r.Method(http.MethodGet, "/metrics", promhttp.Handler())
}

func (a *App) routes() (http.Handler, error) {
	r := chi.NewRouter()
	guard, err := authhttp.New(a.Auth, authhttp.Options{
		AnonymousRead: a.Config.AnonymousRead, SecureCookies: a.Config.SecureCookies, TrustProxy: a.Config.TrustProxy,
		TrustedOrigins: a.Config.TrustedOrigins, APIPrefix: api.Prefix, Log: a.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("VERIPOST_TRUSTED_ORIGINS: %w", err)
	}
	a.Guard = guard
	var access *accessTable
	// JSON answers compress well (a 300 KB source with its tokens is ~10:1);
	// file downloads are octet-stream or zip and pass through untouched.
	// gzhttp: its fastest level costs about a third of compress/gzip's level
	// 1 (level 5 cost more CPU than the query), answers under 1 KB go out as
	// they are (compressing them costs more than it saves), and clients that
	// accept zstd (browsers) get it.
	compress, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(gzip.BestSpeed), gzhttp.ContentTypes([]string{"application/json"}))
	if err != nil {
		return nil, err
	}
	// The body stall timeout wraps everything; NUL characters are refused
	// before access control (nothing to decide on a request that cannot be
	// served), and ids in the path are lower-cased before routing; access control comes after the request id, logging and panic
	// recovery, and before every route.
	r.Use(httpguard.BodyTimeout(a.Config.ReadBodyTimeout), middleware.RequestID, a.observe, a.recoverJSON,
		httpguard.NoSniff, httpguard.RejectNUL(api.WriteError), httpguard.CanonicalIDs,
		guard.Middleware(func(r *http.Request) (authhttp.Rule, bool) { return access.resolve(r) }),
		middleware.GetHead, func(h http.Handler) http.Handler { return compress(h) })
	a.opsRoutes(r)
	cmp := &compare.Service{Repo: a.DB, Blobs: a.Blobs, Find: a.DB}
	explainer := loader.New(a.DB, a.Blobs) // one cache of analysed versions for the API and the UI
	a.API = api.Mount(r, api.Deps{
		Repo: a.DB, Browser: a.DB, Service: a.Service, Blobs: a.Blobs, Index: a.DB, Reindex: a.Reindexer(), Registry: a.Registry, Search: a.Search,
		Limits: a.Limits(), AnalysisLimits: a.AnalysisLimits(), Log: a.Log, Version: a.version, Compare: cmp, Explain: explainer, Auth: a.Auth,
		Copilot: a.Copilot, Usage: a.DB,
	})
	ui := web.New(web.Deps{Store: a.DB, Blobs: a.Blobs, Index: a.DB, Search: a.Search, Limits: a.Limits(), Log: a.Log, Version: a.version, APIPrefix: api.Prefix,
		Compare: cmp, Explain: explainer, Auth: a.Auth, Guard: guard, OIDCRedirectURL: a.Config.OIDCRedirectURL,
		Copilot: a.Copilot, Usage: a.DB, Registry: a.DB})
	a.UI = ui
	guard.Opt.UIError = ui.RenderError
	access = newAccessTable(r, ui.Routes(), a.API.OpenAPI(), a.Log)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
			ui.ServeHTTP(w, r) // the web UI, with its own HTML 404
			return
		}
		api.WriteError(w, apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			"There is nothing at this address. The API lives under "+api.Prefix+"; its description is at "+api.Prefix+"/openapi.json.",
			r.Method+" "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, apperror.New(http.StatusMethodNotAllowed, apperror.CodeMethodNotAllowed,
			"This address does not accept "+r.Method+" requests.", r.Method+" "+r.URL.Path))
	})
	return r, nil
}

// ready reports whether the database and object store answer.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "object_store": "ok"}
	status := http.StatusOK
	// The causes go to the log only: they name hosts, users and databases.
	if err := a.DB.Ping(ctx); err != nil {
		checks["database"], status = "unreachable", http.StatusServiceUnavailable
		a.Log.Warn("readiness: database unreachable", "err", err)
	}
	if err := a.Blobs.Ping(ctx); err != nil {
		checks["object_store"], status = "unreachable", http.StatusServiceUnavailable
		a.Log.Warn("readiness: object store unreachable", "err", err)
	}
	if status != http.StatusOK {
		api.WriteError(w, apperror.New(status, apperror.CodeUnavailable,
			"VeriPost cannot reach its database or object store.", "database: "+checks["database"]+"; object store: "+checks["object_store"]))
		return
	}
	writeJSON(w, status, map[string]any{"status": "ready", "checks": checks})
}

// observe logs each request and records metrics by route pattern (not raw
// path, so ids do not explode the label set).
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		} else if strings.HasPrefix(r.URL.Path, api.Prefix) && r.Method != http.MethodGet {
			level = slog.LevelInfo
		}
		a.Log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", status,
			"bytes", ww.BytesWritten(), "took", time.Since(start), "request_id", middleware.GetReqID(r.Context()))
	})
}

// recoverJSON turns a panic into a 500 in the API's error shape; the stack
// goes to the log, never to the client.
func (a *App) recoverJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Log.ErrorContext(r.Context(), "panic serving request", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()))
				api.WriteError(w, apperror.New(http.StatusInternalServerError, apperror.CodeInternal,
					"Something went wrong on the server. Try again; if it keeps happening, ask your administrator to check the server log.",
					"request id "+middleware.GetReqID(r.Context())))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
