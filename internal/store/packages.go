package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
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

// newRowID returns a time-ordered (version 7) UUID for a new package, version
// or file row. Consecutive ids sort together, so inserts append to the end of
// the primary-key and foreign-key indexes instead of splitting pages at random
// places: the indexes stay nearly full, and an upload adds fewer bytes.
func newRowID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString() // only if the random source fails; any unique id will do
	}
	return id.String()
}

// CreateVersionTx records nv inside tx: the package (when new) or its next
// version number, the version and its files; it refreshes the package's
// latest files and ends the upload's blob lease. It does no blob I/O and
// calls nothing outside the database: the wiring adds the ingestion job to
// the same transaction (see catalog.VersionRecorder).
func (db *DB) CreateVersionTx(ctx context.Context, tx *sql.Tx, nv catalog.NewVersion) (catalog.Version, error) {
	ts := now()
	pkgID := nv.PackageID
	number := 1
	if pkgID == "" {
		pkgID = newRowID()
		name := nv.Name
		if name == "" {
			name = defaultName(nv.Files)
		}
		platform := nv.Platform
		if platform == "" {
			platform = catalog.DefaultPlatform
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO packages (id, name, platform, latest_version, created_at, updated_at)
			VALUES ($1, $2, $3, 1, $4, $4)`, pkgID, name, platform, ts); err != nil {
			return catalog.Version{}, fmt.Errorf("inserting package: %w", err)
		}
	} else {
		if !validID(pkgID) {
			return catalog.Version{}, catalog.ErrNotFound
		}
		// Taking the next number by UPDATE … RETURNING serialises
		// concurrent uploads to the same package on the row lock.
		err := tx.QueryRowContext(ctx, `UPDATE packages SET latest_version = latest_version + 1, updated_at = $2
			WHERE id = $1 RETURNING latest_version`, pkgID, ts).Scan(&number)
		if errors.Is(err, sql.ErrNoRows) {
			return catalog.Version{}, catalog.ErrNotFound
		}
		if err != nil {
			return catalog.Version{}, fmt.Errorf("numbering version: %w", err)
		}
		if nv.Name != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE packages SET name = $2 WHERE id = $1`, pkgID, nv.Name); err != nil {
				return catalog.Version{}, err
			}
		}
	}
	ver := catalog.Version{
		ID: newRowID(), PackageID: pkgID, Number: number, UploadedAt: ts, UploadedBy: nv.UploadedBy,
		Note: nv.Note, Status: catalog.StatusPending, FileCount: len(nv.Files), UpdatedAt: ts, ContentKey: catalog.ContentKey(nv.Files),
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO package_versions
		(id, package_id, number, uploaded_at, uploaded_by, note, status, file_count, content_key, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $4)`,
		ver.ID, pkgID, number, ts, ver.UploadedBy, ver.Note, string(ver.Status), ver.FileCount, ver.ContentKey); err != nil {
		return catalog.Version{}, fmt.Errorf("inserting version: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO files (id, version_id, filename, extension, size, sha256)
		VALUES ($1, $2, $3, $4, $5, `+db.shaParam("$6")+`)`)
	if err != nil {
		return catalog.Version{}, err
	}
	defer ins.Close()
	for _, f := range nv.Files {
		// A file's time is its version's, its blob's key its SHA-256 (scanFile).
		if _, err := ins.ExecContext(ctx, newRowID(), ver.ID, f.Filename, f.Extension, f.Size, f.SHA256); err != nil {
			return catalog.Version{}, fmt.Errorf("inserting file %s: %w", f.Filename, err)
		}
	}
	if err := db.refreshLatest(ctx, tx, pkgID); err != nil {
		return catalog.Version{}, err
	}
	if nv.LeaseID != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM blob_leases WHERE lease_id = $1`, nv.LeaseID); err != nil {
			return catalog.Version{}, err
		}
	}
	return ver, nil
}

// lockPackage takes a package's row lock until tx ends, or answers
// catalog.ErrNotFound. Transactions that write a package's rows take it
// before anything else (then content locks, then other rows in a fixed
// order), so two of them never wait for each other in a cycle. SQLite needs
// no row locks: its write transactions (BEGIN IMMEDIATE) exclude each other.
func (db *DB) lockPackage(ctx context.Context, tx *sql.Tx, packageID string) error {
	if !validID(packageID) {
		return catalog.ErrNotFound
	}
	q := `SELECT id FROM packages WHERE id = $1`
	if db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var id string
	err := tx.QueryRowContext(ctx, q, packageID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.ErrNotFound
	}
	return err
}

// SetVersionJob records the ingestion job of a version inside tx.
func (db *DB) SetVersionJob(ctx context.Context, tx *sql.Tx, versionID string, jobID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE package_versions SET job_id = $2 WHERE id = $1`, versionID, jobID)
	return err
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
	p, versionID, err := scanPackage(db.R.QueryRowContext(ctx, `SELECT `+packageColumns+packageFrom+` WHERE p.id = $1`, id))
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
	rows, err := db.R.QueryContext(ctx, q, args...)
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

