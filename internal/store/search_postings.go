package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// search_postings answers "which documents hold text T". It keeps one row
// per text and block of postingBlockSize consecutive document ids, the
// block's postings packed in bytes (posts): migrations 00136–00138 on
// PostgreSQL, where a row per posting took ~80 bytes (tuple header, line
// pointer, key entry), and 00150 on SQLite (~12 bytes a row there); a
// block holds each of its postings in two or three bytes.
//
// A block row is written once on a fresh fill. A new document's postings
// go to its own row of search_postings_tail (00151); they are folded into
// the blocks, in one statement, once the writers have moved postingFoldLag
// blocks past the document's block (storePostings). Appending every new
// document to its texts' newest blocks instead rewrote a row up to 64
// times, and on PostgreSQL every rewrite left a dead row version behind:
// a fresh fill took about three times the packed bytes. A document a
// concurrent writer commits after its block was folded is appended to the
// block by the next fold (ON CONFLICT DO UPDATE), which is rare. Readers
// read the blocks of their texts and the whole tail (a couple of blocks'
// documents) in one statement: one snapshot, in which a fold's move from
// the tail to the blocks (one transaction) is seen whole, so every posting
// is counted once.
//
// A block's bytes are, per posting: an unsigned varint of the document id
// less the block's first id, then the posting's head (appendPostingHead).
// A tail row's bytes are its document's postings in text order, each an
// unsigned varint of the text id less the previous one, then the head.
// Folds and late documents may leave a block's documents out of order;
// readers do not depend on the order.

// postingBlockShift sets the block size: postingBlockSize document ids.
// postingFoldLag is how many blocks behind the newest written the tail is
// folded: a document of a concurrent writer still uncommitted by then,
// which would make its block be rewritten, is rare.
const (
	postingBlockShift = 6
	postingBlockSize  = 1 << postingBlockShift
	postingFoldLag    = 1
)

// postingBlock is the block of a document id.
func postingBlock(doc int64) int64 { return doc >> postingBlockShift }

// appendPostingHead packs a posting's section_kind (posting.sectionKind)
// and hits: an unsigned varint of section_kind shifted left by one, with
// the low bit set when more than one line has the text (then an unsigned
// varint of the count follows).
func appendPostingHead(b []byte, sectionKind int64, hits int) []byte {
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

// postingHead reads what appendPostingHead wrote at the start of b; n, the
// bytes read, is 0 when they are damaged.
func postingHead(b []byte) (sectionKind int64, hits int, n int) {
	head, k := binary.Uvarint(b)
	if k <= 0 || head > 1<<40 {
		return 0, 0, 0
	}
	if head&1 == 0 {
		return int64(head >> 1), 1, k
	}
	h, j := binary.Uvarint(b[k:])
	if j <= 0 || h > 1<<31 {
		return 0, 0, 0
	}
	return int64(head >> 1), int(h), k + j
}

// appendBlockPosting packs one posting of document doc into a block's bytes.
func appendBlockPosting(b []byte, doc, sectionKind int64, hits int) []byte {
	b = binary.AppendUvarint(b, uint64(doc&(postingBlockSize-1)))
	return appendPostingHead(b, sectionKind, hits)
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
		sk, hits, n := postingHead(b[k:])
		if n == 0 {
			return errPostingBlock
		}
		b = b[k+n:]
		fn(base+int64(off), sk, hits)
	}
	return nil
}

// tailPostings packs a document's postings, in text order (postingsOf's),
// for its row of search_postings_tail.
func tailPostings(posts []posting) []byte {
	b := make([]byte, 0, 4*len(posts))
	var prev int64
	for _, p := range posts {
		b = binary.AppendUvarint(b, uint64(p.text-prev))
		prev = p.text
		b = appendPostingHead(b, p.sectionKind(), p.hits)
	}
	return b
}

// eachTailPosting calls fn with every posting of a tail row, in text order.
func eachTailPosting(b []byte, fn func(text, sectionKind int64, hits int)) error {
	var text uint64
	for len(b) > 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 || d > 1<<40 {
			return errPostingBlock
		}
		text += d
		sk, hits, n := postingHead(b[k:])
		if n == 0 {
			return errPostingBlock
		}
		b = b[k+n:]
		fn(int64(text), sk, hits)
	}
	return nil
}

// blockKey is a row of search_postings.
type blockKey struct{ text, block int64 }

// postingBlocks packs documents' postings into bytes per text and block,
// in key order.
type postingBlocks struct {
	keys  []blockKey
	posts map[blockKey][]byte
}

