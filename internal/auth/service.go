package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
)

// Config tunes the service. Zero durations and counts take the defaults
// of DefaultConfig.
type Config struct {
	SessionIdle     time.Duration // sign out after this long without a request
	SessionAbsolute time.Duration // and after this long in any case
	// Sign-in throttling: MaxFailuresAccount failed sign-ins of one account,
	// or MaxFailuresAddress from one address, within LockoutWindow lock it
	// for LockoutWindow.
	MaxFailuresAccount int
	MaxFailuresAddress int
	LockoutWindow      time.Duration
	SetupTTL           time.Duration // how long a first-run setup code is valid
	TokenDefaultTTL    time.Duration // expiry of a token created without one
	// PasswordLogin: false refuses local passwords (single sign-on only).
	PasswordLogin bool
	SSO           SSOConfig
}

// DefaultConfig is the configuration's defaults.
func DefaultConfig() Config {
	return Config{
		SessionIdle: time.Hour, SessionAbsolute: 12 * time.Hour,
		MaxFailuresAccount: 5, MaxFailuresAddress: 20, LockoutWindow: 15 * time.Minute,
		SetupTTL: time.Hour, TokenDefaultTTL: 90 * 24 * time.Hour, PasswordLogin: true,
	}
}

// Service holds the operations on accounts, sessions, tokens and the
// audit trail. The API, the web UI and the CLI all use it.
type Service struct {
	Store Store
	Cfg   Config
	Log   *slog.Logger
	// SSO is the single sign-on provider; nil when none is configured.
	SSO SSOProvider

	// setupDone caches "an account exists" (it never becomes false again).
	setupDone atomic.Bool
}

// New builds a service, filling unset configuration with defaults.
func New(st Store, cfg Config, log *slog.Logger) *Service {
	def := DefaultConfig()
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = def.SessionIdle
	}
	if cfg.SessionAbsolute <= 0 {
		cfg.SessionAbsolute = def.SessionAbsolute
	}
	if cfg.MaxFailuresAccount <= 0 {
		cfg.MaxFailuresAccount = def.MaxFailuresAccount
	}
	if cfg.MaxFailuresAddress <= 0 {
		cfg.MaxFailuresAddress = def.MaxFailuresAddress
	}
	if cfg.LockoutWindow <= 0 {
		cfg.LockoutWindow = def.LockoutWindow
	}
	if cfg.SetupTTL <= 0 {
		cfg.SetupTTL = def.SetupTTL
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{Store: st, Cfg: cfg, Log: log}
}

// ---- users ------------------------------------------------------------

// NewUser is what creating an account needs. Password may be empty for
// an account that will get one later (reset) or signs in by SSO only.
type NewUser struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        Role   `json:"role"`
	Password    string `json:"password,omitempty"`
}

// MaxUsernameLen bounds user names.
const MaxUsernameLen = 64

// CleanUsername checks a user name: letters, digits and . _ - @, 1 to 64
// characters. Names are unique regardless of case.
func CleanUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxUsernameLen {
		return "", apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"A user name needs 1 to 64 characters.", "user name has %d bytes", len(s))
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r)) {
			return "", apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
				"A user name may contain letters, digits and . _ - @ only.", "character %q is not allowed", r)
		}
	}
	return s, nil
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// CreateUser creates an account; the actor of ctx must be an administrator
// (the HTTP layer checks the route, the CLI is the system actor).
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	if err := s.requireAdmin(ctx); err != nil {
		return User{}, err
	}
	return s.createUser(ctx, nu, nil)
}

