package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
)

// registerAuth adds the account, user, token and audit operations. Who may
// call each is decided by the access table in internal/server, not here;
// the auth service checks ownership (a token of someone else, one's own
// role) itself.
func (h *handlers) registerAuth(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: Prefix + "/me", Tags: []string{"account"},
		Summary: "Who is calling: the signed-in user (or the token's owner), role, and the token's scope",
	}, h.me)
	huma.Register(api, huma.Operation{
		OperationID: "change-password", Method: http.MethodPost, Path: Prefix + "/me/password", Tags: []string{"account"},
		Summary:       "Change your own password (signs out your other sessions)",
		DefaultStatus: http.StatusNoContent, Errors: []int{401, 422},
	}, h.changePassword)
	huma.Register(api, huma.Operation{
		OperationID: "list-users", Method: http.MethodGet, Path: Prefix + "/users", Tags: []string{"users"},
		Summary: "List accounts (administrators)",
	}, h.listUsers)
	huma.Register(api, huma.Operation{
		OperationID: "create-user", Method: http.MethodPost, Path: Prefix + "/users", Tags: []string{"users"},
		Summary: "Create an account (administrators)", DefaultStatus: http.StatusCreated, Errors: []int{409, 422},
	}, h.createUser)
	huma.Register(api, huma.Operation{
		OperationID: "edit-user", Method: http.MethodPatch, Path: Prefix + "/users/{id}", Tags: []string{"users"},
		Summary: "Change an account's role, disable or enable it, or edit its name and e-mail (administrators)", Errors: []int{404, 409, 422},
	}, h.editUser)
	huma.Register(api, huma.Operation{
		OperationID: "set-user-password", Method: http.MethodPost, Path: Prefix + "/users/{id}/password", Tags: []string{"users"},
		Summary:       "Set a new password for an account and sign it out everywhere (administrators)",
		DefaultStatus: http.StatusNoContent, Errors: []int{404, 422},
	}, h.setUserPassword)
	huma.Register(api, huma.Operation{
		OperationID: "list-tokens", Method: http.MethodGet, Path: Prefix + "/tokens", Tags: []string{"tokens"},
		Summary: "List your API tokens (administrators: everyone's with all=true); never the tokens themselves",
	}, h.listTokens)
	huma.Register(api, huma.Operation{
		OperationID: "create-token", Method: http.MethodPost, Path: Prefix + "/tokens", Tags: []string{"tokens"},
		Summary:       "Create an API token; the answer is the only time the token is shown",
		DefaultStatus: http.StatusCreated, Errors: []int{403, 404, 422},
	}, h.createToken)
	huma.Register(api, huma.Operation{
		OperationID: "revoke-token", Method: http.MethodDelete, Path: Prefix + "/tokens/{id}", Tags: []string{"tokens"},
		Summary: "Revoke an API token (your own; administrators: anyone's)", Errors: []int{404},
	}, h.revokeToken)
	huma.Register(api, huma.Operation{
		OperationID: "list-audit", Method: http.MethodGet, Path: Prefix + "/audit", Tags: []string{"audit"},
		Summary: "The audit trail, newest first, with filters (administrators)", Errors: []int{422},
	}, h.listAudit)
	huma.Register(api, huma.Operation{
		OperationID: "package-history", Method: http.MethodGet, Path: Prefix + "/packages/{id}/history", Tags: []string{"packages", "audit"},
		Summary: "Who uploaded, edited or deleted this package, and when", Errors: []int{404},
	}, h.packageHistory)
}

// MeBody describes the caller.
type MeBody struct {
	User  auth.User      `json:"user"`
	Via   auth.ActorKind `json:"via" doc:"user (browser session) or token"`
	Scope auth.Scope     `json:"scope,omitempty" doc:"the token's scope, when called with a token"`
	Level string         `json:"access" doc:"what this caller may do: read, write or admin"`
}

type meOutput struct{ Body MeBody }

func (h *handlers) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	u, err := h.Auth.Me(ctx)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	a := auth.ActorFrom(ctx)
	return &meOutput{Body: MeBody{User: u, Via: a.Kind, Scope: a.Scope, Level: a.Level().String()}}, nil
}