func (pb *postingBlocks) add(doc int64, posts []posting) {
	for _, p := range posts {
		pb.addOne(doc, p.text, p.sectionKind(), p.hits)
	}
}

func (pb *postingBlocks) addOne(doc, text, sectionKind int64, hits int) {
	if pb.posts == nil {
		pb.posts = map[blockKey][]byte{}
	}
	k := blockKey{text, postingBlock(doc)}
	b, ok := pb.posts[k]
	if !ok {
		pb.keys = append(pb.keys, k)
	}
	pb.posts[k] = appendBlockPosting(b, doc, sectionKind, hits)
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
// blocks that are new (PostgreSQL).
const appendPostingsSQL = `INSERT INTO search_postings (text_id, block, posts)
	SELECT * FROM unnest($1::int4[], $2::int4[], $3::bytea[]) ORDER BY 1, 2
	ON CONFLICT (text_id, block) DO UPDATE SET posts = search_postings.posts || excluded.posts`

// appendPostingSQLite is appendPostingsSQL for one row on SQLite (|| makes
// text of blobs, hence the cast back).
const appendPostingSQLite = `INSERT INTO search_postings (text_id, block, posts) VALUES ($1, $2, $3)
	ON CONFLICT (text_id, block) DO UPDATE SET posts = CAST(search_postings.posts || excluded.posts AS BLOB)`

// Tail rows: added by writers, taken (deleted and returned) by folds. On
// PostgreSQL a fold skips the rows another fold is taking.
const (
	addTailSQL        = `INSERT INTO search_postings_tail (doc_id, posts) SELECT * FROM unnest($1::int8[], $2::bytea[])`
	addTailSQLite     = `INSERT INTO search_postings_tail (doc_id, posts) VALUES ($1, $2)`
	takeTailSQL       = `DELETE FROM search_postings_tail WHERE doc_id IN (SELECT doc_id FROM search_postings_tail WHERE doc_id < $1 ORDER BY doc_id FOR UPDATE SKIP LOCKED) RETURNING doc_id, posts`
	takeTailSQLite    = `DELETE FROM search_postings_tail WHERE doc_id < $1 RETURNING doc_id, posts`
	postingTailReadPG = `SELECT text_id, block::int8, posts FROM search_postings WHERE text_id = ANY($1::int4[])
		UNION ALL SELECT -1, doc_id, posts FROM search_postings_tail`
	postingTailReadSQLite = `SELECT text_id, block, posts FROM search_postings WHERE text_id IN (SELECT value FROM json_each($1))
		UNION ALL SELECT -1, doc_id, posts FROM search_postings_tail`
)

// postingWrites are the posting statements of a writing transaction: on
// pgx (PostgreSQL's document writer) or database/sql (SQLite's writer, the
// collector and migrations, on either engine).
type postingWrites interface {
	addTail(ctx context.Context, docs []int64, posts [][]byte) error
	takeTail(ctx context.Context, below int64) (docs []int64, posts [][]byte, err error)
	appendBlocks(ctx context.Context, texts, blocks []int64, posts [][]byte) error
}

// storePostings stores new documents' postings (posts[i], packed by
// tailPostings, of docs[i]) in the tail, and folds into the blocks the
// tail's documents postingFoldLag blocks behind the newest one written.
func storePostings(ctx context.Context, w postingWrites, docs []int64, posts [][]byte) error {
	if len(docs) == 0 {
		return nil
	}
	if err := w.addTail(ctx, docs, posts); err != nil {
		return fmt.Errorf("indexing search postings: %w", err)
	}
	below := (postingBlock(slices.Max(docs)) - postingFoldLag) << postingBlockShift
	if below <= 0 {
		return nil
	}
	return foldTail(ctx, w, below)
}

// foldTail moves the postings of the tail's documents below id below into
// their blocks.
func foldTail(ctx context.Context, w postingWrites, below int64) error {
	docs, posts, err := w.takeTail(ctx, below)
	if err != nil || len(docs) == 0 {
		return err
	}
	var pb postingBlocks
	for i, doc := range docs {
		if err := eachTailPosting(posts[i], func(text, sk int64, hits int) { pb.addOne(doc, text, sk, hits) }); err != nil {
			return fmt.Errorf("search postings of document %d: %w", doc, err)
		}
	}
	texts, blocks, packed := pb.columns()
	if err := w.appendBlocks(ctx, texts, blocks, packed); err != nil {
		return fmt.Errorf("folding search postings: %w", err)
	}
	return nil
}

// pgxPostings are postingWrites on a pgx transaction.
type pgxPostings struct{ tx pgx.Tx }

func (p pgxPostings) addTail(ctx context.Context, docs []int64, posts [][]byte) error {
	_, err := p.tx.Exec(ctx, addTailSQL, docs, posts)
	return err
}

func (p pgxPostings) takeTail(ctx context.Context, below int64) ([]int64, [][]byte, error) {
	rows, err := p.tx.Query(ctx, takeTailSQL, below)
	if err != nil {
		return nil, nil, err
	}
	var docs []int64
	var posts [][]byte
	var doc int64
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&doc, &b}, func() error {
		docs, posts = append(docs, doc), append(posts, b)
		b = nil
		return nil
	})
	return docs, posts, err
}

