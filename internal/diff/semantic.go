package diff

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// Semantic is the UPG-aware diff: what changed in the language's terms.
type Semantic struct {
	Sections    []SectionChange `json:"sections"`
	Attributes  []BlockChange   `json:"attributes"`
	Operations  []BlockChange   `json:"operations"`
	Headers     []ValueChange   `json:"headers"`
	Defines     []ValueChange   `json:"defines"`
	Libraries   []LibraryChange `json:"libraries"`
	Definitions []SymbolChange  `json:"definitions"`
	References  []SymbolChange  `json:"references"`
	// Truncated counts items left out because a list reached MaxItems.
	Truncated int `json:"truncated,omitempty"`
}

// Item statuses.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
	Renamed = "renamed"
	Moved   = "moved"
)

// SectionChange is one section that differs.
type SectionChange struct {
	Name    string `json:"name"`               // on side B (side A when removed)
	OldName string `json:"old_name,omitempty"` // on side A, when renamed
	// Status is added, removed, changed (statements or parameters
	// differ), renamed or moved (same content elsewhere). A changed
	// section can also be Renamed or Moved.
	Status      string  `json:"status"`
	Renamed     bool    `json:"renamed,omitempty"`
	Moved       bool    `json:"moved,omitempty"`
	BodyChanged bool    `json:"body_changed,omitempty"`
	Similarity  float64 `json:"similarity,omitempty"`
	A           *Loc    `json:"a,omitempty"`
	B           *Loc    `json:"b,omitempty"`
	// Params are the declared parameters, when they changed.
	ParamsA    string            `json:"params_a,omitempty"`
	ParamsB    string            `json:"params_b,omitempty"`
	Added      int               `json:"statements_added"`
	Removed    int               `json:"statements_removed"`
	Changed    int               `json:"statements_changed"`
	Statements []StatementChange `json:"statements,omitempty"`
}

// StatementChange is one statement line of a section that was added,
// removed or changed.
type StatementChange struct {
	Op   string `json:"op"`   // added, removed, changed
	Kind string `json:"kind"` // template, calc, comment, other
	A    *Loc   `json:"a,omitempty"`
	B    *Loc   `json:"b,omitempty"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// BlockChange is an attribute (:ATTRNAME= … :ATTREND) or an operation
// (:OPERID= … :OPEREND) that differs.
type BlockChange struct {
	Name   string        `json:"name"`
	Type   string        `json:"type,omitempty"` // :ATTRTYPE= of an attribute, :OPERSUB= of an operation
	Status string        `json:"status"`         // added, removed, changed, moved
	Moved  bool          `json:"moved,omitempty"`
	A      *Loc          `json:"a,omitempty"`
	B      *Loc          `json:"b,omitempty"`
	Values []ValueChange `json:"values,omitempty"`
}

// ValueChange is one named value that differs: a sub-command of a block
// (ATTRDEFAULT: 2 → 1), a header command, a :DEFINE.
type ValueChange struct {
	Name   string `json:"name"`
	Status string `json:"status"` // added, removed, changed
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	A      *Loc   `json:"a,omitempty"`
	B      *Loc   `json:"b,omitempty"`
}

// Library statuses besides added and removed.
const (
	LibVariant     = "different-variant" // resolved on both sides to different contents
	LibPath        = "path-changed"      // the declared path changed, the content did not
	LibUnresolved  = "now-unresolved"    // resolved on side A, not on side B
	LibNowResolved = "now-resolved"
)

// LibraryChange is a :LIBRARY=/:INCLUDE= that differs: declared, dropped,
// pointed elsewhere, or resolved to a library whose content changed.
type LibraryChange struct {
	Name      string `json:"name"` // library file name (MILL.LIB)
	Directive string `json:"directive"`
	Status    string `json:"status"`
	PathA     string `json:"path_a,omitempty"`
	PathB     string `json:"path_b,omitempty"`
	ResolvedA string `json:"resolved_a,omitempty"` // package file it resolved to
	ResolvedB string `json:"resolved_b,omitempty"`
	// SHA256A and SHA256B name the two contents, to open their own diff.
	SHA256A string `json:"sha256_a,omitempty"`
	SHA256B string `json:"sha256_b,omitempty"`
	A       *Loc   `json:"a,omitempty"` // the declaring line
	B       *Loc   `json:"b,omitempty"`
}

// SymbolChange is a definition that was added or removed, or a name whose
// references appeared, disappeared or became undefined.
type SymbolChange struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`   // attribute, section, define, operation, system, unknown
	Status string `json:"status"` // added, removed (definitions); appeared, disappeared, now-undefined (references)
	CountA int    `json:"count_a"`
	CountB int    `json:"count_b"`
	A      *Loc   `json:"a,omitempty"` // first occurrence
	B      *Loc   `json:"b,omitempty"`
}