type passwordInput struct {
	Body struct {
		Current string `json:"current_password" maxLength:"1024"`
		New     string `json:"new_password" maxLength:"1024"`
	}
}

func (h *handlers) changePassword(ctx context.Context, in *passwordInput) (*struct{}, error) {
	if err := h.Auth.ChangeOwnPassword(ctx, in.Body.Current, in.Body.New); err != nil {
		return nil, h.fail(ctx, err)
	}
	return &struct{}{}, nil
}

type usersOutput struct {
	Body struct {
		Items []auth.User `json:"items"`
	}
}

func (h *handlers) listUsers(ctx context.Context, _ *struct{}) (*usersOutput, error) {
	us, err := h.Auth.ListUsers(ctx)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &usersOutput{}
	out.Body.Items = us
	return out, nil
}

type createUserInput struct {
	Body struct {
		Username    string    `json:"username" maxLength:"64"`
		Role        auth.Role `json:"role" enum:"admin,engineer,reviewer,viewer"`
		Password    string    `json:"password,omitempty" maxLength:"1024" doc:"empty: the account gets a password later (reset) or signs in by SSO"`
		DisplayName string    `json:"display_name,omitempty" maxLength:"200"`
		Email       string    `json:"email,omitempty" maxLength:"320"`
	}
}

type userOutput struct{ Body auth.User }

func (h *handlers) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	b := in.Body
	u, err := h.Auth.CreateUser(ctx, auth.NewUser{Username: b.Username, Role: b.Role, Password: b.Password, DisplayName: b.DisplayName, Email: b.Email})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &userOutput{Body: u}, nil
}

type editUserInput struct {
	ID   string `path:"id" doc:"user id or user name"`
	Body struct {
		Role        *auth.Role `json:"role,omitempty" enum:"admin,engineer,reviewer,viewer"`
		Disabled    *bool      `json:"disabled,omitempty"`
		DisplayName *string    `json:"display_name,omitempty" maxLength:"200"`
		Email       *string    `json:"email,omitempty" maxLength:"320"`
	}
}

func (h *handlers) editUser(ctx context.Context, in *editUserInput) (*userOutput, error) {
	b := in.Body
	u, err := h.Auth.UpdateUser(ctx, in.ID, auth.UserEdit{Role: b.Role, Disabled: b.Disabled, DisplayName: b.DisplayName, Email: b.Email})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &userOutput{Body: u}, nil
}

type setPasswordInput struct {
	ID   string `path:"id" doc:"user id or user name"`
	Body struct {
		Password string `json:"password" maxLength:"1024"`
	}
}

func (h *handlers) setUserPassword(ctx context.Context, in *setPasswordInput) (*struct{}, error) {
	if err := h.Auth.SetPassword(ctx, in.ID, in.Body.Password); err != nil {
		return nil, h.fail(ctx, err)
	}
	return &struct{}{}, nil
}

type listTokensInput struct {
	All bool `query:"all" doc:"everyone's tokens (administrators)"`
}

type tokensOutput struct {
	Body struct {
		Items []auth.Token `json:"items"`
	}
}

func (h *handlers) listTokens(ctx context.Context, in *listTokensInput) (*tokensOutput, error) {
	ts, err := h.Auth.ListTokens(ctx, in.All)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &tokensOutput{}
	out.Body.Items = ts
	return out, nil
}

type createTokenInput struct {
	Body struct {
		Name      string     `json:"name" maxLength:"100"`
		Scope     auth.Scope `json:"scope" enum:"read,write,admin"`
		ExpiresIn string     `json:"expires_in,omitempty" doc:"Go duration such as 720h; empty: the server's default; \"never\": no expiry"`
		Owner     string     `json:"owner,omitempty" doc:"user name or id (administrators); default: yourself"`
	}
}

type createdTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         auth.CreatedToken
}

