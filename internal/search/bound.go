package search

import (
	"context"
	"sort"
)

// Bounded counting. A common name in two thousand posts is tens of
// thousands of lines: counting every one for every new query costs tens of
// milliseconds of CPU, while a reader looks at the first page. So, like
// code-search tools ("1k+ results"), a search counts the lines of its best
// matching texts first, a batch at a time, and stops once the lines it
// counted that a result shows (passing every filter) reach MaxHits and fill
// more packages than the page asks for. The rest are worse lines of the
// same query. Totals and facets are then lower bounds (Totals.Truncated).
//
// Every document found has its exact score (its best line: texts are
// counted best first); its hits, which order documents of equal score,
// are the lines counted. Where the budget is not reached, the answer is the
// one an unbounded count gives. The batches depend only on the scores,
// hashes and counts of the lines, so every engine cuts at the same place.

// DefaultMaxHits is how many matching lines a search counts before it
// stops (see MaxHits).
const DefaultMaxHits = 1000

// firstBatch is how many texts the first count reads (one common line is
// in every package: often enough alone); later batches are
// sized from the lines per text seen so far, growing at most fourfold.
const firstBatch = 1

// bounded decides when a lexical search has counted enough.
type bounded struct {
	s          *Searcher
	f          Filter
	want       int // packages up to the end of the page asked for
	all        uint32
	requireAll bool
	files      map[int64][]FileRow // the files of documents seen so far
}

func (b *bounded) max() int {
	if b.s.MaxHits > 0 {
		return b.s.MaxHits
	}
	return DefaultMaxHits
}

// enough returns the hits and packages counted so far that results show,
// and whether they fill the budget and more packages than the page needs
// (one more tells that there is a next page).
func (b *bounded) enough(ctx context.Context, docs map[int64]*docHits) (hits, packages int, ok bool, err error) {
	eligible := map[int64]*docHits{}
	var missing []int64
	for id, d := range docs {
		if d.hits == 0 || b.requireAll && d.mask != b.all {
			continue
		}
		eligible[id] = d
		hits += d.hits
		if _, ok := b.files[id]; !ok {
			missing = append(missing, id)
		}
	}
	if hits < b.max() {
		// Not enough even before the file filters: the documents
		// stand in for packages until then.
		return hits, len(eligible), false, nil
	}
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
		rows, err := b.s.Index.ContentFiles(ctx, missing, b.f.AllVersions)
		if err != nil {
			return 0, 0, false, err
		}
		for _, id := range missing {
			b.files[id] = nil
		}
		for _, r := range rows {
			b.files[r.DocID] = append(b.files[r.DocID], r)
		}
	}
	files := make([][]FileRow, 0, len(eligible))
	for id := range eligible {
		files = append(files, b.files[id])
	}
	g := tally(b.f, eligible, files, false)
	return g.hits, len(g.packages), g.hits >= b.max() && len(g.packages) > b.want, nil
}

// nextBatch sizes the next count: the texts that should bring both the
// hits to the budget and the packages past the page, at the rates seen so
// far (done texts gave hits and packages), at least one text and at most
// four times the last batch.
func (b *bounded) nextBatch(done, hits, packages, last int) int {
	n := 1
	if hits == 0 || packages == 0 {
		return last * 4
	}
	if hits < b.max() {
		n = max(n, int(float64(b.max()-hits)*float64(done)/float64(hits))+1)
	}
	if packages <= b.want {
		n = max(n, int(float64(b.want+1-packages)*float64(done)/float64(packages))+1)
	}
	return min(n, last*4)
}
