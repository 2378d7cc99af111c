package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
)

// browseOrder maps a sort key to its ORDER BY expression. Text sorts are
// case-insensitive; status sorts in pipeline order.
var browseOrder = map[string]string{
	catalog.BrowseSortUploaded:   "v.uploaded_at",
	catalog.BrowseSortName:       "LOWER(p.name)",
	catalog.BrowseSortMachine:    "LOWER(p.machine_type)",
	catalog.BrowseSortController: "LOWER(p.controller_type)",
	catalog.BrowseSortPlatform:   "LOWER(p.platform)",
	catalog.BrowseSortStatus: `CASE v.status WHEN 'pending' THEN 1 WHEN 'validating' THEN 2 WHEN 'storing' THEN 3
		WHEN 'parsing' THEN 4 WHEN 'ready' THEN 5 WHEN 'error' THEN 6 ELSE 7 END`,
	catalog.BrowseSortFiles:       "v.file_count",
	catalog.BrowseSortDiagnostics: "v.error_count * 1000000 + v.warning_count",
}

// likeEscape escapes LIKE wildcards so a search is a plain substring match.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func browseWhere(q catalog.BrowseQuery) (string, []any) {
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
func (db *DB) BrowsePackages(ctx context.Context, q catalog.BrowseQuery) (catalog.BrowseResult, error) {
	var res catalog.BrowseResult
	where, args := browseWhere(q)
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*)`+packageFrom+where, args...).Scan(&res.Total); err != nil {
		return res, fmt.Errorf("counting packages: %w", err)
	}
	order, ok := browseOrder[q.Sort]
	if !ok {
		order = browseOrder[catalog.BrowseSortUploaded]
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
	rows, err := db.R.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return res, fmt.Errorf("listing packages: %w", err)
	}
	defer rows.Close()
	res.Rows = []catalog.BrowseRow{}
	for rows.Next() {
		var r catalog.BrowseRow
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
func (db *DB) BrowseFacets(ctx context.Context) (catalog.BrowseFacets, error) {
	var f catalog.BrowseFacets
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

func (db *DB) facet(ctx context.Context, col string) ([]catalog.Facet, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT `+col+`, COUNT(*)`+packageFrom+` GROUP BY `+col+` ORDER BY `+col)
	if err != nil {
		return nil, fmt.Errorf("listing %s values: %w", col, err)
	}
	defer rows.Close()
	out := []catalog.Facet{}
	for rows.Next() {
		var f catalog.Facet
		if err := rows.Scan(&f.Value, &f.Count); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
