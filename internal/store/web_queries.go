package store

import "context"

// LibraryName is one library file name in use across the packages' latest
// versions: how many packages have a file of that name and how many
// distinct contents it has.
type LibraryName struct {
	Name     string // as most packages spell it
	Packages int
	Variants int
}

// LibraryNames lists the library file names (.LIB files, and files that an
// :INCLUDE=/:LIBRARY= resolved to) of the packages' latest versions, the most
// used first. Names are compared case-insensitively.
func (db *DB) LibraryNames(ctx context.Context, limit int) ([]LibraryName, error) {
	limit = min(max(limit, 1), 1000)
	rows, err := db.SQL.QueryContext(ctx, `SELECT MIN(f.filename), COUNT(DISTINCT p.id), COUNT(DISTINCT f.sha256)
		FROM files f`+latestVersions+`
		WHERE UPPER(f.extension) = 'LIB'
			OR f.id IN (SELECT vl.resolved_file_id FROM version_libraries vl WHERE vl.version_id = v.id AND vl.resolved_file_id IS NOT NULL)
		GROUP BY UPPER(f.filename)
		ORDER BY 2 DESC, 1
		LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LibraryName{}
	for rows.Next() {
		var n LibraryName
		if err := rows.Scan(&n.Name, &n.Packages, &n.Variants); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
