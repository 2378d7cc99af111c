package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

// Since migrations 00154–00156 the symbol index keeps one row per name and
// block of symbolBlockSize consecutive analysis ids (symbol_id, block,
// entries), not one per (name, analysis): a row per pair took ~97 bytes on
// PostgreSQL (tuple header, two bigints, two ints, primary key entry) and
// most names of a post are in most analyses, so a few hundred names had
// nearly all the rows. Analyses are stored once per content and never
// change: an entry is only added, and removed when its analysis is pruned.
//
// A block row is written once on a fresh fill (00165, as search_postings'
// blocks are): a new analysis's entries go to its own row of
// symbol_index_tail, and are folded into the blocks, in one statement,
// once the writers have moved symbolFoldLag blocks past the analysis's
// block (writeSymbols). Appending every new analysis to the newest block
// of each of its names instead rewrote a row up to symbolBlockSize times,
// and on PostgreSQL the rewrites left the table three quarters free space
// after a fresh fill (vacuumed, never given back). An analysis a
// concurrent writer commits after its block was folded is appended to the
// block by the next fold (INSERT … ON CONFLICT DO UPDATE SET entries =
// entries || new), which is rare. Readers read a name's blocks and the
// whole tail (a block or two of analyses) in one statement: one snapshot,
// in which a fold's move is seen whole.
//
// A block's bytes are, per entry: an unsigned varint of the analysis id
// less the block's first id, then the counts (appendSymbolCounts). A tail
// row's bytes are its analysis's entries in name id order, each an
// unsigned varint of the name id less the previous one, then the counts.
// Concurrent writers may append out of id order; readers sort.

const (
	symbolBlockShift = 7
	symbolBlockSize  = 1 << symbolBlockShift
	symbolFoldLag    = 1
)

// symbolBlock is the block of an analysis id.
func symbolBlock(analysisID int64) int64 { return analysisID >> symbolBlockShift }

// symbolEntry is a name's counts in one analysis.
type symbolEntry struct {
	analysis   int64
	defs, uses int
}

func appendSymbolEntry(b []byte, e symbolEntry) []byte {
	b = binary.AppendUvarint(b, uint64(e.analysis&(symbolBlockSize-1)))
	return appendSymbolCounts(b, e.defs, e.uses)
}

// appendSymbolCounts packs an entry's counts: an unsigned varint of
// definitions << 1, with the low bit set when uses is not 1 (then an
// unsigned varint of uses follows).
func appendSymbolCounts(b []byte, defs, uses int) []byte {
	head := uint64(defs) << 1
	if uses != 1 {
		head |= 1
	}
	b = binary.AppendUvarint(b, head)
	if uses != 1 {
		b = binary.AppendUvarint(b, uint64(uses))
	}
	return b
}

// readSymbolCounts reads counts appendSymbolCounts packed at the start of
// b and returns the bytes after them.
func readSymbolCounts(b []byte) (defs, uses int, rest []byte, err error) {
	head, k := binary.Uvarint(b)
	if k <= 0 || head > 1<<32 {
		return 0, 0, nil, errSymbolBlock
	}
	b = b[k:]
	u := uint64(1)
	if head&1 != 0 {
		if u, k = binary.Uvarint(b); k <= 0 || u > 1<<31 {
			return 0, 0, nil, errSymbolBlock
		}
		b = b[k:]
	}
	return int(head >> 1), int(u), b, nil
}

var errSymbolBlock = errors.New("corrupt symbol index block")

// eachSymbolEntry calls fn with every entry of a block's bytes.
func eachSymbolEntry(block int64, b []byte, fn func(symbolEntry)) error {
	base := block << symbolBlockShift
	for len(b) > 0 {
		off, k := binary.Uvarint(b)
		if k <= 0 || off >= symbolBlockSize {
			return errSymbolBlock
		}
		e := symbolEntry{analysis: base + int64(off)}
		var err error
		if e.defs, e.uses, b, err = readSymbolCounts(b[k:]); err != nil {
			return err
		}
		fn(e)
	}
	return nil
}

// symbolCount is a name's counts in a tail row (its analysis's).
type symbolCount struct {
	symbol     int64
	defs, uses int
}

// packSymbolTail packs an analysis's counts, sorted by name id, for its
// row of symbol_index_tail.
func packSymbolTail(counts []symbolCount) []byte {
	slices.SortFunc(counts, func(a, b symbolCount) int { return cmp.Compare(a.symbol, b.symbol) })
	var b []byte
	prev := int64(0)
	for _, c := range counts {
		b = binary.AppendUvarint(b, uint64(c.symbol-prev))
		b = appendSymbolCounts(b, c.defs, c.uses)
		prev = c.symbol
	}
	return b
}

