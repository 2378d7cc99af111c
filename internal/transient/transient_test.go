package transient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("storing: %w", err) }
	for _, c := range []struct {
		name                            string
		err                             error
		conflict, unreachable, retrying bool
	}{
		{"deadlock", wrap(&pgconn.PgError{Code: "40P01"}), true, false, true},
		{"serialization", &pgconn.PgError{Code: "40001"}, true, false, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false, false, false},
		{"bad text", &pgconn.PgError{Code: "22021"}, false, false, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, false, true, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, false, true, true},
		{"connection refused", wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false, true, true},
		{"connection reset", wrap(syscall.ECONNRESET), false, true, true},
		{"closed pool", errors.New("sql: database is closed"), false, true, true},
		{"connection done", sql.ErrConnDone, false, true, true},
		{"deadline", wrap(context.DeadlineExceeded), false, true, false},
		{"cancelled", context.Canceled, false, false, false},
		{"no rows", sql.ErrNoRows, false, false, false},
		{"a bug", errors.New("index out of range"), false, false, false},
	} {
		if got := Conflict(c.err); got != c.conflict {
			t.Errorf("%s: Conflict = %v", c.name, got)
		}
		if got := Unreachable(c.err); got != c.unreachable {
			t.Errorf("%s: Unreachable = %v", c.name, got)
		}
		if got := Retryable(c.err); got != c.retrying {
			t.Errorf("%s: Retryable = %v", c.name, got)
		}
	}
}

func TestDo(t *testing.T) {
	p := Policy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}
	calls := 0
	err := Do(context.Background(), p, Retryable, func() error {
		calls++
		if calls < 3 {
			return &pgconn.PgError{Code: "40P01"}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("two deadlocks then success: %v after %d calls", err, calls)
	}
	calls = 0
	err = Do(context.Background(), p, Retryable, func() error { calls++; return &pgconn.PgError{Code: "23505"} })
	if err == nil || calls != 1 {
		t.Fatalf("a unique violation is not retried: %v after %d calls", err, calls)
	}
	calls = 0
	err = Do(context.Background(), p, Retryable, func() error { calls++; return syscall.ECONNRESET })
	if !errors.Is(err, syscall.ECONNRESET) || calls != 4 {
		t.Fatalf("attempts are bounded: %v after %d calls", err, calls)
	}
	for n := 1; n < 30; n++ {
		if d := p.Delay(n); d < p.Base/2 || d > p.Max {
			t.Fatalf("delay %d = %s, outside [%s, %s]", n, d, p.Base/2, p.Max)
		}
	}
}
