package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/auth/authhttp"
	"github.com/veripost/veripost/internal/auth/oidc"
	"github.com/veripost/veripost/internal/config"
)

// The access table: what every route needs. It is the only place where
// access is decided (the guard middleware reads it for every request); a
// route missing from it is refused, and TestEveryRouteHasAnAccessRule
// fails.

var (
	public      = authhttp.Rule{Level: auth.LevelPublic}
	beforeSetup = authhttp.Rule{Level: auth.LevelPublic, BeforeSetup: true}
	signedIn    = authhttp.Rule{Level: auth.LevelSignedIn}
	read        = authhttp.Rule{Level: auth.LevelRead}
	write       = authhttp.Rule{Level: auth.LevelWrite}
	admin       = authhttp.Rule{Level: auth.LevelAdmin}
)

// APIRules maps each API operation id to its rule.
var APIRules = map[string]authhttp.Rule{
	"list-packages": read, "get-package": read, "list-versions": read, "package-status": read,
	"download-file": read, "download-package": read, "package-outline": read, "package-diagnostics": read,
	"file-source": read, "symbol-usage": read, "symbol-names": read, "library-packages": read, "libraries": read,
	"package-history": read, "package-facets": read, "version-files": read, "package-symbol": read,
	"search": read, "similar-packages": read, "similar-sections": read,
	"compare": read, "explain-package": read, "explain-section": read, "explain-lines": read, "explain-attribute": read,
	"explain-change": read,
	// Asking the copilot spends the server's token budget: readers with an
	// account (the handler refuses anonymous readers); admins see the bill.
	"ask-package": read, "ask-section": read, "ask-lines": read, "ask-attribute": read, "ask-change": read,
	"usage-copilot": admin,
	// A version's change note is part of what its uploader wrote.
	"edit-version": write,
	// The stock library registry: admins register variants and choose the
	// defaults; an engineer may pick a variant for a package.
	"registry-list": read, "package-registry-choices": read, "package-registry-choose": write,
	"registry-register": admin, "registry-default": admin,
	// Parsing stores nothing but costs CPU: signed-in accounts only, even
	// with anonymous read on.
	"parse":          signedIn,
	"upload-package": write, "edit-package": write,
	// Engineers delete only their own packages (checked in the handler).
	"delete-package": write,
	"start-reindex":  admin, "reindex-progress": admin,
	"get-me": signedIn, "change-password": signedIn,
	// Everyone manages their own tokens; the service checks ownership and
	// that a token's scope does not exceed its owner's role.
	"list-tokens": signedIn, "create-token": signedIn, "revoke-token": signedIn,
	"list-users": admin, "create-user": admin, "edit-user": admin, "set-user-password": admin,
	"list-audit": admin,
	// The original API's routes (internal/api/compat.go): each as its
	// /api/v1 counterpart (/health as /healthz).
	"compat-health":     beforeSetup,
	"compat-list-posts": read, "compat-list-posts-no-slash": read, "compat-get-post": read,
	"compat-upload-post": write, "compat-upload-zip": write,
	"compat-analyze": signedIn,
}

// RootRules covers the routes on the root router that are not API
// operations, by "METHOD pattern".
var RootRules = map[string]authhttp.Rule{
	"GET /healthz": beforeSetup, "GET /readyz": beforeSetup, "GET /metrics": beforeSetup,
	"GET /api/v1/openapi.json": read, "GET /api/v1/openapi.yaml": read,
	"GET /api/v1/openapi-3.0.json": read, "GET /api/v1/openapi-3.0.yaml": read,
	"GET /api/v1/schemas/{schema}": read,
}

