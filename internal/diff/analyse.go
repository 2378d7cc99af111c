package diff

import (
	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// packageAnalysis is what the shared analysis (internal/analysis) says
// about one side as a package.
type packageAnalysis struct {
	pkg *resolve.Package
}

// analyse analyses one side's files as a package with the shared analysis
// (the same one ingestion stores), keeping the syntax trees for the
// structural diff.
func analyse(files []*sideFile) *packageAnalysis {
	in := make([]analysis.Input, len(files))
	for i, f := range files {
		in[i] = analysis.Input{Name: f.Name, Data: f.Data}
	}
	res, trees := analysis.AnalyzeParsed(in)
	for _, f := range files {
		f.parsed = trees[f.Name]
	}
	return &packageAnalysis{pkg: res.Package}
}
