// Package search finds lines, names and sections across every stored post
// package, and posts and sections that are alike.
//
// It is pure: documents are built from the UPG parser's output (Build), the
// query language is parsed and matched here, and ranking, grouping, facets
// and paging are computed here from what an Index returns. The SQL store
// implements Index and Store (SQLite FTS5 and trigram tables, or PostgreSQL
// tsvector and pg_trgm; vectors in sqlite-vec, pgvector or plain arrays);
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

// Match asks the index for candidate lines of documents stored under
// IndexVersion.
type Match struct {
	IndexVersion string
	// Clauses are matched against each line: words, identifiers and
	// prefixes against the line's terms, literals against its text and
	// output (case-insensitively). Only positive clauses belong here.
	Clauses []Clause
	// RequireAll keeps only documents in which every clause matches some
	// line (the lexical query); otherwise any clause will do (free text).
	RequireAll bool
	// Exclude leaves out documents in which any of these clauses matches.
	Exclude []Clause
	// Limit bounds the lines returned; lines are taken in (SHA-256, line)
	// order so that a cut is the same on every engine.
	Limit int
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
	// MatchLines returns candidate lines and whether Limit cut them.
	MatchLines(ctx context.Context, m Match) ([]LineRow, bool, error)
	// ContentFiles lists the files of ready versions that hold the
	// documents (only packages' latest versions unless allVersions).
	ContentFiles(ctx context.Context, docIDs []int64, allVersions bool) ([]FileRow, error)
	ContextLines(ctx context.Context, spans []LineSpan) ([]ContextLine, error)
	// NearestSections returns up to k sections of current documents whose
	// vectors are nearest to vec (candidates; this package re-ranks them).
	NearestSections(ctx context.Context, indexVersion string, vec []float32, k int) ([]SectionCandidate, error)
	// ExternalSectionVectors returns the sections embedded by an external
	// model, for an exact scan.
	ExternalSectionVectors(ctx context.Context, indexVersion, model string) ([]SectionCandidate, error)
	// Section returns one section of a current document by content and
	// position, with its vector.
	Section(ctx context.Context, indexVersion, sha string, ord int) (SectionCandidate, error)
	VersionIndex(ctx context.Context, versionID string) (VersionRow, error)
	NearestVersions(ctx context.Context, vec []float32, k int) ([]VersionRow, error)
	VersionsSharingBands(ctx context.Context, bands []int64, excludeVersionID string) ([]VersionRow, error)
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
	// MaxCandidates bounds the lines one query considers (default 20,000).
	MaxCandidates int
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

// Totals count everything that matched (not just this page).
type Totals struct {
	Packages int `json:"packages"`
	Files    int `json:"files"`
	Hits     int `json:"hits"`
	// Truncated is set when the query matched more lines than one search
	// considers: the counts are then lower bounds. Narrow the query.
	Truncated bool `json:"truncated"`
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

// hit is a scored line of a document (or a section found by its vector).
type hit struct {
	row     *LineRow
	score   lineScore // score.score is the unit's fused score in hybrid mode
	line    float64   // the line's own lexical score (orders lines of a unit)
	unit    unitKey
	similar bool
}

// unitKey is a section of a content (ord -1: outside sections), the unit
// the lexical and vector rankings are fused on. It is keyed by SHA-256,
// not row id, so ties break the same way on every engine.
type unitKey struct {
	sha string
	ord int
}

const (
	defaultLimit       = 20
	maxLimit           = 100
	defaultHitsPerFile = 5
	maxHitsPerFile     = 50
	defaultContext     = 2
	maxContext         = 5
	vectorCandidates   = 100
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
	res := &Result{Query: req.Query, Mode: mode, Filter: q.Filter, Packages: []PackageResult{}}
	for _, c := range q.Clauses {
		res.Clauses = append(res.Clauses, ClauseInfo{Kind: c.Kind.String(), Text: c.Text, Negate: c.Negate})
	}

	hits, hl, truncated, notices, err := s.collect(ctx, q, mode)
	if err != nil {
		return nil, err
	}
	res.Total.Truncated = truncated
	res.Notices = notices
	if len(hits) == 0 {
		res.Facets = emptyFacets()
		return res, nil
	}
	docIDs := make([]int64, 0, len(hits))
	for id := range hits {
		docIDs = append(docIDs, id)
	}
	sort.Slice(docIDs, func(i, j int) bool { return docIDs[i] < docIDs[j] })
	files, err := s.Index.ContentFiles(ctx, docIDs, q.Filter.AllVersions)
	if err != nil {
		return nil, err
	}
	g := group(q.Filter, hits, files)
	res.Total.Packages, res.Total.Files, res.Total.Hits = len(g.packages), g.files, g.hits
	res.Facets = g.facets
	if offset < len(g.packages) {
		end := min(offset+limit, len(g.packages))
		page := g.packages[offset:end]
		if end < len(g.packages) {
			res.NextCursor = encodeCursor(end)
		}
		res.Packages, err = s.render(ctx, hl, page, perFile, ctxLines)
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// collect finds the hits of a query by document: lexical lines, sections
// found by the embedding, or both fused. It also returns the clauses the
// lines were matched with (for highlighting).
func (s *Searcher) collect(ctx context.Context, q Query, mode Mode) (map[int64][]hit, []Clause, bool, []string, error) {
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
		limit = 20_000
	}
	var notices []string
	byDoc := map[int64][]hit{}
	lexRank := map[unitKey]float64{}
	truncated := false
	matched := pos
	if mode != ModeVector {
		m := Match{IndexVersion: s.indexVersion(), Clauses: pos, Exclude: neg, RequireAll: mode == ModeLexical, Limit: limit}
		if mode == ModeHybrid {
			// Free text: any keyword will do; more keywords rank higher.
			m.Clauses = nil
			for _, w := range q.Keywords() {
				m.Clauses = append(m.Clauses, Clause{Kind: ClauseWord, Text: w})
			}
			for _, c := range pos {
				if c.Kind == ClauseLiteral {
					m.Clauses = append(m.Clauses, c)
				}
			}
		}
		matched = m.Clauses
		rows, cut, err := s.Index.MatchLines(ctx, m)
		if err != nil {
			return nil, nil, false, nil, err
		}
		truncated = cut
		for i := range rows {
			r := &rows[i]
			sc, ok := scoreLine(m.Clauses, r)
			if !ok {
				continue
			}
			u := unitKey{r.SHA256, r.Section.Ord}
			byDoc[r.DocID] = append(byDoc[r.DocID], hit{row: r, score: sc, line: sc.score, unit: u})
			lexRank[u] = math.Max(lexRank[u], sc.score)
		}
	}
	if mode == ModeLexical {
		return byDoc, matched, truncated, notices, nil
	}

	// The embedding side: sections nearest to the query.
	cands, note, err := s.nearestForText(ctx, q.Keywords())
	if err != nil {
		return nil, nil, false, nil, err
	}
	if note != "" {
		notices = append(notices, note)
	}
	vecRank := map[unitKey]float64{}
	vecSection := map[unitKey]SectionCandidate{}
	for _, c := range cands {
		u := unitKey{c.SHA256, c.Ord}
		vecRank[u] = c.score
		vecSection[u] = c.SectionCandidate
	}
	if len(neg) > 0 && len(vecRank) > 0 {
		// Leave out documents an excluded clause matches, as lexically.
		rows, _, err := s.Index.MatchLines(ctx, Match{IndexVersion: s.indexVersion(), Clauses: neg, Limit: limit})
		if err != nil {
			return nil, nil, false, nil, err
		}
		excluded := map[string]bool{}
		for _, r := range rows {
			excluded[r.SHA256] = true
		}
		for u := range vecRank {
			if excluded[u.sha] {
				delete(vecRank, u)
			}
		}
	}
	fused := fuse(s.weights(), mode, lexRank, vecRank)
	for doc, hs := range byDoc {
		for i := range hs {
			hs[i].score.score = fused[hs[i].unit]
		}
		byDoc[doc] = hs
	}
	for u := range vecRank {
		if _, lexical := lexRank[u]; lexical && mode == ModeHybrid {
			continue
		}
		c := vecSection[u]
		row := &LineRow{DocID: c.DocID, SHA256: c.SHA256, N: c.StartLine, Section: c.SectionRef}
		byDoc[c.DocID] = append(byDoc[c.DocID], hit{row: row, unit: u, similar: true,
			score: lineScore{score: fused[u], role: RoleSimilar}})
	}
	return byDoc, matched, truncated, notices, nil
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
	cands, err := s.Index.NearestSections(ctx, s.indexVersion(), vec, vectorCandidates)
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

// fuse combines the lexical and vector rankings of units by reciprocal rank
// fusion (hybrid), or returns one of them (lexical, vector).
func fuse(w Weights, mode Mode, lex, vec map[unitKey]float64) map[unitKey]float64 {
	out := map[unitKey]float64{}
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

// ranks numbers units 1, 2, … by descending score; units with equal
// scores share a rank (1, 2, 2, 4), so fusion does not split ties in an
// arbitrary order.
func ranks(m map[unitKey]float64) map[unitKey]int {
	keys := make([]unitKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if m[a] != m[b] {
			return m[a] > m[b]
		}
		if a.sha != b.sha {
			return a.sha < b.sha
		}
		return a.ord < b.ord
	})
	out := make(map[unitKey]int, len(keys))
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

// sectionKindOf is a hit's section kind for facets ("none" outside sections).
func sectionKindOf(r *LineRow) string {
	if r.Section.Ord < 0 || r.Section.Kind == "" {
		return "none"
	}
	return r.Section.Kind
}
