package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

// symbolSource is a small post: attributes, sections, and references to
// them (a name written two ways, one used only by some versions).
func symbolSource(extra string) string {
	return `:ATTRNAME=SAFE HEIGHT
:ATTRTYPE=POST
:ATTRVTYPE=DECIMAL
:ATTRDEFAULT=50.0
:ATTREND
:ATTRNAME=PASS COUNT
:ATTRTYPE=POST
:ATTRVTYPE=INTEGER
:ATTRDEFAULT=4
:ATTREND
:SECTION=START
:C: PASS_COUNT=PASS_COUNT+1
` + extra + `:SECTION=CALC_DWELL
:C: safe_height=SAFE_HEIGHT*2
`
}

// symbolAnswers is what the symbol readers answer for every listed name.
type symbolAnswers struct {
	Names    []index.SymbolName
	Usage    map[string]index.SymbolPage
	Version  map[string][]index.SymbolOccurrence
	Contents map[string][]analysis.Occurrence
}

func readSymbolAnswers(t *testing.T, db *DB, versions []string, shas []string, extraNames ...string) symbolAnswers {
	t.Helper()
	ctx := context.Background()
	names, err := db.SymbolNames(ctx, "", 200, "")
	if err != nil {
		t.Fatal(err)
	}
	a := symbolAnswers{Names: names.Items, Usage: map[string]index.SymbolPage{}, Version: map[string][]index.SymbolOccurrence{}, Contents: map[string][]analysis.Occurrence{}}
	all := extraNames
	for _, n := range names.Items {
		all = append(all, n.Name)
	}
	for _, name := range all {
		if a.Usage[name], err = db.SymbolUsage(ctx, name, 1, ""); err != nil {
			t.Fatal(err)
		}
		if c := a.Usage[name].NextCursor; c != "" {
			if a.Usage[name+" next"], err = db.SymbolUsage(ctx, name, 1, c); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range versions {
			if a.Version[v+" "+name], err = db.VersionSymbol(ctx, v, name); err != nil {
				t.Fatal(err)
			}
		}
		for _, sha := range shas {
			if a.Contents[sha+" "+name], err = db.ContentSymbol(ctx, sha, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a
}

// TestSymbolIndexMigration: a symbol index keyed by name (before migration
// 00120) is converted by 00120–00122, down restores it, up converts it
// again; the symbol readers answer the same throughout, the counters agree
// with the index, and writes after the conversion keep working (new names
// get new ids; a name no package and no analysis has any more is gone).
func TestSymbolIndexMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var shas []string
		// upload stores a version of pkg ("" for a new package) with
		// one source file, analysed, and returns the package and version.
		upload := func(pkg, src string) (string, string) {
			t.Helper()
			sum := fmt.Sprintf("%064x", len(shas)+1)
			shas = append(shas, sum)
			var v catalog.Version
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				v, err = db.CreateVersionTx(ctx, tx, catalog.NewVersion{PackageID: pkg, Name: "P", Files: []catalog.NewFile{{Filename: "P.SRC", Extension: "SRC", Size: int64(len(src)), SHA256: sum}}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL.ExecContext(ctx, `UPDATE package_versions SET status = 'parsing' WHERE id = $1`, v.ID); err != nil {
				t.Fatal(err)
			}
			files, err := db.VersionFiles(ctx, v.ID)
			if err != nil || len(files) != 1 {
				t.Fatal(files, err)
			}
			f := analysis.AnalyzeFile("P.SRC", []byte(src))
			f.SHA256 = sum
			named := []analysis.Named{{Name: "P.SRC", File: f}}
			fs := analysis.FileSetKey(named)
			if err := db.SaveAnalysis(ctx, index.VersionAnalysis{VersionID: v.ID, Status: catalog.StatusReady,
				Files:  []index.AnalysedFile{{FileID: files[0].ID, Name: "P.SRC", File: f}},
				Result: index.ResultOf(fs, analysis.Resolve(named))}); err != nil {
				t.Fatal(err)
			}
			return v.PackageID, v.ID
		}
		p1, v1 := upload("", symbolSource(":SECTION=OLD_ONLY\n:C: OLD_NAME=1\n"))
		_, v2 := upload(p1, symbolSource(""))                                // OLD_ONLY and OLD_NAME: only in v1's analysis
		_, v3 := upload("", symbolSource(":C: PASS_COUNT=2\n"))              // a second package
		_, v4 := upload("", symbolSource(":SECTION=GONE\n:C: GONE_VAR=1\n")) // deleted below
		versions := []string{v1, v2, v3, v4}
		extra := []string{"OLD_ONLY", "OLD_NAME", "NO_SUCH_NAME"}
		before := readSymbolAnswers(t, db, versions, shas, extra...)
		if u := before.Usage["SAFE_HEIGHT"]; u.Total != 3 || len(before.Version[v1+" OLD_NAME"]) == 0 || before.Usage["OLD_NAME"].Total != 0 {
			t.Fatalf("the fixture is not what the test needs: %+v %+v", u, before.Version[v1+" OLD_NAME"])
		}
		drift := func() {
			t.Helper()
			if d, err := db.SymbolCounterDrift(ctx); err != nil || len(d) > 0 {
				t.Fatalf("counter drift %q %v", d, err)
			}
		}
		drift()
		count := func(q string) int {
			t.Helper()
			var n int
			if err := db.SQL.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		// entries counts the packed index's entries (a row each before 00154).
		entries := func() int {
			t.Helper()
			n := 0
			if err := eachSymbolIndexEntry(ctx, db.SQL, func(int64, symbolEntry) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		rows := entries()
		// 00165: new analyses' entries wait in the tail (these are all
		// in the first block); down folds them into the blocks, packed
		// per name and block, and the answers stay the same.
		if n := count(`SELECT COUNT(*) FROM symbol_index_tail`); n != len(shas) {
			t.Fatalf("%d tail rows for %d new analyses", n, len(shas))
		}
		if _, err := p.DownTo(ctx, 164); err != nil {
			t.Fatal(err)
		}
		folded := 0
		if err := eachSymbolRow(ctx, db.SQL, "symbol_index", func(int64, symbolEntry) error { folded++; return nil }); err != nil || folded != rows {
			t.Fatalf("down to 164: %d entries in blocks (%v), want %d", folded, err, rows)
		}
		if blocks := count(`SELECT COUNT(*) FROM symbol_index`); blocks >= rows {
			t.Fatalf("%d block rows for %d entries: nothing is packed", blocks, rows)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if again := readSymbolAnswers(t, db, versions, shas, extra...); !reflect.DeepEqual(before, again) {
			t.Fatalf("answers differ across 00165:\n%+v\n%+v", before, again)
		}
		drift()

		// 00154–00156 packed the index per name and block of analyses;
		// down to 153 unpacks a row per entry, up packs them again.
		if _, err := p.DownTo(ctx, 153); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM symbol_index`); n != rows {
			t.Fatalf("down to 153: %d rows, want %d", n, rows)
		}
		if n := count(`SELECT COUNT(*) FROM symbol_index s JOIN symbol_names n ON n.id = s.symbol_id
			WHERE n.canonical = 'SAFE_HEIGHT' AND s.definitions = 1`); n != 4 {
			t.Fatalf("down to 153: %d rows define SAFE_HEIGHT, want 4 (an analysis each)", n)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if n := entries(); n != rows {
			t.Fatalf("up from 153: %d entries, want %d", n, rows)
		}
		if again := readSymbolAnswers(t, db, versions, shas, extra...); !reflect.DeepEqual(before, again) {
			t.Fatalf("answers differ across 00154–00156:\n%+v\n%+v", before, again)
		}
		drift()

		// 00141 dropped the rows' occurrences (derived from the analyses
		// since); down to 139 puts them back, packed as before, in
		// every row, and up drops them again.
		if _, err := p.DownTo(ctx, 139); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM symbol_index WHERE length(occurrences) > 0`); n != rows {
			t.Fatalf("down to 139: %d of %d rows have occurrences", n, rows)
		}
		var restored []byte
		if err := db.SQL.QueryRowContext(ctx, `SELECT s.occurrences FROM symbol_index s JOIN symbol_names n ON n.id = s.symbol_id
			JOIN files f ON f.analysis_id = s.analysis_id WHERE n.canonical = 'SAFE_HEIGHT' AND f.version_id = $1`, v1).Scan(&restored); err != nil {
			t.Fatal(err)
		}
		if occ, err := analysis.UnpackOccurrences("SAFE_HEIGHT", restored, nil); err != nil || len(occ) != len(before.Version[v1+" SAFE_HEIGHT"]) {
			t.Fatalf("down to 139: restored occurrences %+v %v, want %d", occ, err, len(before.Version[v1+" SAFE_HEIGHT"]))
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if n := entries(); n != rows {
			t.Fatalf("up from 139: %d entries, want %d", n, rows)
		}
		if again := readSymbolAnswers(t, db, versions, shas, extra...); !reflect.DeepEqual(before, again) {
			t.Fatalf("answers differ across 00140–00141:\n%+v\n%+v", before, again)
		}
		drift()

		if _, err := p.DownTo(ctx, 119); err != nil {
			t.Fatal(err)
		}
		// The old form: names as text, occurrences in format 1, no
		// counter rows for names no package has.
		if n := count(`SELECT COUNT(*) FROM symbol_index`); n != rows {
			t.Fatalf("down: %d rows, want %d", n, rows)
		}
		if n := count(`SELECT COUNT(*) FROM symbol_names WHERE canonical = 'OLD_NAME'`); n != 0 {
			t.Fatal("down kept a counter row of a name no package has")
		}
		var packed []byte
		if err := db.SQL.QueryRowContext(ctx, `SELECT occurrences FROM symbol_index WHERE canonical = 'SAFE_HEIGHT' LIMIT 1`).Scan(&packed); err != nil {
			t.Fatal(err)
		}
		if occ, err := analysis.UnpackOccurrencesFormat(analysis.OccurrencesFormat1, "SAFE_HEIGHT", packed, nil); err != nil || len(occ) == 0 {
			t.Fatalf("down: format 1 occurrences %v %v", occ, err)
		}

		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		after := readSymbolAnswers(t, db, versions, shas, extra...)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("answers differ across the conversion:\n%+v\n%+v", before, after)
		}
		drift()

		// Writes after the conversion: a new name gets an id of its
		// own; deleting the package that alone had GONE removes it.
		_, v5 := upload("", symbolSource(":C: BRAND_NEW=1\n"))
		if n := count(`SELECT COUNT(DISTINCT id) FROM symbol_names`); n != count(`SELECT COUNT(*) FROM symbol_names`) {
			t.Fatalf("symbol ids are not unique: %d", n)
		}
		occ, err := db.VersionSymbol(ctx, v5, "BRAND_NEW")
		if err != nil || len(occ) != 1 || occ[0].Name != "BRAND_NEW" {
			t.Fatalf("new name: %+v %v", occ, err)
		}
		// An analysis symbolFoldLag blocks past v5's folds v5's tail row
		// into the blocks as it is written.
		restart := `UPDATE sqlite_sequence SET seq = 999 WHERE name = 'analyses'`
		if db.Dialect == Postgres {
			restart = `ALTER TABLE analyses ALTER COLUMN id RESTART WITH 1000`
		}
		if _, err := db.SQL.ExecContext(ctx, restart); err != nil {
			t.Fatal(err)
		}
		_, v6 := upload("", symbolSource(":C: LATER_NAME=1\n"))
		if n := count(`SELECT COUNT(*) FROM symbol_index_tail`); n != 1 {
			t.Fatalf("%d tail rows after a write blocks later, want 1 (its own)", n)
		}
		for v, name := range map[string]string{v5: "BRAND_NEW", v6: "LATER_NAME"} {
			if occ, err := db.VersionSymbol(ctx, v, name); err != nil || len(occ) != 1 {
				t.Fatalf("%s after the fold: %+v %v", name, occ, err)
			}
		}
		drift()
		var gonePkg string
		if err := db.SQL.QueryRowContext(ctx, `SELECT package_id FROM package_versions WHERE id = $1`, v4).Scan(&gonePkg); err != nil {
			t.Fatal(err)
		}
		if err := db.DeletePackage(ctx, gonePkg); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM symbol_names WHERE canonical IN ('GONE', 'GONE_VAR')`); n != 0 {
			t.Fatal("a name no package and no analysis has is still counted")
		}
		if n := count(`SELECT COUNT(*) FROM symbol_names WHERE canonical = 'OLD_NAME' AND packages = 0`); n != 1 {
			t.Fatal("a name only an older version's analysis has lost its id")
		}
		drift()
		if strings.Contains(fmt.Sprint(after.Names), "OLD_NAME") {
			t.Fatal("the name list shows a name no package's latest version has")
		}

		// A name in more packages than symbolExactLimit is paged by
		// walking the packages newest first: the same packages as the
		// exact pages, newest first, each once, across chunk ends.
		exact, err := db.SymbolUsage(ctx, "SAFE_HEIGHT", 100, "")
		if err != nil || len(exact.Packages) < 3 {
			t.Fatalf("exact page: %+v %v", exact, err)
		}
		newest, err := queryStrings(ctx, db.SQL, `SELECT id FROM packages ORDER BY created_at DESC, id DESC`)
		if err != nil {
			t.Fatal(err)
		}
		defer func(n int) { symbolExactLimit = n }(symbolExactLimit)
		symbolExactLimit = 1
		var walked []string
		for cursor := ""; ; {
			page, err := db.SymbolUsage(ctx, "SAFE_HEIGHT", 1, cursor)
			if err != nil || len(page.Packages) != 1 || page.Total != exact.Total {
				t.Fatalf("walked page after %d: %+v %v", len(walked), page, err)
			}
			p := page.Packages[0]
			var want index.SymbolPackage
			for _, e := range exact.Packages {
				if e.PackageID == p.PackageID {
					want = e
				}
			}
			if !reflect.DeepEqual(p, want) {
				t.Fatalf("walked package %+v, exact page has %+v", p, want)
			}
			walked = append(walked, p.PackageID)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
			if _, err := db.SymbolUsage(ctx, "SAFE_HEIGHT", 1, encodeSymbolCursor(pkgKey{id: p.PackageID})); err != catalog.ErrBadCursor {
				t.Fatalf("an exact page's cursor on a walked name: %v", err)
			}
		}
		var order []string
		for _, id := range newest {
			if slices.Contains(walked, id) {
				order = append(order, id)
			}
		}
		if len(walked) != len(exact.Packages) || !reflect.DeepEqual(walked, order) {
			t.Fatalf("walked %v, want the exact page's %d packages newest first %v", walked, len(exact.Packages), order)
		}
	})
}