func (p pgxPostings) appendBlocks(ctx context.Context, texts, blocks []int64, posts [][]byte) error {
	_, err := p.tx.Exec(ctx, appendPostingsSQL, texts, blocks, posts)
	return err
}

// sqlPostings are postingWrites on a database/sql transaction.
type sqlPostings struct {
	tx *sql.Tx
	d  Dialect
}

func (p sqlPostings) addTail(ctx context.Context, docs []int64, posts [][]byte) error {
	return execColumns(ctx, p.tx, p.d, addTailSQL, addTailSQLite, len(docs), []any{docs, posts},
		func(i int) []any { return []any{docs[i], posts[i]} })
}

func (p sqlPostings) takeTail(ctx context.Context, below int64) ([]int64, [][]byte, error) {
	q := takeTailSQL
	if p.d == SQLite {
		q = takeTailSQLite
	}
	rows, err := p.tx.QueryContext(ctx, q, below)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var docs []int64
	var posts [][]byte
	for rows.Next() {
		var doc int64
		var b []byte
		if err := rows.Scan(&doc, &b); err != nil {
			return nil, nil, err
		}
		docs, posts = append(docs, doc), append(posts, b)
	}
	return docs, posts, rows.Err()
}

func (p sqlPostings) appendBlocks(ctx context.Context, texts, blocks []int64, posts [][]byte) error {
	return execColumns(ctx, p.tx, p.d, appendPostingsSQL, appendPostingSQLite, len(texts), []any{texts, blocks, posts},
		func(i int) []any { return []any{texts[i], blocks[i], posts[i]} })
}

// execColumns runs a statement over n rows given as columns: once with the
// columns as arrays on PostgreSQL (pgQuery), once per row, prepared, on
// SQLite (liteQuery, whose arguments row returns).
func execColumns(ctx context.Context, tx *sql.Tx, d Dialect, pgQuery, liteQuery string, n int, cols []any, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if d == Postgres {
		_, err := tx.ExecContext(ctx, pgQuery, cols...)
		return err
	}
	st, err := tx.PrepareContext(ctx, liteQuery)
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range n {
		if _, err := st.ExecContext(ctx, row(i)...); err != nil {
			return err
		}
	}
	return nil
}

