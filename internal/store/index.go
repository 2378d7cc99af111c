package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

var _ index.Repository = (*DB)(nil)

// HasFileResult implements index.Repository.
func (db *DB) HasFileResult(ctx context.Context, sha, parserVersion string) (bool, error) {
	var ok bool
	err := db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM file_parses WHERE sha256 = $1 AND parser_version = $2)`,
		sha, parserVersion).Scan(&ok)
	return ok, err
}

// SaveVersion implements index.Repository. File results already present
// for (sha256, parser version) are kept as they are; the version's own rows
// are replaced, so saving twice leaves the same rows. The version is marked
// ready in the same transaction.
func (db *DB) SaveVersion(ctx context.Context, files []index.FileResult, v index.VersionResult) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		// Hold each content's lock so a concurrent delete cannot remove
		// parse rows this version is about to rely on.
		for _, sha := range sortedSHAs(files) {
			if err := db.lockContent(ctx, tx, sha); err != nil {
				return err
			}
		}
		errors, warnings := 0, 0
		for _, f := range files {
			if err := db.saveFile(ctx, tx, f); err != nil {
				return fmt.Errorf("saving parse of %s: %w", f.SHA256, err)
			}
			errors += f.ErrorCount
			warnings += f.WarningCount
		}
		for _, table := range []string{"version_libraries", "version_diagnostics"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE version_id = $1`, v.VersionID); err != nil {
				return err
			}
		}
		libs := make([][]any, len(v.Libraries))
		for i, l := range v.Libraries {
			libs[i] = []any{v.VersionID, i, l.FileID, l.DeclaredPath, l.Line, nullable(l.ResolvedFileID), l.ResolvedName, l.ResolvedSHA256, l.How}
		}
		if err := insertRows(ctx, tx, "version_libraries",
			"version_id, ord, file_id, declared_path, line, resolved_file_id, resolved_name, resolved_sha256, how", libs); err != nil {
			return err
		}
		diags := make([][]any, len(v.Diagnostics))
		for i, d := range v.Diagnostics {
			diags[i] = []any{v.VersionID, i, nullable(d.FileID), d.Code, d.Severity, d.Message, d.Line, d.Col}
			switch d.Severity {
			case index.SeverityError:
				errors++
			case index.SeverityWarning:
				warnings++
			}
		}
		if err := insertRows(ctx, tx, "version_diagnostics",
			"version_id, ord, file_id, code, severity, message, line, col", diags); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE package_versions SET parser_version = $2, section_count = $3,
			error_count = $4, warning_count = $5, status = $6, error_message = '', error_detail = '', updated_at = $7
			WHERE id = $1`,
			v.VersionID, v.ParserVersion, v.SectionCount, errors, warnings, string(catalog.StatusReady), now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.ErrNotFound // deleted meanwhile
		}
		// After a reindex, parse rows of an older parser version go as soon
		// as no version uses them any more.
		if err := pruneStale(ctx, tx, sortedSHAs(files), v.ParserVersion); err != nil {
			return err
		}
		m := v.Metadata
		// Metadata from the source fills the package unless a person has
		// edited it, and only for the package's latest version.
		if _, err := tx.ExecContext(ctx, `UPDATE packages SET
				machine_type = CASE WHEN metadata_edited THEN machine_type ELSE $2 END,
				controller_type = CASE WHEN metadata_edited THEN controller_type ELSE $3 END,
				system = $4, control_family = $5
			WHERE id = (SELECT package_id FROM package_versions WHERE id = $1)
			AND latest_version = (SELECT number FROM package_versions WHERE id = $1)`,
			v.VersionID, m.MachineName, m.ControllerType, m.System, m.ControlFamily); err != nil {
			return err
		}
		return nil
	})
}

// fileTables are the per-content parse tables, children first.
var fileTables = []string{"file_sections", "file_attributes", "file_symbols", "file_diagnostics", "file_includes", "file_parses"}

func pruneStale(ctx context.Context, tx *sql.Tx, shas []string, current string) error {
	if len(shas) == 0 {
		return nil
	}
	ph, args := inList(2, shas)
	for _, table := range fileTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE parser_version <> $1 AND sha256 IN (`+ph+`)
			AND NOT EXISTS (SELECT 1 FROM files f JOIN package_versions v ON v.id = f.version_id
				WHERE f.sha256 = `+table+`.sha256 AND v.parser_version = `+table+`.parser_version)`,
			append([]any{current}, args...)...); err != nil {
			return err
		}
	}
	return nil
}

