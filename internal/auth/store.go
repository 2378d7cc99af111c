package auth

import (
	"context"
	"errors"
	"time"
)

// User is an account.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// SSO is true for accounts created by single sign-on.
	SSO               bool       `json:"sso"`
	HasPassword       bool       `json:"has_password"`
	LastLoginAt       *time.Time `json:"last_login_at,omitempty"`
	PasswordChangedAt *time.Time `json:"password_changed_at,omitempty"`

	// PasswordHash is the argon2id hash ("" for single sign-on accounts).
	PasswordHash string `json:"-"`
	OIDCIssuer   string `json:"-"`
	OIDCSubject  string `json:"-"`
}

// Token is an API token's record (never the token itself).
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Username   string     `json:"username"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"the first characters of the token, to recognise it"`
	Scope      Scope      `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Hash       string     `json:"-"`
}

// Active reports whether the token still works at t (its owner aside).
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || at.Before(*t.ExpiresAt))
}

// Session is a signed-in browser.
type Session struct {
	IDHash     string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
	Address    string
	UserAgent  string
	Method     string // "password" or "sso"
}

// Throttle is the failure count of one sign-in key (an account or an
// address).
type Throttle struct {
	Count       int
	FirstAt     time.Time
	LockedUntil time.Time
}

// LoginState is a single sign-on login in progress (between the redirect
// to the provider and its answer).
type LoginState struct {
	StateHash   string
	Nonce       string
	Verifier    string
	RedirectURL string
	ReturnTo    string
	CreatedAt   time.Time
}

// UserChange is an update of a user row and what goes with it.
type UserChange struct {
	User User
	// EndSessions signs the user out everywhere, except KeepSession (a
	// session hash) when set.
	EndSessions bool
	KeepSession string
}

// Store is the persistence the auth domain needs; internal/store
// implements it for SQLite and PostgreSQL. Every method that changes state
// writes the given audit event in the same transaction.
type Store interface {
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u User, ev Event) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	GetUserBySubject(ctx context.Context, issuer, subject string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, ch UserChange, ev Event) error

	CreateSession(ctx context.Context, s Session, ev Event) error
	// GetSession returns the session and its user.
	GetSession(ctx context.Context, idHash string) (Session, User, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession ends a session; ev may be nil (expiry is not audited).
	DeleteSession(ctx context.Context, idHash string, ev *Event) error
	DeleteExpiredSessions(ctx context.Context, createdBefore, idleBefore time.Time) error

	CreateToken(ctx context.Context, t Token, ev Event) error
	GetToken(ctx context.Context, id string) (Token, error)
	// GetTokenByHash returns the token and its owner for authentication:
	// the token's id, name, scope, owner, expiry, last use and revocation,
	// and the owner's id, name, role and whether it is disabled.
	GetTokenByHash(ctx context.Context, hash string) (Token, User, error)
	// ListTokens lists a user's tokens, or everyone's for userID "".
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time, ev Event) error
	TouchToken(ctx context.Context, id string, at time.Time) error

	GetThrottle(ctx context.Context, key string) (Throttle, error)
	// RecordFailure counts a failed sign-in for key: a count older than
	// window starts again; reaching max locks the key until at+lockFor.
	RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration, max int, lockFor time.Duration) (Throttle, error)
	ClearFailures(ctx context.Context, key string) error

	// ReplaceSetupToken stores the one valid first-run setup code (its
	// hash), dropping earlier ones.
	ReplaceSetupToken(ctx context.Context, hash string, created, expires time.Time) error
	// CreateFirstAdmin uses the setup code and creates u in one
	// transaction; ErrSetupInvalid when the code is unknown, used or
	// expired, ErrSetupDone when an account already exists.
	CreateFirstAdmin(ctx context.Context, setupHash string, at time.Time, u User, ev Event) error

	SaveLoginState(ctx context.Context, st LoginState) error
	// TakeLoginState returns and deletes the state (single use).
	TakeLoginState(ctx context.Context, stateHash string) (LoginState, error)
	DeleteLoginStates(ctx context.Context, createdBefore time.Time) error

	AppendAudit(ctx context.Context, ev Event) error
	ListAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
}

// Errors the Store returns.
var (
	ErrNotFound     = errors.New("auth: not found")
	ErrConflict     = errors.New("auth: already exists")
	ErrSetupInvalid = errors.New("auth: setup code unknown, used or expired")
	ErrSetupDone    = errors.New("auth: an account already exists")
)
