package auth

import (
	"context"
	"time"
)

// Audit actions. Package actions are recorded by the API layer; the rest by
// this package.
const (
	ActionPackageUpload = "package.upload"
	ActionPackageEdit   = "package.edit"
	ActionPackageDelete = "package.delete"
	ActionReindex       = "admin.reindex"
	// Operations run from the command line on the database itself.
	ActionBackup  = "admin.backup"
	ActionRestore = "admin.restore"
	ActionExport  = "admin.export"
	ActionRepair  = "admin.repair"

	ActionSetup        = "auth.setup"
	ActionLogin        = "auth.login"
	ActionLoginFailed  = "auth.login_failed"
	ActionLogout       = "auth.logout"
	ActionSSOLogin     = "auth.sso_login"
	ActionSSOFailed    = "auth.sso_failed"
	ActionUserCreate   = "user.create"
	ActionUserDisable  = "user.disable"
	ActionUserEnable   = "user.enable"
	ActionUserRole     = "user.role_change"
	ActionUserUpdate   = "user.update"
	ActionPasswordSelf = "user.password_change"
	ActionPasswordSet  = "user.password_reset"
	ActionTokenCreate  = "token.create"
	ActionTokenRevoke  = "token.revoke"
	// ActionSettings is recorded when a setting changes at run time (all
	// settings are environment variables today).
	ActionSettings = "settings.change"
)

// Actions lists every action, for filters.
var Actions = []string{
	ActionPackageUpload, ActionPackageEdit, ActionPackageDelete, ActionReindex,
	ActionBackup, ActionRestore, ActionExport, ActionRepair,
	ActionSetup, ActionLogin, ActionLoginFailed, ActionLogout, ActionSSOLogin, ActionSSOFailed,
	ActionUserCreate, ActionUserDisable, ActionUserEnable, ActionUserRole, ActionUserUpdate,
	ActionPasswordSelf, ActionPasswordSet, ActionTokenCreate, ActionTokenRevoke, ActionSettings,
}

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Event is one entry of the audit trail. It never holds a secret: no
// password, token, session id or OIDC code goes into any field.
type Event struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorType  ActorKind `json:"actor_type"`
	ActorID    string    `json:"actor_id,omitempty"`
	ActorName  string    `json:"actor_name"`
	TokenID    string    `json:"token_id,omitempty"`
	Address    string    `json:"address,omitempty"`
	Action     string    `json:"action"`
	Outcome    string    `json:"outcome"`
	TargetType string    `json:"target_type,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	PackageID  string    `json:"package_id,omitempty"`
	Summary    string    `json:"summary"`
	// Details holds the affected ids and, for edits, "before" and "after".
	Details map[string]any `json:"details,omitempty"`
}

// NewEvent starts an event for the actor of ctx.
func NewEvent(ctx context.Context, action, summary string) Event {
	return eventFor(ActorFrom(ctx), action, summary)
}

func eventFor(a Actor, action, summary string) Event {
	return Event{
		At: Now(), ActorType: a.Kind, ActorID: a.UserID, ActorName: a.Name(), TokenID: a.TokenID,
		Address: a.Address, Action: action, Outcome: OutcomeSuccess, Summary: summary,
	}
}

// Target sets what the event is about.
func (e Event) Target(kind, id string) Event {
	e.TargetType, e.TargetID = kind, id
	return e
}

// With adds a detail.
func (e Event) With(key string, v any) Event {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = v
	return e
}

// Failed marks the event as a refused attempt.
func (e Event) Failed() Event {
	e.Outcome = OutcomeFailure
	return e
}

// AuditQuery filters the trail; zero values mean "any".
type AuditQuery struct {
	User      string // actor name
	Action    string // exact action, or a prefix ending in "." ("user.")
	PackageID string
	TargetID  string
	Since     time.Time
	Until     time.Time
	Limit     int
	// Before continues a listing: only entries with a smaller id.
	Before int64
}

// AuditPage is one page of entries, newest first.
type AuditPage struct {
	Items []Event `json:"items"`
	// NextBefore is the "before" of the next page (0: no more).
	NextBefore int64 `json:"next_before,omitempty"`
}

// Now is the timestamp written to rows: UTC, microsecond precision, so
// SQLite and PostgreSQL round-trip the same value.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
