// Package transient tells failures of the services VeriPost depends on
// (database, object store) apart from bugs: which errors are worth retrying
// (a deadlock, a serialization failure, a connection that broke before the
// work was committed) and which mean the service cannot be reached right now
// (so the client gets a 503 with a friendly message, never a 500 with the
// driver's text). It also runs an operation again with backoff.
//
// It knows the error types of the drivers VeriPost uses (pgx for PostgreSQL,
// modernc.org/sqlite) and of the standard library's networking.
package transient

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// SQLite result codes (primary codes; the driver reports extended ones).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

// Conflict reports whether the database refused a transaction because of
// another one running at the same time (PostgreSQL deadlock or
// serialization failure, SQLite busy or locked). Nothing was committed, so
// running the whole transaction again is safe.
func Conflict(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqliteBusy || code == sqliteLocked
	}
	return false
}

// Unreachable reports whether err says a service could not be reached or
// stopped answering: refused or broken connections, timeouts, a database
// shutting down or out of connections, a closed pool, SQLite unable to
// open, read or write its file.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), // connection exception
			strings.HasPrefix(pg.Code, "53"),  // insufficient resources (too many connections, disk full)
			strings.HasPrefix(pg.Code, "57P"): // admin or crash shutdown, cannot connect now
			return true
		}
		return false
	}
	if code, ok := sqliteCode(err); ok {
		switch code {
		case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteIOErr, sqliteCorrupt, sqliteFull, sqliteCantOpen, sqliteNotADB:
			return true
		}
		return false
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connect),
		errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		pgconn.Timeout(err):
		return true
	}
	// database/sql does not export the error of a closed pool.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// Retryable reports whether an operation that failed with err, before
// anything was committed, may simply be run again: a conflict with another
// transaction, or a connection that broke.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	return Conflict(err) || (Unreachable(err) && !errors.Is(err, context.DeadlineExceeded))
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff, true
	}
	return 0, false
}

// Policy says how often and how fast to retry.
type Policy struct {
	Attempts int           // total attempts, at least 1
	Base     time.Duration // first delay; doubled each time, with jitter
	Max      time.Duration // longest delay
}

// DefaultPolicy suits a short database transaction: five attempts within
// about a second and a half.
var DefaultPolicy = Policy{Attempts: 5, Base: 25 * time.Millisecond, Max: 600 * time.Millisecond}

// Delay is the pause before attempt n+1 (n counts from 1): exponential with
// "full jitter", so that transactions that collided do not collide again.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base << min(n-1, 16)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1)
}

// Do runs fn until it succeeds, fails with an error retry does not accept,
// the attempts are used up or ctx ends. It returns fn's last error.
func Do(ctx context.Context, p Policy, retry func(error) bool, fn func() error) error {
	attempts := max(p.Attempts, 1)
	for n := 1; ; n++ {
		err := fn()
		if err == nil || n >= attempts || !retry(err) {
			return err
		}
		t := time.NewTimer(p.Delay(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
