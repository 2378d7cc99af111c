package store

import (
	"github.com/maypok86/otter/v2"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/index"
)

// analysisCache keeps decoded analyses in memory. Stored analyses never
// change (a row is a function of its content and parser version), so a
// cached one is never stale: a shared MILL.LIB is decoded once per process,
// however many packages include it.
type analysisCache struct {
	files   *otter.Cache[int64, *analysis.File]
	results *otter.Cache[int64, *index.VersionResult]
	// names: per analysis, its names with their counts (what the symbol
	// counters need of it, see latest.go).
	names *otter.Cache[int64, []nameUse]
	// symbols: per analysis, its names' occurrences and section ranges
	// (what the symbol pages list).
	symbols *otter.Cache[int64, *symbolTable]
}

// analysisCacheBytes bounds the memory the cache may hold (estimated).
const analysisCacheBytes = 128 << 20

func newAnalysisCache() *analysisCache {
	return &analysisCache{
		files: otter.Must(&otter.Options[int64, *analysis.File]{
			MaximumWeight: analysisCacheBytes * 9 / 16,
			// A decoded analysis takes roughly eight times its source.
			Weigher: func(_ int64, f *analysis.File) uint32 { return uint32(min(8*f.Size+4096, 1<<31)) },
		}),
		results: otter.Must(&otter.Options[int64, *index.VersionResult]{
			MaximumWeight: analysisCacheBytes / 4,
			Weigher: func(_ int64, r *index.VersionResult) uint32 {
				return uint32(2048 + 256*(len(r.Diagnostics)+len(r.Libraries)))
			},
		}),
		names: otter.Must(&otter.Options[int64, []nameUse]{
			MaximumWeight: analysisCacheBytes / 8,
			Weigher:       func(_ int64, ns []nameUse) uint32 { return uint32(64 + 64*len(ns)) },
		}),
		symbols: otter.Must(&otter.Options[int64, *symbolTable]{
			MaximumWeight: analysisCacheBytes * 3 / 16,
			Weigher:       func(_ int64, t *symbolTable) uint32 { return t.weight },
		}),
	}
}