func (h *handlers) createToken(ctx context.Context, in *createTokenInput) (*createdTokenOutput, error) {
	ttl, err := ParseExpiry(in.Body.ExpiresIn)
	if err != nil {
		return nil, err
	}
	t, err := h.Auth.CreateToken(ctx, auth.NewToken{Name: in.Body.Name, Scope: in.Body.Scope, ExpiresIn: ttl, Owner: in.Body.Owner})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &createdTokenOutput{CacheControl: "no-store", Body: t}, nil
}

// ParseExpiry reads a token lifetime: "" is the server default (0),
// "never" or "0" no expiry (-1), otherwise a Go duration ("720h").
func ParseExpiry(s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, nil
	case "never", "0":
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"Give the expiry as a duration such as 720h (30 days), or \"never\".", "expires_in %q", s)
	}
	return d, nil
}

type tokenIDInput struct {
	ID string `path:"id"`
}

type tokenOutput struct{ Body auth.Token }

func (h *handlers) revokeToken(ctx context.Context, in *tokenIDInput) (*tokenOutput, error) {
	t, err := h.Auth.RevokeToken(ctx, in.ID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &tokenOutput{Body: t}, nil
}

type auditInput struct {
	User      string    `query:"user" doc:"user name of the actor"`
	Action    string    `query:"action" doc:"an action such as package.upload, or a prefix such as user."`
	PackageID string    `query:"package_id"`
	Since     time.Time `query:"since" doc:"RFC 3339 time (inclusive)"`
	Until     time.Time `query:"until" doc:"RFC 3339 time (exclusive)"`
	Limit     int       `query:"limit" minimum:"1" maximum:"500" default:"100"`
	Before    int64     `query:"before" minimum:"0" doc:"next_before of the previous page"`
}

type auditOutput struct{ Body auth.AuditPage }

func (h *handlers) listAudit(ctx context.Context, in *auditInput) (*auditOutput, error) {
	p, err := h.Auth.Audit(ctx, auth.AuditQuery{User: in.User, Action: in.Action, PackageID: in.PackageID,
		Since: in.Since, Until: in.Until, Limit: in.Limit, Before: in.Before})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &auditOutput{Body: p}, nil
}

type historyInput struct {
	ID     string `path:"id"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
	Before int64  `query:"before" minimum:"0"`
}

func (h *handlers) packageHistory(ctx context.Context, in *historyInput) (*auditOutput, error) {
	p, err := h.Auth.PackageHistory(ctx, in.ID, in.Limit, in.Before)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	if len(p.Items) == 0 && in.Before == 0 {
		// A deleted package keeps its history; an id that never existed has none.
		if _, err := h.Repo.GetPackage(ctx, in.ID); err != nil {
			return nil, h.repoErr(ctx, err, "package", in.ID)
		}
	}
	return &auditOutput{Body: p}, nil
}

// ---- package actions: who did it --------------------------------------------
// Called by the package handlers after a change succeeded. (These may move
// into catalog.Service once it carries the actor itself.)

func (h *handlers) audit(ctx context.Context, action, summary, packageID string, details map[string]any) {
	if h.Auth == nil {
		return
	}
	h.Auth.Record(ctx, packageEvent(ctx, action, summary, packageID, details))
}

// RecordUpload writes an accepted upload to the audit trail as done by the
// actor of ctx (the API's caller, or "cli:…" for veripost import). An
// identical re-upload or a replayed retry records nothing new, so there is
// nothing to write.
func RecordUpload(ctx context.Context, a *auth.Service, acc catalog.Accepted) {
	if !acc.Created || acc.Replayed {
		return
	}
	a.Record(ctx, packageEvent(ctx, auth.ActionPackageUpload, fmt.Sprintf("uploaded version %d of %s", acc.Version.Number, acc.Package.Name), acc.Package.ID,
		map[string]any{"version_id": acc.Version.ID, "version": acc.Version.Number, "files": acc.Version.FileCount, "name": acc.Package.Name}))
}

func packageEvent(ctx context.Context, action, summary, packageID string, details map[string]any) auth.Event {
	ev := auth.NewEvent(ctx, action, summary)
	if packageID != "" {
		ev = ev.Target("package", packageID)
		ev.PackageID = packageID
	}
	for k, v := range details {
		ev = ev.With(k, v)
	}
	return ev
}
