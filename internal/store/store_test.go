package store_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/testenv"
)

// TestMigrate applies the migrations twice on each engine (the second run
// is a no-op) and checks pgvector is on exactly when the server offers it.
func TestMigrate(t *testing.T) {
	cases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "nested", "v.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresURL(t) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, c.url(t), store.Options{PoolSize: 2, PoolOverflow: 1, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for range 2 {
				if err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("packages table: %d %v", n, err)
			}
			on, err := db.VectorEnabled(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := c.name == "postgres" && os.Getenv("VERIPOST_TEST_PGVECTOR") == "1"
			if on != want {
				t.Fatalf("pgvector enabled = %v, want %v", on, want)
			}
		})
	}
}

func TestOpenRejectsUnknownURLs(t *testing.T) {
	for _, url := range []string{"mysql://x", "sqlite://", "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"} {
		if db, err := store.Open(context.Background(), url, store.Options{}); err == nil {
			db.Close()
			t.Errorf("%s: opened", url)
		}
	}
}
