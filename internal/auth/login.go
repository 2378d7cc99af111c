package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/apperror"
)

// Client describes where a sign-in comes from.
type Client struct {
	Address   string
	UserAgent string
}

// SignedIn is a new browser session. SessionID is the secret for the
// cookie: it is not stored anywhere (only its hash).
type SignedIn struct {
	SessionID string
	User      User
	ExpiresAt time.Time
}

// RetryError is a refusal that may be retried after Until (sign-in
// throttling). It unwraps to the *apperror.Error the user sees.
type RetryError struct {
	Err   *apperror.Error
	Until time.Time
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// errBadLogin is the one answer for a wrong user name or password, so the
// answer does not tell which accounts exist.
func errBadLogin() error {
	return apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated,
		"The user name or password is wrong. Check them and try again.", "")
}

func throttleKeys(username, address string) (account, addr string) {
	return "account:" + strings.ToLower(username), "address:" + address
}

func waitText(d time.Duration) string {
	m := int(math.Ceil(d.Minutes()))
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Login checks a local password and opens a session. Wrong answers are
// counted per account and per address; too many lock that key for a while.
func (s *Service) Login(ctx context.Context, username, password string, c Client) (SignedIn, error) {
	username = clip(username, MaxUsernameLen+16)
	a := Actor{Kind: ActorAnonymous, Address: c.Address}
	failed := func(reason string) Event {
		return eventFor(a, ActionLoginFailed, "failed sign-in as "+username+": "+reason).
			Target("user", "").With("username", username).With("reason", reason).Failed()
	}
	if !s.Cfg.PasswordLogin {
		return SignedIn{}, apperror.New(http.StatusForbidden, apperror.CodeForbidden,
			"Sign-in with a password is turned off on this server. Use single sign-on.", "VERIPOST_PASSWORD_LOGIN=false")
	}
	accKey, addrKey := throttleKeys(username, c.Address)
	now := Now()
	for _, k := range []struct{ key, what string }{{addrKey, "from your network address"}, {accKey, "for this account"}} {
		th, err := s.Store.GetThrottle(ctx, k.key)
		if err != nil {
			return SignedIn{}, err
		}
		if th.LockedUntil.After(now) {
			s.audit(ctx, failed("locked"))
			return SignedIn{}, &RetryError{Until: th.LockedUntil, Err: apperror.Newf(http.StatusTooManyRequests, apperror.CodeRateLimited,
				fmt.Sprintf("Too many failed sign-ins %s. Wait %s and try again, or ask an administrator to reset the password.", k.what, waitText(th.LockedUntil.Sub(now))),
				"locked until %s", th.LockedUntil.Format(time.RFC3339))}
		}
	}
	u, err := s.Store.GetUserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return SignedIn{}, err
	}
	if !verifyPassword(password, u.PasswordHash) {
		ev := failed("wrong user name or password")
		if u.ID != "" {
			ev.TargetID = u.ID
		}
		s.audit(ctx, ev)
		for _, k := range []struct {
			key string
			max int
		}{{accKey, s.Cfg.MaxFailuresAccount}, {addrKey, s.Cfg.MaxFailuresAddress}} {
			if _, err := s.Store.RecordFailure(ctx, k.key, now, s.Cfg.LockoutWindow, k.max, s.Cfg.LockoutWindow); err != nil {
				return SignedIn{}, err
			}
		}
		return SignedIn{}, errBadLogin()
	}
	if u.Disabled {
		ev := failed("account disabled")
		ev.TargetID = u.ID
		s.audit(ctx, ev)
		return SignedIn{}, errDisabled()
	}
	if err := s.Store.ClearFailures(ctx, accKey); err != nil {
		return SignedIn{}, err
	}
	return s.openSession(ctx, u, c, "password", ActionLogin, u.Username+" signed in")
}

func errDisabled() error {
	return apperror.New(http.StatusForbidden, apperror.CodeForbidden,
		"This account is disabled. Ask an administrator to enable it.", "account disabled")
}

func (s *Service) openSession(ctx context.Context, u User, c Client, method, action, summary string) (SignedIn, error) {
	id := newSessionID()
	ts := Now()
	sess := Session{IDHash: HashSecret(id), UserID: u.ID, CreatedAt: ts, LastSeenAt: ts,
		ExpiresAt: ts.Add(s.Cfg.SessionAbsolute), Address: c.Address, UserAgent: clip(c.UserAgent, 300), Method: method}
	a := Actor{Kind: ActorUser, UserID: u.ID, Username: u.Username, Role: u.Role, Address: c.Address}
	ev := eventFor(a, action, summary).Target("user", u.ID).With("method", method)
	if err := s.Store.CreateSession(ctx, sess, ev); err != nil {
		return SignedIn{}, err
	}
	return SignedIn{SessionID: id, User: u, ExpiresAt: sess.ExpiresAt}, nil
}

// ErrSessionEnded is returned for a session that expired or was ended.
var ErrSessionEnded = errors.New("auth: session ended")

// AuthenticateSession returns the actor of a session cookie's value. An
// expired session is deleted and reported as ErrSessionEnded.
func (s *Service) AuthenticateSession(ctx context.Context, sessionID string, address string) (Actor, error) {
	if sessionID == "" || len(sessionID) > 100 {
		return Actor{}, ErrSessionEnded
	}
	h := HashSecret(sessionID)
	sess, u, err := s.Store.GetSession(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Actor{}, ErrSessionEnded
	}
	if err != nil {
		return Actor{}, err
	}
	now := Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.Cfg.SessionIdle || u.Disabled {
		if err := s.Store.DeleteSession(ctx, h, nil); err != nil {
			return Actor{}, err
		}
		return Actor{}, ErrSessionEnded
	}
	// Record activity now and then, not on every request.
	if now.Sub(sess.LastSeenAt) >= min(s.Cfg.SessionIdle/8, time.Minute) {
		if err := s.Store.TouchSession(ctx, h, now); err != nil {
			return Actor{}, err
		}
	}
	return Actor{Kind: ActorUser, UserID: u.ID, Username: u.Username, Role: u.Role, SessionHash: h, Address: address}, nil
}

// Logout ends the session of ctx's actor.
func (s *Service) Logout(ctx context.Context) error {
	a := ActorFrom(ctx)
	if a.SessionHash == "" {
		return nil
	}
	ev := eventFor(a, ActionLogout, a.Username+" signed out").Target("user", a.UserID)
	return s.Store.DeleteSession(ctx, a.SessionHash, &ev)
}

// Cleanup deletes expired sessions and abandoned single sign-on states.
func (s *Service) Cleanup(ctx context.Context) error {
	now := Now()
	if err := s.Store.DeleteExpiredSessions(ctx, now.Add(-s.Cfg.SessionAbsolute), now.Add(-s.Cfg.SessionIdle)); err != nil {
		return err
	}
	return s.Store.DeleteLoginStates(ctx, now.Add(-loginStateTTL))
}