// fileColumns select a file (f) with fileFrom: its time is its version's.
func (db *DB) fileColumns() string {
	return `f.id, f.version_id, f.filename, f.extension, f.size, ` + db.shaText("f.sha256") + `, f.line_count, f.content_kind, f.encoding, v.uploaded_at`
}

const fileFrom = ` FROM files f JOIN package_versions v ON v.id = f.version_id`

func scanFile(row interface{ Scan(...any) error }) (catalog.File, error) {
	var f catalog.File
	err := row.Scan(&f.ID, &f.VersionID, &f.Filename, &f.Extension, &f.Size, &f.SHA256,
		&f.LineCount, &f.ContentKind, &f.Encoding, &f.CreatedAt)
	f.CreatedAt = f.CreatedAt.UTC()
	f.BlobKey = f.SHA256
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
	rows, err := db.R.QueryContext(ctx, `SELECT `+db.fileColumns()+fileFrom+` WHERE f.version_id IN (`+strings.Join(ph, ",")+`) ORDER BY f.filename`, args...)
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
	// Files have no index by id: the package's versions (by their key) and
	// their files (by theirs) are few.
	f, err := scanFile(db.R.QueryRowContext(ctx, `SELECT `+db.fileColumns()+fileFrom+` WHERE f.id = $1 AND v.package_id = $2`, fileID, packageID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, catalog.ErrNotFound
	}
	return f, err
}

const versionColumns = `id, package_id, number, uploaded_at, uploaded_by, note, status, error_message, error_detail,
	file_count, section_count, error_count, warning_count, info_count, parser_version, content_key, job_id, updated_at`

func scanVersion(row interface{ Scan(...any) error }) (catalog.Version, error) {
	var v catalog.Version
	var status string
	err := row.Scan(&v.ID, &v.PackageID, &v.Number, &v.UploadedAt, &v.UploadedBy, &v.Note, &status, &v.ErrorMessage,
		&v.ErrorDetail, &v.FileCount, &v.SectionCount, &v.ErrorCount, &v.WarningCount, &v.InfoCount, &v.ParserVersion, &v.ContentKey, &v.JobID, &v.UpdatedAt)
	v.Status = catalog.Status(status)
	v.UploadedAt, v.UpdatedAt = v.UploadedAt.UTC(), v.UpdatedAt.UTC()
	return v, err
}

// ListVersions implements catalog.Repository: newest first, paged by
// version number.
func (db *DB) ListVersions(ctx context.Context, packageID string, limit int, cursor string) (catalog.Page[catalog.Version], error) {
	page := catalog.Page[catalog.Version]{Items: []catalog.Version{}}
	if _, err := db.GetPackage(ctx, packageID); err != nil {
		return page, err
	}
	limit = min(max(limit, 1), 500)
	before := int64(1<<31 - 1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 1 {
			return page, catalog.ErrBadCursor
		}
		before = n
	}
	rows, err := db.R.QueryContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE package_id = $1 AND number < $2
		ORDER BY number DESC LIMIT `+strconv.Itoa(limit+1), packageID, before)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, v)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = strconv.Itoa(page.Items[limit-1].Number)
	}
	return page, rows.Err()
}

// VersionByNumber implements catalog.Repository.
func (db *DB) VersionByNumber(ctx context.Context, packageID string, n int) (catalog.Version, error) {
	if !validID(packageID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.R.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE package_id = $1 AND number = $2`, packageID, n))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// GetVersion implements catalog.Repository.
