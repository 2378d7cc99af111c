// Package search finds lines, names and sections across every stored post
// package, and posts and sections that are alike.
//
// It is pure: documents are built from the UPG parser's output (Build), the
// query language is parsed and matched here, and ranking, grouping, facets
// and paging are computed here from what an Index returns. The SQL store
// implements Index and Store (SQLite FTS5 and trigram tables, or PostgreSQL
// tsvector and pg_trgm; vectors in SQLite blobs, pgvector or plain arrays);
// because the store only finds candidates and this package decides, both
// engines give the same answers for the same data.
package search

import (
	"context"
	"encoding/base64"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// TextRow is a distinct analysed line: every line of every document with
// the same text and analysis shares it, so a query scores it once.
type TextRow struct {
	ID   int64
	Hash string // a hash of the analysed line, the same on every engine
	Analysed
}

// ScoredText is a text the query matches: its score, role, and the
// positive clauses it matches (bit i for clause i).
type ScoredText struct {
	ID    int64
	Score float64
	Mask  uint32
}

// DocQuery asks for per-document counts of the lines whose text is scored.
type DocQuery struct {
	IndexVersion string
	Texts        []ScoredText
	Clauses      int // positive clauses: the width of the masks
	// Section, when not empty, is a canonical section name (or a prefix
	// ending in '*') that lines are marked against (DocStat.InSection).
	Section string
}

// DocStat counts one document's matching lines in one kind of section.
type DocStat struct {
	DocID     int64
	SHA256    string
	Kind      string // section kind, "none" outside sections
	InSection bool   // in a section DocQuery.Section names
	Best      float64
	Hits      int
	Mask      uint32 // the clauses these lines match
}

// LineRef is one matching line of a document (for the page shown).
type LineRef struct {
	DocID   int64
	N       int
	TextID  int64
	Section SectionRef
}

// FileRow is one stored file holding a document's content, with its
// package.
type FileRow struct {
	DocID       int64
	FileID      string
	Filename    string
	VersionID   string
	Version     int
	Latest      bool
	PackageID   string
	PackageName string
	Machine     string
	Controller  string
	Platform    string
}

// LineSpan asks for the stored lines From…To of a document.
type LineSpan struct {
	DocID    int64
	From, To int
}

// ContextLine is a stored line of a document.
type ContextLine struct {
	DocID int64  `json:"-"`
	N     int    `json:"line"`
	Text  string `json:"text"`
}

// SectionCandidate is a section found by its vector.
type SectionCandidate struct {
	DocID  int64
	SHA256 string
	SectionRef
	Hash   string
	Vector []float32
}

// Index reads the stored search index. The SQL store implements it.
type Index interface {
	// MatchTexts returns the distinct analysed lines of any stored
	// document that may match any of the clauses (candidates: words,
	// identifiers and prefixes against the terms, literals against the
	// text and output, case-insensitively), at most limit of them in hash
	// order, and whether the limit cut them.
	MatchTexts(ctx context.Context, clauses []Clause, limit int) ([]TextRow, bool, error)
	// DocStats counts, per current document and kind of section, the
	// lines whose text is scored.
	DocStats(ctx context.Context, q DocQuery) ([]DocStat, error)
	// DocLines lists the lines of the documents whose text is among texts.
	DocLines(ctx context.Context, docIDs, texts []int64) ([]LineRef, error)
	// ContentFiles lists the files of ready versions that hold the
	// documents (only packages' latest versions unless allVersions).
	ContentFiles(ctx context.Context, docIDs []int64, allVersions bool) ([]FileRow, error)
	ContextLines(ctx context.Context, spans []LineSpan) ([]ContextLine, error)
	// NearestSections returns the sections of current documents whose
	// vectors are among the k nearest to vec (candidates; this package
	// re-ranks them), nearest vector first and, among the sections sharing
	// one, by content and position. It may stop once it has rows sections,
	// after the vectors as similar as the last one it kept (to six
	// decimals), so that the first rows by that order are all there.
	NearestSections(ctx context.Context, indexVersion string, vec []float32, k, rows int) ([]SectionCandidate, error)
	// ExternalSectionVectors returns the sections embedded by an external
	// model, for an exact scan.
	ExternalSectionVectors(ctx context.Context, indexVersion, model string) ([]SectionCandidate, error)
	// SearchGeneration changes whenever the answer to any search may
	// have (uploads, edits, deletes, indexing): it keys cached answers.
	SearchGeneration(ctx context.Context) (string, error)
	// Section returns one section of a current document by content and
	// position, with its vector.
	Section(ctx context.Context, indexVersion, sha string, ord int) (SectionCandidate, error)
	VersionIndex(ctx context.Context, versionID string) (VersionRow, error)
	NearestVersions(ctx context.Context, vec []float32, k int) ([]VersionRow, error)
	VersionsSharingBands(ctx context.Context, bands []int64, excludeVersionID string) ([]VersionRow, error)
}

// GenerationPinner is an Index that can pin one generation of the index
// for the reads of one search: the context it returns makes them share
// what the index keeps in memory per generation, checked once.
type GenerationPinner interface {
	PinSearchGeneration(ctx context.Context) (context.Context, error)
}

// Weights of the hybrid ranking's reciprocal rank fusion.
type Weights struct {
	Lexical float64
	Vector  float64
	K       float64 // the RRF constant (60 in the literature)
}

// DefaultWeights favour exact matches; the embedding adds what words miss.
var DefaultWeights = Weights{Lexical: 1, Vector: 0.5, K: 60}

// Searcher answers searches from an Index.
type Searcher struct {
	Index   Index
	Weights Weights
	// ParserVersion keys the documents searched (see IndexVersionFor).
	ParserVersion string
	// Embedder, when set, embeds free text and sections with an external
	// model; the structural embedding is used when it is nil or fails.
	Embedder Embedder
	Log      *slog.Logger
	// MaxCandidates bounds the distinct lines one query considers
	// (default 20,000).
	MaxCandidates int
	// MaxHits bounds the matching lines one search counts (default
	// DefaultMaxHits; see bounded).
	MaxHits int
	// CacheBytes bounds the memory of cached answers (0: DefaultCacheBytes;
	// negative: no cache).
	CacheBytes int
	cache      answerCache
}

func (s *Searcher) indexVersion() string { return IndexVersionFor(s.ParserVersion) }

func (s *Searcher) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Request is one search.
type Request struct {
	Query  string
	Filter Filter
	Mode   Mode
	Limit  int    // packages per page (1…100, default 20)
	Cursor string // NextCursor of the previous page
	// Context is how many lines around each hit to return (0…5, default 2).
	Context int
	// HitsPerFile bounds the hits shown per file (1…50, default 5); the
	// rest are counted.
	HitsPerFile int
}

// Result is one page of a search.
type Result struct {
	Query      string          `json:"query"`
	Mode       Mode            `json:"mode" doc:"the ranking used: lexical, vector or hybrid"`
	Clauses    []ClauseInfo    `json:"clauses" doc:"how the query was read"`
	Filter     Filter          `json:"filter"`
	Total      Totals          `json:"total"`
	Facets     Facets          `json:"facets"`
	Packages   []PackageResult `json:"packages"`
	NextCursor string          `json:"next_cursor,omitempty"`
	Notices    []string        `json:"notices,omitempty"`
}

// ClauseInfo is a clause as the query was read.
type ClauseInfo struct {
	Kind   string `json:"kind" doc:"word, identifier, prefix or literal"`
	Text   string `json:"text"`
	Negate bool   `json:"negate,omitempty"`
}

// Totals count everything that matched (not just this page), unless
// Truncated.
type Totals struct {
	Packages int `json:"packages" doc:"packages with hits (at least this many when truncated)"`
	Files    int `json:"files" doc:"files with hits (at least this many when truncated)"`
	Hits     int `json:"hits" doc:"matching lines (at least this many when truncated)"`
	// Truncated is set when the search stopped counting: it counts the
	// best matching lines first and stops after MaxHits (or more distinct
	// lines matched than it considers). The counts and facet counts are
	// then lower bounds and weaker matches are not listed; the results
	// shown are the best ones. Narrow the query to see them all.
	Truncated bool `json:"truncated" doc:"the search stopped counting once its best matches filled the page and at least 1,000 lines: totals and facet counts are lower bounds (shown as \"1,000+\") and weaker matches are not listed; add a term or a filter to count them all"`
}

// Facet is one value of a field and how many results have it.
type Facet struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Facets count results by field. Each is computed with every filter except
// its own, so a reader can switch between values.
type Facets struct {
	Machines     []Facet `json:"machines" doc:"packages per machine"`
	Controllers  []Facet `json:"controllers" doc:"packages per controller"`
	Platforms    []Facet `json:"platforms" doc:"packages per platform"`
	FileKinds    []Facet `json:"file_kinds" doc:"files per file kind"`
	SectionKinds []Facet `json:"section_kinds" doc:"hits per section kind (\"none\": outside sections)"`
}

// PackageResult is a package with hits.
type PackageResult struct {
	PackageID   string       `json:"package_id"`
	PackageName string       `json:"package_name"`
	Version     int          `json:"version" doc:"the version searched (the latest unless all versions are searched)"`
	Machine     string       `json:"machine"`
	Controller  string       `json:"controller"`
	Platform    string       `json:"platform"`
	Score       float64      `json:"score"`
	Hits        int          `json:"hits"`
	Files       []FileResult `json:"files"`
	URL         string       `json:"url"`
}

// FileResult is a file with hits.
type FileResult struct {
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	Kind     string `json:"kind"`
	Version  int    `json:"version"`
	Latest   bool   `json:"latest"`
	SHA256   string `json:"sha256"`
	Hits     int    `json:"hits"`
	Shown    []Hit  `json:"shown"`
	More     int    `json:"more" doc:"hits in this file not shown"`
	URL      string `json:"url"`
}

// Hit is one matching line.
type Hit struct {
	Line             int           `json:"line"`
	Text             string        `json:"text"`
	Highlights       []Highlight   `json:"highlights" doc:"matched byte ranges of text"`
	Output           string        `json:"output,omitempty" doc:"what a :T: line writes"`
	OutputHighlights []Highlight   `json:"output_highlights,omitempty"`
	Role             string        `json:"role" doc:"definition, assignment, output, use, comment, or similar (found by the embedding)"`
	Score            float64       `json:"score"`
	Section          *SectionHit   `json:"section,omitempty"`
	Before           []ContextLine `json:"before"`
	After            []ContextLine `json:"after"`
	URL              string        `json:"url" doc:"the line in the source view"`
}

// SectionHit is the section a hit is in.
type SectionHit struct {
	SectionRef
	ID string `json:"id" doc:"for /api/v1/sections/{id}/similar"`
}

// SectionID is the stable id of a section: its file content and position.
func SectionID(sha string, ord int) string { return sha + "-" + strconv.Itoa(ord) }

// ParseSectionID splits a SectionID.
func ParseSectionID(id string) (sha string, ord int, ok bool) {
	sha, o, found := strings.Cut(id, "-")
	n, err := strconv.Atoi(o)
	if !found || err != nil || n < 0 || len(sha) != 64 || strings.Trim(strings.ToLower(sha), "0123456789abcdef") != "" {
		return "", 0, false
	}
	return strings.ToLower(sha), n, true
}

// FileURL is where the source view shows a line.
func FileURL(packageID, fileID string, line int) string {
	u := "/packages/" + url.PathEscape(packageID) + "/files/" + url.PathEscape(fileID)
	if line > 0 {
		u += "#L" + strconv.Itoa(line)
	}
	return u
}

// docHits is what a search found in one document (one file content).
type docHits struct {
	sha     string
	lexical float64    // best lexical score of its lines that pass the section filter
	score   float64    // the ranking score: lexical, vector, or both fused
	hits    int        // matching lines passing the section filter, and sections found by the embedding
	kinds   kindCounts // hits per section kind
	mask    uint32
	similar []scoredSection // sections found by the embedding
}

const (
	defaultLimit       = 20
	maxLimit           = 100
	defaultHitsPerFile = 5
	maxHitsPerFile     = 50
	defaultContext     = 2
	maxContext         = 5
	vectorCandidates   = 100
	// maxTexts bounds the distinct analysed lines one query considers.
	maxTexts = 20_000
	// hybridTexts bounds the lexical side of a hybrid (free-text) query:
	// its best matching distinct lines.
	hybridTexts = 1_000
)

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	n, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
	if err != nil || aerr != nil || !strings.HasPrefix(string(b), "o:") || n < 0 {
		return 0, BadQuery("The page cursor is not valid. Start again from the first page.", "cursor "+c)
	}
	return n, nil
}