func (s *Service) createUser(ctx context.Context, nu NewUser, setupHash *string) (User, error) {
	name, err := CleanUsername(nu.Username)
	if err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(nu.Role)); err != nil {
		return User{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, "Choose a role: admin, engineer, reviewer or viewer.", err.Error())
	}
	ts := Now()
	u := User{ID: uuid.NewString(), Username: name, DisplayName: clip(nu.DisplayName, 200), Email: clip(nu.Email, 320),
		Role: nu.Role, CreatedAt: ts, UpdatedAt: ts}
	if nu.Password != "" {
		if u.PasswordHash, err = HashPassword(nu.Password, name); err != nil {
			return User{}, err
		}
		u.HasPassword, u.PasswordChangedAt = true, &ts
	}
	ev := NewEvent(ctx, ActionUserCreate, fmt.Sprintf("created user %s (%s)", name, u.Role)).
		Target("user", u.ID).With("username", name).With("role", string(u.Role))
	if setupHash != nil {
		ev.Action, ev.Summary = ActionSetup, "first-run setup created administrator "+name
		err = s.Store.CreateFirstAdmin(ctx, *setupHash, ts, u, ev)
	} else {
		err = s.Store.CreateUser(ctx, u, ev)
	}
	if errors.Is(err, ErrConflict) {
		return User{}, apperror.Newf(http.StatusConflict, apperror.CodeConflict,
			"A user with that name already exists. Choose another name.", "user %q exists", name)
	}
	if err != nil {
		return User{}, err
	}
	s.setupDone.Store(true)
	return u, nil
}

// ListUsers lists every account (administrators).
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	if err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	return s.Store.ListUsers(ctx)
}

// FindUser returns the account with id or user name (administrators).
func (s *Service) FindUser(ctx context.Context, idOrName string) (User, error) {
	if err := s.requireAdmin(ctx); err != nil {
		return User{}, err
	}
	return s.findUser(ctx, idOrName)
}

func (s *Service) findUser(ctx context.Context, idOrName string) (User, error) {
	var u User
	var err error
	if _, perr := uuid.Parse(idOrName); perr == nil {
		u, err = s.Store.GetUser(ctx, idOrName)
	} else {
		u, err = s.Store.GetUserByUsername(ctx, idOrName)
	}
	if errors.Is(err, ErrNotFound) {
		return User{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
			"There is no such user. Check the name, or list the users.", "user %q not found", clip(idOrName, 80))
	}
	return u, err
}

// UserEdit changes an account; nil fields stay.
type UserEdit struct {
	Role        *Role   `json:"role,omitempty"`
	Disabled    *bool   `json:"disabled,omitempty"`
	DisplayName *string `json:"display_name,omitempty"`
	Email       *string `json:"email,omitempty"`
}

// UpdateUser applies edit to the account (administrators). An
// administrator cannot demote or disable their own account, so a server
// never loses its last way in by accident.
func (s *Service) UpdateUser(ctx context.Context, idOrName string, edit UserEdit) (User, error) {
	if err := s.requireAdmin(ctx); err != nil {
		return User{}, err
	}
	u, err := s.findUser(ctx, idOrName)
	if err != nil {
		return User{}, err
	}
	actor := ActorFrom(ctx)
	before := u
	ch := UserChange{}
	action, summary := ActionUserUpdate, "updated user "+u.Username
	if edit.Role != nil {
		if _, err := ParseRole(string(*edit.Role)); err != nil {
			return User{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, "Choose a role: admin, engineer, reviewer or viewer.", err.Error())
		}
		if u.ID == actor.UserID && *edit.Role != RoleAdmin {
			return User{}, apperror.New(http.StatusConflict, apperror.CodeConflict,
				"You cannot take the administrator role from your own account. Ask another administrator.", "self-demotion refused")
		}
		if *edit.Role != u.Role {
			action, summary = ActionUserRole, fmt.Sprintf("changed the role of %s from %s to %s", u.Username, u.Role, *edit.Role)
		}
		u.Role = *edit.Role
	}
	if edit.Disabled != nil && *edit.Disabled != u.Disabled {
		if u.ID == actor.UserID && *edit.Disabled {
			return User{}, apperror.New(http.StatusConflict, apperror.CodeConflict,
				"You cannot disable your own account. Ask another administrator.", "self-disable refused")
		}
		u.Disabled = *edit.Disabled
		if u.Disabled {
			ch.EndSessions = true
			action, summary = ActionUserDisable, "disabled user "+u.Username
		} else {
			action, summary = ActionUserEnable, "enabled user "+u.Username
		}
	}
	if edit.DisplayName != nil {
		u.DisplayName = clip(*edit.DisplayName, 200)
	}
	if edit.Email != nil {
		u.Email = clip(*edit.Email, 320)
	}
	u.UpdatedAt = Now()
	ch.User = u
	ev := NewEvent(ctx, action, summary).Target("user", u.ID).With("username", u.Username).
		With("before", userFacts(before)).With("after", userFacts(u))
	if err := s.Store.UpdateUser(ctx, ch, ev); err != nil {
		return User{}, err
	}
	return u, nil
}

