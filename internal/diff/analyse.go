package diff

import "github.com/veripost/veripost/internal/upg/resolve"

// analysis is what the package resolver says about one side.
type analysis struct {
	pkg *resolve.Package
}

// analyse resolves one side's files as a package. It is the only place
// that calls the resolver, so moving to a shared analysis result is a
// one-line change here.
func analyse(files []*sideFile) *analysis {
	in := make([]resolve.Input, len(files))
	for i, f := range files {
		in[i] = resolve.Input{Name: f.Name, Src: f.Data}
	}
	an := &analysis{pkg: resolve.Resolve(in)}
	for _, f := range files {
		f.parsed = an.pkg.Parsed(f.Name)
	}
	return an
}
