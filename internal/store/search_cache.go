package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/maypok86/otter/v2"

	"github.com/veripost/veripost/internal/search"
)

// What a search reads of the stored index besides its candidates — the
// files of the packages' latest versions, and for the page shown the
// documents' lines, their sections and the texts around the hits — is
// read again by every query, while it only changes with the index. So it
// is kept in memory per generation of the index (latestSignature: uploads,
// edits, deletes, indexing change it), bounded by weight.
//
// A document's rows, and a text's, are only ever inserted or deleted,
// never changed, so what is cached by id stays true while its id names
// the same row. PostgreSQL ids come from sequences and are never used
// again, so those entries are kept from one generation to the next;
// SQLite gives a new row the largest id plus one, which reuses the id of
// the newest row once it is deleted, so there they are dropped with the
// generation.

// searchCacheBytes bounds the memory of the per-document caches (estimated).
const searchCacheBytes = 48 << 20

// searchGeneration is the search reads' state for one index generation.
type searchGeneration struct {
	sig latestSignature

	filesMu sync.Mutex
	files   map[int64][]search.FileRow // contents → files of latest versions

	docs *searchDocCache

	// Per index version, the sections of current documents by their
	// vector (search_sections' vectors): which documents share a vector
	// changes with the documents, so they are only kept for a generation.
	byVectorMu sync.Mutex
	byVector   map[string]*otter.Cache[int64, []search.SectionCandidate]

	// The vector snapshots of this generation (vectors only change with
	// the documents and versions, so within a generation the row count
	// needs no checking).
	vecMu       sync.Mutex
	sectionVecs *vectorSnapshot
}

// sectionsByVectorBytes bounds the memory of one generation's sections by
// vector (estimated).
const sectionsByVectorBytes = 16 << 20

// sectionsByVector returns the cache of sections by vector for an index
// version.
func (g *searchGeneration) sectionsByVector(indexVersion string) *otter.Cache[int64, []search.SectionCandidate] {
	g.byVectorMu.Lock()
	defer g.byVectorMu.Unlock()
	if c := g.byVector[indexVersion]; c != nil {
		return c
	}
	if g.byVector == nil {
		g.byVector = map[string]*otter.Cache[int64, []search.SectionCandidate]{}
	}
	c := otter.Must(&otter.Options[int64, []search.SectionCandidate]{
		MaximumWeight: sectionsByVectorBytes,
		Weigher: func(_ int64, cs []search.SectionCandidate) uint32 {
			n := 64
			for _, c := range cs {
				n += 160 + len(c.Name) + len(c.SHA256) + len(c.Hash)
			}
			return uint32(min(n, 1<<31))
		},
	})
	g.byVector[indexVersion] = c
	return c
}

// vectors returns the generation's snapshot of a vector cache.
func (g *searchGeneration) vectors(ctx context.Context, db *DB, c *vectorCache, slot **vectorSnapshot) (*vectorSnapshot, error) {
	g.vecMu.Lock()
	defer g.vecMu.Unlock()
	if *slot != nil {
		return *slot, nil
	}
	snap, err := c.current(ctx, db)
	if err != nil {
		return nil, err
	}
	*slot = snap
	return snap, nil
}

// searchDocCache holds per-id rows of the index.
type searchDocCache struct {
	// lines: a document's packed lines (search_doc_lines.lines).
	lines *otter.Cache[int64, []byte]
	// sections: a document's sections (name, kind, span), by ord.
	sections *otter.Cache[int64, []search.SectionRef]
	// texts: an analysed line's text (search_texts.text).
	texts *otter.Cache[int64, string]
	// metas: a document's content hash and index version.
	metas *otter.Cache[int64, docMeta]
}

func newSearchDocCache() *searchDocCache {
	return &searchDocCache{
		lines: otter.Must(&otter.Options[int64, []byte]{
			MaximumWeight: searchCacheBytes * 3 / 8,
			Weigher:       func(_ int64, b []byte) uint32 { return uint32(min(len(b)+64, 1<<31)) },
		}),
		sections: otter.Must(&otter.Options[int64, []search.SectionRef]{
			MaximumWeight: searchCacheBytes / 4,
			Weigher: func(_ int64, ss []search.SectionRef) uint32 {
				n := 64
				for _, s := range ss {
					n += 72 + len(s.Name)
				}
				return uint32(min(n, 1<<31))
			},
		}),
		texts: otter.Must(&otter.Options[int64, string]{
			MaximumWeight: searchCacheBytes / 4,
			Weigher:       func(_ int64, s string) uint32 { return uint32(min(len(s)+48, 1<<31)) },
		}),
		metas: otter.Must(&otter.Options[int64, docMeta]{
			MaximumWeight: searchCacheBytes / 8,
			Weigher:       func(_ int64, m docMeta) uint32 { return uint32(min(64+len(m.sha)+len(m.indexVersion), 1<<31)) },
		}),
	}
}

