package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// On PostgreSQL a row per posting (text, document, section: ~80 bytes
// with the tuple header, line pointer and primary key entry) made
// search_postings the largest table. Since migrations 00136–00138 it keeps
// one row per text and block of postingBlockSize consecutive document ids,
// the block's postings packed in a bytea (posts). Documents get increasing
// ids, so a new document only appends to the newest block of each of its
// texts (INSERT … ON CONFLICT DO UPDATE SET posts = posts || new): a text
// shared by thousands of documents is never rewritten whole, only its last
// block of at most postingBlockSize documents. Counting (DocStats) reads
// the blocks of the scored texts and adds them up here. SQLite keeps a row
// per posting (WITHOUT ROWID with varints is already small there).
//
// A block's bytes are, per posting: an unsigned varint of the document id
// less the block's first id, then an unsigned varint of section_kind
// (posting.sectionKind) shifted left by one, with the low bit set when
// more than one line has the text (then an unsigned varint of the count
// follows). Appends from concurrent writers may leave a block's documents
// out of order; readers do not depend on the order.

// postingBlockShift sets the block size: postingBlockSize document ids.
const (
	postingBlockShift = 6
	postingBlockSize  = 1 << postingBlockShift
)

// postingBlock is the block of a document id.
func postingBlock(doc int64) int64 { return doc >> postingBlockShift }

// appendBlockPosting packs one posting of document doc into a block's bytes.
func appendBlockPosting(b []byte, doc, sectionKind int64, hits int) []byte {
	b = binary.AppendUvarint(b, uint64(doc&(postingBlockSize-1)))
	head := uint64(sectionKind) << 1
	if hits != 1 {
		head |= 1
	}
	b = binary.AppendUvarint(b, head)
	if hits != 1 {
		b = binary.AppendUvarint(b, uint64(hits))
	}
	return b
}

var errPostingBlock = errors.New("corrupt search posting block")

// eachBlockPosting calls fn with every posting packed in a block's bytes.
func eachBlockPosting(block int64, b []byte, fn func(doc, sectionKind int64, hits int)) error {
	base := block << postingBlockShift
	for len(b) > 0 {
		off, k := binary.Uvarint(b)
		if k <= 0 || off >= postingBlockSize {
			return errPostingBlock
		}
		b = b[k:]
		head, k := binary.Uvarint(b)
		if k <= 0 || head > 1<<40 {
			return errPostingBlock
		}
		b = b[k:]
		hits := uint64(1)
		if head&1 != 0 {
			if hits, k = binary.Uvarint(b); k <= 0 || hits > 1<<31 {
				return errPostingBlock
			}
			b = b[k:]
		}
		fn(base+int64(off), int64(head>>1), int(hits))
	}
	return nil
}

// blockKey is a row of search_postings on PostgreSQL.
type blockKey struct{ text, block int64 }

// postingBlocks packs documents' postings (posts[i] of docIDs[i]) into
// bytes per text and block, in key order.
type postingBlocks struct {
	keys  []blockKey
	posts map[blockKey][]byte
}

func (pb *postingBlocks) add(doc int64, posts []posting) {
	if pb.posts == nil {
		pb.posts = map[blockKey][]byte{}
	}
	for _, p := range posts {
		k := blockKey{p.text, postingBlock(doc)}
		b, ok := pb.posts[k]
		if !ok {
			pb.keys = append(pb.keys, k)
		}
		pb.posts[k] = appendBlockPosting(b, doc, p.sectionKind(), p.hits)
	}
}

// columns are the rows as three arrays (text ids, blocks, bytes) in key
// order: the order writers lock rows in, so that they never deadlock.
func (pb *postingBlocks) columns() ([]int64, []int64, [][]byte) {
	slices.SortFunc(pb.keys, func(a, b blockKey) int {
		if c := cmp.Compare(a.text, b.text); c != 0 {
			return c
		}
		return cmp.Compare(a.block, b.block)
	})
	texts, blocks, posts := make([]int64, len(pb.keys)), make([]int64, len(pb.keys)), make([][]byte, len(pb.keys))
	for i, k := range pb.keys {
		texts[i], blocks[i], posts[i] = k.text, k.block, pb.posts[k]
	}
	return texts, blocks, posts
}

