package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// TestCommitGeneration checks the generation moves with every commit (an
// open transaction does not move it until it commits) and only then, and
// that answers kept per generation are read again after a commit.
func TestCommitGeneration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE generation_probe (n INTEGER)`); err != nil {
			t.Fatal(err)
		}
		gen := func() string {
			t.Helper()
			g, err := db.commitGeneration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		loads := 0
		read := func() int {
			t.Helper()
			n, err := readPerGeneration(ctx, db, "probe", func(int) int { return 8 }, func(ctx context.Context) (int, error) {
				loads++
				var n int
				err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM generation_probe`).Scan(&n)
				return n, err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		g0 := gen()
		if g := gen(); g != g0 {
			t.Fatalf("generation moved with no commit: %q then %q", g0, g)
		}
		if n := read(); n != 0 || loads != 1 {
			t.Fatalf("first read: %d rows, %d loads; want 0, 1", n, loads)
		}
		if n := read(); n != 0 || loads != 1 {
			t.Fatalf("repeated read: %d rows, %d loads; want the kept answer (0, 1 load)", n, loads)
		}

		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO generation_probe (n) VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		open := gen()
		if g := gen(); g != open {
			t.Fatalf("generation moved while a transaction stayed open: %q then %q", open, g)
		}
		if n := read(); n != 0 {
			t.Fatalf("read %d rows before the commit", n)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if g := gen(); g == open {
			t.Fatalf("generation %q unchanged after a commit", g)
		}
		if n := read(); n != 1 {
			t.Fatalf("read %d rows after the commit: a kept answer outlived its generation", n)
		}
		before := loads
		if n := read(); n != 1 || loads != before {
			t.Fatalf("repeated read after the commit: %d rows, %d loads; want 1, %d", n, loads, before)
		}

		// An error is not kept.
		fail := errors.New("read failed")
		for range 2 {
			if _, err := readPerGeneration(ctx, db, "failing", func(int) int { return 8 }, func(context.Context) (int, error) { return 0, fail }); !errors.Is(err, fail) {
				t.Fatalf("failing read: %v, want %v", err, fail)
			}
		}
	})
}

// TestCommitGenerationSeesOtherWriters: on SQLite another process may write
// the same file (a CLI command beside the server); its commits move the
// generation too.
func TestCommitGenerationSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := Open(ctx, "sqlite://"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE generation_probe (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	g0, err := db.commitGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `INSERT INTO generation_probe (n) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	g1, err := db.commitGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g1 == g0 || strings.TrimSpace(g1) == "" {
		t.Fatalf("generation %q → %q after another connection's commit", g0, g1)
	}
}
