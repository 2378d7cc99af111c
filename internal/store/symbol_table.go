package store

import (
	"github.com/veripost/veripost/internal/analysis"
)

// symbolTable is what the symbol pages need of an analysis: each name's
// occurrences, packed (analysis.PackOccurrences), and the section ranges
// that label them. The symbol index keeps counts only (migration 00141);
// the occurrences follow from the analysis's facts, decoded once per
// process for the analyses the pages show (see storedSymbols).
type symbolTable struct {
	occurrences map[string][]byte
	sections    analysis.SectionRanges
	weight      uint32 // the bytes it holds, roughly (the cache's weigher)
}

func newSymbolTable(p analysis.Packed) (*symbolTable, error) {
	groups, sections, err := analysis.StoredSymbols(p)
	if err != nil {
		return nil, err
	}
	t := &symbolTable{occurrences: make(map[string][]byte, len(groups)), sections: sections, weight: 128 + 48*uint32(len(sections))}
	for _, g := range groups {
		packed := analysis.PackOccurrences(g.Canonical, g.Occurrences)
		t.occurrences[g.Canonical] = packed
		t.weight += uint32(len(g.Canonical) + len(packed) + 64)
	}
	return t, nil
}

// occurrences returns the occurrences of a name (none when the table is
// nil: the analysis went between the index's read and this one).
func (t *symbolTable) occurrencesOf(canonical string) ([]analysis.Occurrence, error) {
	if t == nil {
		return nil, nil
	}
	packed, ok := t.occurrences[canonical]
	if !ok {
		return nil, nil
	}
	return analysis.UnpackOccurrences(canonical, packed, t.sections)
}
