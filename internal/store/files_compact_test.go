package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestFilesCompactMigration: after migration 00164 files keep their
// SHA-256 as 32 bytes on SQLite and have no index by id alone on either
// engine; every reader sees the same hex and finds a file by its id within
// its package. Going down, the text and the primary key come back.
func TestFilesCompactMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 163); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
		const pkg, ver = "01a22e6e-0000-7000-8000-000000000001", "01a22e6e-0000-7000-8000-0000000000f1"
		const src, lib = "01a22e6e-0000-7000-8000-0000000000a1", "01a22e6e-0000-7000-8000-0000000000a2"
		shaSrc, shaLib := strings.Repeat("0f", 32), strings.Repeat("e7", 32)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO packages (id, name, latest_version, created_at, updated_at) VALUES ($1, 'p', 1, $2, $2)`, []any{pkg, at}},
			{`INSERT INTO package_versions (id, package_id, number, uploaded_at, updated_at) VALUES ($1, $2, 1, $3, $3)`, []any{ver, pkg, at}},
			{`INSERT INTO files (id, version_id, filename, extension, size, sha256, line_count, content_kind, encoding) VALUES ($1, $2, 'P.SRC', 'SRC', 5, $3, 7, 'text', 'ascii')`,
				[]any{src, ver, shaSrc}},
			{`INSERT INTO files (id, version_id, filename, extension, size, sha256) VALUES ($1, $2, 'M.LIB', 'LIB', 9, $3)`, []any{lib, ver, shaLib}},
		} {
			if _, err := db.SQL.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		if _, err := p.UpTo(ctx, 164); err != nil {
			t.Fatal(err)
		}
		if db.Dialect == SQLite {
			var types string
			if err := db.SQL.QueryRowContext(ctx, `SELECT group_concat(typeof(sha256) || ' ' || length(sha256)) FROM files`).Scan(&types); err != nil || types != "blob 32,blob 32" {
				t.Errorf("sha256 stored as %q (%v), want 32 bytes", types, err)
			}
		}
		var idIndexes int
		q := `SELECT COUNT(*) FROM pragma_index_list('files') il JOIN pragma_index_info(il.name) ii WHERE ii.name = 'id'`
		if db.Dialect == Postgres {
			q = `SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'files' AND indexdef LIKE '%(id)%'`
		}
		if err := db.SQL.QueryRowContext(ctx, q).Scan(&idIndexes); err != nil || idIndexes != 0 {
			t.Errorf("indexes of files by id: %d (%v), want none", idIndexes, err)
		}

		// A file name is unique within its version (on PostgreSQL the
		// table's primary key).
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO files (id, version_id, filename, extension, size, sha256) VALUES ($1, $2, 'M.LIB', 'LIB', 1, `+db.shaParam("$3")+`)`,
			"01a22e6e-0000-7000-8000-0000000000ff", ver, shaLib); err == nil {
			t.Error("after 00164: a second M.LIB was stored in the same version")
		}
		if db.Dialect == Postgres {
			var key string
			if err := db.SQL.QueryRowContext(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'files'::regclass AND contype = 'p'`).Scan(&key); err != nil || key != "PRIMARY KEY (version_id, filename)" {
				t.Errorf("files' primary key: %q (%v), want (version_id, filename)", key, err)
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
		if files[0].ID != lib || files[0].SHA256 != shaLib || files[0].BlobKey != shaLib || files[1].SHA256 != shaSrc || files[1].LineCount != 7 || files[1].Encoding != "ascii" {
			t.Errorf("files after 00164: %+v", files)
		}
		if f, err := db.GetFile(ctx, pkg, src); err != nil || f != files[1] {
			t.Errorf("GetFile: %+v %v, want %+v", f, err, files[1])
		}
		if _, err := db.GetFile(ctx, "01a22e6e-0000-7000-8000-000000000002", src); err == nil {
			t.Error("GetFile found a file under another package")
		}
		if f, owner, err := db.FileBySHA(ctx, strings.ToUpper(shaLib)); err != nil || owner != pkg || f != files[0] {
			t.Errorf("FileBySHA: %+v %s %v", f, owner, err)
		}
		if size, ok, err := db.ContentSize(ctx, shaSrc); err != nil || !ok || size != 5 {
			t.Errorf("ContentSize: %d %v %v", size, ok, err)
		}
		refs, err := db.ReferencedContents(ctx)
		if err != nil || !refs[shaSrc] || !refs[shaLib] || len(refs) != 2 {
			t.Errorf("ReferencedContents: %v %v", refs, err)
		}
		if condemned, err := db.Condemn(ctx, shaSrc); err != nil || condemned {
			t.Errorf("Condemn of a content a file holds: %v %v", condemned, err)
		}
		if condemned, err := db.Condemn(ctx, strings.Repeat("aa", 32)); err != nil || !condemned {
			t.Errorf("Condemn of a content no file holds: %v %v", condemned, err)
		}

		if _, err := p.DownTo(ctx, 163); err != nil {
			t.Fatal(err)
		}
		got, err := queryStrings(ctx, db.SQL, `SELECT id || ' ' || sha256 FROM files ORDER BY filename`)
		if err != nil || strings.Join(got, ",") != lib+" "+shaLib+","+src+" "+shaSrc {
			t.Errorf("after 00164 down: %v %v", got, err)
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO files (id, version_id, filename, extension, size, sha256) VALUES ($1, $2, 'X.LIB', 'LIB', 1, $3)`, src, ver, shaLib); err == nil {
			t.Error("after 00164 down: a second file with the same id was stored (no primary key)")
		}
	})
}
