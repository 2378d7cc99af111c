package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

		// On PostgreSQL the snapshot is the server's: transactions of other
		// databases (tests running beside this one) move it too. A check
		// that needs the generation to hold is retried until it held.
		whileStill := func(what string, check func() error) {
			t.Helper()
			for range 200 {
				g := gen()
				err := check()
				if gen() == g {
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Fatalf("%s: the generation never held still", what)
		}
		whileStill("no commit", func() error {
			if a, b := gen(), gen(); a != b {
				return fmt.Errorf("generation moved with no commit of ours: %q then %q", a, b)
			}
			return nil
		})
		if n := read(); n != 0 || loads != 1 {
			t.Fatalf("first read: %d rows, %d loads; want 0, 1", n, loads)
		}
		whileStill("repeated read", func() error {
			read() // kept for this generation
			before := loads
			if n := read(); n != 0 || loads != before {
				return fmt.Errorf("%d rows, %d loads; want the kept answer (0 rows, %d loads)", n, loads, before)
			}
			return nil
		})

		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO generation_probe (n) VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		whileStill("open transaction", func() error {
			if a, b := gen(), gen(); a != b {
				return fmt.Errorf("generation moved while a transaction stayed open: %q then %q", a, b)
			}
			if n := read(); n != 0 {
				return fmt.Errorf("read %d rows before the commit", n)
			}
			return nil
		})
		open := gen()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if g := gen(); g == open {
			t.Fatalf("generation %q unchanged after a commit", g)
		}
		if n := read(); n != 1 {
			t.Fatalf("read %d rows after the commit: a kept answer outlived its generation", n)
		}
		whileStill("repeated read after the commit", func() error {
			read()
			before := loads
			if n := read(); n != 1 || loads != before {
				return fmt.Errorf("%d rows, %d loads; want 1 row, %d loads", n, loads, before)
			}
			return nil
		})

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
