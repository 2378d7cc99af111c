package store_test

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/testenv"
)

// TestInTxRetriesDeadlock makes two transactions lock two rows in opposite
// orders on PostgreSQL. The server aborts one with a deadlock; InTx runs it
// again and both end committed.
func TestInTxRetriesDeadlock(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, testenv.PostgresURL(t), store.Options{PoolSize: 4, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL);
		INSERT INTO counters VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	locked := make(chan struct{}, 2)
	var once [2]sync.Once
	bump := func(i int, first, second int) error {
		return db.InTx(ctx, func(tx *sql.Tx) error {
			runs.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE id = $1`, first); err != nil {
				return err
			}
			// Both hold their first row before either asks for its second
			// (only on the first run: a retry must simply go through).
			once[i].Do(func() {
				locked <- struct{}{}
				for len(locked) < 2 {
					time.Sleep(time.Millisecond)
				}
			})
			_, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE id = $1`, second)
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, order := range [][2]int{{1, 2}, {2, 1}} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = bump(i, order[0], order[1]) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if runs.Load() < 3 {
		t.Fatalf("%d runs: the deadlock did not happen, so the test proves nothing", runs.Load())
	}
	var n1, n2 int
	if err := db.SQL.QueryRowContext(ctx, `SELECT (SELECT n FROM counters WHERE id = 1), (SELECT n FROM counters WHERE id = 2)`).Scan(&n1, &n2); err != nil {
		t.Fatal(err)
	}
	if n1 != 2 || n2 != 2 {
		t.Fatalf("counters %d and %d, want 2 and 2 (each transaction committed once)", n1, n2)
	}
}