func (db *DB) GetVersion(ctx context.Context, versionID string) (catalog.Version, error) {
	if !validID(versionID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.R.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE id = $1`, versionID))
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
	v, err := scanVersion(db.R.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions
		WHERE package_id = $1 AND number = (SELECT latest_version FROM packages WHERE id = $1)`, packageID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// VersionByContent implements catalog.Repository.
func (db *DB) VersionByContent(ctx context.Context, packageID, key string) (catalog.Version, error) {
	if !validID(packageID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.R.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions
		WHERE package_id = $1 AND content_key = $2 ORDER BY number DESC LIMIT 1`, packageID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// SetVersionStatus implements catalog.Repository: the move is stored only
// from a status the domain allows (catalog.Status.From).
func (db *DB) SetVersionStatus(ctx context.Context, versionID string, status catalog.Status, message, detail string) error {
	from := status.From()
	if len(from) == 0 {
		return fmt.Errorf("%w: nothing moves to %q", catalog.ErrStatusConflict, status)
	}
	ph, args := inList(6, statusStrings(from))
	res, err := db.SQL.ExecContext(ctx, `UPDATE package_versions SET status = $2, error_message = $3, error_detail = $4, updated_at = $5
		WHERE id = $1 AND status IN (`+ph+`)`, append([]any{versionID, string(status), message, detail, now()}, args...)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.GetVersion(ctx, versionID); err != nil {
			return err
		}
		return catalog.ErrStatusConflict
	}
	return nil
}

func statusStrings(ss []catalog.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// inList returns "$n,$n+1,…" placeholders starting at first, and the args.
func inList(first int, values []string) (string, []any) {
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i] = "$" + strconv.Itoa(first+i)
		args[i] = v
	}
	return strings.Join(ph, ","), args
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

// DeletePackage implements catalog.Repository: the package, its versions
// and files go, and so do the analyses no remaining file uses. Blobs stay
// for the collector.
func (db *DB) DeletePackage(ctx context.Context, id string) error {
	if !validID(id) {
		return catalog.ErrNotFound
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		// The package's row lock first, like every transaction that writes
		// a package's rows (see lockPackage).
		if err := db.lockPackage(ctx, tx, id); err != nil {
			return err
		}
		shas, err := queryStrings(ctx, tx, `SELECT DISTINCT `+db.shaText("f.sha256")+` FROM files f JOIN package_versions v ON v.id = f.version_id
			WHERE v.package_id = $1`, id)
		if err != nil {
			return err
		}
		// Content locks keep a concurrent ingestion from relying on an
		// analysis this deletion is about to remove.
		if err := db.lockContents(ctx, tx, shas); err != nil {
			return err
		}
		analyses, err := queryInts(ctx, tx, `SELECT DISTINCT f.analysis_id FROM files f JOIN package_versions v ON v.id = f.version_id
			WHERE v.package_id = $1 AND f.analysis_id IS NOT NULL`, id)
		if err != nil {
			return err
		}
		results, err := queryInts(ctx, tx, `SELECT DISTINCT analysis_id FROM package_versions WHERE package_id = $1 AND analysis_id IS NOT NULL`, id)
		if err != nil {
			return err
		}
		libs, err := db.latestLibraries(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := moveLibraries(ctx, tx, libs, nil); err != nil {
			return err
		}
		latest, err := latestAnalyses(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := db.moveSymbols(ctx, tx, latest, nil, nil); err != nil {
			return err
		}
		fileSets, err := queryInts(ctx, tx, `SELECT DISTINCT sv.fileset_id FROM search_versions sv
			JOIN package_versions v ON v.id = sv.version_id WHERE v.package_id = $1`, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.ErrNotFound
		}
		if err := db.pruneAnalyses(ctx, tx, analyses, results); err != nil {
			return err
		}
		if err := db.gcFileSets(ctx, tx, fileSets); err != nil {
			return err
		}
		return db.pruneSearchContents(ctx, tx, shas)
	})
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func queryInts(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn share for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