// pinnedGen is the context key of a generation pinned for one search.
type pinnedGen struct{ db *DB }

// PinSearchGeneration implements search.GenerationPinner: the reads of one
// search made with the returned context share one generation, read once
// (rather than the signature once per read).
func (db *DB) PinSearchGeneration(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(pinnedGen{db}).(*searchGeneration); ok {
		return ctx, nil
	}
	g, err := db.searchGen(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the search index generation: %w", err)
	}
	return context.WithValue(ctx, pinnedGen{db}, g), nil
}

// searchGen returns the state of the current index generation (one small
// query: the signature), starting a new one when it changed; or the
// generation pinned in ctx.
func (db *DB) searchGen(ctx context.Context) (*searchGeneration, error) {
	if g, ok := ctx.Value(pinnedGen{db}).(*searchGeneration); ok {
		return g, nil
	}
	// While nothing has committed the generation is the one last read; the
	// signature is only read again after a commit (most of which, such as
	// the queue's, do not change it).
	commit, err := db.commitGeneration(ctx)
	if err != nil {
		return nil, err
	}
	b := &db.search
	b.mu.Lock()
	if g := b.gen; g != nil && b.commit == commit {
		b.mu.Unlock()
		return g, nil
	}
	b.mu.Unlock()
	sig, err := db.searchSignature(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if g := b.gen; g != nil && g.sig == sig {
		b.commit = commit
		return g, nil
	}
	g := &searchGeneration{sig: sig}
	b.commit = commit
	if b.gen != nil && db.Dialect == Postgres {
		g.docs = b.gen.docs // ids are never reused (see above)
	} else {
		g.docs = newSearchDocCache()
	}
	b.gen = g
	return g, nil
}

// latestFiles maps every indexed content to the files of packages' latest
// versions holding it, read once per generation. Every upload starts a
// generation, and reading all of them (45,000 files of 10,000 packages:
// 300 ms on SQLite) made the first search after each one slow; so the
// files of each package are kept with the state of the package they were
// read in (latestPackage.state) from one generation to the next, and a new
// generation reads the packages' states (a row per package) and the files
// of those whose state moved.
func (g *searchGeneration) latestFiles(ctx context.Context, db *DB) (map[int64][]search.FileRow, error) {
	g.filesMu.Lock()
	defer g.filesMu.Unlock()
	if g.files != nil {
		return g.files, nil
	}
	states, err := db.latestStates(ctx)
	if err != nil {
		return nil, err
	}
	prev := db.search.latestPackages()
	next := make(map[string]latestPackage, len(states))
	var moved []string // their latest versions
	for pkg, st := range states {
		if p, ok := prev[pkg]; ok && p.state == st.state {
			next[pkg] = p
			continue
		}
		next[pkg] = latestPackage{state: st.state}
		moved = append(moved, st.version)
	}
	if len(moved) > 0 {
		list, arg := db.listArg(moved, "uuid", 1)
		rows, err := db.contentFiles(ctx, `v.id IN `+list+` AND p.latest_version = v.number`, arg)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			p := next[r.PackageID]
			p.rows = append(p.rows, r)
			next[r.PackageID] = p
		}
	}
	db.search.keepLatestPackages(next)
	m := map[int64][]search.FileRow{}
	for _, p := range next {
		for _, r := range p.rows {
			m[r.DocID] = append(m[r.DocID], r)
		}
	}
	for _, rows := range m {
		// One order whichever packages were read when.
		slices.SortFunc(rows, func(a, b search.FileRow) int {
			return cmp.Or(strings.Compare(a.PackageID, b.PackageID), strings.Compare(a.FileID, b.FileID))
		})
	}
	g.files = m
	return m, nil
}

// latestPackage is the files of a package's latest version (those with a
// search document) and the state of the package they were read in.
type latestPackage struct {
	state string
	rows  []search.FileRow
}

