package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/veripost/veripost/internal/apperror"
)

// SetupRequired reports whether no account exists yet (first run). Once
// an account exists the answer is cached.
func (s *Service) SetupRequired(ctx context.Context) (bool, error) {
	if s.setupDone.Load() {
		return false, nil
	}
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		s.setupDone.Store(true)
	}
	return n == 0, nil
}

// StartSetup makes a new one-time setup code when no account exists (and
// returns "" otherwise). Only the newest code is valid; it expires after
// Cfg.SetupTTL and works once.
func (s *Service) StartSetup(ctx context.Context) (string, error) {
	need, err := s.SetupRequired(ctx)
	if err != nil || !need {
		return "", err
	}
	code := newSetupCode()
	ts := Now()
	if err := s.Store.ReplaceSetupToken(ctx, HashSecret(code), ts, ts.Add(s.Cfg.SetupTTL)); err != nil {
		return "", err
	}
	return code, nil
}

// CompleteSetup creates the first administrator with the setup code and
// signs them in.
func (s *Service) CompleteSetup(ctx context.Context, code string, nu NewUser, c Client) (SignedIn, error) {
	nu.Role = RoleAdmin
	if nu.Password == "" {
		return SignedIn{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeWeakPassword,
			"Choose a password for the administrator account.", "empty password")
	}
	h := HashSecret(strings.TrimSpace(code))
	ctx = WithActor(ctx, Actor{Kind: ActorAnonymous, Address: c.Address})
	u, err := s.createUser(ctx, nu, &h)
	switch {
	case errors.Is(err, ErrSetupDone):
		s.setupDone.Store(true)
		return SignedIn{}, apperror.New(http.StatusConflict, apperror.CodeConflict,
			"VeriPost is already set up. Sign in instead.", "an account exists")
	case errors.Is(err, ErrSetupInvalid):
		s.audit(ctx, NewEvent(ctx, ActionSetup, "refused a first-run setup with a wrong, used or expired code").Failed())
		return SignedIn{}, apperror.New(http.StatusForbidden, apperror.CodeForbidden,
			"This setup code is wrong, was already used or has expired. Restart `veripost serve` to print a new setup link.", "setup code refused")
	case err != nil:
		return SignedIn{}, err
	}
	return s.openSession(ctx, u, c, "password", ActionLogin, u.Username+" signed in after setup")
}