// eachSymbolTailEntry calls fn with every name's counts in a tail row's
// bytes, in name id order; fn returns false to stop.
func eachSymbolTailEntry(b []byte, fn func(c symbolCount) bool) error {
	prev := int64(0)
	for len(b) > 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 || d > 1<<40 {
			return errSymbolBlock
		}
		c := symbolCount{symbol: prev + int64(d)}
		var err error
		if c.defs, c.uses, b, err = readSymbolCounts(b[k:]); err != nil {
			return err
		}
		if !fn(c) {
			return nil
		}
		prev = c.symbol
	}
	return nil
}

// tailCountsOf returns a name's counts in a tail row, if it has them.
func tailCountsOf(b []byte, symbol int64) (symbolCount, bool, error) {
	var found symbolCount
	ok := false
	err := eachSymbolTailEntry(b, func(c symbolCount) bool {
		if c.symbol == symbol {
			found, ok = c, true
		}
		return c.symbol < symbol
	})
	return found, ok, err
}

func bySymbolAnalysis(a, b symbolEntry) int { return cmp.Compare(a.analysis, b.analysis) }

// symbolBlockKey is a row of the symbol index.
type symbolBlockKey struct{ symbol, block int64 }

// symbolBlocks packs symbol rows into bytes per name and block.
type symbolBlocks struct {
	keys    []symbolBlockKey
	entries map[symbolBlockKey][]byte
}

func (sb *symbolBlocks) add(symbol int64, e symbolEntry) {
	if sb.entries == nil {
		sb.entries = map[symbolBlockKey][]byte{}
	}
	k := symbolBlockKey{symbol, symbolBlock(e.analysis)}
	b, ok := sb.entries[k]
	if !ok {
		sb.keys = append(sb.keys, k)
	}
	sb.entries[k] = appendSymbolEntry(b, e)
}

// columns are the rows as arrays (names, blocks, bytes) in key order: the
// order writers lock rows in, so that they never deadlock.
func (sb *symbolBlocks) columns() ([]int64, []int64, [][]byte) {
	slices.SortFunc(sb.keys, func(a, b symbolBlockKey) int {
		if c := cmp.Compare(a.symbol, b.symbol); c != 0 {
			return c
		}
		return cmp.Compare(a.block, b.block)
	})
	ids, blocks, entries := make([]int64, len(sb.keys)), make([]int64, len(sb.keys)), make([][]byte, len(sb.keys))
	for i, k := range sb.keys {
		ids[i], blocks[i], entries[i] = k.symbol, k.block, sb.entries[k]
	}
	return ids, blocks, entries
}

// appendSymbolBlocks adds the packed entries to their rows of table,
// creating the rows that are new, in key order.
func (db *DB) appendSymbolBlocks(ctx context.Context, tx *sql.Tx, table string, sb *symbolBlocks) error {
	if len(sb.keys) == 0 {
		return nil
	}
	ids, blocks, entries := sb.columns()
	if db.Dialect == Postgres {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (symbol_id, block, entries)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::bytea[]) ORDER BY 1, 2
			ON CONFLICT (symbol_id, block) DO UPDATE SET entries = `+table+`.entries || excluded.entries`, ids, blocks, entries)
		return err
	}
	// SQLite: one statement over a JSON array, the bytes in hex (|| joins
	// them as text: CAST gives the bytes back as a blob).
	rows := make([][3]any, len(ids))
	for i := range ids {
		rows[i] = [3]any{ids[i], blocks[i], hex.EncodeToString(entries[i])}
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (symbol_id, block, entries)
		SELECT value ->> 0, value ->> 1, unhex(value ->> 2) FROM json_each($1) WHERE true
		ON CONFLICT (symbol_id, block) DO UPDATE SET entries = CAST(`+table+`.entries || excluded.entries AS BLOB)`, string(batch))
	return err
}

