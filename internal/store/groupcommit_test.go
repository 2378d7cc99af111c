package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommit queues transactions behind one that holds SQLite's
// writer and checks what group commit promises: the waiting ones run in
// one transaction, one that fails (an error, a panic, a context cancelled
// while it waited) is rolled back alone and gets its own outcome, and the
// others commit.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "g.db"), Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE g (v TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO g (v) VALUES ($1)`, v)
			return err
		}
	}
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(ctx)
	type job struct {
		ctx   context.Context
		fn    func(*sql.Tx) error
		want  error // nil, boom, context.Canceled; "panic" below
		panic bool
	}
	var mu sync.Mutex
	txs := map[*sql.Tx]int{} // transactions the queued jobs ran in
	seen := func(fn func(*sql.Tx) error) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			mu.Lock()
			txs[tx]++
			mu.Unlock()
			return fn(tx)
		}
	}
	jobs := []job{
		{ctx: ctx, fn: insert("a")},
		{ctx: ctx, fn: func(tx *sql.Tx) error { insert("x")(tx); return boom }, want: boom},
		{ctx: cancelled, fn: insert("y"), want: context.Canceled},
		{ctx: ctx, fn: insert("b")},
		{ctx: ctx, fn: func(tx *sql.Tx) error { insert("z")(tx); panic("oops") }, panic: true},
		{ctx: ctx, fn: insert("a"), want: errors.New("UNIQUE")}, // a, from the first job of the group
		{ctx: ctx, fn: insert("c")},
	}

	// Hold the writer while the jobs queue behind it.
	hold, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error)
	go func() {
		holder <- db.InTx(ctx, func(tx *sql.Tx) error {
			close(hold)
			<-release
			return insert("h")(tx)
		})
	}()
	<-hold
	got := make([]error, len(jobs))
	panicked := make([]any, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() }()
			got[i] = db.inGroupTx(j.ctx, writeForeground, seen(j.fn))
		}()
		waitQueued(t, &db.writer, i+1)
	}
	cancel() // job 2 gives up while it waits: taken along, it is skipped
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	for i, j := range jobs {
		switch {
		case j.panic:
			if panicked[i] != "oops" {
				t.Errorf("job %d: panic %v, want oops", i, panicked[i])
			}
		case j.want == nil:
			if got[i] != nil {
				t.Errorf("job %d: %v", i, got[i])
			}
		case errors.Is(j.want, boom), errors.Is(j.want, context.Canceled):
			if !errors.Is(got[i], j.want) {
				t.Errorf("job %d: %v, want %v", i, got[i], j.want)
			}
		default:
			if got[i] == nil {
				t.Errorf("job %d: no error, want %v", i, j.want)
			}
		}
	}
	rows, err := db.R.QueryContext(ctx, `SELECT v FROM g ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		stored = append(stored, v)
	}
	rows.Close()
	if want := []string{"a", "b", "c", "h"}; !equalStrings(stored, want) {
		t.Errorf("stored %v, want %v", stored, want)
	}
	if len(txs) != 1 {
		t.Errorf("the queued jobs ran in %d transactions, want 1 (group commit)", len(txs))
	}
	// The writer is free again.
	if err := db.InTx(ctx, insert("d")); err != nil {
		t.Fatal(err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGroupCommitFallback breaks the shared transaction from inside one
// job: that job gets its own error, and the others run again, each in a
// transaction of its own, and commit.
func TestGroupCommitFallback(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "g.db"), Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE g (v TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO g (v) VALUES ($1)`, v)
			return err
		}
	}
	boom := errors.New("boom")
	fns := []func(*sql.Tx) error{
		insert("a"),
		func(tx *sql.Tx) error {
			tx.ExecContext(ctx, `ROLLBACK`) // ends the shared transaction
			return boom
		},
		insert("b"),
	}
	hold, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error)
	go func() {
		holder <- db.InTx(ctx, func(tx *sql.Tx) error { close(hold); <-release; return nil })
	}()
	<-hold
	got := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = db.InTx(ctx, fn) }()
		waitQueued(t, &db.writer, i+1)
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got[0] != nil || !errors.Is(got[1], boom) || got[2] != nil {
		t.Errorf("outcomes %v, want nil, boom, nil", got)
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM g WHERE v IN ('a', 'b')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("stored %d of a and b (%v), want both", n, err)
	}
}