// latestState is a package's latest version and its state: it moves with
// anything its search files hold — the latest version, the package's
// fields (an edit or a new version sets updated_at), the version's status
// and metadata (updated_at), and the index versions it is searchable in.
type latestState struct{ version, state string }

// latestStates reads every package's latestState (a row per package and
// index version it is searchable in, or one when none).
func (db *DB) latestStates(ctx context.Context) (map[string]latestState, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT p.id, v.id, CAST(p.updated_at AS TEXT) || '|' || CAST(v.updated_at AS TEXT) || '|' || v.status, COALESCE(sv.index_version, '')
		FROM packages p JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version
		LEFT JOIN search_versions sv ON sv.version_id = v.id`)
	if err != nil {
		return nil, fmt.Errorf("reading the packages' latest versions: %w", err)
	}
	defer rows.Close()
	type read struct {
		latestState
		indexed []string
	}
	got := map[string]*read{}
	for rows.Next() {
		var pkg, iv string
		var st latestState
		if err := rows.Scan(&pkg, &st.version, &st.state, &iv); err != nil {
			return nil, err
		}
		if r := got[pkg]; r != nil {
			r.indexed = append(r.indexed, iv)
		} else {
			got[pkg] = &read{st, []string{iv}}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]latestState, len(got))
	for pkg, r := range got {
		slices.Sort(r.indexed)
		r.state += "|" + strings.Join(r.indexed, ",")
		out[pkg] = r.latestState
	}
	return out, nil
}

// cachedByID returns the values of ids from cache, reading the missing
// ones with read (in one query) and caching what it found.
func cachedByID[V any](cache *otter.Cache[int64, V], ids []int64, read func(missing []int64) (map[int64]V, error)) (map[int64]V, error) {
	out := make(map[int64]V, len(ids))
	var missing []int64
	for _, id := range ids {
		if v, ok := cache.GetIfPresent(id); ok {
			out[id] = v
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := read(missing)
	if err != nil {
		return nil, err
	}
	for id, v := range got {
		cache.Set(id, v)
		out[id] = v
	}
	return out, nil
}

// docLines returns the packed lines of documents (absent: not stored),
// reading those not cached in one query.
func (g *searchGeneration) docLines(ctx context.Context, db *DB, docIDs []int64) (map[int64][]byte, error) {
	return cachedByID(g.docs.lines, docIDs, func(missing []int64) (map[int64][]byte, error) { return db.readDocLines(ctx, missing) })
}

// docSections returns the sections of documents, by ord, reading those not
// cached in one query.
func (g *searchGeneration) docSections(ctx context.Context, db *DB, docIDs []int64) (map[int64][]search.SectionRef, error) {
	return cachedByID(g.docs.sections, docIDs, func(missing []int64) (map[int64][]search.SectionRef, error) {
		stored, err := db.readSections(ctx, missing, "")
		if err != nil {
			return nil, fmt.Errorf("reading the sections of search hits: %w", err)
		}
		// A document without sections is cached too (as none).
		got := make(map[int64][]search.SectionRef, len(missing))
		for _, id := range missing {
			var refs []search.SectionRef
			for _, s := range stored[id] {
				refs = append(refs, s.ref())
			}
			got[id] = refs
		}
		return got, nil
	})
}

// sectionByOrd finds the section ord of a document's sections (sorted).
func sectionByOrd(ss []search.SectionRef, ord int) (search.SectionRef, bool) {
	i, ok := slices.BinarySearchFunc(ss, ord, func(s search.SectionRef, ord int) int { return s.Ord - ord })
	if !ok {
		return search.SectionRef{}, false
	}
	return ss[i], true
}

// textsOf returns the text of analysed lines by id, reading those not
// cached in one query.
func (g *searchGeneration) textsOf(ctx context.Context, db *DB, ids []int64) (map[int64]string, error) {
	return cachedByID(g.docs.texts, ids, func(missing []int64) (map[int64]string, error) {
		list, arg := db.idsArg(missing, 1)
		rows, err := db.R.QueryContext(ctx, `SELECT id, text FROM search_texts WHERE id IN `+list, arg)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		got := make(map[int64]string, len(missing))
		for rows.Next() {
			var id int64
			var t string
			if err := rows.Scan(&id, &t); err != nil {
				return nil, err
			}
			got[id] = t
		}
		return got, rows.Err()
	})
}