// appendPostingsSQL adds packed postings to their blocks, creating the
// blocks that are new.
const appendPostingsSQL = `INSERT INTO search_postings (text_id, block, posts)
	SELECT * FROM unnest($1::int4[], $2::int4[], $3::bytea[]) ORDER BY 1, 2
	ON CONFLICT (text_id, block) DO UPDATE SET posts = search_postings.posts || excluded.posts`

// docStatsBlocks is DocStats on PostgreSQL: the blocks of the scored texts
// are read and their postings counted here per document and section, then
// kept for the documents of the index version (and marked against the
// section asked for), as DocStats' query does on SQLite.
func (db *DB) docStatsBlocks(ctx context.Context, q search.DocQuery, byScore []int) ([]search.DocStat, error) {
	type ref struct {
		rank int
		mask uint32
	}
	refs := make(map[int64][]ref, len(q.Texts))
	ids := make([]int64, 0, len(q.Texts))
	for rank, i := range byScore {
		t := q.Texts[i]
		if _, ok := refs[t.ID]; !ok {
			ids = append(ids, t.ID)
		}
		refs[t.ID] = append(refs[t.ID], ref{rank, t.Mask})
	}
	type docSection struct {
		doc, sectionKind int64
	}
	type count struct {
		best, hits int
		mask       uint32
	}
	counts := map[docSection]*count{}
	var docs []int64
	var sectionDocs []int64
	var out []search.DocStat
	err := db.withPgx(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT text_id, block, posts FROM search_postings WHERE text_id = ANY($1::int4[])`, ids)
		if err != nil {
			return err
		}
		var text, block int64
		var posts []byte
		_, err = pgx.ForEachRow(rows, []any{&text, &block, &posts}, func() error {
			these := refs[text]
			return eachBlockPosting(block, posts, func(doc, sectionKind int64, hits int) {
				k := docSection{doc, sectionKind}
				n := counts[k]
				if n == nil {
					n = &count{best: these[0].rank}
					counts[k] = n
					docs = append(docs, doc)
					if sectionKind>>3 > 0 {
						sectionDocs = append(sectionDocs, doc)
					}
				}
				for _, r := range these {
					n.best = min(n.best, r.rank)
					n.hits += hits
					n.mask |= r.mask
				}
			})
		})
		if err != nil || len(counts) == 0 {
			return err
		}
		slices.Sort(docs)
		docs = slices.Compact(docs)
		var docIDs []int64
		var shas []string
		if err := c.QueryRow(ctx, `SELECT COALESCE(array_agg(id), '{}'), COALESCE(array_agg(sha256), '{}') FROM search_docs
			WHERE id = ANY($1::int8[]) AND index_version = $2`, docs, q.IndexVersion).Scan(&docIDs, &shas); err != nil {
			return err
		}
		shaOf := make(map[int64]string, len(docIDs))
		for i, id := range docIDs {
			shaOf[id] = shas[i]
		}
		// The sections named by the query, among those of the postings.
		type docOrd struct {
			doc int64
			ord int
		}
		inSection := map[docOrd]bool{}
		if q.Section != "" && len(sectionDocs) > 0 {
			slices.Sort(sectionDocs)
			match, arg := `= $2`, any(q.Section)
			if p, ok := strings.CutSuffix(q.Section, "*"); ok {
				match, arg = `LIKE $2 ESCAPE '\'`, likeEscape(p)+"%"
			}
			rows, err := c.Query(ctx, `SELECT s.doc_id, s.ord FROM search_sections s
				WHERE s.doc_id = ANY($1::int4[]) AND `+sectionCanonical+` `+match, slices.Compact(sectionDocs), arg)
			if err != nil {
				return err
			}
			var k docOrd
			if _, err := pgx.ForEachRow(rows, []any{&k.doc, &k.ord}, func() error {
				inSection[k] = true
				return nil
			}); err != nil {
				return err
			}
		}
		// Per document, kind and whether in the section asked for.
		type group struct {
			doc  int64
			kind int
			in   bool
		}
		groups := map[group]*count{}
		var order []group
		for k, n := range counts {
			if _, ok := shaOf[k.doc]; !ok {
				continue // not of this index version, or deleted
			}
			g := group{doc: k.doc, kind: int(k.sectionKind & 7), in: q.Section != "" && inSection[docOrd{k.doc, int(k.sectionKind>>3) - 1}]}
			m := groups[g]
			if m == nil {
				m = &count{best: n.best}
				groups[g] = m
				order = append(order, g)
			}
			m.best = min(m.best, n.best)
			m.hits += n.hits
			m.mask |= n.mask
		}
		slices.SortFunc(order, func(a, b group) int {
			if a.doc != b.doc {
				return cmp.Compare(a.doc, b.doc)
			}
			if a.kind != b.kind {
				return a.kind - b.kind
			}
			if a.in == b.in {
				return 0
			}
			if b.in {
				return -1
			}
			return 1
		})
		clauses := uint32(1)<<q.Clauses - 1
		out = make([]search.DocStat, 0, len(order))
		for _, g := range order {
			n := groups[g]
			st := search.DocStat{DocID: g.doc, SHA256: shaOf[g.doc], Kind: sectionKindName(g.kind), InSection: g.in,
				Hits: n.hits, Mask: n.mask & clauses, Best: q.Texts[byScore[n.best]].Score}
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting search hits: %w", err)
	}
	return out, nil
}

