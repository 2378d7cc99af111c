package search

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/maypok86/otter/v2"
)

// Answers are cached per process: a search costs tens of milliseconds of
// database work, while the same few queries come again and again (a
// team looking for the same names, pages of one search, the web UI and
// the API). An answer is keyed by the query as parsed (clauses, filter,
// mode) and the page asked for, and by the index generation (see
// Index.SearchGeneration), so any upload, edit, delete or reindex makes
// every older answer unreachable; they age out of the cache by weight.

// DefaultCacheBytes bounds the memory cached answers take (estimated).
const DefaultCacheBytes = 32 << 20

// answerKey is what makes two searches the same.
type answerKey struct {
	Generation string
	Mode       Mode
	Clauses    []Clause
	Filter     Filter
	Offset     int
	Limit      int
	PerFile    int
	Context    int
}

func (k answerKey) String() string {
	b, _ := json.Marshal(k)
	return string(b)
}

// answerCache holds answers by key, weighted by their estimated size.
type answerCache struct {
	once sync.Once
	c    *otter.Cache[string, *Result]
}

// answers returns the Searcher's cache, or nil when caching is off.
func (s *Searcher) answers() *otter.Cache[string, *Result] {
	if s.CacheBytes < 0 {
		return nil
	}
	s.cache.once.Do(func() {
		n := s.CacheBytes
		if n == 0 {
			n = DefaultCacheBytes
		}
		s.cache.c = otter.Must(&otter.Options[string, *Result]{
			MaximumWeight: uint64(n),
			Weigher:       func(k string, r *Result) uint32 { return uint32(min(len(k)+resultBytes(r), 1<<31)) },
		})
	})
	return s.cache.c
}

// cached answers key from the cache, or computes it once however many
// searches ask for it at the same time. Answers with notices (a service
// that did not answer) are not kept.
func (s *Searcher) cached(ctx context.Context, key answerKey, compute func(context.Context) (*Result, error)) (*Result, error) {
	c := s.answers()
	if c == nil {
		return compute(ctx)
	}
	gen, err := s.Index.SearchGeneration(ctx)
	if err != nil {
		return nil, err
	}
	key.Generation = gen
	k := key.String()
	res, err := c.Get(ctx, k, otter.LoaderFunc[string, *Result](func(ctx context.Context, _ string) (*Result, error) {
		return compute(ctx)
	}))
	if err != nil {
		return nil, err
	}
	if len(res.Notices) > 0 {
		c.Invalidate(k)
	}
	return res, nil
}

// resultBytes estimates the memory an answer holds.
func resultBytes(r *Result) int {
	n := 1024 + 64*(len(r.Facets.Machines)+len(r.Facets.Controllers)+len(r.Facets.Platforms)+len(r.Facets.FileKinds)+len(r.Facets.SectionKinds))
	for _, p := range r.Packages {
		n += 256 + len(p.PackageName)
		for _, f := range p.Files {
			n += 256 + len(f.Filename)
			for _, h := range f.Shown {
				n += 256 + 2*len(h.Text) + 2*len(h.Output) + 24*(len(h.Highlights)+len(h.OutputHighlights))
				for _, c := range h.Before {
					n += 48 + len(c.Text)
				}
				for _, c := range h.After {
					n += 48 + len(c.Text)
				}
			}
		}
	}
	return n
}