// Tail rows: added by writers, taken (deleted and returned) by folds. On
// PostgreSQL a fold skips the rows another fold is taking.
const (
	addSymbolTailSQL     = `INSERT INTO symbol_index_tail (analysis_id, entries) SELECT * FROM unnest($1::int8[], $2::bytea[])`
	addSymbolTailSQLite  = `INSERT INTO symbol_index_tail (analysis_id, entries) VALUES ($1, $2)`
	takeSymbolTailSQL    = `DELETE FROM symbol_index_tail WHERE analysis_id IN (SELECT analysis_id FROM symbol_index_tail WHERE analysis_id < $1 ORDER BY analysis_id FOR UPDATE SKIP LOCKED) RETURNING analysis_id, entries`
	takeSymbolTailSQLite = `DELETE FROM symbol_index_tail WHERE analysis_id < $1 RETURNING analysis_id, entries`
)

// storeSymbolTail stores new analyses' counts (counts[i] of analyses[i])
// in the tail, and folds into the blocks the tail's analyses
// symbolFoldLag blocks behind the newest one written.
func (db *DB) storeSymbolTail(ctx context.Context, tx *sql.Tx, analyses []int64, counts [][]symbolCount) error {
	if len(analyses) == 0 {
		return nil
	}
	packed := make([][]byte, len(analyses))
	for i := range analyses {
		packed[i] = packSymbolTail(counts[i])
	}
	if err := execColumns(ctx, tx, db.Dialect, addSymbolTailSQL, addSymbolTailSQLite, len(analyses), []any{analyses, packed},
		func(i int) []any { return []any{analyses[i], packed[i]} }); err != nil {
		return fmt.Errorf("indexing symbols: %w", err)
	}
	below := (symbolBlock(slices.Max(analyses)) - symbolFoldLag) << symbolBlockShift
	if below <= 0 {
		return nil
	}
	return db.foldSymbolTail(ctx, tx, below)
}

