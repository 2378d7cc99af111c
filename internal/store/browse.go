package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

// Sort keys of BrowseQuery.
const (
	BrowseSortUploaded   = "uploaded" // the latest version's upload time (the default)
	BrowseSortName       = "name"
	BrowseSortMachine    = "machine"
	BrowseSortController = "controller"
	BrowseSortPlatform   = "platform"
	BrowseSortStatus     = "status"
	BrowseSortFiles      = "files"
	// BrowseSortDiagnostics orders by the latest version's error count,
	// then its warning count.
	BrowseSortDiagnostics = "diagnostics"
)

// browseOrder maps a sort key to its ORDER BY expression. Text sorts are
// case-insensitive; status sorts in pipeline order.
var browseOrder = map[string]string{
	BrowseSortUploaded:   "v.uploaded_at",
	BrowseSortName:       "LOWER(p.name)",
	BrowseSortMachine:    "LOWER(p.machine_type)",
	BrowseSortController: "LOWER(p.controller_type)",
	BrowseSortPlatform:   "LOWER(p.platform)",
	BrowseSortStatus: `CASE v.status WHEN 'pending' THEN 1 WHEN 'validating' THEN 2 WHEN 'storing' THEN 3
		WHEN 'parsing' THEN 4 WHEN 'ready' THEN 5 WHEN 'error' THEN 6 ELSE 7 END`,
	BrowseSortFiles:       "v.file_count",
	BrowseSortDiagnostics: "v.error_count * 1000000 + v.warning_count",
}

// ValidBrowseSort reports whether key is a sort key BrowsePackages accepts.
func ValidBrowseSort(key string) bool { _, ok := browseOrder[key]; return ok }

// BrowseQuery selects, orders and pages packages for people browsing them
// (the web UI). Zero values mean "no filter".
type BrowseQuery struct {
	// Search matches a substring of the package name, case-insensitively.
	Search string
	// Status filters on the latest version's ingestion status.
	Status catalog.Status
	// Machine and Controller filter on the exact value; a pointer to ""
	// selects packages where the field is not set.
	Machine    *string
	Controller *string
	// Sort is one of the BrowseSort* keys (default BrowseSortUploaded);
	// Desc reverses it. Ties are broken by id so pages never overlap.
	Sort string
	Desc bool
	// Limit (1…200, default 25) and Offset page the result.
	Limit  int
	Offset int
}

// BrowseRow is one package of a browse result. Package.Files is not loaded.
type BrowseRow struct {
	catalog.Package
	// VersionID is the latest version's id (for per-version facts such as
	// diagnostics); UploadedAt is when it was uploaded.
	VersionID  string
	UploadedAt time.Time
}

// BrowseResult is one page of packages and how many match in all.
type BrowseResult struct {
	Rows  []BrowseRow
	Total int
}

// Facet is one distinct value of a field and how many packages have it.
type Facet struct {
	Value string
	Count int
}

// BrowseFacets are the values the browse filters can choose from.
type BrowseFacets struct {
	Machines    []Facet
	Controllers []Facet
	Statuses    []Facet
}

// likeEscape escapes LIKE wildcards so a search is a plain substring match.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (q BrowseQuery) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		add(`LOWER(p.name) LIKE $%d ESCAPE '\'`, "%"+likeEscape(strings.ToLower(s))+"%")
	}
	if q.Status != "" {
		add(`v.status = $%d`, string(q.Status))
	}
	if q.Machine != nil {
		add(`p.machine_type = $%d`, *q.Machine)
	}
	if q.Controller != nil {
		add(`p.controller_type = $%d`, *q.Controller)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// BrowsePackages returns one page of packages matching q, with the total
// number of matches. It is offset-paginated (people jump to page n of a
// sorted table); the package count of a post library stays small enough for
// that to be cheap.
func (db *DB) BrowsePackages(ctx context.Context, q BrowseQuery) (BrowseResult, error) {
	var res BrowseResult
	where, args := q.where()
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*)`+packageFrom+where, args...).Scan(&res.Total); err != nil {
		return res, fmt.Errorf("counting packages: %w", err)
	}
	order, ok := browseOrder[q.Sort]
	if !ok {
		order = browseOrder[BrowseSortUploaded]
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 25
	}
	limit = min(limit, 200)
	offset := max(q.Offset, 0)
	sqlText := `SELECT ` + packageColumns + `, v.uploaded_at` + packageFrom + where +
		` ORDER BY ` + order + dir + `, p.id` + dir + fmt.Sprintf(` LIMIT %d OFFSET %d`, limit, offset)
	rows, err := db.SQL.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return res, fmt.Errorf("listing packages: %w", err)
	}
	defer rows.Close()
	res.Rows = []BrowseRow{}
	for rows.Next() {
		var r BrowseRow
		p, versionID, err := scanPackage(withExtra{rows, []any{&r.UploadedAt}})
		if err != nil {
			return res, err
		}
		r.Package, r.VersionID, r.UploadedAt = p, versionID, r.UploadedAt.UTC()
		res.Rows = append(res.Rows, r)
	}
	return res, rows.Err()
}

// withExtra scans the columns scanPackage knows and then extra ones
// selected after them, so browse stays in step with packageColumns.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

// BrowseFacets returns the distinct machine, controller and status values
// of all packages (status: of the latest version), each with its count.
func (db *DB) BrowseFacets(ctx context.Context) (BrowseFacets, error) {
	var f BrowseFacets
	var err error
	if f.Machines, err = db.facet(ctx, "p.machine_type"); err != nil {
		return f, err
	}
	if f.Controllers, err = db.facet(ctx, "p.controller_type"); err != nil {
		return f, err
	}
	f.Statuses, err = db.facet(ctx, "v.status")
	return f, err
}

func (db *DB) facet(ctx context.Context, col string) ([]Facet, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+col+`, COUNT(*)`+packageFrom+` GROUP BY `+col+` ORDER BY `+col)
	if err != nil {
		return nil, fmt.Errorf("listing %s values: %w", col, err)
	}
	defer rows.Close()
	out := []Facet{}
	for rows.Next() {
		var f Facet
		if err := rows.Scan(&f.Value, &f.Count); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// VersionSymbol lists the definitions (first) and references of the symbol
// with this canonical name in one version's files, as indexed.
func (db *DB) VersionSymbol(ctx context.Context, versionID, canonical string) ([]index.SymbolOccurrence, error) {
	out := []index.SymbolOccurrence{}
	if !validID(versionID) {
		return out, nil
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT f.id, f.filename, s.name, s.canonical, s.kind, s.role, s.context, s.line, s.col, s.section
		FROM files f
		JOIN package_versions v ON v.id = f.version_id
		JOIN file_symbols s ON s.sha256 = f.sha256 AND s.parser_version = v.parser_version
		WHERE f.version_id = $1 AND s.canonical = $2
		ORDER BY CASE s.role WHEN 'definition' THEN 0 ELSE 1 END, f.filename, s.line, s.col`, versionID, canonical)
	if err != nil {
		return nil, fmt.Errorf("listing symbol %s: %w", canonical, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o index.SymbolOccurrence
		if err := rows.Scan(&o.FileID, &o.Filename, &o.Name, &o.Canonical, &o.Kind, &o.Role, &o.Context, &o.Line, &o.Col, &o.Section); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
