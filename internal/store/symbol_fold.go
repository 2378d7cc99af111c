package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// On PostgreSQL an ingestion appends its symbol counter changes to
// symbol_name_deltas instead of updating symbol_names (see the migration
// that made it); reads add the pending changes (symbol_counts), so they are
// exact at any time. The fold moves the pending changes into the counters,
// so reads have few of them to add.

// foldPause lets the commits of a burst of ingestions pile up after a
// wake-up: one fold then moves them all (a common name's counter is
// updated once per fold, not once per package).
const foldPause = time.Second

// foldBackstop folds the changes other processes (a `veripost worker`)
// left when this one has written nothing lately.
const foldBackstop = 30 * time.Second

// foldLock is the advisory lock key that lets one fold run at a time
// across processes.
const foldLock = `SELECT pg_try_advisory_xact_lock(hashtextextended('veripost:symbol_names:fold', 0))`

// symbolFolder runs the folds of one DB in the background. It starts at
// the first change this process appends, so a CLI that only reads never
// starts it.
type symbolFolder struct {
	once sync.Once
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// wake asks for a fold soon; it never blocks.
func (f *symbolFolder) wake(db *DB) {
	f.once.Do(func() {
		f.kick = make(chan struct{}, 1)
		f.stop = make(chan struct{})
		f.done = make(chan struct{})
		go f.run(db)
	})
	select {
	case f.kick <- struct{}{}:
	default: // a fold is already asked for
	}
}

func (f *symbolFolder) run(db *DB) {
	defer close(f.done)
	tick := time.NewTicker(foldBackstop)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			db.foldNow(5 * time.Second) // leave the table empty when it can be done quickly
			return
		case <-f.kick:
		case <-tick.C:
		}
		select {
		case <-f.stop:
			db.foldNow(5 * time.Second)
			return
		case <-time.After(foldPause):
		}
		db.foldNow(time.Minute)
	}
}

// close stops the folder (after one last fold) if it was started.
func (f *symbolFolder) close() {
	started := false
	f.once.Do(func() {}) // no start from now on
	if f.stop != nil {
		started = true
		close(f.stop)
	}
	if started {
		<-f.done
	}
}

func (db *DB) foldNow(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := db.FoldSymbolCounts(ctx); err != nil {
		// Not a failure of anything the user waits for: the counts stay
		// exact, reads only have more pending changes to add.
		db.log.Warn("folding the symbol counter changes; the next fold tries again", "err", err)
	}
}

// FoldSymbolCounts moves the pending symbol counter changes into the
// counters (PostgreSQL; SQLite has none) and returns how many it moved. It
// moves nothing when another fold is running. A fold is one transaction:
// a read sees the changes either pending or in the counters, never both.
func (db *DB) FoldSymbolCounts(ctx context.Context) (int, error) {
	if db.Dialect != Postgres {
		return 0, nil
	}
	moved := 0
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		moved = 0
		var mine bool
		if err := tx.QueryRowContext(ctx, foldLock).Scan(&mine); err != nil || !mine {
			return err
		}
		// One statement: the changes committed when it starts are deleted,
		// summed per name and added to the counters (in name order: the
		// pages of the key are visited in turn). Changes committed after it
		// started stay pending for the next fold.
		// The first row counts the changes moved; the others name the
		// counters that reached no package.
		rows, err := tx.QueryContext(ctx, `WITH moved AS (
				DELETE FROM symbol_name_deltas RETURNING canonical, kind, packages, definitions, uses),
			sums AS (
				SELECT canonical, COALESCE(MIN(NULLIF(kind, '')), '') AS kind, SUM(packages) AS p, SUM(definitions) AS d,
					SUM(uses) AS u, COUNT(*) AS n
				FROM moved GROUP BY canonical),
			counted AS (
				INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
				SELECT canonical, kind, p, d, u FROM sums WHERE p <> 0 OR d <> 0 OR u <> 0 ORDER BY canonical
				ON CONFLICT (canonical) DO UPDATE SET packages = symbol_names.packages + excluded.packages,
					definitions = symbol_names.definitions + excluded.definitions, uses = symbol_names.uses + excluded.uses,
					kind = CASE WHEN symbol_names.kind = '' THEN excluded.kind ELSE symbol_names.kind END
				RETURNING canonical, packages)
			SELECT 0 AS k, '' AS canonical, (SELECT COALESCE(SUM(n), 0) FROM sums) AS n
			UNION ALL SELECT 1, canonical, 0 FROM counted WHERE packages <= 0
			ORDER BY k`)
		if err != nil {
			return fmt.Errorf("folding symbol counter changes: %w", err)
		}
		var gone []string
		for rows.Next() {
			var k, n int
			var name string
			if err := rows.Scan(&k, &name, &n); err != nil {
				rows.Close()
				return err
			}
			if k == 0 {
				moved = n
			} else {
				gone = append(gone, name)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("folding symbol counter changes: %w", err)
		}
		if len(gone) > 0 { // names no package has any more
			if _, err := tx.ExecContext(ctx, `DELETE FROM symbol_names WHERE canonical = ANY($1) AND packages <= 0`, gone); err != nil {
				return err
			}
		}
		return nil
	})
	return moved, err
}
