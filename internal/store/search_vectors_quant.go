package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// quantisedVectorsMigration is migration 00144: the structural embeddings
// of contents (search_docs.vector), sections (search_vectors.embedding) and
// file sets (search_filesets.embedding) are stored int8-quantised
// (search.EncodeVector) instead of as float32 — float32 blobs on SQLite,
// and on PostgreSQL float32 blobs for contents and float4[] for the others,
// which become bytea. Down writes the quantised floats back in the old
// forms (the precision lost is not restored).
func quantisedVectorsMigration(dialect Dialect) *goose.Migration {
	return goose.NewGoMigration(144,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return convertVectors(ctx, tx, dialect == Postgres, true) }},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return convertVectors(ctx, tx, dialect == Postgres, false)
		}})
}

// quantisedColumns are the converted columns; array says the column is a
// float4[] on PostgreSQL before the migration.
var quantisedColumns = []struct {
	table, column string
	array         bool
}{
	{"search_docs", "vector", false},
	{"search_vectors", "embedding", true},
	{"search_filesets", "embedding", true},
}

func convertVectors(ctx context.Context, tx *sql.Tx, postgres, up bool) error {
	for _, c := range quantisedColumns {
		if err := convertColumn(ctx, tx, c.table, c.column, postgres && c.array, up); err != nil {
			return fmt.Errorf("converting %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// convertColumn rewrites one vector column, a batch of rows at a time. A
// float4[] column of PostgreSQL is replaced by a bytea one (up) or back.
func convertColumn(ctx context.Context, tx *sql.Tx, table, column string, array, up bool) error {
	read, write, target := column, column, column
	if array {
		target = column + "_new"
		typ := "BYTEA"
		if up {
			read = "array_to_string(" + column + ", ',')"
		} else {
			typ, read, write = "REAL[]", column, target
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+target+` `+typ); err != nil {
			return err
		}
		write = target
	}
	update := `UPDATE ` + table + ` SET ` + write + ` = $1 WHERE id = $2`
	if array && !up {
		update = `UPDATE ` + table + ` SET ` + write + ` = $1::real[] WHERE id = $2`
	}
	const batch = 1000
	after := int64(-1)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT id, `+read+` FROM `+table+` WHERE id > $1 ORDER BY id LIMIT $2`, after, batch)
		if err != nil {
			return err
		}
		type row struct {
			id  int64
			val []byte
		}
		var list []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.val); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(list) == 0 {
			break
		}
		for _, r := range list {
			var val any
			switch {
			case up && array:
				v, err := parseFloatList(string(r.val))
				if err != nil {
					return fmt.Errorf("row %d: %w", r.id, err)
				}
				val = search.EncodeVector(v)
			case up:
				val = search.EncodeVector(decodeFloatEmbedding(r.val))
			case array:
				val = pgArray(search.DecodeVector(r.val))
			default:
				val = encodeFloatEmbedding(search.DecodeVector(r.val))
			}
			if _, err := tx.ExecContext(ctx, update, val, r.id); err != nil {
				return fmt.Errorf("row %d: %w", r.id, err)
			}
			after = r.id
		}
	}
	if array {
		for _, stmt := range []string{
			`ALTER TABLE ` + table + ` DROP COLUMN ` + column,
			`ALTER TABLE ` + table + ` RENAME COLUMN ` + target + ` TO ` + column,
			`ALTER TABLE ` + table + ` ALTER COLUMN ` + column + ` SET NOT NULL`,
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseFloatList reads PostgreSQL's text of a float4[] joined by commas
// (the shortest text that reads back as the same float4).
func parseFloatList(s string) ([]float32, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]float32, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 32)
		if err != nil {
			return nil, err
		}
		out[i] = float32(f)
	}
	return out, nil
}

// encodeFloatEmbedding was the stored form of a structural embedding
// before migration 00144 (now search.EncodeVector's int8 form) (search.Dims
// floats) in a blob: a bitmap of its non-zero dimensions and their float32
// values, or the dense form (encodeVector) when that is no longer. Most
// section embeddings are sparse, and a dense 2 KiB row takes a whole 4 KiB
// SQLite page (two do not fit). Lossless: decodeFloatEmbedding returns the same
// floats (a -0 comes back as 0, which no sum or product tells apart).
func encodeFloatEmbedding(v []float32) []byte {
	const bitmap = search.Dims / 8
	if len(v) != search.Dims {
		return encodeVector(v)
	}
	nz := 0
	for _, x := range v {
		if x != 0 {
			nz++
		}
	}
	if bitmap+4*nz >= 4*search.Dims {
		return encodeVector(v)
	}
	out := make([]byte, bitmap, bitmap+4*nz)
	for i, x := range v {
		if x != 0 {
			out[i/8] |= 1 << (i % 8)
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		}
	}
	return out
}

// decodeFloatEmbedding reads encodeFloatEmbedding's blobs and dense ones.
func decodeFloatEmbedding(b []byte) []float32 {
	const bitmap = search.Dims / 8
	if len(b) == 4*search.Dims || len(b) < bitmap || (len(b)-bitmap)%4 != 0 {
		return decodeVector(b)
	}
	out := make([]float32, search.Dims)
	vals := b[bitmap:]
	for i := range out {
		if b[i/8]&(1<<(i%8)) != 0 && len(vals) >= 4 {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(vals))
			vals = vals[4:]
		}
	}
	return out
}