// dropBlockPostings removes the postings of documents docs from the blocks
// of texts (PostgreSQL; the caller holds the search lock alone).
func dropBlockPostings(ctx context.Context, tx *sql.Tx, texts, docs []int64) error {
	gone := make(map[int64]bool, len(docs))
	var blocks []int64
	for _, d := range docs {
		gone[d] = true
		blocks = append(blocks, postingBlock(d))
	}
	slices.Sort(blocks)
	rows, err := tx.QueryContext(ctx, `SELECT text_id, block, posts FROM search_postings
		WHERE text_id = ANY($1::int4[]) AND block = ANY($2::int4[]) ORDER BY text_id, block`, texts, slices.Compact(blocks))
	if err != nil {
		return err
	}
	var keep blockRows
	var drop blockRows
	for rows.Next() {
		var k blockKey
		var posts []byte
		if err := rows.Scan(&k.text, &k.block, &posts); err != nil {
			rows.Close()
			return err
		}
		var left []byte
		changed := false
		if err := eachBlockPosting(k.block, posts, func(doc, sectionKind int64, hits int) {
			if gone[doc] {
				changed = true
				return
			}
			left = appendBlockPosting(left, doc, sectionKind, hits)
		}); err != nil {
			rows.Close()
			return fmt.Errorf("search postings of text %d: %w", k.text, err)
		}
		switch {
		case len(left) == 0:
			drop.add(k, nil)
		case changed:
			keep.add(k, left)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(drop.texts) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_postings p USING unnest($1::int4[], $2::int4[]) AS u(t, b)
			WHERE p.text_id = u.t AND p.block = u.b`, drop.texts, drop.blocks); err != nil {
			return err
		}
	}
	if len(keep.texts) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE search_postings p SET posts = u.posts
			FROM unnest($1::int4[], $2::int4[], $3::bytea[]) AS u(t, b, posts) WHERE p.text_id = u.t AND p.block = u.b`,
			keep.texts, keep.blocks, keep.posts); err != nil {
			return err
		}
	}
	return nil
}