func sortedSHAs(files []index.FileResult) []string {
	shas := make([]string, 0, len(files))
	for _, f := range files {
		shas = append(shas, f.SHA256)
	}
	slices.Sort(shas)
	return slices.Compact(shas)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// saveFile stores one file's parse unless it is already there.
func (db *DB) saveFile(ctx context.Context, tx *sql.Tx, f index.FileResult) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO file_parses (sha256, parser_version, kind, line_count, error_count,
		warning_count, control_family, system, outline, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (sha256, parser_version) DO NOTHING`,
		f.SHA256, f.ParserVersion, f.Kind, f.LineCount, f.ErrorCount, f.WarningCount, f.ControlFamily, f.System, string(f.Outline), now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // parsed and stored before, by this or another package
	}
	key := func(i int) []any { return []any{f.SHA256, f.ParserVersion, i} }
	const keyCols = "sha256, parser_version, ord, "
	rows := make([][]any, len(f.Sections))
	for i, s := range f.Sections {
		rows[i] = append(key(i), s.Name, s.Canonical, s.Kind, s.StartLine, s.EndLine, s.StartByte, s.EndByte, s.ContentHash)
	}
	if err := insertRows(ctx, tx, "file_sections", keyCols+"name, canonical, kind, start_line, end_line, start_byte, end_byte, content_hash", rows); err != nil {
		return err
	}
	rows = make([][]any, len(f.Attributes))
	for i, a := range f.Attributes {
		rows[i] = append(key(i), a.Name, a.Canonical, a.Type, a.VType, a.DefaultValue, a.AttrID, a.Line)
	}
	if err := insertRows(ctx, tx, "file_attributes", keyCols+"name, canonical, type, vtype, default_value, attr_id, line", rows); err != nil {
		return err
	}
	rows = make([][]any, len(f.Symbols))
	for i, s := range f.Symbols {
		rows[i] = append(key(i), s.Name, s.Canonical, s.Kind, s.Role, s.Context, s.Line, s.Col, s.Section)
	}
	if err := insertRows(ctx, tx, "file_symbols", keyCols+"name, canonical, kind, role, context, line, col, section", rows); err != nil {
		return err
	}
	rows = make([][]any, len(f.Diagnostics))
	for i, d := range f.Diagnostics {
		rows[i] = append(key(i), d.Code, d.Severity, d.Message, d.Line, d.Col)
	}
	if err := insertRows(ctx, tx, "file_diagnostics", keyCols+"code, severity, message, line, col", rows); err != nil {
		return err
	}
	rows = make([][]any, len(f.Includes))
	for i, inc := range f.Includes {
		rows[i] = append(key(i), inc.Path, inc.Line)
	}
	return insertRows(ctx, tx, "file_includes", keyCols+"path, line", rows)
}

// insertRows inserts rows in multi-row statements (one round trip per
// batch rather than per row), keeping under both engines' parameter limits.
func insertRows(ctx context.Context, tx *sql.Tx, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	batch := max(1, 4000/width)
	for start := 0; start < len(rows); start += batch {
		chunk := rows[start:min(start+batch, len(rows))]
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for j := range r {
				if j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
			sb.WriteByte(')')
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("inserting into %s: %w", table, err)
		}
	}
	return nil
}