// tailTexts are the texts the tail's postings point at (the collector
// keeps them: search_texts rows are collected by their blocks).
func tailTexts(ctx context.Context, tx *sql.Tx) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT posts FROM search_postings_tail`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[int64]bool{}
	for rows.Next() {
		var b sql.RawBytes
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := eachTailPosting(b, func(text, _ int64, _ int) { used[text] = true }); err != nil {
			return nil, err
		}
	}
	return used, rows.Err()
}

// dropBlockPostings removes the postings of documents docs from the blocks
// of texts (on PostgreSQL the caller holds the search lock alone). Their
// tail rows go with the documents (ON DELETE CASCADE).
func (db *DB) dropBlockPostings(ctx context.Context, tx *sql.Tx, texts, docs []int64) error {
	gone := make(map[int64]bool, len(docs))
	var blocks []int64
	for _, d := range docs {
		gone[d] = true
		blocks = append(blocks, postingBlock(d))
	}
	slices.Sort(blocks)
	textList, textArg := db.idsArg(texts, 1)
	blockList, blockArg := db.idsArg(slices.Compact(blocks), 2)
	rows, err := tx.QueryContext(ctx, `SELECT text_id, block, posts FROM search_postings
		WHERE text_id IN `+textList+` AND block IN `+blockList+` ORDER BY text_id, block`, textArg, blockArg)
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
	if err := execColumns(ctx, tx, db.Dialect, `DELETE FROM search_postings p USING unnest($1::int4[], $2::int4[]) AS u(t, b)
		WHERE p.text_id = u.t AND p.block = u.b`, `DELETE FROM search_postings WHERE text_id = $1 AND block = $2`,
		len(drop.texts), []any{drop.texts, drop.blocks}, func(i int) []any { return []any{drop.texts[i], drop.blocks[i]} }); err != nil {
		return err
	}
	return execColumns(ctx, tx, db.Dialect, `UPDATE search_postings p SET posts = u.posts
		FROM unnest($1::int4[], $2::int4[], $3::bytea[]) AS u(t, b, posts) WHERE p.text_id = u.t AND p.block = u.b`,
		`UPDATE search_postings SET posts = $3 WHERE text_id = $1 AND block = $2`,
		len(keep.texts), []any{keep.texts, keep.blocks, keep.posts}, func(i int) []any { return []any{keep.texts[i], keep.blocks[i], keep.posts[i]} })
}

// blockRows are rows of search_postings as column arrays.
type blockRows struct {
	texts, blocks []int64
	posts         [][]byte
}

func (r *blockRows) add(k blockKey, posts []byte) {
	r.texts, r.blocks, r.posts = append(r.texts, k.text), append(r.blocks, k.block), append(r.posts, posts)
}

// docStatsBlocks is DocStats: the blocks of the scored texts and the tail
// are read in one statement and their postings counted here per document
// and section, then summed per document, kind of section and whether in
// the section asked for, for the documents of the index version.
func (db *DB) docStatsBlocks(ctx context.Context, q search.DocQuery, byScore []int) ([]search.DocStat, error) {
	c := newStatCounter(q, byScore)
	if err := db.readPostings(ctx, c.ids(), c.add); err != nil {
		return nil, fmt.Errorf("counting search hits: %w", err)
	}
	if len(c.hits) == 0 {
		return nil, nil
	}
	hits := c.sum()
	var docs []int64
	for _, h := range hits {
		if len(docs) == 0 || docs[len(docs)-1] != h.doc {
			docs = append(docs, h.doc)
		}
	}
	shas, err := db.docSHAs(ctx, docs, q.IndexVersion)
	if err != nil {
		return nil, fmt.Errorf("counting search hits: %w", err)
	}
	var named []docOrd
	if q.Section != "" {
		var inSections []int64 // documents of the version with hits in sections
		j := 0
		for _, h := range hits {
			for j < len(shas) && shas[j].id < h.doc {
				j++
			}
			if j < len(shas) && shas[j].id == h.doc && h.sk>>3 > 0 && (len(inSections) == 0 || inSections[len(inSections)-1] != h.doc) {
				inSections = append(inSections, h.doc)
			}
		}
		if named, err = db.sectionsNamed(ctx, inSections, q.Section); err != nil {
			return nil, fmt.Errorf("counting search hits: %w", err)
		}
	}
	// Per document (hits come in document order), kind and whether in the
	// section asked for.
	type group struct {
		set  bool
		best int32
		hits int64
		mask uint32
	}
	var groups [8][2]group
	clauses := uint32(1)<<q.Clauses - 1
	out := make([]search.DocStat, 0, len(shas))
	j := 0
	for i := 0; i < len(hits); {
		doc := hits[i].doc
		end := i + 1
		for end < len(hits) && hits[end].doc == doc {
			end++
		}
		for j < len(shas) && shas[j].id < doc {
			j++
		}
		if j == len(shas) || shas[j].id != doc {
			i = end // not of this index version, or deleted
			continue
		}
		for _, h := range hits[i:end] {
			in := 0
			if q.Section != "" && h.sk>>3 > 0 {
				if _, ok := slices.BinarySearchFunc(named, docOrd{doc, h.sk>>3 - 1}, cmpDocOrd); ok {
					in = 1
				}
			}
			g := &groups[h.sk&7][in]
			if !g.set {
				*g = group{set: true, best: h.best}
			}
			g.best = min(g.best, h.best)
			g.hits += h.hits
			g.mask |= h.mask
		}
		for kind := range groups {
			for in := range groups[kind] {
				g := &groups[kind][in]
				if !g.set {
					continue
				}
				out = append(out, search.DocStat{DocID: doc, SHA256: shas[j].sha, Kind: sectionKindName(kind), InSection: in == 1,
					Hits: int(g.hits), Mask: g.mask & clauses, Best: q.Texts[byScore[g.best]].Score})
				*g = group{}
			}
		}
		i = end
	}
	return out, nil
}

// readPostings calls fn with the blocks of texts (text id, block, bytes)
// and every tail row (text -1, document id, bytes), read in one statement.
// The bytes are valid only during the call.
func (db *DB) readPostings(ctx context.Context, texts []int64, fn func(text, block int64, posts []byte) error) error {
	if db.Dialect == Postgres {
		return db.withPgx(ctx, func(c *pgx.Conn) error {
			rows, err := c.Query(ctx, postingTailReadPG, texts)
			if err != nil {
				return err
			}
			defer rows.Close()
			var text, block int64
			var posts pgtype.DriverBytes
			for rows.Next() {
				if err := rows.Scan(&text, &block, &posts); err != nil {
					return err
				}
				if err := fn(text, block, posts); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	_, arg := db.idsArg(texts, 1)
	rows, err := db.R.QueryContext(ctx, postingTailReadSQLite, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	var text, block int64
	var posts sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&text, &block, &posts); err != nil {
			return err
		}
		if err := fn(text, block, posts); err != nil {
			return err
		}
	}
	return rows.Err()
}

// docSHA is a document's id and content hash.
type docSHA struct {
	id  int64
	sha string
}

// docSHAs are those of docs (sorted) of the index version, by id. A
// document's row never changes, so they are kept in the generation's
// document cache (search_cache.go): a common name is in thousands of
// documents, and reading their hashes was a sixth of a search's CPU.
func (db *DB) docSHAs(ctx context.Context, docs []int64, indexVersion string) ([]docSHA, error) {
	g, err := db.searchGen(ctx)
	if err != nil {
		return nil, err
	}
	metas, err := cachedByID(g.docs.metas, docs, func(missing []int64) (map[int64]docMeta, error) { return db.readDocMetas(ctx, missing) })
	if err != nil {
		return nil, err
	}
	out := make([]docSHA, 0, len(docs))
	for _, id := range docs {
		if m, ok := metas[id]; ok && m.indexVersion == indexVersion {
			out = append(out, docSHA{id, m.sha})
		}
	}
	return out, nil
}

// docMeta is what a search needs of a document's row besides its id.
type docMeta struct{ sha, indexVersion string }

// readDocMetas reads the hashes and index versions of documents (absent:
// deleted). They come back in one row (arrays on PostgreSQL, "id,iv,sha;…"
// on SQLite): a row each through the driver costs more than the lookups.
func (db *DB) readDocMetas(ctx context.Context, docs []int64) (map[int64]docMeta, error) {
	out := make(map[int64]docMeta, len(docs))
	if db.Dialect == Postgres {
		var ids []int64
		var shas, versions []string
		err := db.withPgx(ctx, func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT COALESCE(array_agg(id), '{}'), COALESCE(array_agg(sha256), '{}'), COALESCE(array_agg(index_version), '{}')
				FROM search_docs WHERE id = ANY($1::int8[])`, docs).Scan(&ids, &shas, &versions)
		})
		if err != nil {
			return nil, err
		}
		if len(ids) != len(shas) || len(ids) != len(versions) {
			return nil, fmt.Errorf("reading search documents: %d ids, %d hashes, %d index versions", len(ids), len(shas), len(versions))
		}
		for i, id := range ids {
			out[id] = docMeta{sha: shas[i], indexVersion: versions[i]}
		}
		return out, nil
	}
	list, arg := db.idsArg(docs, 1)
	var packed sql.NullString
	if err := db.R.QueryRowContext(ctx, `SELECT group_concat(id || ',' || sha256 || ',' || index_version, ';') FROM search_docs
		WHERE id IN `+list, arg).Scan(&packed); err != nil {
		return nil, err
	}
	for rec := range strings.SplitSeq(packed.String, ";") {
		id, rest, ok1 := strings.Cut(rec, ",")
		sha, iv, ok2 := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok1 || !ok2 || err != nil {
			if rec == "" {
				continue
			}
			return nil, fmt.Errorf("unexpected search document row %q", rec)
		}
		out[n] = docMeta{sha: sha, indexVersion: iv}
	}
	return out, nil
}

