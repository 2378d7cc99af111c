package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
)

// SSOConfig maps what the identity provider says about a person to a role.
type SSOConfig struct {
	// RoleClaim names the claim holding groups or roles ("groups").
	RoleClaim string
	// RoleMap maps a claim value to a role; when a person has several
	// mapped values the most trusted role wins.
	RoleMap map[string]Role
	// DefaultRole is given when no value maps; "" refuses such people.
	DefaultRole Role
}

// ParseRoleMap reads "group=role,group2=role2".
func ParseRoleMap(s string) (map[string]Role, error) {
	m := map[string]Role{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i <= 0 {
			return nil, fmt.Errorf("role mapping %q: write claim-value=role", part)
		}
		r, err := ParseRole(part[i+1:])
		if err != nil {
			return nil, fmt.Errorf("role mapping %q: %w", part, err)
		}
		m[strings.TrimSpace(part[:i])] = r
	}
	return m, nil
}

// Identity is what a provider vouched for after a verified sign-in.
type Identity struct {
	Issuer   string
	Subject  string
	Username string // preferred user name (or e-mail, or subject)
	Email    string
	Name     string
	// RoleValues are the values of the configured role claim.
	RoleValues []string
}

// SSOProvider runs the OpenID Connect protocol (internal/auth/oidc).
type SSOProvider interface {
	// AuthURL is where to send the browser: authorization code flow with
	// PKCE (S256 of verifier), state and nonce.
	AuthURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error)
	// Exchange redeems the code and verifies the ID token (signature,
	// issuer, audience, expiry, nonce).
	Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (Identity, error)
	// Name is shown on the sign-in button.
	Name() string
}

// loginStateTTL is how long a person has to finish signing in at the
// provider.
const loginStateTTL = 10 * time.Minute

// SSOStart is a started single sign-on: send the browser to URL and keep
// State in a cookie that FinishSSO compares.
type SSOStart struct {
	URL   string
	State string
}

// StartSSO begins a sign-in at the provider; returnTo is the local path to
// go back to afterwards.
func (s *Service) StartSSO(ctx context.Context, redirectURL, returnTo string) (SSOStart, error) {
	if s.SSO == nil {
		return SSOStart{}, apperror.New(http.StatusNotFound, apperror.CodeNotFound, "Single sign-on is not configured on this server.", "VERIPOST_OIDC_ISSUER is empty")
	}
	st := LoginState{Nonce: newSessionID(), Verifier: newSessionID() + newSessionID()[:20], RedirectURL: redirectURL,
		ReturnTo: SafeReturn(returnTo), CreatedAt: Now()}
	state := newSessionID()
	st.StateHash = HashSecret(state)
	u, err := s.SSO.AuthURL(ctx, redirectURL, state, st.Nonce, st.Verifier)
	if err != nil {
		return SSOStart{}, ssoError("The single sign-on provider cannot be reached. Try again in a minute, or ask your administrator to check VERIPOST_OIDC_ISSUER.", err)
	}
	if err := s.Store.SaveLoginState(ctx, st); err != nil {
		return SSOStart{}, err
	}
	return SSOStart{URL: u, State: state}, nil
}

func ssoError(message string, err error) error {
	return apperror.New(http.StatusUnauthorized, apperror.CodeSSOFailed, message, err.Error())
}

// SSOResult is a finished single sign-on.
type SSOResult struct {
	SignedIn
	ReturnTo string
}

