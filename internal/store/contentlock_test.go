package store

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/testenv"
)

// Shared content locks let writers that only refer to a content run side
// by side; an exclusive lock (a deletion, a condemnation, a new analysis)
// waits for them, and they wait for it.
func TestContentLockModes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, testenv.PostgresURL(t), Options{PoolSize: 8, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const lib, src = "1111", "2222"
	begin := func() *sql.Tx {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
		return tx
	}
	// lockWithin reports whether the locks were taken within d.
	// A writer that could not lock gives its connection back at once.
	lockWithin := func(tx *sql.Tx, shas []string, shared map[string]bool, d time.Duration) bool {
		lctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := db.lockContentsShared(lctx, tx, shas, shared); err != nil {
			tx.Rollback()
			return false
		}
		return true
	}
	sharedLib := map[string]bool{lib: true}

	first := begin()
	if !lockWithin(first, []string{src, lib}, sharedLib, 5*time.Second) {
		t.Fatal("the first writer could not lock")
	}
	second := begin()
	if !lockWithin(second, []string{lib, "3333"}, sharedLib, 5*time.Second) {
		t.Fatal("a second writer sharing the library waited for the first")
	}
	if lockWithin(begin(), []string{lib}, nil, 300*time.Millisecond) {
		t.Fatal("an exclusive lock on the library was granted while two writers share it")
	}
	if lockWithin(begin(), []string{src}, sharedLib, 300*time.Millisecond) {
		t.Fatal("the first writer's exclusive lock on its new content was shared")
	}
	// Listed twice, shared once and exclusive once: exclusive.
	third := begin()
	if lockWithin(third, []string{"3333", "3333"}, map[string]bool{}, 300*time.Millisecond) {
		t.Fatal("an exclusive lock was granted on a content another writer holds shared")
	}
	first.Rollback()
	second.Rollback()
	if !lockWithin(begin(), []string{lib}, nil, 5*time.Second) {
		t.Fatal("the exclusive lock was not granted once the sharing writers ended")
	}
}
