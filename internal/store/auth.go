package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/veripost/veripost/internal/auth"
)

var _ auth.Store = (*DB)(nil)

// isUnique reports a unique-constraint violation on either engine.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func timePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}

const userColumns = `id, username, display_name, email, role, password_hash, disabled, oidc_issuer, oidc_subject,
	created_at, updated_at, password_changed_at, last_login_at`

// prefixed qualifies each column of a list with p ("u.").
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func scanUser(row interface{ Scan(...any) error }) (auth.User, error) {
	var us userScan
	err := row.Scan(us.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return us.u, auth.ErrNotFound
	}
	return us.user(), err
}

// userScan scans the userColumns of a row (alone or after other columns).
type userScan struct {
	u                    auth.User
	role                 string
	pwChanged, lastLogin sql.NullTime
}

func (s *userScan) dest() []any {
	u := &s.u
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.Email, &s.role, &u.PasswordHash, &u.Disabled, &u.OIDCIssuer, &u.OIDCSubject,
		&u.CreatedAt, &u.UpdatedAt, &s.pwChanged, &s.lastLogin}
}

func (s *userScan) user() auth.User {
	u := s.u
	u.Role = auth.Role(s.role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.PasswordChangedAt, u.LastLoginAt = timePtr(s.pwChanged), timePtr(s.lastLogin)
	u.SSO = u.OIDCSubject != ""
	u.HasPassword = u.PasswordHash != ""
	return u
}

// CountUsers implements auth.Store.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func insertUser(ctx context.Context, tx *sql.Tx, u auth.User) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`, username_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		u.ID, u.Username, u.DisplayName, u.Email, string(u.Role), u.PasswordHash, u.Disabled, u.OIDCIssuer, u.OIDCSubject,
		u.CreatedAt, u.UpdatedAt, nullTime(u.PasswordChangedAt), nullTime(u.LastLoginAt), strings.ToLower(u.Username))
	if isUnique(err) {
		return auth.ErrConflict
	}
	return err
}

