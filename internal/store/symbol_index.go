package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/analysis"
)

// The symbol index holds each name's counts per analysed content, keyed
// by the name's id in symbol_names (migrations 00120–00122: the name's
// text is stored once), packed per block of analyses (symbol_blocks.go). Every name of a stored analysis has a symbol_names row; one
// no latest package has keeps zero counts (the name list skips it) until
// no analysis has it either.

// symbolIDs returns the ids of these names, adding those not in
// symbol_names yet (with zero counts). names are sorted (as an analysis's
// groups are), so concurrent writers add rows in the same order.
func (db *DB) symbolIDs(ctx context.Context, tx *sql.Tx, names []string) (map[string]int64, error) {
	ids, err := db.lookupSymbolIDs(ctx, tx, names)
	if err != nil || len(ids) == len(names) {
		return ids, err
	}
	var missing []string
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			missing = append(missing, n)
		}
	}
	_, arg := db.stringsArg(missing, 1)
	if db.Dialect == Postgres {
		_, err = tx.ExecContext(ctx, `INSERT INTO symbol_names (canonical, kind, packages, definitions, uses)
			SELECT n, '', 0, 0, 0 FROM unnest($1::text[]) AS n ORDER BY n COLLATE "C" ON CONFLICT DO NOTHING`, arg)
	} else {
		// The single writer numbers the new names after the last id.
		_, err = tx.ExecContext(ctx, `INSERT INTO symbol_names (canonical, kind, packages, definitions, uses, id)
			SELECT value, '', 0, 0, 0, (SELECT COALESCE(MAX(id), 0) FROM symbol_names) + key + 1 FROM json_each($1) WHERE true
			ON CONFLICT DO NOTHING`, arg)
	}
	if err != nil {
		return nil, fmt.Errorf("adding symbol names: %w", err)
	}
	added, err := db.lookupSymbolIDs(ctx, tx, missing)
	if err != nil {
		return nil, err
	}
	if len(added) != len(missing) {
		return nil, fmt.Errorf("adding symbol names: %d of %d have no id", len(missing)-len(added), len(missing))
	}
	for n, id := range added {
		ids[n] = id
	}
	return ids, nil
}

// lookupSymbolIDs returns the ids of those of these names symbol_names has.
func (db *DB) lookupSymbolIDs(ctx context.Context, q querier, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	if len(names) == 0 {
		return out, nil
	}
	list, arg := db.stringsArg(names, 1)
	rows, err := q.QueryContext(ctx, `SELECT canonical, id FROM symbol_names WHERE canonical IN `+list, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			return nil, err
		}
		out[n] = id
	}
	return out, rows.Err()
}

// newSymbols are the symbol index entries of a transaction's new
// contents, by name. It writes them at its end (writeSymbols).
type newSymbols struct {
	names   []string
	entries []symbolEntry
}

// add adds a new content's entries.
func (ns *newSymbols) add(analysisID int64, groups []analysis.SymbolGroup) {
	for _, g := range groups {
		ns.names = append(ns.names, g.Canonical)
		ns.entries = append(ns.entries, symbolEntry{analysis: analysisID, defs: g.Definitions, uses: g.Uses})
	}
}

// writeSymbols adds the names not in symbol_names yet (with zero counts)
// and the analyses' entries to the tail of the symbol index, right after
// (a name with no package is removed once no entry has it).
func (db *DB) writeSymbols(ctx context.Context, tx *sql.Tx, ns *newSymbols) error {
	if len(ns.names) == 0 {
		return nil
	}
	names := slices.Compact(slices.Sorted(slices.Values(ns.names)))
	ids, err := db.symbolIDs(ctx, tx, names)
	if err != nil {
		return err
	}
	var analyses []int64
	var counts [][]symbolCount
	for i, e := range ns.entries {
		if len(analyses) == 0 || analyses[len(analyses)-1] != e.analysis {
			analyses, counts = append(analyses, e.analysis), append(counts, nil)
		}
		last := len(counts) - 1
		counts[last] = append(counts[last], symbolCount{symbol: ids[ns.names[i]], defs: e.defs, uses: e.uses})
	}
	return db.storeSymbolTail(ctx, tx, analyses, counts)
}

// canonicalNames lists the names of an analysis's symbol groups, in their
// (sorted) order.
func canonicalNames(groups []analysis.SymbolGroup) []string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Canonical
	}
	return names
}

// deleteSymbols removes an analysis's entries from the symbol index (its
// names are groups), and the names no package counts and no other
// analysis has.
func (db *DB) deleteSymbols(ctx context.Context, tx *sql.Tx, analysisID int64, groups []analysis.SymbolGroup) error {
	if len(groups) == 0 {
		return nil
	}
	names := canonicalNames(groups)
	ids, err := db.lookupSymbolIDs(ctx, tx, names)
	if err != nil {
		return err
	}
	symbols := make([]int64, 0, len(ids))
	for _, id := range ids {
		symbols = append(symbols, id)
	}
	if err := db.removeSymbolEntries(ctx, tx, analysisID, symbols); err != nil {
		return err
	}
	return db.dropUnusedSymbolNames(ctx, tx, names)
}

// symbolIndexMigration is migration 00121: the symbol index's rows keyed
// by name (before) are copied into symbol_refs (00120), keyed by the
// name's id, their occurrences in the current format; 00122 swaps the
// tables. Down converts back.
func symbolIndexMigration() *goose.Migration {
	return goose.NewGoMigration(121, &goose.GoFunc{RunTx: convertSymbolIndex}, &goose.GoFunc{RunTx: restoreSymbolIndex})
}

// symbolMigrationBatch is how many rows the migration converts at a time
// (it pages by key, so memory stays bounded).
const symbolMigrationBatch = 20000