// docOrd is a section of a document.
type docOrd struct {
	doc int64
	ord int64
}

func cmpDocOrd(a, b docOrd) int {
	if c := cmp.Compare(a.doc, b.doc); c != 0 {
		return c
	}
	return cmp.Compare(a.ord, b.ord)
}

// sectionsNamed are the sections of docs a section query (a name, or a
// prefix and *) names, in order.
func (db *DB) sectionsNamed(ctx context.Context, docs []int64, section string) ([]docOrd, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	named, err := db.readSections(ctx, docs, section)
	if err != nil {
		return nil, err
	}
	var out []docOrd
	for doc, secs := range named {
		for _, s := range secs {
			out = append(out, docOrd{doc, int64(s.ord)})
		}
	}
	slices.SortFunc(out, cmpDocOrd)
	return out, nil
}

// anyIDs is a condition "col is one of ids" with ids as parameter n.
func (db *DB) anyIDs(col string, ids []int64, n int) (string, any) {
	if db.Dialect == Postgres {
		return col + " = ANY($" + strconv.Itoa(n) + "::int8[])", ids
	}
	list, arg := db.idsArg(ids, n)
	return col + " IN " + list, arg
}

// statCounter counts the postings of a query's scored texts.
type statCounter struct {
	texts []scoredRef // by id
	hits  []statHit
}

