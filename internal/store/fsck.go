package store

import (
	"context"
	"database/sql"
	"sort"

	"github.com/veripost/veripost/internal/analysis"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/fsck"
)

var _ fsck.Source = (*DB)(nil)

// EachFile implements fsck.Source.
func (db *DB) EachFile(ctx context.Context, fn func(fsck.FileRow) error) error {
	rows, err := db.R.QueryContext(ctx, `SELECT f.id, f.version_id, v.package_id, f.filename, `+db.shaText("f.sha256")+`, f.size
		FROM files f JOIN package_versions v ON v.id = f.version_id ORDER BY f.sha256`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f fsck.FileRow
		if err := rows.Scan(&f.ID, &f.VersionID, &f.PackageID, &f.Filename, &f.SHA256, &f.Size); err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Versions implements fsck.Source.
func (db *DB) Versions(ctx context.Context) ([]fsck.VersionRow, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT id, package_id, number, status, parser_version, analysis_id IS NOT NULL, job_id, updated_at
		FROM package_versions ORDER BY package_id, number`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fsck.VersionRow
	for rows.Next() {
		var v fsck.VersionRow
		var status string
		if err := rows.Scan(&v.ID, &v.PackageID, &v.Number, &status, &v.ParserVersion, &v.Analysed, &v.JobID, &v.UpdatedAt); err != nil {
			return nil, err
		}
		v.Status = catalog.Status(status)
		out = append(out, v)
	}
	return out, rows.Err()
}

// LibraryCounterDrift implements fsck.Source. The latest files are counted
// here, by analysis.NameKey of their names (latest_files stores no key).
func (db *DB) LibraryCounterDrift(ctx context.Context) ([]string, error) {
	kinds, args := inList(1, stringsOf(libraryKinds))
	rows, err := db.R.QueryContext(ctx, `SELECT filename, package_id, `+db.shaText("sha256")+` FROM latest_files WHERE kind IN (`+kinds+`)`, args...)
	if err != nil {
		return nil, err
	}
	type count struct{ packages, variants map[string]bool }
	actual := map[string]count{}
	for rows.Next() {
		var name, pkg, sha string
		if err := rows.Scan(&name, &pkg, &sha); err != nil {
			rows.Close()
			return nil, err
		}
		key := analysis.NameKey(name)
		c, ok := actual[key]
		if !ok {
			c = count{map[string]bool{}, map[string]bool{}}
			actual[key] = c
		}
		c.packages[pkg], c.variants[sha] = true, true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.R.QueryContext(ctx, `SELECT name_key, packages, variants FROM library_names`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	drift := map[string]bool{}
	counted := map[string]bool{}
	for rows.Next() {
		var key string
		var packages, variants int
		if err := rows.Scan(&key, &packages, &variants); err != nil {
			return nil, err
		}
		counted[key] = true
		if c, ok := actual[key]; !ok || len(c.packages) != packages || len(c.variants) != variants {
			drift[key] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for key := range actual {
		if !counted[key] {
			drift[key] = true
		}
	}
	out := make([]string, 0, len(drift))
	for key := range drift {
		out = append(out, key)
	}
	sort.Strings(out)
	return out, nil
}

func stringsOf[S ~string](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// SymbolCounterDrift implements fsck.Source: the names whose counters
// (symbol_names) differ from a count of the latest files' symbols. It reads
// the whole symbol index: a check, not a page.
func (db *DB) SymbolCounterDrift(ctx context.Context) ([]string, error) {
	// The latest files of each analysis (a content two files hold counts
	// twice, as the pages count files).
	rows, err := db.R.QueryContext(ctx, `SELECT analysis_id, package_id FROM latest_files WHERE analysis_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	latest := map[int64][]string{}
	for rows.Next() {
		var aid int64
		var pkg string
		if err := rows.Scan(&aid, &pkg); err != nil {
			rows.Close()
			return nil, err
		}
		latest[aid] = append(latest[aid], pkg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	type count struct {
		packages   map[string]bool
		defs, uses int64
	}
	actual := map[int64]*count{}
	indexed := map[int64]bool{}
	if err := eachSymbolIndexEntry(ctx, db.R, func(symbol int64, e symbolEntry) error {
		indexed[symbol] = true
		pkgs := latest[e.analysis]
		if len(pkgs) == 0 {
			return nil
		}
		c := actual[symbol]
		if c == nil {
			c = &count{packages: map[string]bool{}}
			actual[symbol] = c
		}
		for _, p := range pkgs {
			c.packages[p] = true
			c.defs += int64(e.defs)
			c.uses += int64(e.uses)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// A name no latest file has keeps a row with zero counts while an
	// analysis has it (see symbol_index.go); a row with none is a leftover.
	rows, err = db.R.QueryContext(ctx, `SELECT id, canonical, packages, definitions, uses FROM symbol_names ORDER BY canonical`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, packages, defs, uses int64
		var name string
		if err := rows.Scan(&id, &name, &packages, &defs, &uses); err != nil {
			return nil, err
		}
		c := actual[id]
		if c == nil {
			if packages != 0 || defs != 0 || uses != 0 || !indexed[id] {
				out = append(out, name)
			}
		} else if packages != int64(len(c.packages)) || defs != c.defs || uses != c.uses {
			out = append(out, name)
		}
	}
	return out, rows.Err()
}

// UnusedSearchEntries implements fsck.Source: search documents of contents
// no file holds any more, and file-set entries no version points at. A
// package deletion removes both in its own transaction; they are left
// behind only when a reindex races a deletion.
func (db *DB) UnusedSearchEntries(ctx context.Context) (fsck.SearchLeftovers, error) {
	var u fsck.SearchLeftovers
	var err error
	if u.Contents, err = queryStrings(ctx, db.R, `SELECT DISTINCT d.sha256 FROM search_docs d
		WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = `+db.shaParam("d.sha256")+`) ORDER BY 1`); err != nil {
		return u, err
	}
	u.FileSets, err = queryInts(ctx, db.R, `SELECT s.id FROM search_filesets s
		WHERE NOT EXISTS (SELECT 1 FROM search_versions v WHERE v.fileset_id = s.id) ORDER BY 1`)
	return u, err
}

// RemoveUnusedSearchEntries removes what UnusedSearchEntries found, the way
// a package deletion does (content locks first; each entry is checked
// again inside the transaction, so one that came back into use stays).
func (db *DB) RemoveUnusedSearchEntries(ctx context.Context, u fsck.SearchLeftovers) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockContents(ctx, tx, u.Contents); err != nil {
			return err
		}
		if err := db.gcFileSets(ctx, tx, u.FileSets); err != nil {
			return err
		}
		return db.pruneSearchContents(ctx, tx, u.Contents)
	})
}