// found is what collect found: per document, and the scored texts.
type found struct {
	docs      map[int64]*docHits
	texts     map[int64]*TextRow
	scores    map[int64]lineScore
	clauses   []Clause            // the clauses lines were matched with (for highlighting)
	files     map[int64][]FileRow // files of documents bounded counting read
	truncated bool
	notices   []string
}

// Search runs one search.
func (s *Searcher) Search(ctx context.Context, req Request) (*Result, error) {
	q, err := Parse(req.Query, req.Filter)
	if err != nil {
		return nil, err
	}
	if req.Mode != ModeAuto {
		q.Mode = req.Mode
	}
	offset, err := decodeCursor(req.Cursor)
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	perFile := req.HitsPerFile
	if perFile <= 0 {
		perFile = defaultHitsPerFile
	}
	perFile = min(perFile, maxHitsPerFile)
	ctxLines := req.Context
	if ctxLines < 0 || ctxLines > maxContext {
		ctxLines = defaultContext
	}
	mode := q.EffectiveMode()
	if p, ok := s.Index.(GenerationPinner); ok {
		if ctx, err = p.PinSearchGeneration(ctx); err != nil {
			return nil, err
		}
	}
	key := answerKey{Mode: mode, Clauses: q.Clauses, Filter: q.Filter, Offset: offset, Limit: limit, PerFile: perFile, Context: ctxLines}
	res, err := s.cached(ctx, key, func(ctx context.Context) (*Result, error) {
		return s.search(ctx, q, mode, offset, limit, perFile, ctxLines)
	})
	if err != nil {
		return nil, err
	}
	// A cached answer is shared: the copy differs only in the query as
	// typed (the same search may be spelled differently).
	out := *res
	out.Query = req.Query
	return &out, nil
}

