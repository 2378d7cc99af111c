package corpusgen

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
)

// buildVariants makes the modified variants of every stock library: a few
// attribute defaults changed and a comment line saying so, as a shop that
// adjusts its copy of MILL.LIB would. Each variant depends only on the seed,
// the library and its number.
func (g *Generator) buildVariants() {
	for _, key := range slices.Sorted(maps.Keys(g.stock)) {
		sl := g.stock[key]
		si := &srcInfo{}
		si.setHead(sl.parsed)
		for _, a := range sl.parsed.Attributes {
			si.attributeValues(sl.parsed, a)
		}
		var sites []valueSite
		for _, v := range si.values {
			if v.kind == valNumber || v.kind == valSelect {
				sites = append(sites, v)
			}
		}
		h := fnv.New64a()
		h.Write([]byte(key))
		stream := h.Sum64()
		for k := range g.opt.StockVariants {
			r := g.rand(k, stream)
			var edits []edit
			for _, j := range r.Perm(len(sites))[:min(1+r.IntN(3), len(sites))] {
				v := sites[j]
				if txt, ok := changeValue(r, v, sl.data[v.off:v.end]); ok {
					edits = append(edits, edit{v.off, v.end, txt})
				}
			}
			edits = append(edits, edit{si.headAt, si.headAt, headLine(si, fmt.Sprintf("* local change %d: attribute defaults adjusted", k+1))})
			sortEdits(edits)
			sl.variants = append(sl.variants, applyEdits(sl.data, edits))
		}
	}
}