// foldSymbolTail moves the entries of the tail's analyses below id below
// into their blocks.
func (db *DB) foldSymbolTail(ctx context.Context, tx *sql.Tx, below int64) error {
	q := takeSymbolTailSQL
	if db.Dialect == SQLite {
		q = takeSymbolTailSQLite
	}
	rows, err := tx.QueryContext(ctx, q, below)
	if err != nil {
		return fmt.Errorf("folding the symbol index: %w", err)
	}
	type tailRow struct {
		analysis int64
		b        []byte
	}
	var taken []tailRow
	for rows.Next() {
		var r tailRow
		if err := rows.Scan(&r.analysis, &r.b); err != nil {
			rows.Close()
			return err
		}
		taken = append(taken, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// In analysis order (RETURNING has none), so that a block's entries
	// are, and its readers need not sort them.
	slices.SortFunc(taken, func(a, b tailRow) int { return cmp.Compare(a.analysis, b.analysis) })
	var sb symbolBlocks
	for _, r := range taken {
		if err := eachSymbolTailEntry(r.b, func(c symbolCount) bool {
			sb.add(c.symbol, symbolEntry{analysis: r.analysis, defs: c.defs, uses: c.uses})
			return true
		}); err != nil {
			return fmt.Errorf("symbol index tail of analysis %d: %w", r.analysis, err)
		}
	}
	if err := db.appendSymbolBlocks(ctx, tx, "symbol_index", &sb); err != nil {
		return fmt.Errorf("folding the symbol index: %w", err)
	}
	return nil
}

// eachSymbolTailRow calls fn with every name's counts in every tail row.
func eachSymbolTailRow(ctx context.Context, q querier, fn func(analysis int64, c symbolCount) error) error {
	rows, err := q.QueryContext(ctx, `SELECT analysis_id, entries FROM symbol_index_tail ORDER BY analysis_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var analysis int64
		var b []byte
		if err := rows.Scan(&analysis, &b); err != nil {
			return err
		}
		var ferr error
		if err := eachSymbolTailEntry(b, func(c symbolCount) bool {
			ferr = fn(analysis, c)
			return ferr == nil
		}); err != nil {
			return fmt.Errorf("symbol index tail of analysis %d: %w", analysis, err)
		}
		if ferr != nil {
			return ferr
		}
	}
	return rows.Err()
}

// tailSymbols returns the ids of the names the tail's analyses have.
func tailSymbols(ctx context.Context, q querier) (map[int64]bool, error) {
	out := map[int64]bool{}
	err := eachSymbolTailRow(ctx, q, func(_ int64, c symbolCount) error {
		out[c.symbol] = true
		return nil
	})
	return out, err
}

// eachSymbolIndexEntry calls fn with every entry of the symbol index: the
// blocks' a name at a time, then the tail's (a check, not a page).
func eachSymbolIndexEntry(ctx context.Context, q querier, fn func(symbol int64, e symbolEntry) error) error {
	if err := eachSymbolRow(ctx, q, "symbol_index", fn); err != nil {
		return err
	}
	return eachSymbolTailRow(ctx, q, func(analysis int64, c symbolCount) error {
		return fn(c.symbol, symbolEntry{analysis: analysis, defs: c.defs, uses: c.uses})
	})
}

// dropUnusedSymbolNames removes those of these names no package counts
// and no analysis has, in a block or in the tail.
func (db *DB) dropUnusedSymbolNames(ctx context.Context, tx *sql.Tx, names []string) error {
	if len(names) == 0 {
		return nil
	}
	const unused = ` AND packages <= 0 AND NOT EXISTS (SELECT 1 FROM symbol_index s WHERE s.symbol_id = symbol_names.id)`
	list, arg := db.stringsArg(names, 1)
	ids, err := queryInts(ctx, tx, `SELECT id FROM symbol_names WHERE canonical IN `+list+unused, arg)
	if err != nil || len(ids) == 0 {
		return err
	}
	inTail, err := tailSymbols(ctx, tx)
	if err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return inTail[id] })
	if len(ids) == 0 {
		return nil
	}
	// The conditions again: a concurrent writer may have counted a name
	// since (the row lock makes this statement see it).
	idList, idArg := db.idsArg(ids, 1)
	_, err = tx.ExecContext(ctx, `DELETE FROM symbol_names WHERE id IN `+idList+unused, idArg)
	return err
}

// removeSymbolEntries removes an analysis's entries: its tail row, or its
// entries in the blocks of these names (a block left empty goes).
func (db *DB) removeSymbolEntries(ctx context.Context, tx *sql.Tx, analysisID int64, symbols []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM symbol_index_tail WHERE analysis_id = $1`, analysisID); err != nil {
		return err
	}
	if len(symbols) == 0 {
		return nil
	}
	slices.Sort(symbols)
	block := symbolBlock(analysisID)
	list, arg := db.listArg(symbols, "int8", 1)
	lock := ""
	if db.Dialect == Postgres {
		lock = ` FOR UPDATE` // in key order, as appends lock them
	}
	rows, err := tx.QueryContext(ctx, `SELECT symbol_id, entries FROM symbol_index WHERE symbol_id IN `+list+` AND block = $2
		ORDER BY symbol_id`+lock, arg, block)
	if err != nil {
		return err
	}
	type change struct {
		symbol int64
		left   []byte
	}
	var changes []change
	for rows.Next() {
		var c change
		var b []byte
		if err := rows.Scan(&c.symbol, &b); err != nil {
			rows.Close()
			return err
		}
		found := false
		if err := eachSymbolEntry(block, b, func(e symbolEntry) {
			if e.analysis == analysisID {
				found = true
			} else {
				c.left = appendSymbolEntry(c.left, e)
			}
		}); err != nil {
			rows.Close()
			return fmt.Errorf("symbol index row of name %d: %w", c.symbol, err)
		}
		if found {
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		if len(c.left) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM symbol_index WHERE symbol_id = $1 AND block = $2`, c.symbol, block)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE symbol_index SET entries = $3 WHERE symbol_id = $1 AND block = $2`, c.symbol, block, c.left)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// symbolName is a name's count of packages (0: none, or no such name) and
// its entries, by analysis.
type symbolName struct {
	packages int
	entries  symbolEntries
}

// symbolEntries are a name's entries sorted by analysis id: a common
// name has one in nearly every analysis, and a sorted slice is decoded
// and searched at a fraction of a map's cost.
type symbolEntries []symbolEntry

// get returns the entry of an analysis.
func (s symbolEntries) get(analysis int64) (symbolEntry, bool) {
	i, ok := slices.BinarySearchFunc(s, analysis, func(e symbolEntry, a int64) int { return cmp.Compare(e.analysis, a) })
	if !ok {
		return symbolEntry{}, false
	}
	return s[i], true
}

// has reports whether an analysis has the name.
func (s symbolEntries) has(analysis int64) bool {
	_, ok := s.get(analysis)
	return ok
}

// analyses are the entries' analysis ids, in order.
func (s symbolEntries) analyses() []int64 {
	out := make([]int64, len(s))
	for i, e := range s {
		out[i] = e.analysis
	}
	return out
}

// symbolNameEntries reads a name's count and entries: all of them, or
// those of these analyses only (when not nil). The name's blocks and the
// tail are read in one statement (one snapshot: a fold is seen whole).
func (db *DB) symbolNameEntries(ctx context.Context, q querier, canonical string, analyses []int64) (symbolName, error) {
	var out symbolName
	blocksOf, tailOf := "", ""
	var only map[int64]bool
	if analyses != nil {
		if len(analyses) == 0 {
			return out, nil
		}
		only = make(map[int64]bool, len(analyses))
		var ids, blocks []string
		for _, a := range analyses {
			if !only[a] {
				only[a] = true
				ids = append(ids, strconv.FormatInt(a, 10))
				blocks = append(blocks, strconv.FormatInt(symbolBlock(a), 10))
			}
		}
		slices.Sort(blocks)
		// Integers read from the database: inlined.
		blocksOf = ` AND s.block IN (` + strings.Join(slices.Compact(blocks), ",") + `)`
		tailOf = ` WHERE t.analysis_id IN (` + strings.Join(ids, ",") + `)`
	}
	// The name's rows (kind 0) come first, one per block in block order
	// (block -1: none), then the tail's (kind 1) in analysis order: tail
	// rows are decoded as they come, with no copy of their bytes.
	rows, err := q.QueryContext(ctx, `SELECT 0, n.packages, n.id, COALESCE(s.block, -1), s.entries FROM symbol_names n
		LEFT JOIN symbol_index s ON s.symbol_id = n.id`+blocksOf+` WHERE n.canonical = $1
		UNION ALL SELECT 1, 0, t.analysis_id, -1, t.entries FROM symbol_index_tail t`+tailOf+`
		ORDER BY 1, 4, 3`, canonical)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	symbol := int64(-1)
	for rows.Next() {
		var kind, packages, id, block int64
		var b sql.RawBytes
		if err := rows.Scan(&kind, &packages, &id, &block, &b); err != nil {
			return out, err
		}
		if kind == 1 {
			if symbol < 0 {
				break // no such name
			}
			c, ok, err := tailCountsOf(b, symbol)
			if err != nil {
				return out, fmt.Errorf("symbol index tail of analysis %d: %w", id, err)
			}
			if ok {
				out.entries = append(out.entries, symbolEntry{analysis: id, defs: c.defs, uses: c.uses})
			}
			continue
		}
		if symbol < 0 && only == nil {
			// About one entry per package that has the name: one
			// allocation for a common name's ~10,000, not ~25 growths.
			n := max(packages, 0)
			out.entries = make([]symbolEntry, 0, n+n/8+8)
		}
		out.packages, symbol = int(packages), id
		if block < 0 {
			continue
		}
		from := len(out.entries)
		if err := eachSymbolEntry(block, b, func(e symbolEntry) {
			if only == nil || only[e.analysis] {
				out.entries = append(out.entries, e)
			}
		}); err != nil {
			return out, fmt.Errorf("symbol index of %s: %w", canonical, err)
		}
		// Blocks come in order; a block's entries nearly so (a fold
		// appends an analysis a late writer committed): sorted here, a
		// block at a time, so that the whole needs no sort.
		if these := out.entries[from:]; !slices.IsSortedFunc(these, bySymbolAnalysis) {
			slices.SortFunc(these, bySymbolAnalysis)
		}
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	// The tail's analyses come after the blocks' in id order, but for one
	// a late writer committed in a block already folded: sorted then. An
	// analysis has one entry per name.
	if !slices.IsSortedFunc(out.entries, bySymbolAnalysis) {
		slices.SortFunc(out.entries, bySymbolAnalysis)
	}
	out.entries = slices.CompactFunc(out.entries, func(a, b symbolEntry) bool { return a.analysis == b.analysis })
	return out, nil
}

// eachSymbolRow calls fn with every entry of the symbol index, a name at a
// time (a check or a migration, not a page).
func eachSymbolRow(ctx context.Context, q querier, table string, fn func(symbol int64, e symbolEntry) error) error {
	last := int64(-1)
	for {
		// A page of names by key; their rows are read whole.
		rows, err := q.QueryContext(ctx, `SELECT symbol_id, block, entries FROM `+table+` WHERE symbol_id IN
			(SELECT DISTINCT symbol_id FROM `+table+` WHERE symbol_id > $1 ORDER BY symbol_id LIMIT 256) ORDER BY symbol_id, block`, last)
		if err != nil {
			return err
		}
		type row struct {
			symbol, block int64
			b             []byte
		}
		var page []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.symbol, &r.block, &r.b); err != nil {
				rows.Close()
				return err
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			var ferr error
			if err := eachSymbolEntry(r.block, r.b, func(e symbolEntry) {
				if ferr == nil {
					ferr = fn(r.symbol, e)
				}
			}); err != nil {
				return fmt.Errorf("symbol index row of name %d: %w", r.symbol, err)
			}
			if ferr != nil {
				return ferr
			}
		}
		last = page[len(page)-1].symbol
	}
}

// symbolBlocksMigration is migration 00155: the symbol index's rows (a row
// per name and analysis) are packed into the blocks of symbol_index_blocks
// (00154), which 00156 puts in their place. Down unpacks them again.
func symbolBlocksMigration(d Dialect) *goose.Migration {
	run := func(f func(context.Context, *sql.Tx, Dialect) error) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return f(ctx, tx, d) }}
	}
	return goose.NewGoMigration(155, run(packSymbolIndex), run(unpackSymbolIndex))
}

// symbolTailMigration is migration 00165 (both engines): the tail of the
// symbol index (a row per analysis whose entries are not in blocks yet).
// Down folds the tail into the blocks first.
func symbolTailMigration(d Dialect) *goose.Migration {
	return tailMigration(165, d, "symbol_index_tail", `CREATE TABLE symbol_index_tail (
		analysis_id BIGINT PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
		entries     BYTEA NOT NULL -- the analysis's names' counts in name id order (internal/store/symbol_blocks.go)
	)`, func(ctx context.Context, tx *sql.Tx) error {
		return (&DB{Dialect: d}).foldSymbolTail(ctx, tx, math.MaxInt64)
	})
}

// symbolMigrationNames is how many name ids the migration converts at a
// time (a range of ids, so memory stays bounded).
const symbolMigrationNames = 64

func packSymbolIndex(ctx context.Context, tx *sql.Tx, d Dialect) error {
	db := &DB{Dialect: d}
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(symbol_id), 0) FROM symbol_index`).Scan(&top); err != nil {
		return err
	}
	for lo := int64(0); lo < top; lo += symbolMigrationNames {
		rows, err := tx.QueryContext(ctx, `SELECT symbol_id, analysis_id, definitions, uses FROM symbol_index
			WHERE symbol_id > $1 AND symbol_id <= $2 ORDER BY symbol_id, analysis_id`, lo, lo+symbolMigrationNames)
		if err != nil {
			return fmt.Errorf("packing the symbol index: %w", err)
		}
		var sb symbolBlocks
		for rows.Next() {
			var symbol int64
			var e symbolEntry
			if err := rows.Scan(&symbol, &e.analysis, &e.defs, &e.uses); err != nil {
				rows.Close()
				return err
			}
			sb.add(symbol, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := db.appendSymbolBlocks(ctx, tx, "symbol_index_blocks", &sb); err != nil {
			return fmt.Errorf("packing the symbol index: %w", err)
		}
	}
	return nil
}

func unpackSymbolIndex(ctx context.Context, tx *sql.Tx, d Dialect) error {
	var ids, aids, defs, uses []int64
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		var err error
		if d == Postgres {
			_, err = tx.ExecContext(ctx, `INSERT INTO symbol_index (symbol_id, analysis_id, definitions, uses)
				SELECT * FROM unnest($1::int8[], $2::int8[], $3::int4[], $4::int4[])`, ids, aids, defs, uses)
		} else {
			rows := make([][4]int64, len(ids))
			for i := range ids {
				rows[i] = [4]int64{ids[i], aids[i], defs[i], uses[i]}
			}
			b, _ := json.Marshal(rows)
			_, err = tx.ExecContext(ctx, `INSERT INTO symbol_index (symbol_id, analysis_id, definitions, uses)
				SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1)`, string(b))
		}
		ids, aids, defs, uses = ids[:0], aids[:0], defs[:0], uses[:0]
		return err
	}
	if err := eachSymbolRow(ctx, tx, "symbol_index_blocks", func(symbol int64, e symbolEntry) error {
		ids, aids, defs, uses = append(ids, symbol), append(aids, e.analysis), append(defs, int64(e.defs)), append(uses, int64(e.uses))
		if len(ids) >= symbolMigrationBatch {
			return flush()
		}
		return nil
	}); err != nil {
		return fmt.Errorf("unpacking the symbol index: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("unpacking the symbol index: %w", err)
	}
	// 00154's down drops it; emptied here so that up can run again without it.
	_, err := tx.ExecContext(ctx, `DELETE FROM symbol_index_blocks`)
	return err
}
