// Package corpusgen generates realistic, distinct UPG post packages for
// benchmarks (ingestion, symbol lookup, search at 2,000–10,000 packages) from
// a small corpus of real packages.
//
// Every generated package is derived from one corpus package (its template)
// with edits made on parser positions (internal/upg), never on text matches:
//
//   - files that carry the machine's name (.SRC, machine .LIB, .PINF, .CNF,
//     .KIN, .LNG, .CTL) are renamed after the new package, and the
//     :LIBRARY= lines that name them are updated;
//   - user variables, attributes, :DEFINE names and called user sections are
//     renamed consistently (definition and every use), so the package still
//     resolves;
//   - values change: numeric and SELECT attribute defaults, the MACHINE NAME
//     and CONTROLLER TYPE defaults (the package metadata), numbers in :T:
//     output text and in :C: assignments;
//   - sections are dropped (only where nothing unguarded needs them) and
//     duplicated under a new name (sometimes with a CALL moved to the copy);
//   - stock libraries (MILL.LIB, LATHE.LIB, MASTER.ATR …) are shared
//     byte-identical by most packages; about one package in 20 gets one of a
//     few modified variants.
//
// Line endings and encodings of the template are kept: edits only replace
// ASCII tokens and insert ASCII lines with the file's own line terminator.
//
// The generator is pure: it takes packages in memory and does no I/O. Load
// reads a corpus directory; bench/gencorpus writes packages to disk.
package corpusgen

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// File is one file of a package. Data may be shared with other generated
// packages (stock libraries, unchanged side files): treat it as read-only.
type File struct {
	Name string
	Data []byte
}

// Package is a post package: a name and its files, flattened, sorted by name.
type Package struct {
	Name  string
	Files []File
	// Template is the corpus package a generated package was derived from
	// ("" for packages read by Load).
	Template string
}

// Size is the total number of bytes of the package's files.
func (p Package) Size() int64 {
	var n int64
	for _, f := range p.Files {
		n += int64(len(f.Data))
	}
	return n
}

// File returns the file with that name (exact), or nil.
func (p Package) File(name string) *File {
	for i := range p.Files {
		if p.Files[i].Name == name {
			return &p.Files[i]
		}
	}
	return nil
}

// zipTime is the fixed modification time written into ZIPs, so that the same
// package always gives the same archive bytes.
var zipTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteZip writes the package as a ZIP archive with its files at the root
// (deflated, fixed timestamps: the same package gives the same bytes).
func (p Package) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	// Fast deflate: generating thousands of ZIPs should not wait on the
	// compressor; the size hardly matters for benchmarks.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, f := range p.Files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return fmt.Errorf("corpusgen: zip %s: %w", f.Name, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("corpusgen: zip %s: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("corpusgen: zip %s: %w", p.Name, err)
	}
	return nil
}

// Options tune a generator. The zero value gives the defaults.
type Options struct {
	// StockVariantEvery: about one package in this many gets a modified
	// variant of a stock library instead of the shared original (decided
	// per library). 0 means 20; a negative value means never.
	StockVariantEvery int
	// StockVariants is how many distinct modified variants each stock
	// library has (they are shared by the packages that use them). 0 means 3.
	StockVariants int
	// MachineLibUnchanged: about one package in this many keeps its machine
	// .LIB byte-identical to the template's (only renamed). 0 means 5; a
	// negative value means never.
	MachineLibUnchanged int
}

func (o Options) normalized() Options {
	if o.StockVariantEvery == 0 {
		o.StockVariantEvery = 20
	}
	if o.StockVariants <= 0 {
		o.StockVariants = 3
	}
	if o.MachineLibUnchanged == 0 {
		o.MachineLibUnchanged = 5
	}
	return o
}

// Generator derives packages from a corpus. Next is not safe for concurrent
// use; Package is (the generator is read-only after New).
type Generator struct {
	seed      int64
	opt       Options
	templates []*template
	stock     map[string]*stockLib // stock file key → original and variants
	next      int
}

// New returns a generator that derives packages from corpus; the same seed
// gives the same sequence. It panics when the corpus has no usable template
// (no package with a .SRC file); use NewGenerator to get an error instead.
func New(corpus []Package, seed int64) *Generator {
	g, err := NewGenerator(corpus, seed, Options{})
	if err != nil {
		panic(err)
	}
	return g
}

// ErrNoTemplate is returned when no corpus package has a .SRC file.
var ErrNoTemplate = errors.New("corpusgen: the corpus has no package with a .SRC file to derive packages from")

// NewGenerator is New with options, returning an error instead of panicking.
// The corpus is analysed once here (every source file parsed); the
// generator keeps references to the corpus bytes, which must not change.
func NewGenerator(corpus []Package, seed int64, opt Options) (*Generator, error) {
	g := &Generator{seed: seed, opt: opt.normalized(), stock: map[string]*stockLib{}}
	if err := g.analyze(corpus); err != nil {
		return nil, err
	}
	if len(g.templates) == 0 {
		return nil, ErrNoTemplate
	}
	return g, nil
}

// Templates returns the names of the corpus packages packages are derived
// from, in the order Package picks them from.
func (g *Generator) Templates() []string {
	out := make([]string, len(g.templates))
	for i, t := range g.templates {
		out[i] = t.name
	}
	return out
}

// Next returns the next package; every package differs from every other one
// it returned (unique names, distinct .SRC bytes).
func (g *Generator) Next() Package {
	p := g.Package(g.next)
	g.next++
	return p
}

// Package returns the i-th package of the sequence (0-based) without
// changing what Next returns: Next returns Package(0), Package(1), … Each
// package depends only on the seed and i, so packages can be generated in
// parallel.
func (g *Generator) Package(i int) Package {
	return g.build(i, g.rand(i, 0))
}

// rand returns the random stream of package i (or, with stream ≠ 0, another
// independent stream derived from the seed).
func (g *Generator) rand(i int, stream uint64) *rand.Rand {
	s := splitmix(uint64(g.seed) ^ splitmix(stream))
	return rand.New(rand.NewPCG(s, splitmix(s^uint64(i))))
}

// splitmix is the SplitMix64 finaliser: it spreads nearby seeds (1, 2, 3 …)
// over unrelated PCG states.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sortFiles sorts a package's files by name (the order Load and testenv use).
func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
}