// scoredRef is a scored text: the rank of its best score, how many times
// it is among the scored texts (its lines count once for each) and its
// clauses.
type scoredRef struct {
	id    int64
	best  int32
	times int32
	mask  uint32
}

// statHit is a posting of a scored text, or (after sum) the sum of a
// document's postings in one section.
type statHit struct {
	doc, sk int64
	hits    int64
	best    int32
	mask    uint32
}

func newStatCounter(q search.DocQuery, byScore []int) *statCounter {
	refs := make([]scoredRef, len(byScore))
	for rank, i := range byScore {
		t := q.Texts[i]
		refs[rank] = scoredRef{id: t.ID, best: int32(rank), times: 1, mask: t.Mask}
	}
	slices.SortStableFunc(refs, func(a, b scoredRef) int { return cmp.Compare(a.id, b.id) })
	out := refs[:0]
	for _, r := range refs {
		if n := len(out); n > 0 && out[n-1].id == r.id {
			out[n-1].times++
			out[n-1].mask |= r.mask // best stays: the stable sort keeps ranks in order
			continue
		}
		out = append(out, r)
	}
	return &statCounter{texts: out}
}

// ids are the scored texts' ids.
func (c *statCounter) ids() []int64 {
	ids := make([]int64, len(c.texts))
	for i, t := range c.texts {
		ids[i] = t.id
	}
	return ids
}

// add counts the postings of a block of text (or, text -1, a document's
// tail row) that are of scored texts.
func (c *statCounter) add(text, block int64, b []byte) error {
	if text < 0 {
		return c.addTail(block, b)
	}
	i, ok := slices.BinarySearchFunc(c.texts, text, func(r scoredRef, id int64) int { return cmp.Compare(r.id, id) })
	if !ok {
		return nil
	}
	ref := c.texts[i]
	base := block << postingBlockShift
	for len(b) > 0 {
		off, k := binary.Uvarint(b)
		if k <= 0 || off >= postingBlockSize {
			return fmt.Errorf("search postings of text %d: %w", text, errPostingBlock)
		}
		sk, hits, n := postingHead(b[k:])
		if n == 0 {
			return fmt.Errorf("search postings of text %d: %w", text, errPostingBlock)
		}
		b = b[k+n:]
		c.hits = append(c.hits, statHit{doc: base + int64(off), sk: sk, hits: int64(hits) * int64(ref.times), best: ref.best, mask: ref.mask})
	}
	return nil
}

// addTail counts a tail row's postings of scored texts: both are in text
// order.
func (c *statCounter) addTail(doc int64, b []byte) error {
	var text uint64
	j := 0
	for len(b) > 0 && j < len(c.texts) {
		d, k := binary.Uvarint(b)
		if k <= 0 || d > 1<<40 {
			return fmt.Errorf("search postings of document %d: %w", doc, errPostingBlock)
		}
		text += d
		sk, hits, n := postingHead(b[k:])
		if n == 0 {
			return fmt.Errorf("search postings of document %d: %w", doc, errPostingBlock)
		}
		b = b[k+n:]
		for j < len(c.texts) && c.texts[j].id < int64(text) {
			j++
		}
		if j < len(c.texts) && c.texts[j].id == int64(text) {
			ref := c.texts[j]
			c.hits = append(c.hits, statHit{doc: doc, sk: sk, hits: int64(hits) * int64(ref.times), best: ref.best, mask: ref.mask})
		}
	}
	return nil
}

func cmpStatHit(a, b statHit) int {
	if c := cmp.Compare(a.doc, b.doc); c != 0 {
		return c
	}
	return cmp.Compare(a.sk, b.sk)
}

