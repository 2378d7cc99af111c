// Package auth is VeriPost's identity and access domain: user accounts and
// their roles, what each role may do, password hashing, API tokens,
// browser sessions, sign-in throttling, first-run setup, single sign-on
// accounts and the append-only audit trail.
//
// It knows nothing of HTTP routers or SQL: the HTTP layer
// (internal/auth/authhttp) turns requests into an Actor and asks Allowed;
// persistence is the Store interface, implemented by internal/store.
package auth

import (
	"context"
	"fmt"
	"strings"
)

// Role is what a user may do.
type Role string

// The roles, from least to most trusted.
const (
	RoleViewer   Role = "viewer"   // read and download
	RoleEngineer Role = "engineer" // upload, edit metadata, delete own packages
	RoleReviewer Role = "reviewer" // as engineer, plus approvals once lifecycle status exists
	RoleAdmin    Role = "admin"    // users, tokens of others, audit trail, settings, everything
)

// Roles lists every role, least trusted first.
var Roles = []Role{RoleViewer, RoleEngineer, RoleReviewer, RoleAdmin}

// ParseRole accepts a role name (any case).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Roles {
		if r == known {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: use admin, engineer, reviewer or viewer", s)
}

// Level is how much a route needs (and how much an actor has).
type Level int

// Access levels, ordered.
const (
	// LevelPublic needs no sign-in (health, static files, the sign-in pages).
	LevelPublic Level = iota
	// LevelSignedIn needs any signed-in account (its own profile, sign-out).
	LevelSignedIn
	// LevelRead reads and downloads.
	LevelRead
	// LevelWrite uploads, edits and deletes packages.
	LevelWrite
	// LevelAdmin manages users, everyone's tokens, the audit trail and
	// server operations.
	LevelAdmin
)

func (l Level) String() string {
	switch l {
	case LevelPublic:
		return "public"
	case LevelSignedIn:
		return "signed-in"
	case LevelRead:
		return "read"
	case LevelWrite:
		return "write"
	case LevelAdmin:
		return "admin"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Level is the most a role allows.
func (r Role) Level() Level {
	switch r {
	case RoleAdmin:
		return LevelAdmin
	case RoleEngineer, RoleReviewer:
		return LevelWrite
	case RoleViewer:
		return LevelRead
	}
	return LevelPublic
}

// Scope limits what an API token may do, whatever its owner's role.
type Scope string

// Token scopes.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// ParseScope accepts a scope name (any case).
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(strings.ToLower(strings.TrimSpace(s))); sc {
	case ScopeRead, ScopeWrite, ScopeAdmin:
		return sc, nil
	}
	return "", fmt.Errorf("unknown token scope %q: use read, write or admin", s)
}

// Level is the most a scope allows.
func (s Scope) Level() Level {
	switch s {
	case ScopeAdmin:
		return LevelAdmin
	case ScopeWrite:
		return LevelWrite
	case ScopeRead:
		return LevelRead
	}
	return LevelPublic
}

// ActorKind says how a request was authenticated.
type ActorKind string

// Kinds of actor.
const (
	ActorAnonymous ActorKind = "anonymous"
	ActorUser      ActorKind = "user"   // a browser session
	ActorToken     ActorKind = "token"  // an API token, acting for its owner
	ActorSystem    ActorKind = "system" // the command line on the server's database
)

// Actor is who is doing something: the request's user (by session or
// token), an anonymous reader, or the command line.
type Actor struct {
	Kind     ActorKind
	UserID   string
	Username string
	Role     Role
	// TokenID and Scope are set for ActorToken.
	TokenID   string
	TokenName string
	Scope     Scope
	// SessionHash identifies the browser session (a hash, never the
	// cookie's value).
	SessionHash string
	// Address is the client's network address, for the audit trail.
	Address string
}

// Level is the most this actor may do: its role, capped by the token's
// scope for a token.
func (a Actor) Level() Level {
	switch a.Kind {
	case ActorSystem:
		return LevelAdmin
	case ActorUser:
		return a.Role.Level()
	case ActorToken:
		return min(a.Role.Level(), a.Scope.Level())
	}
	return LevelPublic
}

// Allowed reports whether the actor may use something that needs level.
// An anonymous actor is allowed public things only; anonymous read access
// is the HTTP layer's decision (it depends on configuration).
func (a Actor) Allowed(need Level) bool {
	if need == LevelPublic {
		return true
	}
	if a.Kind == ActorAnonymous {
		return false
	}
	return a.Level() >= need
}

// SignedIn reports whether the actor is a known account (or the CLI).
func (a Actor) SignedIn() bool {
	return a.Kind == ActorUser || a.Kind == ActorToken || a.Kind == ActorSystem
}

// Name is how the actor is shown in the audit trail and in "uploaded by".
func (a Actor) Name() string {
	switch a.Kind {
	case ActorUser, ActorToken:
		return a.Username
	case ActorSystem:
		if a.Username != "" {
			return a.Username
		}
		return "system"
	}
	return "anonymous"
}

// CanWrite and IsAdmin are for templates.
func (a Actor) CanWrite() bool { return a.Allowed(LevelWrite) }

// IsAdmin reports whether the actor may administer.
func (a Actor) IsAdmin() bool { return a.Allowed(LevelAdmin) }

// System is the actor of command-line administration on the server's
// database (veripost user …, veripost token …).
func System(name string) Actor {
	return Actor{Kind: ActorSystem, Username: name, Role: RoleAdmin, Address: "local"}
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx; without one it is anonymous.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: ActorAnonymous}
}

// MayDeletePackage reports whether a may delete a package whose versions
// were uploaded by uploaders: administrators may delete any package;
// engineers and reviewers only packages whose every version they uploaded
// themselves (their own drafts, until lifecycle status arrives).
func MayDeletePackage(a Actor, uploaders []string) bool {
	if a.Allowed(LevelAdmin) {
		return true
	}
	if !a.Allowed(LevelWrite) {
		return false
	}
	for _, u := range uploaders {
		if u != a.Name() {
			return false
		}
	}
	return true
}