// Reference statuses.
const (
	RefAppeared    = "appeared"
	RefGone        = "disappeared"
	RefNowUndefind = "now-undefined"
)

// ---------------------------------------------------------------- driver

// needsAnalysis reports whether any changed pair holds UPG source.
func (c *comparer) needsAnalysis() bool {
	for _, p := range c.pairs {
		if !p.changed() {
			continue
		}
		for _, f := range []*sideFile{p.a, p.b} {
			if f != nil && f.kind.IsSource() {
				return true
			}
		}
	}
	return false
}

// semantic builds the UPG-aware diff.
func (c *comparer) semantic() {
	s := &c.res.Semantic
	*s = Semantic{Sections: []SectionChange{}, Attributes: []BlockChange{}, Operations: []BlockChange{},
		Headers: []ValueChange{}, Defines: []ValueChange{}, Libraries: []LibraryChange{},
		Definitions: []SymbolChange{}, References: []SymbolChange{}}
	if c.anA == nil || c.anB == nil {
		return
	}
	c.sections()
	c.blocks(true)
	c.blocks(false)
	for _, p := range c.sourcePairs() {
		c.headers(p)
		c.defines(p)
	}
	c.libraries()
	c.symbols()
	trunc := func(n int) int {
		if n > MaxItems {
			s.Truncated += n - MaxItems
			return MaxItems
		}
		return n
	}
	s.Sections = s.Sections[:trunc(len(s.Sections))]
	s.Attributes = s.Attributes[:trunc(len(s.Attributes))]
	s.Operations = s.Operations[:trunc(len(s.Operations))]
	s.Headers = s.Headers[:trunc(len(s.Headers))]
	s.Defines = s.Defines[:trunc(len(s.Defines))]
	s.Libraries = s.Libraries[:trunc(len(s.Libraries))]
	s.Definitions = s.Definitions[:trunc(len(s.Definitions))]
	s.References = s.References[:trunc(len(s.References))]
}

// sourcePairs are the changed pairs parsed on both sides.
func (c *comparer) sourcePairs() []*pair {
	var out []*pair
	for _, p := range c.pairs {
		if p.changed() && p.a != nil && p.b != nil && p.a.parsed != nil && p.b.parsed != nil {
			out = append(out, p)
		}
	}
	return out
}

func loc(f *sideFile, from, to int) *Loc {
	if to < from {
		to = from
	}
	return &Loc{File: f.Name, Line: from, EndLine: to}
}

// norm is the comparison form of a value under the options.
func (c *comparer) norm(s string) string {
	if c.opt.IgnoreWhitespace {
		s = stripBlanks(s)
	}
	if c.opt.IgnoreCase {
		s = strings.ToUpper(s)
	}
	return s
}

// lineText is the decoded text of a 1-based line of f.
func (c *comparer) lineText(f *sideFile, line int) string {
	t := c.textOf(f)
	if line < 1 || line > len(t.lines) {
		return ""
	}
	return t.lines[line-1]
}

// ---------------------------------------------------------------- sections

// sec is one section with its statements, for matching.
type sec struct {
	s      *upg.Section
	f      *sideFile
	pair   *pair // the file pair (one-sided for added/removed files)
	idx    int   // position in its file
	stmts  []stmt
	hash   uint64
	params string
	match  *sec
	moved  bool // its order among the file's sections changed
	set    map[string]int
}

type stmt struct {
	key, kind string
	line      int
}

