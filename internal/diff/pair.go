package diff

import (
	"bytes"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

// sideFile is one input file with what is known about it.
type sideFile struct {
	File
	kind   upg.FileKind
	facts  textfile.Facts
	text   *text     // decoded lines (text files not too large)
	parsed *upg.File // UPG parse, when the side was analysed
	paired bool
	lines  map[uint64]int // line multiset, for similarity
}

func (f *sideFile) binary() bool   { return f.facts.Kind == "binary" }
func (f *sideFile) tooLarge() bool { return len(f.Data) > MaxTextBytes }

// ref describes the file for a FileDiff.
func (f *sideFile) ref() *FileRef {
	r := &FileRef{Name: f.Name, ID: f.ID, SHA256: f.SHA256, Size: len(f.Data), Lines: f.facts.Lines,
		Encoding: f.facts.Encoding, LineEnding: f.facts.LineEnding}
	r.NewlineAtEnd = len(f.Data) > 0 && f.Data[len(f.Data)-1] == '\n'
	return r
}

// lineSet is the multiset of the file's trimmed, non-blank lines (by
// hash), for content similarity.
func (f *sideFile) lineSet() map[uint64]int {
	if f.lines != nil || f.binary() {
		return f.lines
	}
	f.lines = map[uint64]int{}
	for rest := f.Data; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		h := fnv.New64a()
		h.Write(line)
		f.lines[h.Sum64()]++
	}
	return f.lines
}

