package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestLatestFilesWithoutRowidMigration: migration 00132 keeps every
// latest_files row up and down, and on SQLite the table is keyed by
// (package, file) without a rowid afterwards.
func TestLatestFilesWithoutRowidMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 131); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		pkgs := []string{"01a22e6e-0000-7000-8000-000000000001", "01a22e6e-0000-7000-8000-000000000002"}
		for i, id := range pkgs {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO packages (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)`, id, "p"+id[len(id)-1:], at.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		type row struct {
			Package, File, Name, Key, Kind, SHA string
			Size                                int64
			Analysis                            *int64
		}
		one := int64(7)
		want := []row{
			{pkgs[0], "01a22e6e-0000-7000-8000-0000000000a1", "MILL.LIB", "MILL.LIB", "lib", strings.Repeat("a", 64), 100, &one},
			{pkgs[0], "01a22e6e-0000-7000-8000-0000000000a2", "P.SRC", "P.SRC", "src", strings.Repeat("b", 64), 200, nil},
			{pkgs[1], "01a22e6e-0000-7000-8000-0000000000b1", "MILL.LIB", "MILL.LIB", "lib", strings.Repeat("a", 64), 100, &one},
		}
		for i, r := range want {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO latest_files (package_id, file_id, filename, name_key, kind, sha256, size, analysis_id, package_created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.Package, r.File, r.Name, r.Key, r.Kind, r.SHA, r.Size, r.Analysis, at.Add(time.Duration(i/2)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		read := func() []row {
			t.Helper()
			rows, err := db.SQL.QueryContext(ctx, `SELECT package_id, file_id, filename, name_key, kind, sha256, size, analysis_id FROM latest_files ORDER BY package_id, file_id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.Package, &r.File, &r.Name, &r.Key, &r.Kind, &r.SHA, &r.Size, &r.Analysis); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			return out
		}
		withoutRowid := func() bool {
			if db.Dialect != SQLite {
				return false
			}
			var ddl string
			if err := db.SQL.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'latest_files'`).Scan(&ddl); err != nil {
				t.Fatal(err)
			}
			return strings.Contains(ddl, "WITHOUT ROWID")
		}
		if _, err := p.UpTo(ctx, 132); err != nil {
			t.Fatal(err)
		}
		if got := read(); !reflect.DeepEqual(got, want) {
			t.Errorf("after 00132: %+v, want %+v", got, want)
		}
		if got := withoutRowid(); got != (db.Dialect == SQLite) {
			t.Errorf("without rowid: %v", got)
		}
		// The packages of a content, newest first, as LibraryPackages
		// reads them; a package's deletion takes its rows.
		refs, err := queryStrings(ctx, db.SQL, `SELECT package_id || ' ' || filename FROM latest_files WHERE sha256 = $1 ORDER BY package_created_at DESC, package_id DESC`, strings.Repeat("a", 64))
		if err != nil || !reflect.DeepEqual(refs, []string{pkgs[1] + " MILL.LIB", pkgs[0] + " MILL.LIB"}) {
			t.Errorf("by content: %v %v", refs, err)
		}
		if _, err := p.DownTo(ctx, 131); err != nil {
			t.Fatal(err)
		}
		if got := read(); !reflect.DeepEqual(got, want) {
			t.Errorf("after 00132 down: %+v, want %+v", got, want)
		}
		if withoutRowid() {
			t.Error("latest_files is still without rowid after 00132 down")
		}
		if _, err := p.UpTo(ctx, 132); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, pkgs[0]); err != nil {
			t.Fatal(err)
		}
		if got := read(); len(got) != 1 || got[0].Package != pkgs[1] {
			t.Errorf("after deleting a package: %+v", got)
		}
	})
}
