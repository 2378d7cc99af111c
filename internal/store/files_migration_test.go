package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestFilesWithoutCopiesMigration: after migration 00134 a file reads its
// time from its version and its blob key from its SHA-256, as the stored
// columns said; down, the columns come back with those values.
func TestFilesWithoutCopiesMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 133); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)
		const pkg, ver = "01a22e6e-0000-7000-8000-000000000001", "01a22e6e-0000-7000-8000-0000000000f1"
		sha := strings.Repeat("c", 64)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO packages (id, name, latest_version, created_at, updated_at) VALUES ($1, 'p', 1, $2, $2)`, []any{pkg, at}},
			{`INSERT INTO package_versions (id, package_id, number, uploaded_at, updated_at) VALUES ($1, $2, 1, $3, $3)`, []any{ver, pkg, at}},
			// An old row with its blob key, a newer one without.
			{`INSERT INTO files (id, version_id, filename, extension, size, sha256, blob_key, created_at) VALUES ($1, $2, 'P.SRC', 'SRC', 5, $3, $3, $4)`,
				[]any{"01a22e6e-0000-7000-8000-0000000000a1", ver, sha, at}},
			{`INSERT INTO files (id, version_id, filename, extension, size, sha256, blob_key, created_at) VALUES ($1, $2, 'M.LIB', 'LIB', 5, $3, '', $4)`,
				[]any{"01a22e6e-0000-7000-8000-0000000000a2", ver, sha, at}},
		} {
			if _, err := db.SQL.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		// (The store reads the latest schema: the later migrations too.)
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		files, err := db.VersionFiles(ctx, ver)
		if err != nil || len(files) != 2 {
			t.Fatalf("files: %+v %v", files, err)
		}
		for _, f := range files {
			if !f.CreatedAt.Equal(at) || f.BlobKey != sha {
				t.Errorf("%s: time %v, blob key %q; want %v and the SHA-256", f.Filename, f.CreatedAt, f.BlobKey, at)
			}
		}
		byID, err := db.GetFile(ctx, pkg, files[0].ID)
		if err != nil || byID != files[0] {
			t.Errorf("GetFile: %+v %v, want %+v", byID, err, files[0])
		}
		bySHA, owner, err := db.FileBySHA(ctx, sha)
		if err != nil || owner != pkg || bySHA.SHA256 != sha || !bySHA.CreatedAt.Equal(at) {
			t.Errorf("FileBySHA: %+v %s %v", bySHA, owner, err)
		}
		if _, err := p.DownTo(ctx, 133); err != nil {
			t.Fatal(err)
		}
		rows, err := db.SQL.QueryContext(ctx, `SELECT created_at, blob_key FROM files`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var created time.Time
			var key string
			if err := rows.Scan(&created, &key); err != nil {
				t.Fatal(err)
			}
			if n++; !created.Equal(at) {
				t.Errorf("after 00134 down: created_at %v, want %v", created, at)
			}
		}
		if n != 2 {
			t.Errorf("after 00134 down: %d files", n)
		}
	})
}

// TestPackageVersionsContentIndexMigration: after migration 00135 a
// version is still found by its content among its package's versions
// (newest first), and down brings the index back.
func TestPackageVersionsContentIndexMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 135); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		const pkg = "01a22e6e-0000-7000-8000-000000000001"
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO packages (id, name, latest_version, created_at, updated_at) VALUES ($1, 'p', 3, $2, $2)`, pkg, at); err != nil {
			t.Fatal(err)
		}
		for i, key := range []string{"k1", "k2", "k1"} {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO package_versions (id, package_id, number, uploaded_at, updated_at, content_key) VALUES ($1, $2, $3, $4, $4, $5)`,
				"01a22e6e-0000-7000-8000-0000000000f"+string(rune('1'+i)), pkg, i+1, at, key); err != nil {
				t.Fatal(err)
			}
		}
		v, err := db.VersionByContent(ctx, pkg, "k1")
		if err != nil || v.Number != 3 {
			t.Errorf("by content k1: version %d %v, want 3", v.Number, err)
		}
		if _, err := db.VersionByContent(ctx, pkg, "k3"); err == nil {
			t.Error("by content k3: found")
		}
		if _, err := p.DownTo(ctx, 134); err != nil {
			t.Fatal(err)
		}
		if v, err := db.VersionByContent(ctx, pkg, "k2"); err != nil || v.Number != 2 {
			t.Errorf("after 00135 down, by content k2: version %d %v, want 2", v.Number, err)
		}
	})
}