// dice is the Dice coefficient of two multisets: 2·|A∩B| / (|A|+|B|).
func dice[K comparable](a, b map[K]int) float64 {
	na, nb, common := 0, 0, 0
	for _, n := range a {
		na += n
	}
	for k, n := range b {
		nb += n
		common += min(n, a[k])
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(common) / float64(na+nb)
}

// pair is two paired files (either may be nil) and their entry in the
// result.
type pair struct {
	a, b *sideFile
	fd   *FileDiff
}

// comparer holds one comparison in progress.
type comparer struct {
	opt   Options
	a, b  []*sideFile
	pairs []*pair
	res   *Result
	anA   *packageAnalysis
	anB   *packageAnalysis
}

func newComparer(a, b Side, opt Options) *comparer {
	c := &comparer{opt: opt, res: &Result{Options: opt, Files: []FileDiff{}}}
	prep := func(s Side, info *SideInfo) []*sideFile {
		info.Label = s.Label
		out := make([]*sideFile, 0, len(s.Files))
		for _, f := range s.Files {
			sf := &sideFile{File: f, kind: upg.KindOf(f.Name), facts: textfile.Inspect(f.Data)}
			if sf.SHA256 == "" {
				sf.SHA256 = sha256Hex(f.Data)
			}
			info.Files++
			info.Bytes += int64(len(f.Data))
			out = append(out, sf)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	c.a = prep(a, &c.res.A)
	c.b = prep(b, &c.res.B)
	return c
}

// Similarity thresholds for pairing files whose names differ.
const (
	renameSimilarity     = 0.5
	onlyCandidateSimilar = 0.2 // when it is the only file of its kind left on both sides
)

// pairFiles pairs A's files with B's: by name (case-insensitive; the name
// carries the kind), then renamed files by identical content, then by
// content similarity among files of the same kind.
func (c *comparer) pairFiles() {
	byName := map[string][]*sideFile{}
	for _, f := range c.b {
		k := strings.ToUpper(f.Name)
		byName[k] = append(byName[k], f)
	}
	for _, fa := range c.a {
		k := strings.ToUpper(fa.Name)
		for _, fb := range byName[k] {
			if !fb.paired {
				c.link(fa, fb, 1)
				break
			}
		}
	}
	// Identical content under another name.
	bySHA := map[string][]*sideFile{}
	for _, f := range c.b {
		if !f.paired {
			bySHA[f.SHA256] = append(bySHA[f.SHA256], f)
		}
	}
	for _, fa := range c.a {
		if fa.paired {
			continue
		}
		for _, fb := range bySHA[fa.SHA256] {
			if !fb.paired && fb.kind == fa.kind {
				c.link(fa, fb, 1)
				break
			}
		}
	}
	// Similar content, same kind, best pairs first.
	type cand struct {
		fa, fb *sideFile
		sim    float64
	}
	var cands []cand
	leftA, leftB := map[upg.FileKind]int{}, map[upg.FileKind]int{}
	for _, f := range c.a {
		if !f.paired {
			leftA[f.kind]++
		}
	}
	for _, f := range c.b {
		if !f.paired {
			leftB[f.kind]++
		}
	}
	for _, fa := range c.a {
		if fa.paired || leftA[fa.kind] > 200 || leftB[fa.kind] > 200 {
			continue
		}
		for _, fb := range c.b {
			if fb.paired || fb.kind != fa.kind {
				continue
			}
			only := leftA[fa.kind] == 1 && leftB[fa.kind] == 1
			if fa.binary() || fb.binary() || fa.tooLarge() || fb.tooLarge() {
				if only {
					cands = append(cands, cand{fa, fb, 0})
				}
				continue
			}
			sim := dice(fa.lineSet(), fb.lineSet())
			if sim >= renameSimilarity || only && sim >= onlyCandidateSimilar {
				cands = append(cands, cand{fa, fb, sim})
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].sim > cands[j].sim })
	for _, cd := range cands {
		if !cd.fa.paired && !cd.fb.paired {
			c.link(cd.fa, cd.fb, cd.sim)
		}
	}
	// Two single files are compared with each other whatever their names:
	// that is what the person asked for.
	if len(c.a) == 1 && len(c.b) == 1 && !c.a[0].paired && !c.b[0].paired {
		c.link(c.a[0], c.b[0], 0)
	}
	for _, f := range c.a {
		if !f.paired {
			c.pairs = append(c.pairs, &pair{a: f, fd: &FileDiff{Status: StatusRemoved, Kind: string(f.kind), A: f.ref(), Binary: f.binary()}})
		}
	}
	for _, f := range c.b {
		if !f.paired {
			c.pairs = append(c.pairs, &pair{b: f, fd: &FileDiff{Status: StatusAdded, Kind: string(f.kind), B: f.ref(), Binary: f.binary()}})
		}
	}
}

func (c *comparer) link(fa, fb *sideFile, sim float64) {
	fa.paired, fb.paired = true, true
	fd := &FileDiff{Kind: string(fb.kind), A: fa.ref(), B: fb.ref()}
	switch {
	case !strings.EqualFold(fa.Name, fb.Name):
		fd.Status = StatusRenamed
	case fa.SHA256 == fb.SHA256:
		fd.Status = StatusIdentical
	default:
		fd.Status = StatusModified
	}
	if fa.SHA256 != fb.SHA256 && !fa.binary() && !fb.binary() && !fa.tooLarge() && !fb.tooLarge() {
		if sim == 1 || sim == 0 {
			sim = dice(fa.lineSet(), fb.lineSet())
		}
		fd.Similarity = round3(sim)
	} else if fa.SHA256 == fb.SHA256 {
		fd.Similarity = 1
	}
	fd.Binary = fa.binary() || fb.binary()
	c.pairs = append(c.pairs, &pair{a: fa, b: fb, fd: fd})
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// changed reports whether the pair's bytes differ (or it is one-sided).
func (p *pair) changed() bool { return p.a == nil || p.b == nil || p.a.SHA256 != p.b.SHA256 }

// textDiffs computes the line diff of every pair whose bytes differ.
func (c *comparer) textDiffs() {
	for _, p := range c.pairs {
		fd := p.fd
		if !p.changed() {
			continue
		}
		for _, f := range []*sideFile{p.a, p.b} {
			if f == nil {
				continue
			}
			if f.binary() {
				fd.Binary = true
			}
			if f.tooLarge() {
				fd.TooLarge = true
			}
		}
		if fd.Binary || fd.TooLarge {
			if p.a != nil && p.b != nil {
				what := "binary content differs"
				if !fd.Binary {
					what = "too large for a line diff; the contents differ"
				}
				fd.Notes = append(fd.Notes, what)
			}
			continue
		}
		ta, tb := c.textOf(p.a), c.textOf(p.b)
		if p.a != nil && p.b != nil {
			c.notes(fd, p.a, p.b)
		}
		fd.PerLineEOL = p.a != nil && p.a.facts.LineEnding == mixedEOL || p.b != nil && p.b.facts.LineEnding == mixedEOL
		var parsedB *upg.File
		if p.b != nil {
			parsedB = p.b.parsed
		} else if p.a != nil {
			parsedB = p.a.parsed
		}
		c.textDiff(fd, ta, tb, sectionFinder(parsedB))
	}
}

const mixedEOL = "mixed CRLF and LF"

// textOf returns f's decoded lines (an empty text for a missing file).
func (c *comparer) textOf(f *sideFile) *text {
	if f == nil {
		return &text{}
	}
	if f.text == nil {
		f.text = splitText(f.Data, f.facts.Encoding, f.parsed)
	}
	return f.text
}

// notes records what differs besides the lines.
func (c *comparer) notes(fd *FileDiff, a, b *sideFile) {
	ea, eb := a.facts.LineEnding, b.facts.LineEnding
	if ea != eb && ea != "" && eb != "" {
		fd.Notes = append(fd.Notes, "line endings: "+ea+" → "+eb)
	}
	if encA, encB := a.facts.Encoding, b.facts.Encoding; encA != encB &&
		(encA == textfile.Windows1252 || encB == textfile.Windows1252) && encA != textfile.ASCII && encB != textfile.ASCII {
		fd.Notes = append(fd.Notes, "encoding: "+encA+" → "+encB)
	}
	na, nb := fd.A.NewlineAtEnd, fd.B.NewlineAtEnd
	if na != nb && len(a.Data) > 0 && len(b.Data) > 0 {
		if nb {
			fd.Notes = append(fd.Notes, "a newline was added at the end of the file")
		} else {
			fd.Notes = append(fd.Notes, "the newline at the end of the file was removed")
		}
	}
}

// significant reports whether the pair differs in a way the options do
// not ignore.
func (c *comparer) significant(p *pair) bool {
	fd := p.fd
	switch {
	case p.a == nil || p.b == nil || fd.Status == StatusRenamed:
		return true
	case !p.changed():
		return false
	case fd.Binary || fd.TooLarge || fd.Added > 0 || fd.Removed > 0:
		return true
	}
	for _, n := range fd.Notes {
		if strings.HasPrefix(n, "encoding:") || !c.opt.IgnoreWhitespace {
			return true
		}
	}
	// Same decoded lines, different bytes, and no note explains it:
	// the options hid the difference.
	return false
}