// FinishSSO completes a sign-in: the state from the provider must match
// the browser's cookie and a pending login; the code is redeemed and the
// ID token verified; the account is created or updated and its role
// mapped from the claims.
func (s *Service) FinishSSO(ctx context.Context, state, cookieState, code string, c Client) (SSOResult, error) {
	a := Actor{Kind: ActorAnonymous, Address: c.Address}
	fail := func(reason, message string, err error) (SSOResult, error) {
		s.audit(ctx, eventFor(a, ActionSSOFailed, "refused a single sign-on: "+reason).With("reason", reason).Failed())
		return SSOResult{}, ssoError(message, err)
	}
	if s.SSO == nil {
		return SSOResult{}, apperror.New(http.StatusNotFound, apperror.CodeNotFound, "Single sign-on is not configured on this server.", "")
	}
	if state == "" || cookieState == "" || !equalSecret(state, cookieState) {
		return fail("state mismatch", "The sign-in could not be checked (it was started in another browser or tab, or took too long). Start again.", errors.New("state does not match this browser's cookie"))
	}
	st, err := s.Store.TakeLoginState(ctx, HashSecret(state))
	if errors.Is(err, ErrNotFound) || (err == nil && Now().Sub(st.CreatedAt) > loginStateTTL) {
		return fail("unknown or expired state", "The sign-in took too long or was already used. Start again.", errors.New("no pending login for this state"))
	}
	if err != nil {
		return SSOResult{}, err
	}
	if code == "" {
		return fail("no code", "The single sign-on provider did not sign you in. Start again.", errors.New("no authorization code"))
	}
	id, err := s.SSO.Exchange(ctx, st.RedirectURL, code, st.Verifier, st.Nonce)
	if err != nil {
		return fail("token rejected", "The single sign-on provider's answer could not be verified, so you were not signed in. Try again; if it keeps happening, ask your administrator to check the server log.", err)
	}
	a.Username = id.Username
	role, ok := s.mapRole(id.RoleValues)
	if !ok {
		return fail("no role for "+id.Username, fmt.Sprintf("You signed in at the provider as %s, but none of your groups gives access to VeriPost. Ask your administrator to add you to a VeriPost group.", id.Username),
			fmt.Errorf("claim %q values %v map to no role", s.Cfg.SSO.RoleClaim, id.RoleValues))
	}
	u, err := s.ssoAccount(ctx, id, role)
	if err != nil {
		return SSOResult{}, err
	}
	if u.Disabled {
		s.audit(ctx, eventFor(a, ActionSSOFailed, "refused a single sign-on: account disabled").Target("user", u.ID).Failed())
		return SSOResult{}, errDisabled()
	}
	in, err := s.openSession(ctx, u, c, "sso", ActionSSOLogin, u.Username+" signed in by single sign-on")
	return SSOResult{SignedIn: in, ReturnTo: st.ReturnTo}, err
}

func (s *Service) mapRole(values []string) (Role, bool) {
	best := Role("")
	for _, v := range values {
		if r, ok := s.Cfg.SSO.RoleMap[v]; ok && (best == "" || r.Level() > best.Level() || (r == RoleReviewer && best == RoleEngineer)) {
			best = r
		}
	}
	if best == "" {
		best = s.Cfg.SSO.DefaultRole
	}
	return best, best != ""
}

// ssoAccount finds the account of id (by issuer and subject, never by
// name, so nobody can take over a local account by choosing its name at
// the provider) or creates it; its role follows the provider's claims.
func (s *Service) ssoAccount(ctx context.Context, id Identity, role Role) (User, error) {
	u, err := s.Store.GetUserBySubject(ctx, id.Issuer, id.Subject)
	actor := Actor{Kind: ActorSystem, Username: "sso"}
	switch {
	case err == nil:
		if u.Role == role && u.Email == id.Email && u.DisplayName == id.Name {
			return u, nil
		}
		before := u
		u.Role, u.Email, u.DisplayName, u.UpdatedAt = role, clip(id.Email, 320), clip(id.Name, 200), Now()
		action := ActionUserUpdate
		if before.Role != role {
			action = ActionUserRole
		}
		ev := eventFor(actor, action, fmt.Sprintf("single sign-on updated %s (role %s)", u.Username, role)).Target("user", u.ID).
			With("before", userFacts(before)).With("after", userFacts(u))
		return u, s.Store.UpdateUser(ctx, UserChange{User: u}, ev)
	case !errors.Is(err, ErrNotFound):
		return User{}, err
	}
	base := id.Username
	if _, err := CleanUsername(base); err != nil {
		base = "sso-" + id.Subject
	}
	base = clip(base, MaxUsernameLen-9)
	ts := Now()
	u = User{ID: uuid.NewString(), Username: base, DisplayName: clip(id.Name, 200), Email: clip(id.Email, 320), Role: role,
		CreatedAt: ts, UpdatedAt: ts, SSO: true, OIDCIssuer: id.Issuer, OIDCSubject: id.Subject}
	for i := 0; ; i++ {
		if i > 0 {
			// The name is taken (by a local account or another person):
			// add a short mark derived from the subject.
			u.Username = fmt.Sprintf("%s-%s", base, HashSecret(id.Issuer + id.Subject)[:4+i])
		}
		if _, err := CleanUsername(u.Username); err != nil {
			u.Username = "sso-" + HashSecret(id.Issuer + id.Subject)[:12]
		}
		ev := eventFor(actor, ActionUserCreate, fmt.Sprintf("single sign-on created user %s (%s)", u.Username, role)).
			Target("user", u.ID).With("username", u.Username).With("role", string(role)).With("issuer", id.Issuer)
		err := s.Store.CreateUser(ctx, u, ev)
		if err == nil {
			s.setupDone.Store(true)
			return u, nil
		}
		if !errors.Is(err, ErrConflict) || i >= 4 {
			return User{}, err
		}
	}
}

// SafeReturn keeps a return path local: "/x" stays, anything that could
// leave the site ("//host", "https://…", "/\host") becomes "/".
func SafeReturn(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") || len(p) > 1000 {
		return "/"
	}
	return p
}