func userFacts(u User) map[string]any {
	return map[string]any{"role": string(u.Role), "disabled": u.Disabled, "display_name": u.DisplayName, "email": u.Email}
}

// SetPassword sets another account's password (administrators) and signs
// that account out everywhere.
func (s *Service) SetPassword(ctx context.Context, idOrName, password string) error {
	if err := s.requireAdmin(ctx); err != nil {
		return err
	}
	u, err := s.findUser(ctx, idOrName)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = HashPassword(password, u.Username); err != nil {
		return err
	}
	ts := Now()
	u.HasPassword, u.PasswordChangedAt, u.UpdatedAt = true, &ts, ts
	ev := NewEvent(ctx, ActionPasswordSet, "set a new password for "+u.Username).Target("user", u.ID).With("username", u.Username)
	return s.Store.UpdateUser(ctx, UserChange{User: u, EndSessions: true}, ev)
}

// ChangeOwnPassword changes the password of the signed-in user after
// checking the current one, and signs out their other sessions.
func (s *Service) ChangeOwnPassword(ctx context.Context, current, next string) error {
	a := ActorFrom(ctx)
	if a.Kind != ActorUser && a.Kind != ActorToken {
		return errUnauthenticated("Sign in to change your password.")
	}
	u, err := s.Store.GetUser(ctx, a.UserID)
	if err != nil {
		return err
	}
	if !verifyPassword(current, u.PasswordHash) {
		ev := eventFor(a, ActionPasswordSelf, u.Username+" gave a wrong current password").Target("user", u.ID).Failed()
		s.audit(ctx, ev)
		return apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"The current password is not right. Type it again.", "current password mismatch")
	}
	if u.PasswordHash, err = HashPassword(next, u.Username); err != nil {
		return err
	}
	ts := Now()
	u.HasPassword, u.PasswordChangedAt, u.UpdatedAt = true, &ts, ts
	ev := eventFor(a, ActionPasswordSelf, u.Username+" changed their password").Target("user", u.ID)
	return s.Store.UpdateUser(ctx, UserChange{User: u, EndSessions: true, KeepSession: a.SessionHash}, ev)
}

// Me returns the signed-in user's account.
func (s *Service) Me(ctx context.Context) (User, error) {
	a := ActorFrom(ctx)
	if a.UserID == "" {
		return User{}, errUnauthenticated("Sign in first.")
	}
	return s.Store.GetUser(ctx, a.UserID)
}

// ---- audit --------------------------------------------------------------

// Record appends an event to the audit trail. A failure is logged, not
// returned: the action it describes has already happened.
func (s *Service) Record(ctx context.Context, ev Event) { s.audit(ctx, ev) }

func (s *Service) audit(ctx context.Context, ev Event) {
	if err := s.Store.AppendAudit(context.WithoutCancel(ctx), ev); err != nil {
		s.Log.ErrorContext(ctx, "writing the audit trail failed", "action", ev.Action, "err", err)
	}
}

// Audit lists the trail (administrators).
func (s *Service) Audit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	if err := s.requireAdmin(ctx); err != nil {
		return AuditPage{}, err
	}
	return s.listAudit(ctx, q)
}

// PackageHistory lists the trail of one package (anyone who may read it).
func (s *Service) PackageHistory(ctx context.Context, packageID string, limit int, before int64) (AuditPage, error) {
	return s.listAudit(ctx, AuditQuery{PackageID: packageID, Limit: limit, Before: before})
}

func (s *Service) listAudit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	p, err := s.Store.ListAudit(ctx, q)
	if p.Items == nil {
		p.Items = []Event{}
	}
	return p, err
}

// ---- helpers --------------------------------------------------------------

func (s *Service) requireAdmin(ctx context.Context) error {
	if !ActorFrom(ctx).Allowed(LevelAdmin) {
		return ErrForbidden("Only administrators may do this.")
	}
	return nil
}

// ErrForbidden is the 403 for a signed-in actor that may not do something.
func ErrForbidden(message string) error {
	return apperror.New(http.StatusForbidden, apperror.CodeForbidden, message,
		"your role or your token's scope does not allow this")
}

func errUnauthenticated(message string) error {
	return apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated, message, "")
}
