package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

// VersionOutline lists a version's files with their parse summaries and
// outlines, in file name order.
func (db *DB) VersionOutline(ctx context.Context, versionID string) ([]index.FileOutline, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT f.id, f.filename, f.extension, f.sha256,
			COALESCE(fp.kind, ''), COALESCE(fp.line_count, f.line_count), COALESCE(fp.error_count, 0), COALESCE(fp.warning_count, 0), fp.outline
		FROM files f
		JOIN package_versions v ON v.id = f.version_id
		LEFT JOIN file_parses fp ON fp.sha256 = f.sha256 AND fp.parser_version = v.parser_version
		WHERE f.version_id = $1 ORDER BY f.filename`, versionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []index.FileOutline{}
	for rows.Next() {
		var o index.FileOutline
		var outline sql.NullString
		if err := rows.Scan(&o.FileID, &o.Filename, &o.Extension, &o.SHA256, &o.Kind, &o.LineCount, &o.ErrorCount, &o.WarningCount, &outline); err != nil {
			return nil, err
		}
		if outline.Valid {
			o.Outline = []byte(outline.String)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// VersionLibraries lists how a version's includes resolved.
func (db *DB) VersionLibraries(ctx context.Context, versionID string) ([]index.LibraryUse, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT vl.file_id, f.filename, vl.declared_path, vl.line,
			COALESCE(CAST(vl.resolved_file_id AS TEXT), ''), vl.resolved_name, vl.resolved_sha256, vl.how
		FROM version_libraries vl JOIN files f ON f.id = vl.file_id
		WHERE vl.version_id = $1 ORDER BY vl.ord`, versionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []index.LibraryUse{}
	for rows.Next() {
		var l index.LibraryUse
		if err := rows.Scan(&l.FileID, &l.Filename, &l.DeclaredPath, &l.Line, &l.ResolvedFileID, &l.ResolvedName, &l.ResolvedSHA256, &l.How); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// VersionDiagnostics lists a version's diagnostics, parser ones by file
// then resolver ones, optionally only one severity and/or one file.
func (db *DB) VersionDiagnostics(ctx context.Context, versionID, severity, fileID string) ([]index.DiagnosticRow, error) {
	args := []any{versionID}
	filter := ""
	if severity != "" {
		args = append(args, severity)
		filter += fmt.Sprintf(" AND d.severity = $%d", len(args))
	}
	if fileID != "" {
		if !validID(fileID) {
			return []index.DiagnosticRow{}, nil
		}
		args = append(args, fileID)
		filter += fmt.Sprintf(" AND f.id = $%d", len(args))
	}
	q := `SELECT f.id, f.filename, 'parser', d.code, d.severity, d.message, d.line, d.col, 0, d.ord
		FROM files f
		JOIN package_versions v ON v.id = f.version_id
		JOIN file_diagnostics d ON d.sha256 = f.sha256 AND d.parser_version = v.parser_version
		WHERE f.version_id = $1` + filter + `
		UNION ALL
		SELECT COALESCE(f.id, d.file_id), COALESCE(f.filename, ''), 'resolver', d.code, d.severity, d.message, d.line, d.col, 1, d.ord
		FROM version_diagnostics d LEFT JOIN files f ON f.id = d.file_id
		WHERE d.version_id = $1` + filter + `
		ORDER BY 9, 2, 7, 8, 10`
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []index.DiagnosticRow{}
	for rows.Next() {
		var d index.DiagnosticRow
		var fid sql.NullString
		var group, ord int
		if err := rows.Scan(&fid, &d.Filename, &d.Source, &d.Code, &d.Severity, &d.Message, &d.Line, &d.Col, &group, &ord); err != nil {
			return nil, err
		}
		d.FileID = fid.String
		out = append(out, d)
	}
	return out, rows.Err()
}

// latestVersions joins package_versions v to the packages whose latest
// version it is.
const latestVersions = ` JOIN package_versions v ON v.id = f.version_id
	JOIN packages p ON p.id = v.package_id AND p.latest_version = v.number `

// SymbolUsage finds a symbol's definitions and references in the latest
// version of every package, grouped by package, newest package first,
// paginated by package (cursor = offset of packages).
func (db *DB) SymbolUsage(ctx context.Context, canonical string, limit, offset int) ([]index.SymbolPackage, int, error) {
	limit = min(max(limit, 1), 100)
	var total int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(DISTINCT p.id) FROM file_symbols s
		JOIN files f ON f.sha256 = s.sha256`+latestVersions+`AND v.parser_version = s.parser_version
		WHERE s.canonical = $1`, canonical).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT p.id, p.name, v.number,
			SUM(CASE WHEN s.role = 'definition' THEN 1 ELSE 0 END), SUM(CASE WHEN s.role = 'definition' THEN 0 ELSE 1 END)
		FROM file_symbols s JOIN files f ON f.sha256 = s.sha256`+latestVersions+`AND v.parser_version = s.parser_version
		WHERE s.canonical = $1
		GROUP BY p.id, p.name, v.number, p.created_at
		ORDER BY p.created_at DESC, p.id DESC LIMIT $2 OFFSET $3`, canonical, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	var pkgs []index.SymbolPackage
	pos := map[string]int{}
	for rows.Next() {
		var sp index.SymbolPackage
		if err := rows.Scan(&sp.PackageID, &sp.PackageName, &sp.Version, &sp.Definitions, &sp.References); err != nil {
			rows.Close()
			return nil, 0, err
		}
		pos[sp.PackageID] = len(pkgs)
		sp.Occurrences = []index.SymbolOccurrence{}
		pkgs = append(pkgs, sp)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(pkgs) == 0 {
		return []index.SymbolPackage{}, total, err
	}
	ph, args := inList(2, keysOf(pos))
	rows, err = db.SQL.QueryContext(ctx, `SELECT p.id, f.id, f.filename, s.name, s.canonical, s.kind, s.role, s.context, s.line, s.col, s.section
		FROM file_symbols s JOIN files f ON f.sha256 = s.sha256`+latestVersions+`AND v.parser_version = s.parser_version
		WHERE s.canonical = $1 AND p.id IN (`+ph+`)
		ORDER BY f.filename, s.line, s.col`, append([]any{canonical}, args...)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid string
		var o index.SymbolOccurrence
		if err := rows.Scan(&pid, &o.FileID, &o.Filename, &o.Name, &o.Canonical, &o.Kind, &o.Role, &o.Context, &o.Line, &o.Col, &o.Section); err != nil {
			return nil, 0, err
		}
		i := pos[pid]
		pkgs[i].Occurrences = append(pkgs[i].Occurrences, o)
	}
	return pkgs, total, rows.Err()
}

func keysOf(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// inList returns "$n,$n+1,…" placeholders starting at first, and the args.
func inList(first int, values []string) (string, []any) {
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i] = fmt.Sprintf("$%d", first+i)
		args[i] = v
	}
	return strings.Join(ph, ","), args
}

// LibraryPackages lists the packages whose latest version includes a
// library with exactly this content.
func (db *DB) LibraryPackages(ctx context.Context, sha string) ([]index.PackageRef, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT DISTINCT p.id, p.name, v.number, f.id, f.filename, p.created_at
		FROM version_libraries vl
		JOIN files f ON f.id = vl.resolved_file_id`+latestVersions+`
		WHERE vl.resolved_sha256 = $1 AND vl.version_id = v.id
		ORDER BY p.created_at DESC, p.id`, strings.ToLower(sha))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []index.PackageRef{}
	for rows.Next() {
		var r index.PackageRef
		var created any
		if err := rows.Scan(&r.PackageID, &r.PackageName, &r.Version, &r.FileID, &r.Filename, &created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LibraryVariants lists the distinct contents of files with this name
// (case-insensitive) across the latest versions, most used first.
func (db *DB) LibraryVariants(ctx context.Context, name string) ([]index.LibraryVariant, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT f.sha256, MAX(f.size), COUNT(DISTINCT p.id)
		FROM files f`+latestVersions+`
		WHERE UPPER(f.filename) = UPPER($1)
		GROUP BY f.sha256 ORDER BY 3 DESC, 1`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []index.LibraryVariant{}
	for rows.Next() {
		var v index.LibraryVariant
		if err := rows.Scan(&v.SHA256, &v.Size, &v.Packages); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VersionsToReindex lists versions not yet indexed by parserVersion,
// ready ones only (others are still being ingested or failed for a
// system reason), oldest first.
func (db *DB) VersionsToReindex(ctx context.Context, parserVersion string) ([]string, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id FROM package_versions
		WHERE parser_version <> $1 AND status = $2 ORDER BY uploaded_at, id`, parserVersion, string(catalog.StatusReady))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// IndexProgress counts versions indexed by parserVersion among those that
// are ready or being (re)indexed.
func (db *DB) IndexProgress(ctx context.Context, parserVersion string) (done, total int, err error) {
	err = db.SQL.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN parser_version = $1 THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM package_versions WHERE status <> $2`, parserVersion, string(catalog.StatusError)).Scan(&done, &total)
	return done, total, err
}
