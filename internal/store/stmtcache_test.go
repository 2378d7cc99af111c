package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openCachingTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "veripost.db"), Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.SQL.ExecContext(context.Background(), `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// cached reports the statements pool's only connection has cached.
func cached(t *testing.T, pool *sql.DB) []string {
	t.Helper()
	conn, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var texts []string
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not a caching one", dc)
		}
		for e := c.order.Front(); e != nil; e = e.Next() {
			texts = append(texts, e.Value.(*cachedStmt).text)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return texts
}

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	const insert = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	const get = `SELECT v FROM kv WHERE k = $1`

	t.Run("a statement is prepared once and reused", func(t *testing.T) {
		db := openCachingTestDB(t)
		for i := range 5 {
			if _, err := db.SQL.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			var v string
			if err := db.SQL.QueryRowContext(ctx, get, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
				t.Fatalf("row %d: %q, %v", i, v, err)
			}
		}
		n := 0
		for _, text := range cached(t, db.SQL) {
			if text == insert || text == get {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("cache holds %q: want the insert and the select once each", cached(t, db.SQL))
		}
	})

	t.Run("the same query while its rows are open runs on its own statement", func(t *testing.T) {
		db := openCachingTestDB(t)
		for i := range 3 {
			if _, err := db.SQL.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
				t.Fatal(err)
			}
		}
		const all = `SELECT k FROM kv ORDER BY k`
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			outer, err := tx.QueryContext(ctx, all)
			if err != nil {
				return err
			}
			defer outer.Close()
			var pairs []string
			for outer.Next() {
				var a int
				if err := outer.Scan(&a); err != nil {
					return err
				}
				inner, err := tx.QueryContext(ctx, all) // the cached statement is busy
				if err != nil {
					return err
				}
				for inner.Next() {
					var b int
					if err := inner.Scan(&b); err != nil {
						return err
					}
					pairs = append(pairs, fmt.Sprint(a, b))
				}
				if err := inner.Close(); err != nil {
					return err
				}
			}
			if len(pairs) != 9 {
				return fmt.Errorf("nested reads gave %v, want all 9 pairs", pairs)
			}
			return outer.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a failed statement is prepared afresh and works", func(t *testing.T) {
		db := openCachingTestDB(t)
		if _, err := db.SQL.ExecContext(ctx, insert, 1, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, insert, 1, "b"); err == nil {
			t.Fatal("a duplicate key was accepted")
		}
		if _, err := db.SQL.ExecContext(ctx, insert, 2, "b"); err != nil {
			t.Fatalf("the statement after a failure: %v", err)
		}
		var n int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d rows, %v: want 2", n, err)
		}
	})

	t.Run("the cache is bounded and an evicted busy statement still reads", func(t *testing.T) {
		db := openCachingTestDB(t)
		for i := range 3 {
			if _, err := db.SQL.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
				t.Fatal(err)
			}
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			open, err := tx.QueryContext(ctx, `SELECT v FROM kv ORDER BY k`)
			if err != nil {
				return err
			}
			defer open.Close()
			if !open.Next() {
				return fmt.Errorf("no first row")
			}
			for i := range stmtCacheSize + 10 { // evicts the open query's statement
				var x int
				if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&x); err != nil || x != i {
					return fmt.Errorf("query %d: %d, %v", i, x, err)
				}
			}
			var got []string
			for ok := true; ok; ok = open.Next() {
				var v string
				if err := open.Scan(&v); err != nil {
					return err
				}
				got = append(got, v)
			}
			if fmt.Sprint(got) != "[v0 v1 v2]" {
				return fmt.Errorf("the open rows read %v after eviction", got)
			}
			return open.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cached(t, db.SQL)); n > stmtCacheSize {
			t.Fatalf("%d statements cached, bound %d", n, stmtCacheSize)
		}
	})

	t.Run("a cached read keeps no snapshot: readers see later commits", func(t *testing.T) {
		db := openCachingTestDB(t)
		for i := range 3 {
			if _, err := db.SQL.ExecContext(ctx, insert, i, "x"); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != i+1 {
				t.Fatalf("reader counted %d (%v) after %d commits", n, err, i+1)
			}
		}
		// Nothing holds the log open: a truncating checkpoint completes.
		var busy, logPages, done int
		if err := db.SQL.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil || busy != 0 {
			t.Fatalf("checkpoint busy=%d (%v): a cached statement holds a read transaction", busy, err)
		}
	})
}

// fetchLike is shaped like River's job fetch: a LIMIT bound to a parameter
// inside the subquery that picks the rows.
const fetchLike = `SELECT k, v FROM kv WHERE k IN (SELECT k FROM kv WHERE v >= ?1 ORDER BY k LIMIT ?2) ORDER BY k`

func TestStatementCacheBoundLimit(t *testing.T) {
	ctx := context.Background()
	db := openCachingTestDB(t)
	for i := range 10 {
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Limits taken in turn, as two queues of different sizes do: each
	// value has a statement of its own, and each reads its own rows.
	for round := range 3 {
		for _, limit := range []int{4, 2, 4, 1} {
			rows, err := db.SQL.QueryContext(ctx, fetchLike, "v", limit)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n != limit {
				t.Fatalf("round %d, LIMIT %d: %d rows", round, limit, n)
			}
		}
	}
	var forFetch []string
	for _, text := range cached(t, db.SQL) {
		if strings.HasPrefix(text, fetchLike) {
			forFetch = append(forFetch, strings.TrimPrefix(text, fetchLike))
		}
	}
	slices.Sort(forFetch)
	if want := []string{"\x001", "\x002", "\x004"}; !slices.Equal(forFetch, want) {
		t.Fatalf("statements for the fetch: %q, want one per LIMIT value %q", forFetch, want)
	}
}

func TestLimitOrdinals(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{`SELECT v FROM kv WHERE k = $1`, nil},
		{`SELECT v FROM kv ORDER BY k LIMIT 20`, nil},
		{`SELECT v FROM kv ORDER BY k LIMIT $2 OFFSET $3`, []int{2}},
		{"UPDATE j SET a = 1 WHERE id IN (SELECT id FROM j ORDER BY id\n    LIMIT ?5) RETURNING (SELECT x FROM y LIMIT ?7 - 1)", []int{5, 7}},
		{`select v from kv limit ?1`, []int{1}},
	} {
		if got := limitOrdinals(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("limitOrdinals(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

// BenchmarkBoundLimit runs the fetch-shaped query with the LIMIT values of
// two queues in turn (an idle server's River producers).
func BenchmarkBoundLimit(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "veripost.db"), Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		rows, err := db.SQL.QueryContext(ctx, fetchLike, "v", 2+2*(i%2))
		if err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
}