// statements lists a section's lines as statements: template, calc and
// (unless ignored) comment lines. Comment and blank lines after its last
// statement usually introduce what follows, so they are left out.
func (c *comparer) statements(f *sideFile, s *upg.Section) []stmt {
	var out []stmt
	last := -1
	for ln := s.StartLine + 1; ln <= s.EndLine; ln++ {
		l := f.parsed.LineAt(ln)
		if l == nil {
			break
		}
		kind := "other"
		switch l.Kind {
		case upg.LineBlank:
			continue
		case upg.LineComment:
			if c.opt.IgnoreComments {
				continue
			}
			kind = "comment"
		case upg.LineTemplate:
			kind = "template"
		case upg.LineCalc:
			kind = "calc"
		}
		out = append(out, stmt{key: c.norm(c.lineText(f, ln)), kind: kind, line: ln})
		if kind != "comment" {
			last = len(out) - 1
		}
	}
	return out[:last+1]
}

func (c *comparer) secsOf(f *sideFile, p *pair) []*sec {
	if f == nil || f.parsed == nil {
		return nil
	}
	out := make([]*sec, 0, len(f.parsed.Sections))
	for i, s := range f.parsed.Sections {
		x := &sec{s: s, f: f, pair: p, idx: i}
		x.stmts = c.statements(f, s)
		h := fnv.New64a()
		for _, st := range x.stmts {
			h.Write([]byte(st.key))
			h.Write([]byte{0})
		}
		x.hash = h.Sum64()
		ps := make([]string, len(s.Params))
		for j, p := range s.Params {
			ps[j] = p.Name
		}
		x.params = strings.Join(ps, ",")
		out = append(out, x)
	}
	return out
}

func (x *sec) stmtSet() map[string]int {
	if x.set == nil {
		x.set = make(map[string]int, len(x.stmts))
		for _, s := range x.stmts {
			x.set[s.key]++
		}
	}
	return x.set
}

// sections matches the sections of both sides in the spirit of GumTree:
// first by name within each file pair, then across files (moved), then
// identical bodies under another name, then by statement overlap
// (renamed).
func (c *comparer) sections() {
	type side struct{ a, b []*sec }
	per := map[*pair]*side{}
	var allA, allB []*sec
	for _, p := range c.pairs {
		if !p.changed() {
			continue
		}
		sd := &side{a: c.secsOf(p.a, p), b: c.secsOf(p.b, p)}
		per[p] = sd
		allA = append(allA, sd.a...)
		allB = append(allB, sd.b...)
	}
	link := func(x, y *sec) { x.match, y.match = y, x }
	byName := func(as, bs []*sec, key func(*sec) string) {
		m := map[string][]*sec{}
		for _, y := range bs {
			if y.match == nil {
				m[key(y)] = append(m[key(y)], y)
			}
		}
		for _, x := range as {
			if x.match != nil {
				continue
			}
			k := key(x)
			for len(m[k]) > 0 {
				y := m[k][0]
				m[k] = m[k][1:]
				if y.match == nil {
					link(x, y)
					break
				}
			}
		}
	}
	exact := func(x *sec) string { return x.s.Name }
	folded := func(x *sec) string { return upg.CanonicalName(x.s.Name) }
	for _, p := range c.pairs {
		if sd := per[p]; sd != nil && p.a != nil && p.b != nil {
			byName(sd.a, sd.b, exact)
			byName(sd.a, sd.b, folded)
		}
	}
	byName(allA, allB, exact) // moved to another file
	body := func(x *sec) string {
		if len(x.stmts) == 0 {
			return "\x00empty:" + x.s.Name
		}
		return strconv.FormatUint(x.hash, 16)
	}
	for _, p := range c.pairs {
		if sd := per[p]; sd != nil && p.a != nil && p.b != nil {
			byName(sd.a, sd.b, body)
			c.similarSections(sd.a, sd.b, link)
		}
	}
	byName(allA, allB, body) // renamed and moved

	// Sections whose order changed inside their file.
	for _, p := range c.pairs {
		sd := per[p]
		if sd == nil || p.a == nil || p.b == nil {
			continue
		}
		var seq []*sec
		for _, x := range sd.a {
			if x.match != nil && x.match.pair == p {
				seq = append(seq, x)
			}
		}
		keep := longestIncreasing(seq, func(x *sec) int { return x.match.idx })
		for i, x := range seq {
			x.moved = !keep[i]
		}
	}
	for _, x := range allA {
		switch {
		case x.match != nil:
			c.sectionItem(x, x.match, x.moved || x.match.pair != x.pair)
		case x.pair.b != nil: // a file that still exists lost this section
			c.res.Semantic.Sections = append(c.res.Semantic.Sections, SectionChange{
				Name: x.s.Name, Status: Removed, A: loc(x.f, x.s.StartLine, x.s.EndLine)})
		}
	}
	for _, y := range allB {
		if y.match == nil && y.pair.a != nil {
			c.res.Semantic.Sections = append(c.res.Semantic.Sections, SectionChange{
				Name: y.s.Name, Status: Added, B: loc(y.f, y.s.StartLine, y.s.EndLine)})
		}
	}
	sortByB(c.res.Semantic.Sections, func(s *SectionChange) (*Loc, *Loc) { return s.A, s.B })
}