// CreateUser implements auth.Store.
func (db *DB) CreateUser(ctx context.Context, u auth.User, ev auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// GetUser implements auth.Store.
func (db *DB) GetUser(ctx context.Context, id string) (auth.User, error) {
	if !validID(id) {
		return auth.User{}, auth.ErrNotFound
	}
	return scanUser(db.SQL.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// GetUserByUsername implements auth.Store (names match regardless of case).
func (db *DB) GetUserByUsername(ctx context.Context, username string) (auth.User, error) {
	return scanUser(db.SQL.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username_key = $1`, strings.ToLower(username)))
}

// GetUserBySubject implements auth.Store.
func (db *DB) GetUserBySubject(ctx context.Context, issuer, subject string) (auth.User, error) {
	if subject == "" {
		return auth.User{}, auth.ErrNotFound
	}
	return scanUser(db.SQL.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`, issuer, subject))
}

// ListUsers implements auth.Store.
func (db *DB) ListUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser implements auth.Store.
func (db *DB) UpdateUser(ctx context.Context, ch auth.UserChange, ev auth.Event) error {
	u := ch.User
	return db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET display_name = $2, email = $3, role = $4, password_hash = $5, disabled = $6,
			updated_at = $7, password_changed_at = $8 WHERE id = $1`,
			u.ID, u.DisplayName, u.Email, string(u.Role), u.PasswordHash, u.Disabled, u.UpdatedAt, nullTime(u.PasswordChangedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if ch.EndSessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, u.ID, ch.KeepSession); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, ev)
	})
}

// ---- sessions ---------------------------------------------------------------

// CreateSession implements auth.Store; it also records the sign-in time.
func (db *DB) CreateSession(ctx context.Context, s auth.Session, ev auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, address, user_agent, method)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.IDHash, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.Address, s.UserAgent, s.Method); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, s.UserID, s.CreatedAt); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// GetSession implements auth.Store. Every signed-in page and request asks
// this: one query on the read pool (see GetTokenByHash).
func (db *DB) GetSession(ctx context.Context, idHash string) (auth.Session, auth.User, error) {
	var s auth.Session
	var us userScan
	err := db.R.QueryRowContext(ctx, sessionByHash, idHash).
		Scan(append([]any{&s.IDHash, &s.UserID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.Address, &s.UserAgent, &s.Method}, us.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return s, us.u, auth.ErrNotFound
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s, us.user(), err
}

// TouchSession implements auth.Store.
func (db *DB) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, at)
	return err
}

// DeleteSession implements auth.Store.
func (db *DB) DeleteSession(ctx context.Context, idHash string, ev *auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		return appendAudit(ctx, tx, *ev)
	})
}

// DeleteExpiredSessions implements auth.Store.
func (db *DB) DeleteExpiredSessions(ctx context.Context, createdBefore, idleBefore time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2 OR expires_at < $3`,
		createdBefore, idleBefore, auth.Now())
	return err
}

// ---- API tokens ---------------------------------------------------------------

const tokenColumns = `t.id, t.user_id, u.username, t.name, t.prefix, t.hash, t.scope, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scanToken(row interface{ Scan(...any) error }) (auth.Token, error) {
	var ts tokenScan
	err := row.Scan(ts.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return ts.t, auth.ErrNotFound
	}
	return ts.token(), err
}

// tokenScan scans the tokenColumns of a row.
type tokenScan struct {
	t                  auth.Token
	scope              string
	exp, used, revoked sql.NullTime
}

func (s *tokenScan) dest() []any {
	t := &s.t
	return []any{&t.ID, &t.UserID, &t.Username, &t.Name, &t.Prefix, &t.Hash, &s.scope, &t.CreatedAt, &s.exp, &s.used, &s.revoked}
}

func (s *tokenScan) token() auth.Token {
	t := s.t
	t.Scope = auth.Scope(s.scope)
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timePtr(s.exp), timePtr(s.used), timePtr(s.revoked)
	return t
}

// CreateToken implements auth.Store.
func (db *DB) CreateToken(ctx context.Context, t auth.Token, ev auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, prefix, hash, scope, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.UserID, t.Name, t.Prefix, t.Hash, string(t.Scope), t.CreatedAt, nullTime(t.ExpiresAt)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// GetToken implements auth.Store.
func (db *DB) GetToken(ctx context.Context, id string) (auth.Token, error) {
	if !validID(id) {
		return auth.Token{}, auth.ErrNotFound
	}
	return scanToken(db.SQL.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, id))
}

var (
	// tokenByHash reads what authentication checks and the actor carries,
	// no more: it runs on every API request with a token, and each column
	// (a time above all) costs.
	tokenByHash = `SELECT t.id, t.name, t.scope, t.expires_at, t.last_used_at, t.revoked_at, u.id, u.username, u.role, u.disabled
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`
	sessionByHash = `SELECT s.id_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.address, s.user_agent, s.method,
		` + prefixed("u.", userColumns) + `
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1`
)

// GetTokenByHash implements auth.Store. Every API request with a token
// asks this, so it is one query, on the read pool (on SQLite the writer's
// single connection is left to writes; a revocation is committed before
// any later read begins, so readers see it).
func (db *DB) GetTokenByHash(ctx context.Context, hash string) (auth.Token, auth.User, error) {
	var ts tokenScan
	var u auth.User
	var role string
	t := &ts.t
	err := db.R.QueryRowContext(ctx, tokenByHash, hash).Scan(&t.ID, &t.Name, &ts.scope, &ts.exp, &ts.used, &ts.revoked,
		&u.ID, &u.Username, &role, &u.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Token{}, auth.User{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Token{}, auth.User{}, err
	}
	t.Hash, t.UserID, t.Username, u.Role = hash, u.ID, u.Username, auth.Role(role)
	return ts.token(), u, nil
}

// ListTokens implements auth.Store.
func (db *DB) ListTokens(ctx context.Context, userID string) ([]auth.Token, error) {
	q := `SELECT ` + tokenColumns + ` FROM api_tokens t JOIN users u ON u.id = t.user_id`
	var args []any
	if userID != "" {
		if !validID(userID) {
			return []auth.Token{}, nil
		}
		q += ` WHERE t.user_id = $1`
		args = append(args, userID)
	}
	rows, err := db.SQL.QueryContext(ctx, q+` ORDER BY t.created_at DESC, t.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements auth.Store.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time, ev auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, at); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// TouchToken implements auth.Store.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, at)
	return err
}

