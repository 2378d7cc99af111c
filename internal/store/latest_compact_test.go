package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestLatestFilesCompactMigration: migration 00133 keeps every latest_files
// row (content, times to the microsecond, whatever their zone) up and down;
// afterwards a package's rows are numbered, and the packages of a content
// read newest first as LibraryPackages reads them.
func TestLatestFilesCompactMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 132); err != nil {
			t.Fatal(err)
		}
		cet := time.FixedZone("CET", 3600)
		times := []time.Time{
			time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 30, 12, 0, 0, 120000, time.UTC), // .00012: trailing zeros, leading zeros
			time.Date(2026, 11, 30, 13, 0, 0, 987654000, cet),   // the latest: 12:00:00.987654 UTC
		}
		pkgs := []string{"01a22e6e-0000-7000-8000-000000000001", "01a22e6e-0000-7000-8000-000000000002", "01a22e6e-0000-7000-8000-000000000003"}
		for i, id := range pkgs {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO packages (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)`, id, "p"+id[len(id)-1:], times[i]); err != nil {
				t.Fatal(err)
			}
		}
		type row struct {
			Package, File, Name, Kind, SHA string
			Size                           int64
			Analysis                       *int64
			Created                        time.Time
		}
		one := int64(7)
		sha := func(c string) string { return strings.Repeat(c, 64) }
		want := []row{
			{pkgs[0], "01a22e6e-0000-7000-8000-0000000000a2", "P.SRC", "src", sha("b"), 200, nil, times[0]},
			{pkgs[0], "01a22e6e-0000-7000-8000-0000000000a1", "MILL.LIB", "lib", sha("a"), 100, &one, times[0]},
			{pkgs[1], "01a22e6e-0000-7000-8000-0000000000b1", "MILL.LIB", "lib", sha("a"), 100, &one, times[1]},
			{pkgs[2], "01a22e6e-0000-7000-8000-0000000000c1", "mill.lib", "lib", "0f" + sha("e")[2:], 100, nil, times[2]},
		}
		for _, r := range want {
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO latest_files (package_id, file_id, filename, name_key, kind, sha256, size, analysis_id, package_created_at)
				VALUES ($1, $2, $3, UPPER($3), $4, $5, $6, $7, $8)`, r.Package, r.File, r.Name, r.Kind, r.SHA, r.Size, r.Analysis, r.Created); err != nil {
				t.Fatal(err)
			}
		}
		if db.Dialect == SQLite {
			// A time as releases before the driver's sqlite format wrote it.
			if _, err := db.SQL.ExecContext(ctx, `UPDATE latest_files SET package_created_at = '2026-11-30 12:00:00.00012 +0000 UTC' WHERE package_id = $1`, pkgs[1]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range want {
			want[i].Created = want[i].Created.UTC()
		}
		read := func(version int64) []row {
			t.Helper()
			sha, created := "sha256", "package_created_at"
			if version >= 133 {
				sha = db.shaText(sha)
			}
			rows, err := db.SQL.QueryContext(ctx, `SELECT package_id, file_id, filename, kind, `+sha+`, size, analysis_id, `+created+` FROM latest_files ORDER BY package_id, file_id DESC`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.Package, &r.File, &r.Name, &r.Kind, &r.SHA, &r.Size, &r.Analysis, latestTimeScan{&r.Created}); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if _, err := p.UpTo(ctx, 133); err != nil {
			t.Fatal(err)
		}
		if got := read(133); !reflect.DeepEqual(got, want) {
			t.Errorf("after 00133: %+v, want %+v", got, want)
		}
		ords, err := queryStrings(ctx, db.SQL, `SELECT filename || ' ' || ord FROM latest_files WHERE package_id = $1 ORDER BY ord`, pkgs[0])
		if err != nil || !reflect.DeepEqual(ords, []string{"MILL.LIB 1", "P.SRC 2"}) {
			t.Errorf("ordinals: %v %v", ords, err)
		}
		if db.Dialect == SQLite {
			var types string
			if err := db.SQL.QueryRowContext(ctx, `SELECT typeof(sha256) || ' ' || length(sha256) || ' ' || typeof(package_created_at) FROM latest_files LIMIT 1`).Scan(&types); err != nil || types != "blob 32 integer" {
				t.Errorf("stored as %q (%v), want 32 bytes and an integer", types, err)
			}
		}
		// The packages of a content, newest first, with the engine's forms of
		// the content and the time.
		refs, err := queryStrings(ctx, db.SQL, `SELECT package_id FROM latest_files WHERE sha256 = `+db.shaParam("$1")+`
			AND package_created_at < $2 ORDER BY package_created_at DESC, package_id DESC`, sha("a"), db.latestTime(times[2]))
		if err != nil || !reflect.DeepEqual(refs, []string{pkgs[1], pkgs[0]}) {
			t.Errorf("by content: %v %v", refs, err)
		}
		if _, err := p.DownTo(ctx, 132); err != nil {
			t.Fatal(err)
		}
		if got := read(132); !reflect.DeepEqual(got, want) {
			t.Errorf("after 00133 down: %+v, want %+v", got, want)
		}
		keys, err := queryStrings(ctx, db.SQL, `SELECT name_key FROM latest_files ORDER BY package_id, file_id DESC`)
		if err != nil || !reflect.DeepEqual(keys, []string{"P.SRC", "MILL.LIB", "MILL.LIB", "MILL.LIB"}) {
			t.Errorf("name keys after 00133 down: %v %v", keys, err)
		}
		if _, err := p.UpTo(ctx, 133); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, pkgs[0]); err != nil {
			t.Fatal(err)
		}
		if got := read(133); !reflect.DeepEqual(got, want[2:]) {
			t.Errorf("after deleting a package: %+v", got)
		}
	})
}