// similarSections pairs leftover sections of one file pair whose
// statements overlap enough, best pairs first.
func (c *comparer) similarSections(as, bs []*sec, link func(x, y *sec)) {
	var la, lb []*sec
	for _, x := range as {
		if x.match == nil && len(x.stmts) > 0 {
			la = append(la, x)
		}
	}
	for _, y := range bs {
		if y.match == nil && len(y.stmts) > 0 {
			lb = append(lb, y)
		}
	}
	if len(la) == 0 || len(lb) == 0 || len(la)*len(lb) > 40000 {
		return
	}
	type cand struct {
		x, y *sec
		sim  float64
	}
	var cands []cand
	for _, x := range la {
		for _, y := range lb {
			if sim := dice(x.stmtSet(), y.stmtSet()); sim >= renameSimilarity {
				cands = append(cands, cand{x, y, sim})
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].sim > cands[j].sim })
	for _, cd := range cands {
		if cd.x.match == nil && cd.y.match == nil {
			link(cd.x, cd.y)
		}
	}
}

// longestIncreasing marks the elements of seq that form a longest run
// with increasing key (the ones that did not move).
func longestIncreasing[T any](seq []T, key func(T) int) []bool {
	n := len(seq)
	keep := make([]bool, n)
	tails := []int{} // indices into seq
	prev := make([]int, n)
	for i := range seq {
		k := key(seq[i])
		j := sort.Search(len(tails), func(j int) bool { return key(seq[tails[j]]) >= k })
		if j > 0 {
			prev[i] = tails[j-1]
		} else {
			prev[i] = -1
		}
		if j == len(tails) {
			tails = append(tails, i)
		} else {
			tails[j] = i
		}
	}
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			keep[i] = true
		}
	}
	return keep
}

// sectionItem reports a matched pair when anything about it differs.
func (c *comparer) sectionItem(x, y *sec, moved bool) {
	renamed := x.s.Name != y.s.Name
	bodyChanged := x.hash != y.hash || c.norm(x.params) != c.norm(y.params)
	if !renamed && !moved && !bodyChanged {
		return
	}
	it := SectionChange{Name: y.s.Name, Renamed: renamed, Moved: moved, BodyChanged: bodyChanged,
		A: loc(x.f, x.s.StartLine, x.s.EndLine), B: loc(y.f, y.s.StartLine, y.s.EndLine)}
	if renamed {
		it.OldName = x.s.Name
		it.Similarity = round3(dice(x.stmtSet(), y.stmtSet()))
	}
	if c.norm(x.params) != c.norm(y.params) {
		it.ParamsA, it.ParamsB = "("+x.params+")", "("+y.params+")"
	}
	switch {
	case bodyChanged:
		it.Status = Changed
	case renamed:
		it.Status = Renamed
	default:
		it.Status = Moved
	}
	if x.hash != y.hash {
		c.statementChanges(&it, x, y)
	}
	c.res.Semantic.Sections = append(c.res.Semantic.Sections, it)
}