// search computes one page of a search (Search caches it).
func (s *Searcher) search(ctx context.Context, q Query, mode Mode, offset, limit, perFile, ctxLines int) (*Result, error) {
	res := &Result{Query: q.Raw, Mode: mode, Filter: q.Filter, Packages: []PackageResult{}, Facets: emptyFacets()}
	for _, c := range q.Clauses {
		res.Clauses = append(res.Clauses, ClauseInfo{Kind: c.Kind.String(), Text: c.Text, Negate: c.Negate})
	}
	fd, err := s.collect(ctx, q, mode, offset+limit)
	if err != nil {
		return nil, err
	}
	res.Total.Truncated = fd.truncated
	res.Notices = fd.notices
	if len(fd.docs) == 0 {
		return res, nil
	}
	docIDs := make([]int64, 0, len(fd.docs))
	for id := range fd.docs {
		docIDs = append(docIDs, id)
	}
	sort.Slice(docIDs, func(i, j int) bool { return docIDs[i] < docIDs[j] })
	files, err := s.contentFiles(ctx, docIDs, q.Filter.AllVersions, fd.files)
	if err != nil {
		return nil, err
	}
	g := group(q.Filter, fd.docs, files)
	res.Total.Packages, res.Total.Files, res.Total.Hits = len(g.packages), g.files, g.hits
	res.Facets = g.facets
	if offset < len(g.packages) {
		end := min(offset+limit, len(g.packages))
		page := g.packages[offset:end]
		if end < len(g.packages) {
			res.NextCursor = encodeCursor(end)
		}
		if res.Packages, err = s.render(ctx, q.Filter, fd, page, perFile, ctxLines); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// contentFiles is Index.ContentFiles, reading only the documents whose
// files bounded counting has not read already. Only for the latest
// versions: their rows come per document in a fixed order, so the
// rows are the same as one call would give, in the same order.
func (s *Searcher) contentFiles(ctx context.Context, docIDs []int64, allVersions bool, known map[int64][]FileRow) ([]FileRow, error) {
	if allVersions || len(known) == 0 {
		return s.Index.ContentFiles(ctx, docIDs, allVersions)
	}
	var missing []int64
	for _, id := range docIDs {
		if _, ok := known[id]; !ok {
			missing = append(missing, id)
		}
	}
	got := map[int64][]FileRow{}
	if len(missing) > 0 {
		rows, err := s.Index.ContentFiles(ctx, missing, false)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			got[r.DocID] = append(got[r.DocID], r)
		}
	}
	var out []FileRow
	for _, id := range docIDs {
		if rows, ok := known[id]; ok {
			out = append(out, rows...)
		} else {
			out = append(out, got[id]...)
		}
	}
	return out, nil
}

// collect finds what a query matches, per document: the lexical side
// (distinct texts scored here, lines counted per document by the index),
// the sections nearest to the query's embedding, or both fused.
func (s *Searcher) collect(ctx context.Context, q Query, mode Mode, want int) (*found, error) {
	var pos, neg []Clause
	for _, c := range q.Clauses {
		if c.Negate {
			neg = append(neg, c)
		} else {
			pos = append(pos, c)
		}
	}
	limit := s.MaxCandidates
	if limit <= 0 {
		limit = maxTexts
	}
	fd := &found{docs: map[int64]*docHits{}, texts: map[int64]*TextRow{}, scores: map[int64]lineScore{}, clauses: pos}
	doc := func(id int64, sha string) *docHits {
		d := fd.docs[id]
		if d == nil {
			d = &docHits{sha: sha}
			fd.docs[id] = d
		}
		return d
	}
	// Texts of the excluded clauses (-word): documents with one are left out.
	var exclude []int64
	if len(neg) > 0 {
		rows, cut, err := s.Index.MatchTexts(ctx, neg, limit)
		if err != nil {
			return nil, err
		}
		fd.truncated = fd.truncated || cut
		asked := make([]Clause, len(neg))
		for i, c := range neg {
			c.Negate = false
			asked[i] = c
		}
		for i := range rows {
			if _, ok := scoreLine(asked, &rows[i].Analysed); ok {
				exclude = append(exclude, rows[i].ID)
			}
		}
	}
	// The documents with a line of an excluded text are read once, when
	// first needed, and left out of both sides.
	var excluded struct {
		read bool
		ids  map[int64]bool
		shas map[string]bool
	}
	excludeDocs := func() error {
		if excluded.read {
			return nil
		}
		stats, err := s.Index.DocStats(ctx, DocQuery{IndexVersion: s.indexVersion(), Texts: scoredIDs(exclude)})
		if err != nil {
			return err
		}
		excluded.read, excluded.ids, excluded.shas = true, map[int64]bool{}, map[string]bool{}
		for _, st := range stats {
			excluded.ids[st.DocID], excluded.shas[st.SHA256] = true, true
		}
		return nil
	}
	if mode != ModeVector {
		clauses, requireAll := pos, mode == ModeLexical
		if mode == ModeHybrid {
			// Free text: any keyword will do; more keywords rank higher.
			clauses = nil
			for _, w := range q.Keywords() {
				clauses = append(clauses, Clause{Kind: ClauseWord, Text: w})
			}
			for _, c := range pos {
				if c.Kind == ClauseLiteral {
					clauses = append(clauses, c)
				}
			}
		}
		fd.clauses = clauses
		rows, cut, err := s.Index.MatchTexts(ctx, clauses, limit)
		if err != nil {
			return nil, err
		}
		fd.truncated = fd.truncated || cut
		var scored []ScoredText
		for i := range rows {
			t := &rows[i]
			sc, mask, ok := scoreLineMask(clauses, &t.Analysed)
			if !ok {
				continue
			}
			fd.texts[t.ID], fd.scores[t.ID] = t, sc
			scored = append(scored, ScoredText{ID: t.ID, Score: sc.score, Mask: mask})
		}
		// Best lines first (the same order on every engine): counting
		// stops once the best of them fill the budget.
		sort.Slice(scored, func(i, j int) bool {
			a, b := scored[i], scored[j]
			if a.Score != b.Score {
				return a.Score > b.Score
			}
			return fd.texts[a.ID].Hash < fd.texts[b.ID].Hash
		})
		if mode == ModeHybrid && len(scored) > 0 {
			// A question's words are common ("tool", "change"): the
			// lexical side ranks with its best matching lines only —
			// those scoring at least half the best (with coordination,
			// lines with most of the words) — and at most hybridTexts.
			keep := 0
			for keep < len(scored) && keep < hybridTexts && scored[keep].Score >= scored[0].Score/2 {
				keep++
			}
			for _, t := range scored[keep:] {
				delete(fd.texts, t.ID)
				delete(fd.scores, t.ID)
			}
			scored = scored[:keep]
		}
		if len(scored) > 0 {
			section := ""
			if q.Filter.Section != "" && !IsSectionKind(q.Filter.Section) {
				section = upg.CanonicalName(q.Filter.Section)
			}
			all := uint32(1)<<len(clauses) - 1
			b := bounded{s: s, f: q.Filter, want: want, all: all, requireAll: requireAll, files: map[int64][]FileRow{}}
			if len(exclude) > 0 {
				if err := excludeDocs(); err != nil {
					return nil, err
				}
			}
			for done, n := 0, firstBatch; done < len(scored); {
				batch := scored[done:min(done+n, len(scored))]
				stats, err := s.Index.DocStats(ctx, DocQuery{IndexVersion: s.indexVersion(), Texts: batch, Clauses: len(clauses),
					Section: section})
				if err != nil {
					return nil, err
				}
				for _, st := range stats {
					if excluded.ids[st.DocID] {
						continue
					}
					d := doc(st.DocID, st.SHA256)
					d.mask |= st.Mask
					d.kinds.add(st.Kind, st.Hits)
					if q.Filter.passSectionStat(st) {
						d.hits += st.Hits
						d.lexical = math.Max(d.lexical, st.Best)
					}
				}
				done += len(batch)
				if done == len(scored) {
					break
				}
				hits, packages, enough, err := b.enough(ctx, fd.docs)
				if err != nil {
					return nil, err
				}
				if enough {
					// The rest are worse lines: not counted, not shown.
					for _, t := range scored[done:] {
						delete(fd.texts, t.ID)
						delete(fd.scores, t.ID)
					}
					fd.truncated = true
					break
				}
				n = b.nextBatch(done, hits, packages, len(batch))
			}
			fd.files = b.files
			for id, d := range fd.docs {
				if requireAll && d.mask != all {
					delete(fd.docs, id)
				}
			}
		}
	}
	if mode == ModeLexical {
		for id, d := range fd.docs {
			if d.hits == 0 {
				delete(fd.docs, id) // only outside the sections asked for
				continue
			}
			d.score = d.lexical
		}
		return fd, nil
	}

	// The embedding side: sections nearest to the query.
	cands, note, err := s.nearestForText(ctx, q.Keywords())
	if err != nil {
		return nil, err
	}
	if note != "" {
		fd.notices = append(fd.notices, note)
	}
	if len(exclude) > 0 {
		if err := excludeDocs(); err != nil {
			return nil, err
		}
	}
	vector := map[string]float64{}
	for _, c := range cands {
		if excluded.shas[c.SHA256] || !q.Filter.passSection(c.SectionRef) {
			continue
		}
		d := doc(c.DocID, c.SHA256)
		d.similar = append(d.similar, c)
		d.kinds.add(sectionKind(c.SectionRef), 1)
		vector[c.SHA256] = math.Max(vector[c.SHA256], c.score)
	}
	lexical := map[string]float64{}
	for _, d := range fd.docs {
		if d.hits > 0 {
			lexical[d.sha] = d.lexical
		}
	}
	fused := fuse(s.weights(), mode, lexical, vector)
	for id, d := range fd.docs {
		if mode == ModeVector {
			// Vector ranking only: the lexical hits are not shown.
			d.hits, d.lexical = 0, 0
		}
		d.hits += len(d.similar)
		if d.hits == 0 {
			delete(fd.docs, id)
			continue
		}
		d.score = fused[d.sha]
	}
	return fd, nil
}

func scoredIDs(ids []int64) []ScoredText {
	out := make([]ScoredText, len(ids))
	for i, id := range ids {
		out[i] = ScoredText{ID: id}
	}
	return out
}

func (s *Searcher) weights() Weights {
	w := s.Weights
	if w.K <= 0 {
		w.K = DefaultWeights.K
	}
	if w.Lexical == 0 && w.Vector == 0 {
		w.Lexical, w.Vector = DefaultWeights.Lexical, DefaultWeights.Vector
	}
	return w
}

// scoredSection is a vector candidate with its exact similarity.
type scoredSection struct {
	SectionCandidate
	score float64
}

// nearestForText finds the sections nearest to free text: with the
// external model when one is configured (falling back to the structural
// embedding if it fails), else the structural embedding.
func (s *Searcher) nearestForText(ctx context.Context, words []string) ([]scoredSection, string, error) {
	if len(words) == 0 {
		return nil, "", nil
	}
	if s.Embedder != nil {
		vecs, err := s.Embedder.Embed(ctx, []string{strings.Join(words, " ")})
		if err == nil && len(vecs) == 1 {
			all, err := s.Index.ExternalSectionVectors(ctx, s.indexVersion(), s.Embedder.Model())
			if err != nil {
				return nil, "", err
			}
			if len(all) > 0 {
				return topSections(vecs[0], all, vectorCandidates), "", nil
			}
		} else {
			s.log().WarnContext(ctx, "external embeddings failed; using the structural embedding", "err", err)
			return s.nearestStructural(ctx, words, "The embeddings service did not answer; results use VeriPost's built-in embedding.")
		}
	}
	return s.nearestStructural(ctx, words, "")
}

func (s *Searcher) nearestStructural(ctx context.Context, words []string, note string) ([]scoredSection, string, error) {
	vec := EmbedQuery(words)
	// topSections keeps the best vectorCandidates by (similarity, content,
	// position): that many rows of the nearest vectors are enough.
	cands, err := s.Index.NearestSections(ctx, s.indexVersion(), vec, vectorCandidates, vectorCandidates)
	if err != nil {
		return nil, "", err
	}
	return topSections(vec, cands, vectorCandidates), note, nil
}

// topSections re-scores candidates exactly and keeps the best k, ordered by
// similarity, then content and position (the same order on every engine).
func topSections(vec []float32, cands []SectionCandidate, k int) []scoredSection {
	out := make([]scoredSection, 0, len(cands))
	for _, c := range cands {
		sc := roundScore(Cosine(vec, c.Vector))
		if sc <= 0 {
			continue
		}
		out = append(out, scoredSection{c, sc})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.SHA256 != b.SHA256 {
			return a.SHA256 < b.SHA256
		}
		return a.Ord < b.Ord
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// roundScore keeps six decimals, so float32 arithmetic on different
// engines cannot reorder results.
func roundScore(x float64) float64 { return math.Round(x*maxScoreDecimals) / maxScoreDecimals }

// fuse combines the lexical and vector rankings of documents (by content)
// by reciprocal rank fusion (hybrid), or returns one of them.
func fuse(w Weights, mode Mode, lex, vec map[string]float64) map[string]float64 {
	out := map[string]float64{}
	switch mode {
	case ModeLexical:
		for u, s := range lex {
			out[u] = s
		}
		return out
	case ModeVector:
		for u, s := range vec {
			out[u] = s
		}
		return out
	}
	for u, r := range ranks(lex) {
		out[u] += w.Lexical / (w.K + float64(r))
	}
	for u, r := range ranks(vec) {
		out[u] += w.Vector / (w.K + float64(r))
	}
	for u, s := range out {
		out[u] = roundScore(s * 1000) // scale up so rounding keeps the order
	}
	return out
}

// ranks numbers keys 1, 2, … by descending score; keys with equal scores
// share a rank (1, 2, 2, 4), so fusion does not split ties in an arbitrary
// order.
func ranks(m map[string]float64) map[string]int {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if m[a] != m[b] {
			return m[a] > m[b]
		}
		return a < b
	})
	out := make(map[string]int, len(keys))
	for i, k := range keys {
		out[k] = i + 1
		if i > 0 && m[k] == m[keys[i-1]] {
			out[k] = out[keys[i-1]]
		}
	}
	return out
}

// fileKind is the kind a search filters files by.
func fileKind(name string) string { return string(upg.KindOf(name)) }

func emptyFacets() Facets {
	return Facets{Machines: []Facet{}, Controllers: []Facet{}, Platforms: []Facet{}, FileKinds: []Facet{}, SectionKinds: []Facet{}}
}

// kindCounts counts hits per section kind: "none" and SectionKinds by
// position (a map per document cost more than its counts), any other kind
// in other.
type kindCounts struct {
	n     [5]int
	other map[string]int
}

// kindSlot is the position of a section kind in kindCounts.n, or -1.
func kindSlot(kind string) int {
	switch kind {
	case "none":
		return 0
	case SectionSystem:
		return 1
	case SectionTemplate:
		return 2
	case SectionCalc:
		return 3
	case SectionUser:
		return 4
	}
	return -1
}

var kindOfSlot = [5]string{"none", SectionSystem, SectionTemplate, SectionCalc, SectionUser}

func (k *kindCounts) add(kind string, n int) {
	if i := kindSlot(kind); i >= 0 {
		k.n[i] += n
		return
	}
	if k.other == nil {
		k.other = map[string]int{}
	}
	k.other[kind] += n
}

// addAll adds o's counts to k.
func (k *kindCounts) addAll(o *kindCounts) {
	for i, n := range o.n {
		k.n[i] += n
	}
	for kind, n := range o.other {
		k.add(kind, n)
	}
}

// facets lists the counts as facet values (countFacet leaves out zeros).
func (k *kindCounts) facets() map[string]int {
	m := make(map[string]int, len(k.n)+len(k.other))
	for i, n := range k.n {
		m[kindOfSlot[i]] += n
	}
	for kind, n := range k.other {
		m[kind] += n
	}
	return m
}

// sectionKind is a section's kind for facets ("none" outside sections).
func sectionKind(r SectionRef) string {
	if r.Ord < 0 || r.Kind == "" {
		return "none"
	}
	return r.Kind
}