func convertSymbolIndex(ctx context.Context, tx *sql.Tx) error {
	return copySymbolRows(ctx, tx, `SELECT n.canonical, n.id, s.analysis_id, s.definitions, s.uses, s.occurrences
		FROM symbol_index s JOIN symbol_names n ON n.canonical = s.canonical`, "s.canonical", "",
		analysis.OccurrencesFormat1, analysis.OccurrencesFormat2,
		`INSERT INTO symbol_refs (symbol_id, analysis_id, definitions, uses, occurrences) VALUES ($1, $2, $3, $4, $5)`, true)
}

func restoreSymbolIndex(ctx context.Context, tx *sql.Tx) error {
	if err := copySymbolRows(ctx, tx, `SELECT n.canonical, n.id, s.analysis_id, s.definitions, s.uses, s.occurrences
		FROM symbol_refs s JOIN symbol_names n ON n.id = s.symbol_id`, "s.symbol_id", int64(0),
		analysis.OccurrencesFormat2, analysis.OccurrencesFormat1,
		`INSERT INTO symbol_index (canonical, analysis_id, definitions, uses, occurrences) VALUES ($1, $2, $3, $4, $5)`, false); err != nil {
		return err
	}
	// 00120's Down drops it; emptied here so that Up can run again without it.
	_, err := tx.ExecContext(ctx, `DELETE FROM symbol_refs`)
	return err
}

// copySymbolRows pages through the rows query selects (canonical, id,
// analysis, definitions, uses, occurrences) in the order of its table's
// key (key, s.analysis_id; first is below every key), re-encodes their
// occurrences from one format to the other and inserts each with insert
// (by name id when byID, else by name).
func copySymbolRows(ctx context.Context, tx *sql.Tx, query, key string, first any, from, to int, insert string, byID bool) error {
	type row struct {
		canonical  string
		id, aid    int64
		defs, uses int
		occ        []byte
	}
	lastKey, lastAID := first, int64(-1)
	for {
		rows, err := tx.QueryContext(ctx, query+` WHERE (`+key+`, s.analysis_id) > ($1, $2)
			ORDER BY `+key+`, s.analysis_id LIMIT `+fmt.Sprint(symbolMigrationBatch), lastKey, lastAID)
		if err != nil {
			return fmt.Errorf("converting the symbol index: %w", err)
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.canonical, &r.id, &r.aid, &r.defs, &r.uses, &r.occ); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			return err
		}
		for _, r := range batch {
			occ, err := analysis.UnpackOccurrencesFormat(from, r.canonical, r.occ, nil)
			if err != nil {
				st.Close()
				return fmt.Errorf("converting the symbol index row of %s in analysis %d: %w", r.canonical, r.aid, err)
			}
			var name any = r.canonical
			if byID {
				name = r.id
			}
			if _, err := st.ExecContext(ctx, name, r.aid, r.defs, r.uses, analysis.PackOccurrencesFormat(to, r.canonical, occ)); err != nil {
				st.Close()
				return fmt.Errorf("converting the symbol index: %w", err)
			}
		}
		st.Close()
		last := batch[len(batch)-1]
		lastAID = last.aid
		if byID {
			lastKey = last.canonical
		} else {
			lastKey = last.id
		}
	}
}

// symbolOccurrencesMigration is migration 00140, the Go half of 00141
// (which drops the symbol index's occurrences, derived from the analyses
// since): up has nothing to convert; down, which runs after 00141's down
// has put the column back empty, fills it again from the analyses.
func symbolOccurrencesMigration() *goose.Migration {
	return goose.NewGoMigration(140,
		&goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }},
		&goose.GoFunc{RunTx: restoreSymbolOccurrences})
}

// restoreSymbolOccurrences packs every analysis's occurrences into its
// symbol index rows (and its section ranges into analyses.sections), a batch of analyses at a time (paged by id, so memory
// stays bounded).
func restoreSymbolOccurrences(ctx context.Context, tx *sql.Tx) error {
	const batch = 200
	last := int64(0)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT id, facts, display, tokens FROM analyses WHERE id > $1 ORDER BY id LIMIT `+fmt.Sprint(batch), last)
		if err != nil {
			return fmt.Errorf("restoring symbol occurrences: %w", err)
		}
		type stored struct {
			id int64
			p  analysis.Packed
		}
		var page []stored
		for rows.Next() {
			var s stored
			if err := rows.Scan(&s.id, &s.p.Facts, &s.p.Display, &s.p.Tokens); err != nil {
				rows.Close()
				return err
			}
			page = append(page, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, `UPDATE symbol_index SET occurrences = $1
			WHERE analysis_id = $2 AND symbol_id = (SELECT id FROM symbol_names WHERE canonical = $3)`)
		if err != nil {
			return err
		}
		for _, s := range page {
			groups, sections, err := analysis.StoredSymbols(s.p)
			if err != nil {
				st.Close()
				return fmt.Errorf("restoring the symbol occurrences of analysis %d: %w", s.id, err)
			}
			// The symbol pages before 00141 label occurrences with the
			// section ranges stored beside the facts; rows written since
			// have none.
			if _, err := tx.ExecContext(ctx, `UPDATE analyses SET sections = $1 WHERE id = $2 AND sections IS NULL`,
				nullBytes(analysis.PackSectionRanges(sections)), s.id); err != nil {
				st.Close()
				return fmt.Errorf("restoring section ranges: %w", err)
			}
			for _, g := range groups {
				if _, err := st.ExecContext(ctx, analysis.PackOccurrences(g.Canonical, g.Occurrences), s.id, g.Canonical); err != nil {
					st.Close()
					return fmt.Errorf("restoring symbol occurrences: %w", err)
				}
			}
		}
		st.Close()
		last = page[len(page)-1].id
	}
}