// statementChanges lists the statements added, removed and changed
// between two versions of a section.
func (c *comparer) statementChanges(it *SectionChange, x, y *sec) {
	ka := make([]string, len(x.stmts))
	for i, s := range x.stmts {
		ka[i] = s.key
	}
	kb := make([]string, len(y.stmts))
	for i, s := range y.stmts {
		kb[i] = s.key
	}
	add := func(sc StatementChange) {
		if len(it.Statements) < MaxStatements {
			it.Statements = append(it.Statements, sc)
		}
	}
	for _, g := range lineDiff(ka, kb) {
		n := min(g.a1-g.a0, g.b1-g.b0)
		for i := 0; i < n; i++ {
			sa, sb := x.stmts[g.a0+i], y.stmts[g.b0+i]
			it.Changed++
			add(StatementChange{Op: Changed, Kind: sb.kind, A: loc(x.f, sa.line, sa.line), B: loc(y.f, sb.line, sb.line),
				Old: c.lineText(x.f, sa.line), New: c.lineText(y.f, sb.line)})
		}
		for i := g.a0 + n; i < g.a1; i++ {
			sa := x.stmts[i]
			it.Removed++
			add(StatementChange{Op: Removed, Kind: sa.kind, A: loc(x.f, sa.line, sa.line), Old: c.lineText(x.f, sa.line)})
		}
		for i := g.b0 + n; i < g.b1; i++ {
			sb := y.stmts[i]
			it.Added++
			add(StatementChange{Op: Added, Kind: sb.kind, B: loc(y.f, sb.line, sb.line), New: c.lineText(y.f, sb.line)})
		}
	}
}

// sortByB orders items by file and line, side B first (side A for
// removed items).
func sortByB[T any](items []T, locs func(*T) (*Loc, *Loc)) {
	key := func(t *T) (string, int) {
		a, b := locs(t)
		if b != nil {
			return b.File, b.Line
		}
		if a != nil {
			return a.File, a.Line
		}
		return "", 0
	}
	sort.SliceStable(items, func(i, j int) bool {
		fi, li := key(&items[i])
		fj, lj := key(&items[j])
		if fi != fj {
			return fi < fj
		}
		return li < lj
	})
}

// ---------------------------------------------------------------- blocks

// entry is one sub-command of a block, labelled for comparison.
type entry struct {
	label, value, show string
	line               int
}

// entries labels a block's sub-commands: commands after a :SELECT= line
// belong to that option ("SELECT=2 ATTRFMT").
func entries(cmds []*upg.Command) []entry {
	out := make([]entry, 0, len(cmds))
	sel := ""
	for _, cmd := range cmds {
		label := cmd.Key()
		if cmd.Key() == "SELECT" {
			sel = cmd.Op() + cmd.Value()
		} else if sel != "" {
			label = "SELECT" + sel + " " + cmd.Key()
		}
		show := cmd.Value()
		switch {
		case cmd.Op() == "":
			show = "(set)"
		case cmd.Op() != "=":
			show = cmd.Op() + cmd.Value()
		}
		out = append(out, entry{label: label, value: cmd.Op() + cmd.Value(), show: show, line: int(cmd.Line)})
	}
	return out
}

