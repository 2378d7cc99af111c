package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
)

// NewToken asks for an API token.
type NewToken struct {
	Name  string `json:"name"`
	Scope Scope  `json:"scope"`
	// ExpiresIn: 0 takes the server's default; negative never expires.
	ExpiresIn time.Duration `json:"-"`
	// Owner: user name or id; empty means the signed-in user. Only
	// administrators may create tokens for others.
	Owner string `json:"owner,omitempty"`
}

// CreatedToken is a new token; Secret is shown once and stored nowhere.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}

// CreateToken creates an API token. Its scope may not exceed what its
// owner's role allows.
func (s *Service) CreateToken(ctx context.Context, nt NewToken) (CreatedToken, error) {
	a := ActorFrom(ctx)
	if !a.SignedIn() {
		return CreatedToken{}, errUnauthenticated("Sign in to create a token.")
	}
	ownerRef := nt.Owner
	if ownerRef == "" {
		if a.UserID == "" {
			return CreatedToken{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
				"Say which user the token belongs to.", "no owner")
		}
		ownerRef = a.UserID
	}
	var owner User
	var err error
	if ownerRef == a.UserID {
		owner, err = s.Store.GetUser(ctx, a.UserID)
	} else {
		if !a.Allowed(LevelAdmin) {
			return CreatedToken{}, ErrForbidden("Only administrators may create tokens for other users.")
		}
		owner, err = s.findUser(ctx, ownerRef)
	}
	if err != nil {
		return CreatedToken{}, err
	}
	if owner.Disabled {
		return CreatedToken{}, errDisabled()
	}
	name := clip(nt.Name, 100)
	if name == "" {
		return CreatedToken{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"Give the token a name that says where it is used (for example \"CI deploy\").", "empty name")
	}
	scope, err := ParseScope(string(nt.Scope))
	if err != nil {
		return CreatedToken{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, "Choose a scope: read, write or admin.", err.Error())
	}
	if scope.Level() > owner.Role.Level() {
		return CreatedToken{}, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
			fmt.Sprintf("A %s may not hold a token with the %s scope. Choose a narrower scope.", owner.Role, scope),
			"scope %s exceeds role %s", scope, owner.Role)
	}
	// A token may not reach further than the token creating it.
	if a.Kind == ActorToken && scope.Level() > a.Scope.Level() {
		return CreatedToken{}, ErrForbidden("A token cannot create a token with a wider scope than its own.")
	}
	secret := newAPIToken()
	ts := Now()
	t := Token{ID: uuid.NewString(), UserID: owner.ID, Username: owner.Username, Name: name, Prefix: secret[:tokenDisplayLen],
		Scope: scope, CreatedAt: ts, Hash: HashSecret(secret)}
	ttl := nt.ExpiresIn
	if ttl == 0 {
		ttl = s.Cfg.TokenDefaultTTL
	}
	if ttl > 0 {
		exp := ts.Add(ttl)
		t.ExpiresAt = &exp
	}
	ev := NewEvent(ctx, ActionTokenCreate, fmt.Sprintf("created %s token %q for %s", scope, name, owner.Username)).
		Target("token", t.ID).With("owner", owner.Username).With("scope", string(scope)).With("prefix", t.Prefix)
	if t.ExpiresAt != nil {
		ev = ev.With("expires_at", t.ExpiresAt.Format(time.RFC3339))
	}
	if err := s.Store.CreateToken(ctx, t, ev); err != nil {
		return CreatedToken{}, err
	}
	return CreatedToken{Token: t, Secret: secret}, nil
}

// ListTokens lists the signed-in user's tokens, or everyone's (all, for
// administrators).
func (s *Service) ListTokens(ctx context.Context, all bool) ([]Token, error) {
	a := ActorFrom(ctx)
	if all {
		if err := s.requireAdmin(ctx); err != nil {
			return nil, err
		}
		return s.Store.ListTokens(ctx, "")
	}
	if a.UserID == "" {
		return nil, errUnauthenticated("Sign in to see your tokens.")
	}
	return s.Store.ListTokens(ctx, a.UserID)
}

// RevokeToken revokes a token: one's own, or anyone's for administrators.
func (s *Service) RevokeToken(ctx context.Context, id string) (Token, error) {
	a := ActorFrom(ctx)
	t, err := s.Store.GetToken(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && t.UserID != a.UserID && !a.Allowed(LevelAdmin)) {
		return Token{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
			"There is no such token. It may have been deleted with its user.", "token %q", clip(id, 80))
	}
	if err != nil {
		return Token{}, err
	}
	if t.RevokedAt != nil {
		return t, nil
	}
	ts := Now()
	ev := NewEvent(ctx, ActionTokenRevoke, fmt.Sprintf("revoked token %q of %s", t.Name, t.Username)).
		Target("token", t.ID).With("owner", t.Username).With("prefix", t.Prefix)
	if err := s.Store.RevokeToken(ctx, t.ID, ts, ev); err != nil {
		return Token{}, err
	}
	t.RevokedAt = &ts
	return t, nil
}

// AuthenticateToken returns the actor of an API token.
func (s *Service) AuthenticateToken(ctx context.Context, secret, address string) (Actor, error) {
	bad := func(msg string) (Actor, error) {
		return Actor{}, apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated, msg, "")
	}
	if !LooksLikeToken(secret) {
		return bad("The API token is not valid. VeriPost tokens start with \"" + TokenPrefix + "\"; create one on your account page or with `veripost token create`.")
	}
	t, u, err := s.Store.GetTokenByHash(ctx, HashSecret(secret))
	if errors.Is(err, ErrNotFound) {
		return bad("The API token is not valid. Check that it was copied whole, or create a new one.")
	}
	if err != nil {
		return Actor{}, err
	}
	now := Now()
	switch {
	case t.RevokedAt != nil:
		return bad("This API token was revoked. Create a new one.")
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return bad("This API token has expired. Create a new one.")
	case u.Disabled:
		return bad("The account this API token belongs to is disabled.")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			return Actor{}, err
		}
	}
	return Actor{Kind: ActorToken, UserID: u.ID, Username: u.Username, Role: u.Role,
		TokenID: t.ID, TokenName: t.Name, Scope: t.Scope, Address: address}, nil
}
