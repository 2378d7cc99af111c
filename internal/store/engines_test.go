package store

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/testenv"
)

// onEachEngine runs fn on a fresh, unmigrated database of each engine
// (PostgreSQL is skipped loudly without a test server), with the provider
// of its migrations, so a migration test can move it to any version.
func onEachEngine(t *testing.T, fn func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider)) {
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "v.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, c.url(t), Options{PoolSize: 2, PoolOverflow: 1, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			p, err := db.migrations()
			if err != nil {
				t.Fatal(err)
			}
			fn(t, ctx, db, p)
		})
	}
}

// queryID runs a statement that returns one integer (an INSERT … RETURNING
// id) and returns it.
func queryID(t *testing.T, db *DB, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := db.SQL.QueryRowContext(context.Background(), q, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id
}