// valueChanges compares two labelled value lists: one value per label
// gives NAME: old → new; repeated labels are compared as lists.
func (c *comparer) valueChanges(fa, fb *sideFile, ea, eb []entry) []ValueChange {
	var order []string
	ga, gb := map[string][]entry{}, map[string][]entry{}
	for _, e := range eb {
		if _, ok := gb[e.label]; !ok {
			order = append(order, e.label)
		}
		gb[e.label] = append(gb[e.label], e)
	}
	for _, e := range ea {
		if _, ok := ga[e.label]; !ok {
			if _, inB := gb[e.label]; !inB {
				order = append(order, e.label)
			}
		}
		ga[e.label] = append(ga[e.label], e)
	}
	var out []ValueChange
	for _, label := range order {
		va, vb := ga[label], gb[label]
		ka := make([]string, len(va))
		for i, e := range va {
			ka[i] = c.norm(e.value)
		}
		kb := make([]string, len(vb))
		for i, e := range vb {
			kb[i] = c.norm(e.value)
		}
		name := func(i int) string {
			if len(va) > 1 || len(vb) > 1 {
				return label + " #" + strconv.Itoa(i+1)
			}
			return label
		}
		for _, g := range lineDiff(ka, kb) {
			n := min(g.a1-g.a0, g.b1-g.b0)
			for i := 0; i < n; i++ {
				x, y := va[g.a0+i], vb[g.b0+i]
				out = append(out, ValueChange{Name: name(g.b0 + i), Status: Changed, Old: x.show, New: y.show,
					A: loc(fa, x.line, x.line), B: loc(fb, y.line, y.line)})
			}
			for i := g.a0 + n; i < g.a1; i++ {
				x := va[i]
				out = append(out, ValueChange{Name: name(i), Status: Removed, Old: x.show, A: loc(fa, x.line, x.line)})
			}
			for i := g.b0 + n; i < g.b1; i++ {
				y := vb[i]
				out = append(out, ValueChange{Name: name(i), Status: Added, New: y.show, B: loc(fb, y.line, y.line)})
			}
		}
	}
	return out
}

// block is an attribute or operation with its place.
type block struct {
	name, typ  string
	cmds       []*upg.Command
	start, end int
	f          *sideFile
	pair       *pair
	match      *block
}

func blocksOf(f *sideFile, p *pair, attrs bool) []*block {
	if f == nil || f.parsed == nil {
		return nil
	}
	var out []*block
	if attrs {
		for _, a := range f.parsed.Attributes {
			out = append(out, &block{name: a.Name, typ: a.Type(), cmds: a.Commands, start: a.StartLine, end: a.EndLine, f: f, pair: p})
		}
	} else {
		for _, o := range f.parsed.Operations {
			out = append(out, &block{name: o.ID, typ: o.Sub, cmds: o.Commands, start: o.StartLine, end: o.EndLine, f: f, pair: p})
		}
	}
	return out
}

// blocks compares attributes (attrs) or operations, matched by canonical
// name within each file pair, then across files (moved).
func (c *comparer) blocks(attrs bool) {
	var allA, allB []*block
	match := func(as, bs []*block) {
		m := map[string][]*block{}
		for _, y := range bs {
			if y.match == nil {
				k := upg.CanonicalName(y.name)
				m[k] = append(m[k], y)
			}
		}
		for _, x := range as {
			k := upg.CanonicalName(x.name)
			if x.match != nil || len(m[k]) == 0 {
				continue
			}
			y := m[k][0]
			m[k] = m[k][1:]
			x.match, y.match = y, x
		}
	}
	for _, p := range c.pairs {
		if !p.changed() {
			continue
		}
		as, bs := blocksOf(p.a, p, attrs), blocksOf(p.b, p, attrs)
		match(as, bs)
		allA = append(allA, as...)
		allB = append(allB, bs...)
	}
	match(allA, allB)
	var items []BlockChange
	for _, x := range allA {
		switch {
		case x.match != nil:
			y := x.match
			vals := c.valueChanges(x.f, y.f, entries(x.cmds), entries(y.cmds))
			moved := x.pair != y.pair
			if len(vals) == 0 && !moved {
				continue
			}
			it := BlockChange{Name: y.name, Type: y.typ, Status: Changed, Moved: moved, Values: vals,
				A: loc(x.f, x.start, x.end), B: loc(y.f, y.start, y.end)}
			if len(vals) == 0 {
				it.Status = Moved
			}
			items = append(items, it)
		case x.pair.b != nil:
			items = append(items, BlockChange{Name: x.name, Type: x.typ, Status: Removed, A: loc(x.f, x.start, x.end)})
		}
	}
	for _, y := range allB {
		if y.match == nil && y.pair.a != nil {
			items = append(items, BlockChange{Name: y.name, Type: y.typ, Status: Added, B: loc(y.f, y.start, y.end)})
		}
	}
	if items == nil {
		items = []BlockChange{}
	}
	sortByB(items, func(b *BlockChange) (*Loc, *Loc) { return b.A, b.B })
	if attrs {
		c.res.Semantic.Attributes = items
	} else {
		c.res.Semantic.Operations = items
	}
}

