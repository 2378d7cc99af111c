// Command gencorpus writes N distinct, realistic UPG post packages derived
// from the real corpus, for benchmarks at scale (ingestion, symbol lookup,
// search):
//
//	go run ./bench/gencorpus -n 1000 -seed 1 -out DIR [-corpus ../shared/corpus] [-zip]
//
// Each package becomes a folder (or, with -zip, one ZIP) in DIR; without
// -out a new temporary directory is used. Synthetic packages never belong in
// the repository, so DIR may not be inside it. The same -seed always gives
// the same packages (see internal/corpusgen).
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/veripost/veripost/internal/corpusgen"
	"github.com/veripost/veripost/internal/upg"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gencorpus:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	n       int
	seed    int64
	out     string
	corpus  string
	zip     bool
	workers int
	quiet   bool
}

func run(args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("gencorpus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 1000, "number of packages to generate")
	fs.Int64Var(&c.seed, "seed", 1, "random seed: the same seed gives the same packages")
	fs.StringVar(&c.out, "out", "", "output directory, new or empty, outside the repository (default: a new temporary directory)")
	fs.StringVar(&c.corpus, "corpus", filepath.Join("..", "shared", "corpus"), "corpus directory: one sub-folder per real package")
	fs.BoolVar(&c.zip, "zip", false, "write one ZIP per package instead of a folder")
	fs.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "packages generated and written at once")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; all options are flags (-n, -seed, -out, -corpus, -zip)", fs.Args())
	}
	if c.n < 1 || c.workers < 1 {
		return fmt.Errorf("-n and -workers must be at least 1")
	}
	corpus, err := corpusgen.Load(c.corpus)
	if err != nil {
		return fmt.Errorf("%w (give the corpus with -corpus DIR; run from the repository root for the default ../shared/corpus)", err)
	}
	g, err := corpusgen.NewGenerator(corpus, c.seed, corpusgen.Options{})
	if err != nil {
		return err
	}
	out, err := outputDir(c.out)
	if err != nil {
		return err
	}
	return generate(g, c, out, stdout, stderr)
}

// outputDir returns the directory to write into: dir when it is new or
// empty and outside the VeriPost module, else a new temporary directory.
func outputDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "veripost-corpus-")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if root := moduleRoot(abs); root != "" {
		return "", fmt.Errorf("%s is inside the repository (%s); synthetic packages belong in a temporary directory — choose -out outside it or leave -out empty", dir, root)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, os.MkdirAll(abs, 0o755)
	case err != nil:
		return "", err
	case len(entries) > 0:
		return "", fmt.Errorf("%s is not empty; choose a new or empty directory so no existing files are mixed in or overwritten", dir)
	}
	return abs, nil
}

// moduleRoot returns the VeriPost module directory that holds path, or "".
func moduleRoot(path string) string {
	for dir := path; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/veripost/veripost\n")) {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// stats is what a run reports.
type stats struct {
	mu       sync.Mutex
	bytes    int64
	variants map[string]map[[32]byte]bool // shared library → distinct contents
}

func (s *stats) add(p corpusgen.Package) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += p.Size()
	for _, f := range p.Files {
		if !upg.KindOf(f.Name).IsSource() || strings.HasPrefix(f.Name, p.Name+".") {
			continue // not a library, or the package's own
		}
		if s.variants[f.Name] == nil {
			s.variants[f.Name] = map[[32]byte]bool{}
		}
		s.variants[f.Name][sha256.Sum256(f.Data)] = true
	}
}

func generate(g *corpusgen.Generator, c config, out string, stdout, stderr io.Writer) error {
	var bar *progressbar.ProgressBar
	if !c.quiet {
		bar = progressbar.NewOptions(c.n,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("generating"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("pkg"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond))
	}
	st := &stats{variants: map[string]map[[32]byte]bool{}}
	start := time.Now()
	next := make(chan int)
	errs := make(chan error, c.workers)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := g.Package(i)
				if err := write(out, p, c.zip); err != nil {
					errs <- err
					return
				}
				st.add(p)
				if bar != nil {
					_ = bar.Add(1)
				}
			}
		}()
	}
	var err error
feed:
	for i := range c.n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	elapsed := time.Since(start)
	form := "folders"
	if c.zip {
		form = "ZIP files"
	}
	fmt.Fprintf(stdout, "%d packages (seed %d) written as %s to %s\n", c.n, c.seed, form, out)
	fmt.Fprintf(stdout, "%.1f MiB in all, %.1f KiB per package on average; %.1fs, %.0f packages/s with %d workers\n",
		float64(st.bytes)/(1<<20), float64(st.bytes)/float64(c.n)/1024, elapsed.Seconds(), float64(c.n)/elapsed.Seconds(), c.workers)
	libs := make([]string, 0, len(st.variants))
	for name := range st.variants {
		libs = append(libs, name)
	}
	sort.Strings(libs)
	for _, name := range libs {
		fmt.Fprintf(stdout, "shared library %s: %d distinct variants\n", name, len(st.variants[name]))
	}
	return nil
}

// write stores one package as out/NAME/… or out/NAME.zip.
func write(out string, p corpusgen.Package, asZip bool) error {
	if asZip {
		var buf bytes.Buffer
		if err := p.WriteZip(&buf); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, p.Name+".zip"), buf.Bytes(), 0o644)
	}
	dir := filepath.Join(out, p.Name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, f := range p.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