// sum orders the postings by document and section and sums those of the
// same ones. They are put in order of block first (a counting sort: blocks
// are dense), then each block's few are sorted.
func (c *statCounter) sum() []statHit {
	h := c.hits
	lo, hi := postingBlock(h[0].doc), postingBlock(h[0].doc)
	for _, x := range h {
		b := postingBlock(x.doc)
		lo, hi = min(lo, b), max(hi, b)
	}
	if len(h) < 256 || hi-lo > 4*int64(len(h))+1024 {
		slices.SortFunc(h, cmpStatHit)
	} else {
		ends := make([]int32, hi-lo+1)
		for _, x := range h {
			ends[postingBlock(x.doc)-lo]++
		}
		var at int32
		for i, n := range ends {
			at += n
			ends[i] = at
		}
		sorted := make([]statHit, len(h))
		for i := len(h) - 1; i >= 0; i-- {
			b := postingBlock(h[i].doc) - lo
			ends[b]--
			sorted[ends[b]] = h[i]
		}
		// ends[b] is now the start of block b.
		for b := range ends {
			end := int32(len(sorted))
			if b+1 < len(ends) {
				end = ends[b+1]
			}
			if end-ends[b] > 1 {
				slices.SortFunc(sorted[ends[b]:end], cmpStatHit)
			}
		}
		h = sorted
	}
	out := h[:1]
	for _, x := range h[1:] {
		last := &out[len(out)-1]
		if x.doc == last.doc && x.sk == last.sk {
			last.best = min(last.best, x.best)
			last.hits += x.hits
			last.mask |= x.mask
			continue
		}
		out = append(out, x)
	}
	return out
}

// postingBlocksMigration is migration 00137 (PostgreSQL; nothing on
// SQLite): the postings stored a row each (00128) are packed into the
// blocks of search_postings_blocks (00136), which 00138 puts in their
// place. Down unpacks them again.
func postingBlocksMigration(d Dialect) *goose.Migration {
	return goose.NewGoMigration(137, onlyOn(d, Postgres, packPostings), onlyOn(d, Postgres, unpackPostings))
}

// onlyOn is a Go migration step f that runs on the engine on only.
func onlyOn(d, on Dialect, f func(context.Context, *sql.Tx, Dialect) error) *goose.GoFunc {
	return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		if d != on {
			return nil
		}
		return f(ctx, tx, d)
	}}
}

// sqlitePostingBlocksMigration is migration 00150 (SQLite; nothing on
// PostgreSQL, packed since 00138): the postings stored a row each are
// packed into blocks as on PostgreSQL, in a new table put in the old one's
// place. Down unpacks them again.
func sqlitePostingBlocksMigration(d Dialect) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx, d Dialect) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE search_postings_blocks (
			text_id INTEGER NOT NULL REFERENCES search_texts (id),
			block   INTEGER NOT NULL, -- document id >> 6
			posts   BLOB NOT NULL,    -- see internal/store/search_postings.go
			PRIMARY KEY (text_id, block)
		) WITHOUT ROWID`); err != nil {
			return err
		}
		if err := packPostings(ctx, tx, d); err != nil {
			return err
		}
		return execAll(ctx, tx, `DROP TABLE search_postings`, `ALTER TABLE search_postings_blocks RENAME TO search_postings`)
	}
	down := func(ctx context.Context, tx *sql.Tx, d Dialect) error {
		if err := execAll(ctx, tx, `ALTER TABLE search_postings RENAME TO search_postings_blocks`, `CREATE TABLE search_postings (
				text_id      INTEGER NOT NULL REFERENCES search_texts (id),
				doc_id       INTEGER NOT NULL,
				section_kind INTEGER NOT NULL, -- (ord in search_sections + 1) * 8 + kind: 0 none, 1 system, 2 template, 3 calc, 4 user
				hits         INTEGER NOT NULL, -- lines of the document with this text in this section
				PRIMARY KEY (text_id, doc_id, section_kind)
			) WITHOUT ROWID`); err != nil {
			return err
		}
		if err := unpackPostings(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DROP TABLE search_postings_blocks`)
		return err
	}
	return goose.NewGoMigration(150, onlyOn(d, SQLite, up), onlyOn(d, SQLite, down))
}

// execAll runs statements in order.
func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// postingTailMigration is migration 00151 (both engines): the tail of
// search_postings (a row per document whose postings are not in blocks
// yet). Down folds the tail into the blocks first.
func postingTailMigration(d Dialect) *goose.Migration {
	return tailMigration(151, d, "search_postings_tail", `CREATE TABLE search_postings_tail (
		doc_id BIGINT PRIMARY KEY REFERENCES search_docs (id) ON DELETE CASCADE,
		posts  BYTEA NOT NULL -- the document's postings in text order (internal/store/search_postings.go)
	)`, func(ctx context.Context, tx *sql.Tx) error { return foldTail(ctx, sqlPostings{tx, d}, math.MaxInt64) })
}