// ---------------------------------------------------------------- headers, defines

func (c *comparer) headers(p *pair) {
	ea := make([]entry, 0, len(p.a.parsed.Headers))
	for _, h := range p.a.parsed.Headers {
		ea = append(ea, entries([]*upg.Command{h})...)
	}
	eb := make([]entry, 0, len(p.b.parsed.Headers))
	for _, h := range p.b.parsed.Headers {
		eb = append(eb, entries([]*upg.Command{h})...)
	}
	c.res.Semantic.Headers = append(c.res.Semantic.Headers, c.valueChanges(p.a, p.b, ea, eb)...)
}

func (c *comparer) defines(p *pair) {
	conv := func(ds []*upg.Define) []entry {
		out := make([]entry, 0, len(ds))
		for _, d := range ds {
			out = append(out, entry{label: upg.CanonicalName(d.Name), value: d.Value, show: d.Value, line: d.Line})
		}
		return out
	}
	vals := c.valueChanges(p.a, p.b, conv(p.a.parsed.Defines), conv(p.b.parsed.Defines))
	c.res.Semantic.Defines = append(c.res.Semantic.Defines, vals...)
}

// ---------------------------------------------------------------- libraries

// libUse is how one side declares and resolves a library file name.
type libUse struct {
	lib  resolve.Library
	from *sideFile
	sha  string
}

func (c *comparer) libUses(an *packageAnalysis, files []*sideFile) (map[string]libUse, []string) {
	byName := map[string]*sideFile{}
	for _, f := range files {
		byName[f.Name] = f
	}
	out := map[string]libUse{}
	var order []string
	for _, l := range an.pkg.Libraries {
		k := strings.ToUpper(upg.BaseName(l.Path))
		if k == "" {
			continue
		}
		if _, ok := out[k]; ok {
			continue // the first declaration speaks for the name
		}
		u := libUse{lib: l, from: byName[l.From]}
		if f := byName[l.Resolved]; f != nil {
			u.sha = f.SHA256
		}
		if u.from == nil {
			continue
		}
		out[k] = u
		order = append(order, k)
	}
	return out, order
}

// libraries compares the libraries each side declares and what they
// resolved to.
func (c *comparer) libraries() {
	ua, orderA := c.libUses(c.anA, c.a)
	ub, orderB := c.libUses(c.anB, c.b)
	var items []LibraryChange
	for _, k := range orderB {
		y := ub[k]
		x, inA := ua[k]
		it := LibraryChange{Name: upg.BaseName(y.lib.Path), Directive: y.lib.Directive, PathB: y.lib.Path,
			ResolvedB: y.lib.Resolved, SHA256B: y.sha, B: loc(y.from, y.lib.Line, y.lib.Line)}
		if !inA {
			it.Status = Added
			items = append(items, it)
			continue
		}
		it.PathA, it.ResolvedA, it.SHA256A, it.A = x.lib.Path, x.lib.Resolved, x.sha, loc(x.from, x.lib.Line, x.lib.Line)
		switch {
		case x.sha != "" && y.sha != "" && x.sha != y.sha:
			it.Status = LibVariant
		case x.sha != "" && y.sha == "":
			it.Status = LibUnresolved
		case x.sha == "" && y.sha != "":
			it.Status = LibNowResolved
		case c.norm(x.lib.Path) != c.norm(y.lib.Path):
			it.Status = LibPath
		default:
			continue
		}
		items = append(items, it)
	}
	for _, k := range orderA {
		if _, ok := ub[k]; ok {
			continue
		}
		x := ua[k]
		items = append(items, LibraryChange{Name: upg.BaseName(x.lib.Path), Directive: x.lib.Directive, Status: Removed,
			PathA: x.lib.Path, ResolvedA: x.lib.Resolved, SHA256A: x.sha, A: loc(x.from, x.lib.Line, x.lib.Line)})
	}
	c.res.Semantic.Libraries = c.mergeRenamedLibraries(items)
}

