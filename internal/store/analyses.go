package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

var (
	_ index.Writer = (*DB)(nil)
	_ index.Reader = (*DB)(nil)
)

const analysisScalars = `id, sha256, parser_version, reader, size, content_kind, encoding, line_ending, line_count,
	error_count, warning_count, info_count, control_family, system`

// StoredAnalyses implements index.Writer.
func (db *DB) StoredAnalyses(ctx context.Context, keys []index.ContentKey) (map[index.ContentKey]*analysis.File, error) {
	out := map[index.ContentKey]*analysis.File{}
	if len(keys) == 0 {
		return out, nil
	}
	shas := make([]string, len(keys))
	want := map[index.ContentKey]bool{}
	for i, k := range keys {
		shas[i] = k.SHA256
		want[k] = true
	}
	stored, err := db.analysisIDs(ctx, db.R, shas)
	if err != nil {
		return nil, err
	}
	ids := map[int64]index.ContentKey{}
	for k, id := range stored {
		if ck := (index.ContentKey{SHA256: k.sha256, Reader: k.reader}); k.parserVersion == analysis.ParserVersion && want[ck] {
			ids[id] = ck
		}
	}
	files, err := db.loadAnalyses(ctx, db.R, mapKeys(ids))
	if err != nil {
		return nil, err
	}
	for id, f := range files {
		out[ids[id]] = f
	}
	return out, nil
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// loadAnalyses returns the decoded analyses with these ids, from the cache
// or the database.
func (db *DB) loadAnalyses(ctx context.Context, q querier, ids []int64) (map[int64]*analysis.File, error) {
	out := map[int64]*analysis.File{}
	var missing []string
	for _, id := range ids {
		if f, ok := db.cache.files.GetIfPresent(id); ok {
			out[id] = f
		} else {
			missing = append(missing, fmt.Sprint(id))
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// ids are integers this code selected, so they can be inlined.
	rows, err := q.QueryContext(ctx, `SELECT `+analysisScalars+`, facts, display, tokens FROM analyses WHERE id IN (`+strings.Join(missing, ",")+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var f analysis.File
		var facts, display, tokens []byte
		if err := rows.Scan(&id, &f.SHA256, &f.ParserVersion, &f.Reader, &f.Size, &f.ContentKind, &f.Encoding, &f.LineEnding, &f.LineCount,
			&f.ErrorCount, &f.WarningCount, &f.InfoCount, &f.ControlFamily, &f.System, &facts, &display, &tokens); err != nil {
			return nil, err
		}
		if err := analysis.Unpack(&f, analysis.Packed{Facts: facts, Display: display, Tokens: tokens}); err != nil {
			return nil, fmt.Errorf("analysis %d: %w", id, err)
		}
		db.cache.files.Set(id, &f)
		out[id] = &f
	}
	return out, rows.Err()
}

// StoredResult implements index.Writer. Ingestion reads only the stored
// part (libraries, metadata, summary): the cross-file diagnostics of a
// result stored without them are not rebuilt here, and such a partial
// result is not cached.
func (db *DB) StoredResult(ctx context.Context, fileSet string) (*index.VersionResult, error) {
	var id int64
	err := db.R.QueryRowContext(ctx, `SELECT id FROM version_analyses WHERE fileset = $1`, fileSet).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if r, ok := db.cache.results.GetIfPresent(id); ok {
		return r, nil
	}
	r, rebuild, err := readResult(ctx, db.R, id)
	if err == nil && !rebuild {
		db.cache.results.Set(id, r)
	}
	return r, err
}

// storedResult is a version result as stored. Cross-file diagnostics are
// most of a result (hundreds per package, ~95% of its bytes) and are a
// function of the version's files, whose facts are stored per content:
// they are rebuilt on read (Rebuild) unless the package resolved against
// registry libraries (the registry may change; those keep them). Rows
// written before the marker existed hold their diagnostics.
type storedResult struct {
	Libraries   []analysis.Library `json:"libraries"`
	Diagnostics []upg.Diagnostic   `json:"diagnostics,omitempty"`
	Metadata    resolve.Metadata   `json:"metadata"`
	Summary     analysis.Summary   `json:"summary"`
	// Rebuild says the cross-file diagnostics are rebuilt from the
	// version's files on read.
	Rebuild bool `json:"rebuild_diagnostics,omitempty"`
}

// packResult encodes r for version_analyses. withRegistry says the package
// resolved against registry libraries.
func packResult(r *index.VersionResult, withRegistry bool) ([]byte, error) {
	s := storedResult{Libraries: r.Libraries, Metadata: r.Metadata, Summary: r.Summary, Rebuild: !withRegistry}
	if withRegistry {
		s.Diagnostics = r.Diagnostics
	}
	return analysis.PackJSON(s)
}

// readResult decodes a stored result; rebuild says its diagnostics are to
// be rebuilt (they are nil).
func readResult(ctx context.Context, q querier, id int64) (*index.VersionResult, bool, error) {
	var fileSet string
	var blob []byte
	err := q.QueryRowContext(ctx, `SELECT fileset, result FROM version_analyses WHERE id = $1`, id).Scan(&fileSet, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, catalog.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	var s storedResult
	if err := analysis.UnpackJSON(blob, &s); err != nil {
		return nil, false, fmt.Errorf("decoding the stored result %d: %w", id, err)
	}
	r := &index.VersionResult{FileSet: fileSet, Libraries: s.Libraries, Diagnostics: s.Diagnostics, Metadata: s.Metadata, Summary: s.Summary}
	if r.Diagnostics == nil && !s.Rebuild {
		r.Diagnostics = []upg.Diagnostic{}
	}
	return r, s.Rebuild, nil
}

// rebuildDiagnostics fills r's cross-file diagnostics by resolving the
// version's files (name → stored analysis id, in name order, as ingestion
// resolved them) from their stored facts; nothing is parsed.
func (db *DB) rebuildDiagnostics(ctx context.Context, r *index.VersionResult, files []namedAnalysis) error {
	ids := make([]int64, len(files))
	for i, f := range files {
		ids[i] = f.id
	}
	loaded, err := db.loadAnalyses(ctx, db.R, ids)
	if err != nil {
		return err
	}
	named := make([]analysis.Named, len(files))
	for i, f := range files {
		a := loaded[f.id]
		if a == nil {
			return fmt.Errorf("rebuilding the diagnostics of result %s: the analysis of %s is gone", r.FileSet, f.name)
		}
		named[i] = analysis.Named{Name: f.name, File: a}
	}
	r.Diagnostics = analysis.Resolve(named).Diagnostics
	return nil
}

// namedAnalysis is a file of a version: its name and stored analysis.
type namedAnalysis struct {
	name string
	id   int64
}

// SaveAnalysis implements index.Writer. File analyses not stored yet are
// stored (with their symbol index rows); those stored before are only
// referenced. The package result is stored once per file set. The version
// moves to a.Status in the same transaction; afterwards analyses and
// results nothing uses any more (after a re-analysis) are removed.
func (db *DB) SaveAnalysis(ctx context.Context, a index.VersionAnalysis) error {
	return db.SaveAnalysisThen(ctx, a, nil)
}

// SaveAnalysisThen is SaveAnalysis with then (when not nil) run inside its
// transaction, after the version's status has moved: the wiring queues the
// version's follow-up jobs with it, so they commit with the status or not
// at all.
func (db *DB) SaveAnalysisThen(ctx context.Context, a index.VersionAnalysis, then func(*sql.Tx) error) error {
	if !validID(a.VersionID) {
		return catalog.ErrNotFound
	}
	// New analyses are encoded before the transaction so the writer is not
	// held while compressing; stored ones are only referenced.
	packed, err := packNew(a.Files)
	if err != nil {
		return err
	}
	regPacked, err := packNew(a.Registry)
	if err != nil {
		return err
	}
	var result []byte
	if !a.ResultStored {
		if result, err = packResult(a.Result, len(a.Registry) > 0); err != nil {
			return err
		}
	}
	from := a.Status.From()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		// Lock order (see lockPackage): the package's row, then the
		// contents, then the rows below. Taking the package first keeps
		// this from deadlocking with an upload of the package's next
		// version, which locks the package and then rewrites the
		// latest_files rows this transaction updates.
		var packageID string
		if err := tx.QueryRowContext(ctx, `SELECT package_id FROM package_versions WHERE id = $1`, a.VersionID).Scan(&packageID); errors.Is(err, sql.ErrNoRows) {
			return catalog.ErrNotFound // deleted meanwhile
		} else if err != nil {
			return err
		}
		if err := db.lockPackage(ctx, tx, packageID); err != nil {
			return err
		}
		all := append(append([]index.AnalysedFile(nil), a.Files...), a.Registry...)
		shas := make([]string, 0, len(all))
		for _, f := range all {
			shas = append(shas, f.SHA256)
		}
		// The version's rows stay as they are under the package's lock.
		oldFiles, err := queryInts(ctx, tx, `SELECT analysis_id FROM files WHERE version_id = $1 AND analysis_id IS NOT NULL`, a.VersionID)
		if err != nil {
			return err
		}
		oldResults, err := queryInts(ctx, tx, `SELECT analysis_id FROM package_versions WHERE id = $1 AND analysis_id IS NOT NULL`, a.VersionID)
		if err != nil {
			return err
		}
		// The analyses stored before (most of a package: its shared
		// libraries, or all of a re-upload) are found in one query.
		known, err := db.analysisIDs(ctx, tx, shas)
		if err != nil {
			return err
		}
		// A content whose analysis is stored is only referred to here: a
		// shared lock keeps a deletion from pruning it, and lets packages
		// that share a library be analysed side by side. New contents, and
		// all of a re-analysis (its old analyses may be pruned), are
		// locked exclusively.
		// (A content read two ways, by files of two kinds, is shared only
		// when both of its analyses are stored.)
		var shared map[string]bool
		if len(oldFiles) == 0 && len(oldResults) == 0 {
			shared = map[string]bool{}
			for _, f := range all {
				if _, ok := known[keyOf(f.File)]; ok {
					shared[f.SHA256] = true
				}
			}
			for _, f := range all {
				if _, ok := known[keyOf(f.File)]; !ok {
					delete(shared, f.SHA256)
				}
			}
		}
		if err := db.lockContentsShared(ctx, tx, shas, shared); err != nil {
			return err
		}
		if db.Dialect == Postgres {
			// Looked up again under the locks: another ingestion may have
			// stored a new content's analysis while this one waited for
			// its lock, and one found before may have been pruned in
			// between (it must not be written under a shared lock).
			if known, err = db.analysisIDs(ctx, tx, shas); err != nil {
				return err
			}
			for _, f := range all {
				if _, ok := known[keyOf(f.File)]; !ok && shared[f.SHA256] {
					return errLockAgain
				}
			}
		}
		ids := make([]int64, len(a.Files))
		var symbols newSymbols // the new analyses' symbol index entries
		for i, f := range a.Files {
			if ids[i], err = db.storeFileAnalysis(ctx, tx, known, f.File, packed[i], &symbols); err != nil {
				return fmt.Errorf("storing the analysis of %s: %w", f.Name, err)
			}
		}
		for i, f := range a.Registry {
			if _, err := db.storeFileAnalysis(ctx, tx, known, f.File, regPacked[i], &symbols); err != nil {
				return fmt.Errorf("storing the analysis of the registry's %s: %w", f.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM version_library_needs WHERE version_id = $1`, a.VersionID); err != nil {
			return err
		}
		for _, n := range a.Needs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO version_library_needs (version_id, name_key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, a.VersionID, n); err != nil {
				return err
			}
		}
		resultID, err := db.storeResult(ctx, tx, a.Result, len(a.Registry) > 0, result)
		if err != nil {
			return err
		}
		oldLatest, err := latestAnalyses(ctx, tx, packageID)
		if err != nil {
			return err
		}
		isLatest, err := db.linkFiles(ctx, tx, packageID, a.VersionID, a.Files, ids)
		if err != nil {
			return err
		}
		s := a.Result.Summary
		ph, args := inList(10, statusStrings(from))
		res, err := tx.ExecContext(ctx, `UPDATE package_versions SET status = $2, parser_version = $3, analysis_id = $4,
			section_count = $5, error_count = $6, warning_count = $7, info_count = $8, error_message = '', error_detail = '', updated_at = $9
			WHERE id = $1 AND status IN (`+ph+`)`,
			append([]any{a.VersionID, string(a.Status), analysis.ParserVersion, resultID, s.Sections, s.Errors, s.Warnings, s.Infos, now()}, args...)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM package_versions WHERE id = $1`, a.VersionID).Scan(&status); errors.Is(err, sql.ErrNoRows) {
				return catalog.ErrNotFound // deleted meanwhile
			}
			return catalog.ErrStatusConflict
		}
		m := a.Result.Metadata
		// Metadata from the source fills the package unless a person has
		// edited it, and only for the package's latest version.
		if _, err := tx.ExecContext(ctx, `UPDATE packages SET
				machine_type = CASE WHEN metadata_edited THEN machine_type ELSE $2 END,
				controller_type = CASE WHEN metadata_edited THEN controller_type ELSE $3 END,
				system = $4, control_family = $5
			WHERE id = (SELECT package_id FROM package_versions WHERE id = $1)
			AND latest_version = (SELECT number FROM package_versions WHERE id = $1)`,
			a.VersionID, m.MachineName, m.ControllerType, m.System, m.ControlFamily); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx); err != nil {
				return err
			}
		}
		// Near the end (before the old analyses may go, and their names
		// with them): the newest blocks are shared by every new content.
		if err := db.writeSymbols(ctx, tx, &symbols); err != nil {
			return fmt.Errorf("adding to the symbol index: %w", err)
		}
		if isLatest {
			// Last (before the old analyses may go): the counter rows are
			// shared by every package, so they are locked for as short a
			// time as the transaction allows.
			nowLatest, err := latestAnalyses(ctx, tx, packageID)
			if err != nil {
				return err
			}
			known := make(map[int64]*analysis.File, len(ids))
			for i, f := range a.Files {
				known[ids[i]] = f.File
			}
			if err := db.moveSymbols(ctx, tx, oldLatest, nowLatest, known); err != nil {
				return err
			}
		}
		return db.pruneAnalyses(ctx, tx, oldFiles, oldResults)
	})
}

// packNew encodes the analyses that were not read from the store.
func packNew(files []index.AnalysedFile) ([]*analysis.Packed, error) {
	out := make([]*analysis.Packed, len(files))
	for i, f := range files {
		if f.Stored {
			continue
		}
		p, err := analysis.Pack(f.File)
		if err != nil {
			return nil, err
		}
		out[i] = &p
	}
	return out, nil
}

// analysisKey identifies a stored analysis (the analyses table's unique key).
type analysisKey struct{ sha256, parserVersion, reader string }

func keyOf(f *analysis.File) analysisKey { return analysisKey{f.SHA256, f.ParserVersion, f.Reader} }

// analysisIDs finds the stored analyses of these contents (by every
// parser version and reader), in one query.
func (db *DB) analysisIDs(ctx context.Context, q querier, shas []string) (map[analysisKey]int64, error) {
	out := make(map[analysisKey]int64, len(shas))
	if len(shas) == 0 {
		return out, nil
	}
	list, arg := db.stringsArg(shas, 1)
	rows, err := q.QueryContext(ctx, `SELECT id, sha256, parser_version, reader FROM analyses WHERE sha256 IN `+list, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k analysisKey
		if err := rows.Scan(&id, &k.sha256, &k.parserVersion, &k.reader); err != nil {
			return nil, err
		}
		out[k] = id
	}
	return out, rows.Err()
}

// linkFiles points a version's file rows, and the package's latest files
// among them, at their analyses: one statement each. It reports whether
// the files are the package's latest.
func (db *DB) linkFiles(ctx context.Context, tx *sql.Tx, packageID, versionID string, files []index.AnalysedFile, ids []int64) (isLatest bool, err error) {
	if len(files) == 0 {
		return false, nil
	}
	var source string
	var args []any
	if db.Dialect == SQLite {
		rows := make([][5]any, len(files))
		for i, f := range files {
			rows[i] = [5]any{f.FileID, ids[i], f.LineCount, f.ContentKind, f.Encoding}
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return false, err
		}
		source = `(SELECT value ->> 0 AS id, value ->> 1 AS analysis_id, value ->> 2 AS line_count, value ->> 3 AS content_kind,
			value ->> 4 AS encoding FROM json_each($1)) AS t`
		args = []any{string(b)}
	} else {
		fileIDs, lines := make([]string, len(files)), make([]int64, len(files))
		kinds, encodings := make([]string, len(files)), make([]string, len(files))
		for i, f := range files {
			fileIDs[i], lines[i], kinds[i], encodings[i] = f.FileID, int64(f.LineCount), f.ContentKind, f.Encoding
		}
		source = `unnest($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::text[]) AS t(id, analysis_id, line_count, content_kind, encoding)`
		args = []any{fileIDs, ids, lines, kinds, encodings}
	}
	// By the version's key: files have no index by id alone.
	if _, err := tx.ExecContext(ctx, `UPDATE files SET analysis_id = t.analysis_id, line_count = t.line_count,
			content_kind = t.content_kind, encoding = t.encoding
		FROM `+source+` WHERE files.version_id = $`+strconv.Itoa(len(args)+1)+` AND files.id = t.id`, append(args, versionID)...); err != nil {
		return false, err
	}
	// By the package's key: latest_files has no index by file alone, and
	// without it both engines read every package's rows.
	res, err := tx.ExecContext(ctx, `UPDATE latest_files SET analysis_id = t.analysis_id FROM `+source+`
		WHERE latest_files.package_id = $`+strconv.Itoa(len(args)+1)+` AND latest_files.file_id = t.id`, append(args, packageID)...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// storeFileAnalysis returns the id of f's stored analysis (from known, the
// stored ones), storing it (and its symbol index rows) when it is not
// there yet (its symbol index entries go to ns). p is nil for an analysis read from the store; should it have
// been pruned since, it is encoded here.
func (db *DB) storeFileAnalysis(ctx context.Context, tx *sql.Tx, known map[analysisKey]int64, f *analysis.File, p *analysis.Packed, ns *newSymbols) (int64, error) {
	if id, ok := known[keyOf(f)]; ok {
		return id, nil
	}
	var id int64
	if p == nil {
		packed, err := analysis.Pack(f)
		if err != nil {
			return 0, err
		}
		p = &packed
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO analyses (sha256, parser_version, reader, size, content_kind, encoding, line_ending, line_count,
			error_count, warning_count, info_count, control_family, system, facts, display, tokens, sections, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
		f.SHA256, f.ParserVersion, f.Reader, f.Size, f.ContentKind, f.Encoding, f.LineEnding, f.LineCount,
		f.ErrorCount, f.WarningCount, f.InfoCount, f.ControlFamily, f.System, p.Facts, nullBytes(p.Display), nullBytes(p.Tokens),
		nil, now()).Scan(&id) // sections: read from the facts since 00141 (restoreSymbolOccurrences refills the column going down)
	if err != nil {
		return 0, err
	}
	known[keyOf(f)] = id // a content two files hold is stored once
	ns.add(id, f.Symbols())
	return id, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (db *DB) storeResult(ctx context.Context, tx *sql.Tx, r *index.VersionResult, withRegistry bool, blob []byte) (int64, error) {
	fileSet := r.FileSet
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM version_analyses WHERE fileset = $1`, fileSet).Scan(&id)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	if blob == nil { // read from the store, pruned since: encode it again
		if blob, err = packResult(r, withRegistry); err != nil {
			return 0, err
		}
	}
	// Two versions with the same files may be saved at once (their
	// contents locked shared): the second finds the first's row.
	err = tx.QueryRowContext(ctx, `INSERT INTO version_analyses (fileset, parser_version, result, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (fileset) DO NOTHING RETURNING id`,
		fileSet, analysis.ParserVersion, blob, now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `SELECT id FROM version_analyses WHERE fileset = $1`, fileSet).Scan(&id)
	}
	return id, err
}

// pruneAnalyses removes the file analyses (with their symbol index rows)
// and package results among these ids that no file and no version uses any
// more.
func (db *DB) pruneAnalyses(ctx context.Context, tx *sql.Tx, files, results []int64) error {
	for _, id := range files {
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE analysis_id = $1)`, id).Scan(&used); err != nil {
			return err
		}
		if used {
			continue
		}
		loaded, err := db.loadAnalyses(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		if f := loaded[id]; f != nil {
			// The analysis lists its names: its symbol rows go by primary key.
			if err := db.deleteSymbols(ctx, tx, id, f.Symbols()); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM analyses WHERE id = $1`, id); err != nil {
			return err
		}
		db.cache.files.Invalidate(id)
	}
	for _, id := range results {
		if _, err := tx.ExecContext(ctx, `DELETE FROM version_analyses WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM package_versions WHERE analysis_id = $1)`, id); err != nil {
			return err
		}
	}
	return nil
}

// AnalysedFiles implements index.Reader.
func (db *DB) AnalysedFiles(ctx context.Context, versionID string) ([]index.StoredFile, error) {
	if !validID(versionID) {
		return []index.StoredFile{}, nil
	}
	rows, err := db.R.QueryContext(ctx, `SELECT `+db.fileColumns()+`, f.analysis_id`+fileFrom+` WHERE f.version_id = $1 ORDER BY f.filename`, versionID)
	if err != nil {
		return nil, err
	}
	out := []index.StoredFile{}
	aids := map[int]int64{}
	for rows.Next() {
		var aid sql.NullInt64
		f, err := scanFile(withExtra{rows, []any{&aid}})
		if err != nil {
			rows.Close()
			return nil, err
		}
		if aid.Valid {
			aids[len(out)] = aid.Int64
		}
		out = append(out, index.StoredFile{File: f})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, err := db.loadAnalyses(ctx, db.R, mapValues(aids))
	if err != nil {
		return nil, err
	}
	for i, id := range aids {
		out[i].Analysis = files[id]
	}
	return out, nil
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Result implements index.Reader. The version's file rows are read in the
// same statement as its result's id, so a result whose diagnostics are
// rebuilt is rebuilt from the files it was made of.
func (db *DB) Result(ctx context.Context, versionID string) (*index.VersionResult, error) {
	if !validID(versionID) {
		return nil, catalog.ErrNotFound
	}
	rows, err := db.R.QueryContext(ctx, `SELECT v.analysis_id, f.filename, f.analysis_id FROM package_versions v
		LEFT JOIN files f ON f.version_id = v.id WHERE v.id = $1 ORDER BY f.filename`, versionID)
	if err != nil {
		return nil, err
	}
	var id sql.NullInt64
	var files []namedAnalysis
	found := false
	for rows.Next() {
		var name sql.NullString
		var aid sql.NullInt64
		if err := rows.Scan(&id, &name, &aid); err != nil {
			rows.Close()
			return nil, err
		}
		found = true
		if name.Valid {
			files = append(files, namedAnalysis{name: name.String, id: aid.Int64})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found || !id.Valid {
		return nil, catalog.ErrNotFound
	}
	if r, ok := db.cache.results.GetIfPresent(id.Int64); ok {
		return r, nil
	}
	r, rebuild, err := readResult(ctx, db.R, id.Int64)
	if err != nil {
		return nil, err
	}
	if rebuild {
		if err := db.rebuildDiagnostics(ctx, r, files); err != nil {
			return nil, err
		}
	}
	db.cache.results.Set(id.Int64, r)
	return r, nil
}
