package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/catalog"
)

var _ catalog.Repository = (*DB)(nil)

// now is the timestamp written to rows: UTC, microsecond precision, so
// SQLite and PostgreSQL round-trip the same value.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// validID rejects ids that are not UUIDs before they reach PostgreSQL
// (which would answer with a type error rather than "no rows").
func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil
}

// CreateVersion implements catalog.Repository.
func (db *DB) CreateVersion(ctx context.Context, nv catalog.NewVersion, confirmBlobs func(context.Context) error, enqueue catalog.EnqueueFunc) (catalog.Package, catalog.Version, error) {
	var ver catalog.Version
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		ts := now()
		pkgID := nv.PackageID
		number := 1
		if pkgID == "" {
			pkgID = uuid.NewString()
			name := nv.Name
			if name == "" {
				name = defaultName(nv.Files)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO packages (id, name, platform, latest_version, created_at, updated_at)
				VALUES ($1, $2, $3, 1, $4, $4)`, pkgID, name, catalog.DefaultPlatform, ts); err != nil {
				return fmt.Errorf("inserting package: %w", err)
			}
		} else {
			if !validID(pkgID) {
				return catalog.ErrNotFound
			}
			// Taking the next number by UPDATE … RETURNING serialises
			// concurrent uploads to the same package on the row lock.
			err := tx.QueryRowContext(ctx, `UPDATE packages SET latest_version = latest_version + 1, updated_at = $2
				WHERE id = $1 RETURNING latest_version`, pkgID, ts).Scan(&number)
			if errors.Is(err, sql.ErrNoRows) {
				return catalog.ErrNotFound
			}
			if err != nil {
				return fmt.Errorf("numbering version: %w", err)
			}
			if nv.Name != "" {
				if _, err := tx.ExecContext(ctx, `UPDATE packages SET name = $2 WHERE id = $1`, pkgID, nv.Name); err != nil {
					return err
				}
			}
		}
		ver = catalog.Version{
			ID: uuid.NewString(), PackageID: pkgID, Number: number, UploadedAt: ts, UploadedBy: nv.UploadedBy,
			Note: nv.Note, Status: catalog.StatusPending, FileCount: len(nv.Files), UpdatedAt: ts,
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO package_versions
			(id, package_id, number, uploaded_at, uploaded_by, note, status, file_count, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $4)`,
			ver.ID, pkgID, number, ts, ver.UploadedBy, ver.Note, string(ver.Status), ver.FileCount); err != nil {
			return fmt.Errorf("inserting version: %w", err)
		}
		shas := make([]string, 0, len(nv.Files))
		for _, f := range nv.Files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO files (id, version_id, filename, extension, size, sha256, blob_key, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				uuid.NewString(), ver.ID, f.Filename, f.Extension, f.Size, f.SHA256, f.SHA256, ts); err != nil {
				return fmt.Errorf("inserting file %s: %w", f.Filename, err)
			}
			shas = append(shas, f.SHA256)
		}
		slices.Sort(shas)
		for _, sha := range slices.Compact(shas) {
			if err := db.lockContent(ctx, tx, sha); err != nil {
				return err
			}
		}
		if confirmBlobs != nil {
			if err := confirmBlobs(ctx); err != nil {
				return err
			}
		}
		jobID, err := enqueue(ctx, tx, ver.ID)
		if err != nil {
			return fmt.Errorf("queueing ingestion: %w", err)
		}
		ver.JobID = jobID
		_, err = tx.ExecContext(ctx, `UPDATE package_versions SET job_id = $2 WHERE id = $1`, ver.ID, jobID)
		return err
	})
	if err != nil {
		return catalog.Package{}, catalog.Version{}, err
	}
	pkg, err := db.GetPackage(ctx, ver.PackageID)
	return pkg, ver, err
}

// defaultName names a new package after its first .SRC file.
func defaultName(files []catalog.NewFile) string {
	for _, f := range files {
		if f.Extension == "SRC" {
			return strings.TrimSuffix(f.Filename, f.Filename[strings.LastIndex(f.Filename, "."):])
		}
	}
	if len(files) > 0 {
		return files[0].Filename
	}
	return "Untitled package"
}

// packageColumns selects a package joined with its latest version.
const packageColumns = `p.id, p.name, p.machine_type, p.controller_type, p.platform, p.system, p.control_family, p.metadata_edited, p.latest_version,
	v.id, v.status, v.error_message, v.error_detail, v.file_count, v.section_count, v.error_count, v.warning_count, p.created_at, p.updated_at`

const packageFrom = ` FROM packages p JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version`