// mergeRenamedLibraries joins a library added on side B with one removed
// from side A when the files they resolved to are a renamed pair: it is
// the same library under a new name.
func (c *comparer) mergeRenamedLibraries(items []LibraryChange) []LibraryChange {
	renamed := map[string]string{} // A file name → B file name
	for _, p := range c.pairs {
		if p.a != nil && p.b != nil {
			renamed[p.a.Name] = p.b.Name
		}
	}
	out := []LibraryChange{}
	used := map[int]bool{}
	for i, it := range items {
		if it.Status != Added || it.ResolvedB == "" {
			continue
		}
		for j, old := range items {
			if used[j] || old.Status != Removed || old.ResolvedA == "" || renamed[old.ResolvedA] != it.ResolvedB {
				continue
			}
			m := it
			m.PathA, m.ResolvedA, m.SHA256A, m.A = old.PathA, old.ResolvedA, old.SHA256A, old.A
			m.Status = LibPath
			if m.SHA256A != m.SHA256B {
				m.Status = LibVariant
			}
			items[i] = m
			used[j] = true
			break
		}
	}
	for j, it := range items {
		if !used[j] {
			out = append(out, it)
		}
	}
	return out
}

// ---------------------------------------------------------------- symbols

type symCount struct {
	name, kind string
	n          int
	first      *Loc
	undefined  bool
}

// symbols compares the resolved symbol tables: definitions added or
// removed, and names whose references appeared, disappeared or now point
// at nothing.
func (c *comparer) symbols() {
	defs := func(an *packageAnalysis) (map[string]*symCount, []string) {
		m := map[string]*symCount{}
		var order []string
		for _, d := range an.pkg.Definitions {
			k := d.Kind + "\x00" + d.Canonical
			sc := m[k]
			if sc == nil {
				sc = &symCount{name: d.Name, kind: d.Kind, first: &Loc{File: d.File, Line: d.Line, EndLine: max(d.EndLine, d.Line)}}
				m[k] = sc
				order = append(order, k)
			}
			sc.n++
		}
		return m, order
	}
	refs := func(an *packageAnalysis) (map[string]*symCount, []string) {
		m := map[string]*symCount{}
		var order []string
		for _, r := range an.pkg.References {
			if r.Kind == resolve.KindParam {
				continue
			}
			target := "name"
			if r.Kind == resolve.KindSection || r.Context == upg.RefCall {
				target = "section"
			}
			k := target + "\x00" + r.Canonical
			sc := m[k]
			if sc == nil {
				sc = &symCount{name: r.Name, kind: r.Kind, first: &Loc{File: r.File, Line: r.Line, EndLine: r.Line}}
				m[k] = sc
				order = append(order, k)
			}
			sc.n++
			sc.undefined = sc.undefined || r.Status == resolve.StatusUndefined
		}
		return m, order
	}
	s := &c.res.Semantic
	da, oa := defs(c.anA)
	db, ob := defs(c.anB)
	for _, k := range ob {
		if y := db[k]; da[k] == nil {
			s.Definitions = append(s.Definitions, SymbolChange{Name: y.name, Kind: y.kind, Status: Added, CountB: y.n, B: y.first})
		}
	}
	for _, k := range oa {
		if x := da[k]; db[k] == nil {
			s.Definitions = append(s.Definitions, SymbolChange{Name: x.name, Kind: x.kind, Status: Removed, CountA: x.n, A: x.first})
		}
	}
	ra, roa := refs(c.anA)
	rb, rob := refs(c.anB)
	for _, k := range rob {
		y := rb[k]
		x := ra[k]
		switch {
		case x == nil:
			s.References = append(s.References, SymbolChange{Name: y.name, Kind: y.kind, Status: RefAppeared, CountB: y.n, B: y.first})
		case y.undefined && !x.undefined:
			s.References = append(s.References, SymbolChange{Name: y.name, Kind: y.kind, Status: RefNowUndefind, CountA: x.n, CountB: y.n, A: x.first, B: y.first})
		}
	}
	for _, k := range roa {
		if x := ra[k]; rb[k] == nil {
			s.References = append(s.References, SymbolChange{Name: x.name, Kind: x.kind, Status: RefGone, CountA: x.n, A: x.first})
		}
	}
}