// tailMigration is a migration adding the tail table of a packed index
// (create, in PostgreSQL's types, SQLite's given here); down folds the
// tail into the blocks (fold) and drops it.
func tailMigration(version int64, d Dialect, table, create string, fold func(context.Context, *sql.Tx) error) *goose.Migration {
	if d == SQLite {
		create = strings.NewReplacer("BIGINT", "INTEGER", "BYTEA", "BLOB").Replace(create)
	}
	return goose.NewGoMigration(version,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, create)
			return err
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if err := fold(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DROP TABLE `+table)
			return err
		}})
}

// postingMigrationTexts is how many text ids the migration converts at a
// time (a range of ids, so memory stays bounded).
const postingMigrationTexts = 4096

// packPostings packs the rows of search_postings into the blocks of
// search_postings_blocks.
func packPostings(ctx context.Context, tx *sql.Tx, d Dialect) error {
	err := eachIDRange(ctx, tx, `SELECT COALESCE(MAX(text_id), 0) FROM search_postings`, postingMigrationTexts, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT text_id, doc_id, section_kind, hits FROM search_postings
			WHERE text_id > $1 AND text_id <= $2 ORDER BY text_id, doc_id, section_kind`, lo, hi)
		if err != nil {
			return err
		}
		var pb postingBlocks
		for rows.Next() {
			var text, doc, sk int64
			var hits int
			if err := rows.Scan(&text, &doc, &sk, &hits); err != nil {
				rows.Close()
				return err
			}
			pb.addOne(doc, text, sk, hits)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		texts, blocks, posts := pb.columns()
		return execColumns(ctx, tx, d, `INSERT INTO search_postings_blocks (text_id, block, posts)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::bytea[])`, `INSERT INTO search_postings_blocks (text_id, block, posts) VALUES ($1, $2, $3)`,
			len(texts), []any{texts, blocks, posts}, func(i int) []any { return []any{texts[i], blocks[i], posts[i]} })
	})
	if err != nil {
		return fmt.Errorf("converting search postings: %w", err)
	}
	return nil
}

// unpackPostings unpacks the blocks of search_postings_blocks into a row
// per posting in search_postings.
func unpackPostings(ctx context.Context, tx *sql.Tx, d Dialect) error {
	err := eachIDRange(ctx, tx, `SELECT COALESCE(MAX(text_id), 0) FROM search_postings_blocks`, postingMigrationTexts, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT text_id, block, posts FROM search_postings_blocks
			WHERE text_id > $1 AND text_id <= $2`, lo, hi)
		if err != nil {
			return err
		}
		type row struct{ text, doc, sk, hits int64 }
		var all []row
		for rows.Next() {
			var k blockKey
			var posts []byte
			if err := rows.Scan(&k.text, &k.block, &posts); err != nil {
				rows.Close()
				return err
			}
			if err := eachBlockPosting(k.block, posts, func(doc, sectionKind int64, n int) {
				all = append(all, row{k.text, doc, sectionKind, int64(n)})
			}); err != nil {
				rows.Close()
				return fmt.Errorf("search postings of text %d: %w", k.text, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b row) int {
			return cmp.Or(cmp.Compare(a.text, b.text), cmp.Compare(a.doc, b.doc), cmp.Compare(a.sk, b.sk))
		})
		texts, docs, sks, hits := make([]int64, len(all)), make([]int64, len(all)), make([]int64, len(all)), make([]int64, len(all))
		for i, r := range all {
			texts[i], docs[i], sks[i], hits[i] = r.text, r.doc, r.sk, r.hits
		}
		return execColumns(ctx, tx, d, `INSERT INTO search_postings (text_id, doc_id, section_kind, hits)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::int4[], $4::int4[])`,
			`INSERT INTO search_postings (text_id, doc_id, section_kind, hits) VALUES ($1, $2, $3, $4)`,
			len(all), []any{texts, docs, sks, hits}, func(i int) []any { return []any{texts[i], docs[i], sks[i], hits[i]} })
	})
	if err != nil {
		return fmt.Errorf("converting search postings: %w", err)
	}
	return nil
}

// eachIDRange calls fn with consecutive ranges (lo, hi] of step ids up to
// the maximum maxQuery returns (a migration's batches: memory stays
// bounded).
func eachIDRange(ctx context.Context, tx *sql.Tx, maxQuery string, step int64, fn func(lo, hi int64) error) error {
	var top int64
	if err := tx.QueryRowContext(ctx, maxQuery).Scan(&top); err != nil {
		return err
	}
	for lo := int64(0); lo < top; lo += step {
		if err := fn(lo, lo+step); err != nil {
			return err
		}
	}
	return nil
}
