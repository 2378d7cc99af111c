// Package machine is what the benchmarks in bench/ need to know about the
// machine they run on: its load, this process's CPU time, and a way to let
// the database finish the maintenance a bulk fill leaves behind before
// latencies are measured.
package machine

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veripost/veripost/internal/store"
)

// Load is the machine's 1, 5 and 15-minute load average ("unknown" where
// /proc/loadavg is missing). The machine may be shared: read latencies
// with it.
func Load() string {
	f := loadFields()
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func loadFields() []string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// ProcessCPU is the CPU time this process has used (user and system). On a
// shared machine CPU per request says more than latency; on PostgreSQL it
// leaves out the database server's share.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcessWritten is the bytes this process has written (Linux
// /proc/self/io wchar: the database's log and checkpoints, the blobs, the
// sockets); 0 where it cannot be read.
func ProcessWritten() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "wchar: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Settle prepares a freshly filled database for a read measurement, so it
// measures the steady state rather than the minutes after a bulk load:
// PostgreSQL gets the VACUUM (ANALYZE) autovacuum would run on its own
// shortly (planner statistics, and the visibility map its index-only scans
// need); SQLite folds its write-ahead log into the database file. Then it
// waits, at most maxWait, for the 1-minute load average to fall below
// quiet, and says on out what it did and the load it ended at.
func Settle(ctx context.Context, db *store.DB, quiet float64, maxWait time.Duration, out io.Writer) error {
	start := time.Now()
	step := "VACUUM (ANALYZE)"
	q := `VACUUM (ANALYZE)`
	if db.Dialect == store.SQLite {
		step, q = "WAL checkpoint", `PRAGMA wal_checkpoint(TRUNCATE)`
	}
	if _, err := db.SQL.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("settling the database (%s): %w", step, err)
	}
	done := time.Since(start)
	for time.Since(start) < maxWait {
		f := loadFields()
		if len(f) == 0 {
			break
		}
		if l, err := strconv.ParseFloat(f[0], 64); err != nil || l < quiet {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	fmt.Fprintf(out, "settled: %s took %s; waited %s for the 1-minute load to fall below %.1f; load now %s\n",
		step, done.Round(time.Millisecond), (time.Since(start) - done).Round(time.Second), quiet, Load())
	return nil
}