// ---- sign-in throttling -----------------------------------------------------------

// GetThrottle implements auth.Store.
func (db *DB) GetThrottle(ctx context.Context, key string) (auth.Throttle, error) {
	var th auth.Throttle
	var locked sql.NullTime
	err := db.SQL.QueryRowContext(ctx, `SELECT count, first_at, locked_until FROM login_failures WHERE key = $1`, key).
		Scan(&th.Count, &th.FirstAt, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Throttle{}, nil
	}
	if locked.Valid {
		th.LockedUntil = locked.Time.UTC()
	}
	return th, err
}

// RecordFailure implements auth.Store.
func (db *DB) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration, max int, lockFor time.Duration) (auth.Throttle, error) {
	var th auth.Throttle
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockKey(ctx, tx, "login:"+key); err != nil {
			return err
		}
		var locked sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT count, first_at, locked_until FROM login_failures WHERE key = $1`, key).
			Scan(&th.Count, &th.FirstAt, &locked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			th = auth.Throttle{}
		case err != nil:
			return err
		}
		if th.Count == 0 || at.Sub(th.FirstAt) > window {
			th = auth.Throttle{Count: 0, FirstAt: at}
		}
		th.Count++
		if th.Count >= max {
			th.LockedUntil = at.Add(lockFor)
			// The next window starts after the lock.
			th.Count, th.FirstAt = 0, th.LockedUntil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_failures (key, count, first_at, locked_until) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at, locked_until = excluded.locked_until`,
			key, th.Count, th.FirstAt, nullTime(nonZero(th.LockedUntil)))
		return err
	})
	return th, err
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// lockKey serialises writers of one key on PostgreSQL (SQLite's write
// transactions already exclude each other).
func (db *DB) lockKey(ctx context.Context, tx *sql.Tx, key string) error {
	if db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return err
}

// ClearFailures implements auth.Store.
func (db *DB) ClearFailures(ctx context.Context, key string) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return err
}

// ---- first-run setup -----------------------------------------------------------------

// ReplaceSetupToken implements auth.Store.
func (db *DB) ReplaceSetupToken(ctx context.Context, hash string, created, expires time.Time) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (hash, created_at, expires_at) VALUES ($1, $2, $3)`, hash, created, expires)
		return err
	})
}

// CreateFirstAdmin implements auth.Store.
func (db *DB) CreateFirstAdmin(ctx context.Context, setupHash string, at time.Time, u auth.User, ev auth.Event) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockKey(ctx, tx, "setup"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return auth.ErrSetupDone
		}
		res, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`, setupHash, at)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return auth.ErrSetupInvalid
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// ---- single sign-on states -------------------------------------------------------------

// SaveLoginState implements auth.Store.
func (db *DB) SaveLoginState(ctx context.Context, st auth.LoginState) error {
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO oidc_states (state_hash, nonce, verifier, redirect_url, return_to, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, st.StateHash, st.Nonce, st.Verifier, st.RedirectURL, st.ReturnTo, st.CreatedAt)
	return err
}

// TakeLoginState implements auth.Store.
func (db *DB) TakeLoginState(ctx context.Context, stateHash string) (auth.LoginState, error) {
	var st auth.LoginState
	err := db.SQL.QueryRowContext(ctx, `DELETE FROM oidc_states WHERE state_hash = $1
		RETURNING state_hash, nonce, verifier, redirect_url, return_to, created_at`, stateHash).
		Scan(&st.StateHash, &st.Nonce, &st.Verifier, &st.RedirectURL, &st.ReturnTo, &st.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, auth.ErrNotFound
	}
	st.CreatedAt = st.CreatedAt.UTC()
	return st, err
}

// DeleteLoginStates implements auth.Store.
func (db *DB) DeleteLoginStates(ctx context.Context, createdBefore time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM oidc_states WHERE created_at < $1`, createdBefore)
	return err
}
