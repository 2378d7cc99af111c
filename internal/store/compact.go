package store

import (
	"fmt"
	"time"
)

// On SQLite latest_files and files keep a content's SHA-256 as its 32 bytes
// (migrations 00133, 00164) and latest_files the package's creation time as
// Unix microseconds (00133): the rows and their indexes hold them, and text
// took two to four times the bytes. PostgreSQL keeps text and timestamptz.
// These are the one place that converts; the Go side keeps hex strings and
// time.Time.

// shaParam is the SQL for a hex SHA-256 (p: a parameter such as "$1", or a
// text column) compared with or stored in latest_files.sha256 or
// files.sha256.
func (db *DB) shaParam(p string) string {
	if db.Dialect == Postgres {
		return p
	}
	return "unhex(" + p + ")"
}

// shaJoin is the join condition of a files or latest_files sha256 column
// (bytes on SQLite) with a search table's hex one. On SQLite it is spelled
// in both directions, so the planner can look either side up by its
// index: with only unhex(hex) it could not use search_docs' sha256 index
// when the files drive the join, and listing the latest versions' files
// of 2,000 packages scanned every document per file (7.5 s, now 30 ms).
func (db *DB) shaJoin(bytesCol, hexCol string) string {
	if db.Dialect == Postgres {
		return bytesCol + " = " + hexCol
	}
	return bytesCol + " = unhex(" + hexCol + ") AND " + hexCol + " = " + db.shaText(bytesCol)
}

// shaText is the SQL reading latest_files.sha256 or files.sha256 (col) as
// lower-case hex.
func (db *DB) shaText(col string) string {
	if db.Dialect == Postgres {
		return col
	}
	return "lower(hex(" + col + "))"
}

// latestTime is t as latest_files.package_created_at stores it (times are
// whole microseconds: see now).
func (db *DB) latestTime(t time.Time) any {
	if db.Dialect == Postgres {
		return t
	}
	return t.UnixMicro()
}

// latestTimeScan scans latest_files.package_created_at into t, from either
// engine's form.
type latestTimeScan struct{ t *time.Time }

func (s latestTimeScan) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*s.t = time.UnixMicro(x).UTC()
	case time.Time:
		*s.t = x.UTC()
	default:
		return fmt.Errorf("store: a package time stored as %T", v)
	}
	return nil
}