// UIRules covers the web UI's routes, by "METHOD pattern".
var UIRules = map[string]authhttp.Rule{
	"GET /": read, "GET /packages/{id}": read, "GET /packages/{id}/files/{file_id}": read,
	"GET /packages/{id}/files/{file_id}/symbol": read, "GET /symbols/{name}": read, "GET /symbols": read,
	"GET /libraries": read, "GET /libraries/{name}": read,
	"GET /search": read, "GET /sections/{id}/similar": read,
	"GET /compare": read, "GET /packages/{id}/overview": read, "GET /packages/{id}/files/{file_id}/explain": read,
	"GET /compare/explain": read, "GET /admin/copilot": admin,
	"GET /upload":   write,
	"GET /static/*": beforeSetup, "GET /favicon.ico": beforeSetup,
	"GET /setup": beforeSetup, "POST /setup": beforeSetup,
	"GET /login": public, "POST /login": public,
	"GET /auth/oidc/start": public, "GET /auth/oidc/callback": public,
	"POST /logout": signedIn, "GET /account": signedIn,
	"GET /admin/users": admin, "GET /admin/tokens": admin, "GET /admin/audit": admin, "GET /admin/registry": admin,
}

// accessTable resolves requests to rules.
type accessTable struct {
	root, ui chi.Routes
	rules    map[string]authhttp.Rule // "METHOD pattern" on the root router
	uiRules  map[string]authhttp.Rule
}

// newAccessTable indexes the API operations of doc by method and path.
func newAccessTable(root, ui chi.Routes, doc *huma.OpenAPI, log *slog.Logger) *accessTable {
	t := &accessTable{root: root, ui: ui, rules: map[string]authhttp.Rule{}, uiRules: UIRules}
	for k, v := range RootRules {
		t.rules[k] = v
	}
	for _, op := range Operations(doc) {
		if rule, ok := APIRules[op.OperationID]; ok {
			t.rules[op.Method+" "+op.Path] = rule
		} else {
			log.Error("API operation has no access rule; it is refused to everyone", "operation", op.OperationID)
		}
	}
	return t
}

// Operations lists the operations of an OpenAPI document.
func Operations(doc *huma.OpenAPI) []*huma.Operation {
	var ops []*huma.Operation
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
			if op != nil {
				ops = append(ops, op)
			}
		}
	}
	return ops
}

// resolve finds the rule of a request. An address that matches no route
// needs read access (and then answers 404), so that anonymous visitors
// learn nothing about what exists.
func (t *accessTable) resolve(r *http.Request) (authhttp.Rule, bool) {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if pat := t.root.Find(chi.NewRouteContext(), method, r.URL.Path); pat != "" {
		rule, ok := t.rules[method+" "+pat]
		return rule, ok
	}
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return read, true
	}
	if pat := t.ui.Find(chi.NewRouteContext(), method, r.URL.Path); pat != "" {
		rule, ok := t.uiRules[method+" "+pat]
		return rule, ok
	}
	return read, true
}

// NewAuth builds the auth service (with single sign-on when configured)
// and the guard.
func NewAuth(cfg config.Config, st auth.Store, log *slog.Logger) (*auth.Service, error) {
	roleMap, err := auth.ParseRoleMap(cfg.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("VERIPOST_OIDC_ROLE_MAP: %w", err)
	}
	var defRole auth.Role
	if cfg.OIDCDefaultRole != "" {
		if defRole, err = auth.ParseRole(cfg.OIDCDefaultRole); err != nil {
			return nil, fmt.Errorf("VERIPOST_OIDC_DEFAULT_ROLE: %w", err)
		}
	}
	svc := auth.New(st, auth.Config{
		SessionIdle: cfg.SessionIdleTimeout, SessionAbsolute: cfg.SessionMaxAge,
		MaxFailuresAccount: cfg.LoginMaxFailures, MaxFailuresAddress: cfg.LoginMaxFailuresIP, LockoutWindow: cfg.LoginLockout,
		SetupTTL: cfg.SetupTokenTTL, TokenDefaultTTL: cfg.TokenDefaultExpiry, PasswordLogin: cfg.PasswordLogin,
		SSO: auth.SSOConfig{RoleClaim: cfg.OIDCRoleClaim, RoleMap: roleMap, DefaultRole: defRole},
	}, log)
	if cfg.OIDCIssuer != "" {
		p, err := oidc.New(oidc.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			Scopes: cfg.OIDCScopes, UsernameClaim: cfg.OIDCUsernameClaim, RoleClaim: cfg.OIDCRoleClaim, DisplayName: cfg.OIDCDisplayName})
		if err != nil {
			return nil, err
		}
		svc.SSO = p
	}
	return svc, nil
}