func scanPackage(row interface{ Scan(...any) error }) (catalog.Package, string, error) {
	var p catalog.Package
	var versionID, status string
	err := row.Scan(&p.ID, &p.Name, &p.MachineType, &p.ControllerType, &p.Platform, &p.System, &p.ControlFamily, &p.MetadataEdited, &p.LatestVersion,
		&versionID, &status, &p.ErrorMessage, &p.ErrorDetail, &p.FileCount, &p.SectionCount, &p.ErrorCount, &p.WarningCount, &p.CreatedAt, &p.UpdatedAt)
	p.Status = catalog.Status(status)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, versionID, err
}

// GetPackage implements catalog.Repository.
func (db *DB) GetPackage(ctx context.Context, id string) (catalog.Package, error) {
	if !validID(id) {
		return catalog.Package{}, catalog.ErrNotFound
	}
	p, versionID, err := scanPackage(db.SQL.QueryRowContext(ctx, `SELECT `+packageColumns+packageFrom+` WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, catalog.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	p.Files, err = db.VersionFiles(ctx, versionID)
	return p, err
}

// ListPackages implements catalog.Repository: newest first, keyset
// paginated, files loaded in one more query (never one per package).
func (db *DB) ListPackages(ctx context.Context, limit int, cursor string) (catalog.Page[catalog.Package], error) {
	var page catalog.Page[catalog.Package]
	limit = min(max(limit, 1), 200)
	q := `SELECT ` + packageColumns + packageFrom
	args := []any{}
	if cursor != "" {
		ts, id, err := decodeCursor(cursor)
		if err != nil {
			return page, err
		}
		q += ` WHERE (p.created_at < $1 OR (p.created_at = $1 AND p.id < $2))`
		args = append(args, ts, id)
	}
	q += fmt.Sprintf(` ORDER BY p.created_at DESC, p.id DESC LIMIT %d`, limit+1)
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var versionIDs []string
	for rows.Next() {
		p, vid, err := scanPackage(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, p)
		versionIDs = append(versionIDs, vid)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	rows.Close()
	if len(page.Items) > limit {
		page.Items, versionIDs = page.Items[:limit], versionIDs[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt, last.ID)
	}
	files, err := db.filesOfVersions(ctx, versionIDs)
	if err != nil {
		return page, err
	}
	for i, vid := range versionIDs {
		page.Items[i].Files = files[vid]
		if page.Items[i].Files == nil {
			page.Items[i].Files = []catalog.File{}
		}
	}
	return page, nil
}

func encodeCursor(ts time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ts.UnixMicro(), 10) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", catalog.ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || !validID(id) {
		return time.Time{}, "", catalog.ErrBadCursor
	}
	return time.UnixMicro(n).UTC(), id, nil
}

const fileColumns = `id, version_id, filename, extension, size, sha256, blob_key, line_count, content_kind, encoding, created_at`

func scanFile(row interface{ Scan(...any) error }) (catalog.File, error) {
	var f catalog.File
	err := row.Scan(&f.ID, &f.VersionID, &f.Filename, &f.Extension, &f.Size, &f.SHA256, &f.BlobKey,
		&f.LineCount, &f.ContentKind, &f.Encoding, &f.CreatedAt)
	f.CreatedAt = f.CreatedAt.UTC()
	return f, err
}

// filesOfVersions loads the files of many versions in one query.
func (db *DB) filesOfVersions(ctx context.Context, versionIDs []string) (map[string][]catalog.File, error) {
	out := map[string][]catalog.File{}
	if len(versionIDs) == 0 {
		return out, nil
	}
	ph := make([]string, len(versionIDs))
	args := make([]any, len(versionIDs))
	for i, id := range versionIDs {
		ph[i] = "$" + strconv.Itoa(i+1)
		args[i] = id
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE version_id IN (`+strings.Join(ph, ",")+`) ORDER BY filename`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out[f.VersionID] = append(out[f.VersionID], f)
	}
	return out, rows.Err()
}

// VersionFiles implements catalog.Repository.
func (db *DB) VersionFiles(ctx context.Context, versionID string) ([]catalog.File, error) {
	m, err := db.filesOfVersions(ctx, []string{versionID})
	if err != nil {
		return nil, err
	}
	if m[versionID] == nil {
		return []catalog.File{}, nil
	}
	return m[versionID], nil
}

// GetFile implements catalog.Repository: the file must belong to some
// version of the package.
func (db *DB) GetFile(ctx context.Context, packageID, fileID string) (catalog.File, error) {
	if !validID(packageID) || !validID(fileID) {
		return catalog.File{}, catalog.ErrNotFound
	}
	f, err := scanFile(db.SQL.QueryRowContext(ctx, `SELECT f.id, f.version_id, f.filename, f.extension, f.size, f.sha256, f.blob_key,
		f.line_count, f.content_kind, f.encoding, f.created_at
		FROM files f JOIN package_versions v ON v.id = f.version_id WHERE f.id = $1 AND v.package_id = $2`, fileID, packageID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, catalog.ErrNotFound
	}
	return f, err
}

const versionColumns = `id, package_id, number, uploaded_at, uploaded_by, note, status, error_message, error_detail,
	file_count, section_count, error_count, warning_count, parser_version, job_id, updated_at`

func scanVersion(row interface{ Scan(...any) error }) (catalog.Version, error) {
	var v catalog.Version
	var status string
	err := row.Scan(&v.ID, &v.PackageID, &v.Number, &v.UploadedAt, &v.UploadedBy, &v.Note, &status, &v.ErrorMessage,
		&v.ErrorDetail, &v.FileCount, &v.SectionCount, &v.ErrorCount, &v.WarningCount, &v.ParserVersion, &v.JobID, &v.UpdatedAt)
	v.Status = catalog.Status(status)
	v.UploadedAt, v.UpdatedAt = v.UploadedAt.UTC(), v.UpdatedAt.UTC()
	return v, err
}

// ListVersions implements catalog.Repository, newest first.
func (db *DB) ListVersions(ctx context.Context, packageID string) ([]catalog.Version, error) {
	if _, err := db.GetPackage(ctx, packageID); err != nil {
		return nil, err
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE package_id = $1 ORDER BY number DESC`, packageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []catalog.Version{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// GetVersion implements catalog.Repository.
func (db *DB) GetVersion(ctx context.Context, versionID string) (catalog.Version, error) {
	if !validID(versionID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.SQL.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE id = $1`, versionID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// LatestVersion implements catalog.Repository.
func (db *DB) LatestVersion(ctx context.Context, packageID string) (catalog.Version, error) {
	if !validID(packageID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.SQL.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions
		WHERE package_id = $1 AND number = (SELECT latest_version FROM packages WHERE id = $1)`, packageID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// SetVersionStatus implements catalog.Repository.
func (db *DB) SetVersionStatus(ctx context.Context, versionID string, status catalog.Status, message, detail string) error {
	res, err := db.SQL.ExecContext(ctx, `UPDATE package_versions SET status = $2, error_message = $3, error_detail = $4, updated_at = $5
		WHERE id = $1`, versionID, string(status), message, detail, now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return catalog.ErrNotFound
	}
	return nil
}

// SetFileFacts implements catalog.Repository.
func (db *DB) SetFileFacts(ctx context.Context, fileID string, lineCount int, contentKind, encoding string) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE files SET line_count = $2, content_kind = $3, encoding = $4 WHERE id = $1`,
		fileID, lineCount, contentKind, encoding)
	return err
}

// EditMetadata implements catalog.Repository. Edited fields are marked so
// that re-ingestion does not overwrite what a person chose.
func (db *DB) EditMetadata(ctx context.Context, packageID string, e catalog.MetadataEdit) (catalog.Package, error) {
	if !validID(packageID) {
		return catalog.Package{}, catalog.ErrNotFound
	}
	sets := []string{}
	args := []any{packageID}
	add := func(col string, v *string) {
		if v != nil {
			args = append(args, strings.TrimSpace(*v))
			sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("name", e.Name)
	add("machine_type", e.MachineType)
	add("controller_type", e.ControllerType)
	add("platform", e.Platform)
	if len(sets) > 0 {
		args = append(args, now())
		sets = append(sets, fmt.Sprintf("updated_at = $%d", len(args)))
		if e.MachineType != nil || e.ControllerType != nil || e.Platform != nil {
			sets = append(sets, "metadata_edited = TRUE")
		}
		res, err := db.SQL.ExecContext(ctx, `UPDATE packages SET `+strings.Join(sets, ", ")+` WHERE id = $1`, args...)
		if err != nil {
			return catalog.Package{}, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.Package{}, catalog.ErrNotFound
		}
	}
	return db.GetPackage(ctx, packageID)
}

// DeletePackage implements catalog.Repository.
func (db *DB) DeletePackage(ctx context.Context, id string) ([]string, error) {
	if !validID(id) {
		return nil, catalog.ErrNotFound
	}
	var shas []string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT f.sha256 FROM files f JOIN package_versions v ON v.id = f.version_id
			WHERE v.package_id = $1`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			shas = append(shas, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.ErrNotFound
		}
		return nil
	})
	return shas, err
}

// ReleaseBlob implements catalog.Repository.
func (db *DB) ReleaseBlob(ctx context.Context, sha string, remove func(context.Context) error) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockContent(ctx, tx, sha); err != nil {
			return err
		}
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)`, sha).Scan(&used); err != nil {
			return err
		}
		if used {
			return nil
		}
		// The content's parse results and search documents go with its last file.
		for _, table := range fileTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE sha256 = $1`, sha); err != nil {
				return err
			}
		}
		if err := db.deleteSearchContent(ctx, tx, sha); err != nil {
			return err
		}
		return remove(ctx)
	})
}