// blockRows are rows of search_postings as column arrays.
type blockRows struct {
	texts, blocks []int64
	posts         [][]byte
}

func (r *blockRows) add(k blockKey, posts []byte) {
	r.texts, r.blocks, r.posts = append(r.texts, k.text), append(r.blocks, k.block), append(r.posts, posts)
}

// postingBlocksMigration is migration 00137 (PostgreSQL; nothing on
// SQLite): the postings stored a row each (00128) are packed into the
// blocks of search_postings_blocks (00136), which 00138 puts in their
// place. Down unpacks them again.
func postingBlocksMigration(d Dialect) *goose.Migration {
	run := func(f func(context.Context, *sql.Tx) error) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if d != Postgres {
				return nil
			}
			return f(ctx, tx)
		}}
	}
	return goose.NewGoMigration(137, run(packPostings), run(unpackPostings))
}

// postingMigrationTexts is how many text ids the migration converts at a
// time (a range of ids, so memory stays bounded).
const postingMigrationTexts = 4096

func packPostings(ctx context.Context, tx *sql.Tx) error {
	return eachTextRange(ctx, tx, `SELECT COALESCE(MAX(text_id), 0) FROM search_postings`, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT text_id, doc_id, section_kind, hits FROM search_postings
			WHERE text_id > $1 AND text_id <= $2 ORDER BY text_id, doc_id, section_kind`, lo, hi)
		if err != nil {
			return err
		}
		var pb postingBlocks
		for rows.Next() {
			var doc int64
			var p posting
			var sk int64
			if err := rows.Scan(&p.text, &doc, &sk, &p.hits); err != nil {
				rows.Close()
				return err
			}
			p.section, p.kind = int(sk>>3)-1, int16(sk&7)
			pb.add(doc, []posting{p})
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pb.keys) == 0 {
			return err
		}
		texts, blocks, posts := pb.columns()
		_, err = tx.ExecContext(ctx, `INSERT INTO search_postings_blocks (text_id, block, posts)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::bytea[])`, texts, blocks, posts)
		return err
	})
}

func unpackPostings(ctx context.Context, tx *sql.Tx) error {
	return eachTextRange(ctx, tx, `SELECT COALESCE(MAX(text_id), 0) FROM search_postings_blocks`, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT text_id, block, posts FROM search_postings_blocks
			WHERE text_id > $1 AND text_id <= $2`, lo, hi)
		if err != nil {
			return err
		}
		var texts, docs, sks, hits []int64
		for rows.Next() {
			var k blockKey
			var posts []byte
			if err := rows.Scan(&k.text, &k.block, &posts); err != nil {
				rows.Close()
				return err
			}
			if err := eachBlockPosting(k.block, posts, func(doc, sectionKind int64, n int) {
				texts, docs, sks, hits = append(texts, k.text), append(docs, doc), append(sks, sectionKind), append(hits, int64(n))
			}); err != nil {
				rows.Close()
				return fmt.Errorf("search postings of text %d: %w", k.text, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(texts) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO search_postings (text_id, doc_id, section_kind, hits)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::int4[], $4::int4[]) ORDER BY 1, 2, 3`, texts, docs, sks, hits)
		return err
	})
}

// eachTextRange calls fn with consecutive ranges (lo, hi] of text ids up
// to the maximum maxQuery returns.
func eachTextRange(ctx context.Context, tx *sql.Tx, maxQuery string, fn func(lo, hi int64) error) error {
	var top int64
	if err := tx.QueryRowContext(ctx, maxQuery).Scan(&top); err != nil {
		return err
	}
	for lo := int64(0); lo < top; lo += postingMigrationTexts {
		if err := fn(lo, lo+postingMigrationTexts); err != nil {
			return fmt.Errorf("converting search postings: %w", err)
		}
	}
	return nil
}
