package corpusgen

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/sidefile"
)

// This file analyses the corpus once (in NewGenerator): which files of a
// template carry the machine's name, and, in its machine sources, every
// place an edit may land — name definitions and uses, attribute defaults,
// numbers, sections, :LIBRARY= paths — taken from the parser's positions.

type fileRole uint8

const (
	roleMachine fileRole = iota // named after the machine: renamed; .SRC/.LIB edited
	roleStock                   // a shared library (MILL.LIB, LATHE.LIB, MASTER.ATR …)
	roleOther                   // kept as it is
)

// template is one corpus package packages are derived from.
type template struct {
	name  string
	lathe bool
	style stemStyle
	files []tfile
	src   int // index of the main .SRC in files
	lib   int // index of the machine .LIB, -1 when there is none
	// used holds the canonical form of every name the package defines or
	// refers to: a new name must be none of them.
	used map[string]bool
	// cands are the names that may be renamed (sorted); renames lists their
	// indexes: [0] when the machine .LIB stays unchanged, [1] when it is
	// edited too.
	cands   []string
	renames [2][]int
	// calls are the unguarded CALL sites of each section (by exact name),
	// in the machine sources; a duplicated section may take one over.
	calls map[string][]siteRef
}

type siteRef struct {
	file     int // index in template.files
	off, end int
}

// tfile is one file of a template.
type tfile struct {
	name  string
	ext   string // extension as written (".SRC", ".kin"): machine files keep it
	data  []byte
	role  fileRole
	src   *srcInfo  // edit sites of a machine .SRC/.LIB
	post  *span     // the PostName value of a machine .PINF
	stock *stockLib // the shared library (roleStock)
}

type span struct{ off, end int }

// srcInfo lists where edits may land in a machine source file.
type srcInfo struct {
	eol      string // terminator for inserted lines (line 1's, else the file's)
	headAt   int    // offset where a header comment line is inserted
	headEOL  bool   // line 1 has no terminator: write one before the comment
	names    []nameSite
	values   []valueSite
	sections []block
	attrs    []block // POST attributes that may be duplicated
	includes []incSite
}

// nameSite is one definition or use of a name.
type nameSite struct {
	off, end int
	key      string // canonical name
	cand     int    // index in template.cands
	lower    bool   // written in lower case (a user attribute spelling)
	blanks   bool   // written with blanks ("TOOL QT COMMENT")
}

type valueKind uint8

const (
	valMachine    valueKind = iota // MACHINE NAME default
	valController                  // CONTROLLER TYPE default
	valNumber                      // numeric attribute default
	valSelect                      // SELECT default (1-based choice)
	valText                        // a run of digits in :T: output text
	valCalc                        // a number assigned in :C: code
)

type valueSite struct {
	off, end int
	kind     valueKind
	choices  int // valSelect: number of choices
	lo, hi   float64
	bounded  bool // lo/hi hold :ATTRLOW= / :ATTRHIGH=
}

// block is a section or attribute block that may be dropped or duplicated.
type block struct {
	name       string // as written
	key        string
	start, end int // whole lines, terminators included
	nameOff    int // the name in the :SECTION= / :ATTRNAME= line
	nameEnd    int
	drop, dup  bool
}

// incSite is the file-name part of a :LIBRARY=/:INCLUDE= path that names a
// machine file.
type incSite struct {
	off, end int
	target   int // index in template.files
}

// stockLib is a shared library and its modified variants.
type stockLib struct {
	name     string
	data     []byte
	parsed   *upg.File
	variants [][]byte
}

// parsedFacts is what the analysis needs of one parsed source file.
type parsedFacts struct {
	f    *upg.File
	refs []upg.Ref
	keys map[string]bool // canonical names defined or referenced
}

func factsOf(f *upg.File) *parsedFacts {
	pf := &parsedFacts{f: f, refs: f.References(), keys: map[string]bool{}}
	for _, it := range f.Items {
		switch it := it.(type) {
		case *upg.Attribute:
			pf.keys[upg.CanonicalName(it.Name)] = true
		case *upg.Define:
			pf.keys[upg.CanonicalName(it.Name)] = true
		case *upg.Section:
			pf.keys[upg.CanonicalName(it.Name)] = true
			for _, p := range it.Params {
				pf.keys[upg.CanonicalName(p.Name)] = true
			}
		case *upg.Operation:
			pf.keys[upg.CanonicalName(it.ID)] = true
		}
	}
	for _, r := range pf.refs {
		pf.keys[upg.CanonicalName(r.Name)] = true
	}
	return pf
}

// stem returns a file name without its extension, and the extension.
func stem(name string) (string, string) {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext), ext
}

// mainSource returns the index of a package's main .SRC (the first by name), or -1.
func mainSource(p Package) int {
	for i, f := range p.Files {
		if upg.KindOf(f.Name) == upg.KindSRC && !textfile.IsBinary(f.Data) {
			return i
		}
	}
	return -1
}

// analyze builds the templates and the stock library pool from the corpus.
func (g *Generator) analyze(corpus []Package) error {
	parsed := map[[32]byte]*parsedFacts{} // one parse per distinct content
	parse := func(f File) *parsedFacts {
		h := sha256.Sum256(append([]byte(f.Name+"\x00"), f.Data...))
		if pf, ok := parsed[h]; ok {
			return pf
		}
		pf := factsOf(upg.Parse(f.Name, f.Data))
		parsed[h] = pf
		return pf
	}
	isSource := func(f File) bool { return upg.KindOf(f.Name).IsSource() && !textfile.IsBinary(f.Data) }

	// Names that any stock library defines or uses are never renamed: the
	// engine and the libraries rely on them even where a package does not
	// ship the library (GRBL posts include an unshipped MILL.LIB). Nor are
	// names a .CNF refers to.
	stockNames := map[string]bool{}
	roles := make([][]fileRole, len(corpus))
	for pi, p := range corpus {
		m := mainSource(p)
		roles[pi] = make([]fileRole, len(p.Files))
		var mstem string
		if m >= 0 {
			mstem, _ = stem(p.Files[m].Name)
		}
		for fi, f := range p.Files {
			s, _ := stem(f.Name)
			switch {
			case m >= 0 && strings.EqualFold(s, mstem):
				roles[pi][fi] = roleMachine
				if upg.KindOf(f.Name) == upg.KindCNF {
					// a .CNF pick list fills a SELECT attribute by its name
					for _, sel := range sidefile.ParseCNF(f.Name, f.Data).Selects {
						stockNames[upg.CanonicalName(sel.Name)] = true
					}
				}
			case isSource(f):
				roles[pi][fi] = roleStock
				for k := range parse(f).keys {
					stockNames[k] = true
				}
			default:
				roles[pi][fi] = roleOther
			}
		}
	}

	for pi, p := range corpus {
		m := mainSource(p)
		if m < 0 {
			continue
		}
		t := &template{name: p.Name, src: -1, lib: -1, used: map[string]bool{}, calls: map[string][]siteRef{}}
		mstem, _ := stem(p.Files[m].Name)
		t.style = styleOf(mstem)
		facts := make([]*parsedFacts, len(p.Files))
		for fi, f := range p.Files {
			tf := tfile{name: f.Name, data: f.Data, role: roles[pi][fi]}
			_, tf.ext = stem(f.Name)
			if isSource(f) {
				facts[fi] = parse(f)
				for k := range facts[fi].keys {
					t.used[k] = true
				}
			}
			switch tf.role {
			case roleMachine:
				switch {
				case fi == m:
					t.src = fi
				case upg.KindOf(f.Name) == upg.KindLIB && facts[fi] != nil && t.lib < 0:
					t.lib = fi
				case upg.KindOf(f.Name) == upg.KindPINF:
					tf.post = postNameSpan(f)
				}
			case roleStock:
				key := strings.ToUpper(f.Name) + "\x00" + string(sha256Sum(f.Data))
				sl := g.stock[key]
				if sl == nil {
					sl = &stockLib{name: f.Name, data: f.Data, parsed: facts[fi].f}
					g.stock[key] = sl
				}
				tf.stock = sl
			}
			t.files = append(t.files, tf)
		}
		if sys, _ := facts[m].f.Header("SYSTEM"); strings.Contains(strings.ToUpper(sys), "LATHE") || strings.Contains(strings.ToUpper(sys), "TURN") {
			t.lathe = true
		}
		t.analyzeSources(facts, stockNames)
		g.templates = append(g.templates, t)
	}
	g.buildVariants()
	return nil
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// postNameSpan finds the value of "PostName = …" in a .PINF (the line from
// sidefile, the value's bytes within that line).
func postNameSpan(f File) *span {
	pinf := sidefile.ParsePINF(f.Name, f.Data)
	for _, kv := range pinf.Entries {
		if !strings.EqualFold(kv.Key, "PostName") || kv.Value == "" {
			continue
		}
		start := 0
		for line := 1; line < kv.Line; line++ {
			i := bytes.IndexByte(f.Data[start:], '\n')
			if i < 0 {
				return nil
			}
			start += i + 1
		}
		end := len(f.Data)
		if i := bytes.IndexByte(f.Data[start:], '\n'); i >= 0 {
			end = start + i
		}
		line := f.Data[start:end]
		eq := bytes.IndexByte(line, '=')
		if eq < 0 {
			return nil
		}
		v := bytes.Index(line[eq:], []byte(kv.Value))
		if v < 0 {
			return nil
		}
		off := start + eq + v
		return &span{off, off + len(kv.Value)}
	}
	return nil
}

// nameFlags says how a canonical name is defined across the template.
type nameFlags struct {
	renamable  bool // a POST/SELECT attribute, a :DEFINE, or a called user section
	other      bool // any definition that must keep its name
	attr, sect bool
	outside    bool // defined outside the machine sources
	badSite    bool // a site whose bytes do not spell the name
	param      bool
	inLib      bool // defined or used in the machine .LIB
	sectionRef bool // a section referenced at least once
}

// analyzeSources collects the edit sites of the machine .SRC and .LIB and
// decides which names may be renamed.
func (t *template) analyzeSources(facts []*parsedFacts, stockNames map[string]bool) {
	flags := map[string]*nameFlags{}
	fl := func(k string) *nameFlags {
		if flags[k] == nil {
			flags[k] = &nameFlags{}
		}
		return flags[k]
	}
	machine := []int{t.src}
	if t.lib >= 0 {
		machine = append(machine, t.lib)
	}
	// definitions anywhere in the package
	secDefs := map[string][]int{} // canonical section name → params count per definition
	for fi, pf := range facts {
		if pf == nil {
			continue
		}
		isMachine := fi == t.src || fi == t.lib
		for _, it := range pf.f.Items {
			switch it := it.(type) {
			case *upg.Attribute:
				k := upg.CanonicalName(it.Name)
				f := fl(k)
				f.attr = true
				typ := strings.ToUpper(strings.TrimSpace(it.Type()))
				if isMachine && (typ == "POST" || typ == "SELECT") {
					f.renamable = true
				} else {
					f.other = true
				}
			case *upg.Define:
				f := fl(upg.CanonicalName(it.Name))
				f.attr = true
				if isMachine {
					f.renamable = true
				} else {
					f.other = true
				}
			case *upg.Section:
				k := upg.CanonicalName(it.Name)
				secDefs[k] = append(secDefs[k], len(it.Params))
				f := fl(k)
				f.sect = true
				if isMachine && !upg.IsSystemSection(it.Name) && !upg.IsTemplateSection(it.Name) && upg.SectionKindOf(it) != upg.SectionSystem {
					f.renamable = true
				} else {
					f.other = true
				}
				for _, p := range it.Params {
					fl(upg.CanonicalName(p.Name)).param = true
				}
			case *upg.Operation:
				fl(upg.CanonicalName(it.ID)).other = true
			}
		}
		if !isMachine {
			for k := range pf.keys {
				fl(k).outside = true
			}
		}
		for _, r := range pf.refs {
			k := upg.CanonicalName(r.Name)
			if r.Param {
				fl(k).param = true
			}
			if r.Target == upg.TargetSection {
				fl(k).sectionRef = true
			}
		}
	}
	if t.lib >= 0 {
		for k := range facts[t.lib].keys {
			fl(k).inLib = true
		}
	}

	// unguarded section references by canonical name, across the package
	unguarded := map[string]int{}
	for _, pf := range facts {
		if pf == nil {
			continue
		}
		for _, r := range pf.refs {
			if r.Target == upg.TargetSection && !r.Guarded {
				unguarded[upg.CanonicalName(r.Name)]++
			}
		}
	}

	for _, fi := range machine {
		pf := facts[fi]
		si := &srcInfo{}
		t.files[fi].src = si
		si.setHead(pf.f)
		site := func(off, end int, name string) {
			if off < 0 || end > len(pf.f.Src) || off >= end {
				fl(upg.CanonicalName(name)).badSite = true
				return
			}
			written := string(pf.f.Src[off:end])
			k := upg.CanonicalName(name)
			if written != name || upg.CanonicalName(written) != k {
				fl(k).badSite = true
				return
			}
			si.names = append(si.names, nameSite{off: off, end: end, key: k, lower: upg.IsUserName(written), blanks: strings.ContainsAny(written, " \t")})
		}
		for _, it := range pf.f.Items {
			switch it := it.(type) {
			case *upg.Attribute:
				site(int(it.Start.ValuePos), int(it.Start.ValueEnd), it.Name)
				si.attributeValues(pf.f, it)
			case *upg.Define:
				site(it.NamePos, it.NamePos+len(it.Name), it.Name)
			case *upg.Section:
				if it.Header.Func() != nil {
					site(it.Header.Func().Name.NamePos, it.Header.Func().Name.End(), it.Name)
				} else {
					fl(upg.CanonicalName(it.Name)).badSite = true
				}
				si.sectionValues(pf.f, it)
			case *upg.Include:
				si.include(pf.f, it, t)
			}
		}
		for _, r := range pf.refs {
			if r.Param {
				continue
			}
			site(r.Offset, r.Offset+len(r.Name), r.Name)
			if r.Context == upg.RefCall && !r.Guarded {
				t.calls[r.Name] = append(t.calls[r.Name], siteRef{file: fi, off: r.Offset, end: r.Offset + len(r.Name)})
			}
		}
		slices.SortFunc(si.names, func(a, b nameSite) int { return a.off - b.off })
	}

	for _, k := range slices.Sorted(maps.Keys(flags)) {
		f := flags[k]
		ok := f.renamable && !f.other && !f.outside && !f.badSite && !f.param && f.attr != f.sect &&
			(!f.sect || f.sectionRef) && validName(k) && !stockNames[k] && !upg.IsSystemName(k) &&
			k != "MACHINE_NAME" && k != "CONTROLLER_TYPE"
		if !ok {
			continue
		}
		t.renames[1] = append(t.renames[1], len(t.cands))
		if !f.inLib {
			t.renames[0] = append(t.renames[0], len(t.cands))
		}
		t.cands = append(t.cands, k)
	}
	renamable := map[string]int{}
	for i, k := range t.cands {
		renamable[k] = i
	}
	// only the sites of names that may be renamed are needed later
	for _, fi := range machine {
		si := t.files[fi].src
		names := si.names[:0]
		for _, n := range si.names {
			if i, ok := renamable[n.key]; ok {
				n.cand = i
				names = append(names, n)
			}
		}
		si.names = slices.Clip(names)
	}

	// sections that may be dropped or duplicated
	for _, fi := range machine {
		pf := facts[fi]
		si := t.files[fi].src
		count := map[string]int{}
		for _, s := range pf.f.Sections {
			count[s.Name]++
		}
		for _, s := range pf.f.Sections {
			k := upg.CanonicalName(s.Name)
			if _, ok := renamable[k]; ok || count[s.Name] > 1 || s.Header.Func() == nil || s.Name == "" || !plainSection(pf.f, s) {
				continue
			}
			sec := block{name: s.Name, key: k, start: int(pf.f.Lines[s.StartLine-1].Offset), end: s.EndOffset,
				nameOff: s.Header.Func().Name.NamePos, nameEnd: s.Header.Func().Name.End()}
			if sec.start < si.headAt && si.headAt < sec.end {
				continue
			}
			sec.dup = true
			// Dropping is safe when nothing needs the section unguarded, or
			// another file's copy (with the same parameters) takes over.
			sec.drop = unguarded[k] == 0
			if !sec.drop {
				n := 0
				for _, params := range secDefs[k] {
					if params == len(s.Params) {
						n++
					}
				}
				sec.drop = n >= 2 && len(secDefs[k]) >= 2
			}
			si.sections = append(si.sections, sec)
		}
		for _, a := range pf.f.Attributes {
			if b, ok := attrBlock(pf.f, a); ok && !(b.start < si.headAt && si.headAt < b.end) {
				si.attrs = append(si.attrs, b)
			}
		}
	}
}

// attrBlock returns a POST attribute without an :ATTRID= as a block that may
// be copied: terminated by :ATTREND, made of attribute, comment and blank
// lines only.
func attrBlock(f *upg.File, a *upg.Attribute) (block, bool) {
	if !strings.EqualFold(strings.TrimSpace(a.Type()), "POST") || a.ID() != "" || a.EndCmd == nil || a.EndCmd.Key() != "ATTREND" ||
		a.Name == "" || int(a.Start.ValueEnd) > len(f.Src) || string(f.Src[a.Start.ValuePos:a.Start.ValueEnd]) != a.Name {
		return block{}, false
	}
	for l := a.StartLine; l <= a.EndLine; l++ {
		switch f.Lines[l-1].Kind {
		case upg.LineAttrStart, upg.LineAttrCommand, upg.LineAttrEnd, upg.LineComment, upg.LineBlank:
		default:
			return block{}, false
		}
	}
	return block{name: a.Name, key: a.CanonicalName(), start: int(f.Lines[a.StartLine-1].Offset), end: a.EndOffset,
		nameOff: int(a.Start.ValuePos), nameEnd: int(a.Start.ValueEnd), dup: true}, true
}

// plainSection reports whether a section holds only section, template,
// calculation, comment and blank lines (no stray text, no EOF byte), so that
// it can be removed or copied whole.
func plainSection(f *upg.File, s *upg.Section) bool {
	for l := s.StartLine; l <= s.EndLine; l++ {
		switch f.Lines[l-1].Kind {
		case upg.LineSection, upg.LineTemplate, upg.LineCalc, upg.LineComment, upg.LineBlank:
		default:
			return false
		}
	}
	return true
}

// validName reports whether a canonical name is made of A-Z, 0-9 and '_'.
func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// setHead decides where the header comment line goes: after line 1 (which
// may be a control-family marker that must stay first).
func (si *srcInfo) setHead(f *upg.File) {
	si.eol = "\n"
	if bytes.Count(f.Src, []byte("\r\n"))*2 > bytes.Count(f.Src, []byte("\n")) {
		si.eol = "\r\n"
	}
	if len(f.Lines) == 0 {
		return
	}
	l := f.Lines[0]
	si.headAt = int(l.EOLEnd())
	if l.EOLEnd() == l.End {
		si.headEOL = true
	} else {
		si.eol = string(f.Src[l.End:l.EOLEnd()])
	}
}

// attributeValues records the attribute's default as a value site.
func (si *srcInfo) attributeValues(f *upg.File, a *upg.Attribute) {
	var def *upg.Command
	var lo, hi string
	for _, c := range a.Commands {
		switch c.Key() {
		case "ATTRDEFAULT":
			if c.Op() == "=" && c.Value() != "" {
				def = c
			}
		case "ATTRLOW":
			lo = c.Value()
		case "ATTRHIGH":
			hi = c.Value()
		}
	}
	if def == nil || int(def.ValueEnd) > len(f.Src) || string(f.Src[def.ValuePos:def.ValueEnd]) != def.Value() {
		return
	}
	v := valueSite{off: int(def.ValuePos), end: int(def.ValueEnd)}
	switch k := a.CanonicalName(); {
	case k == "MACHINE_NAME":
		v.kind = valMachine
	case k == "CONTROLLER_TYPE":
		v.kind = valController
	case strings.EqualFold(strings.TrimSpace(a.Type()), "SELECT"):
		n, err := strconv.Atoi(def.Value())
		if err != nil || len(a.SelectStrings) < 2 || n < 1 || n > len(a.SelectStrings) {
			return
		}
		v.kind, v.choices = valSelect, len(a.SelectStrings)
	default:
		if _, ok := parseNumber(def.Value()); !ok {
			return
		}
		v.kind = valNumber
		l, okl := parseNumber(lo)
		h, okh := parseNumber(hi)
		if okl && okh && l <= h {
			v.lo, v.hi, v.bounded = l, h, true
		}
	}
	si.values = append(si.values, v)
}

// sectionValues records the digit runs of :T: text and the numbers
// assigned in :C: code of a section.
func (si *srcInfo) sectionValues(f *upg.File, s *upg.Section) {
	for _, tl := range s.Templates {
		for _, it := range tl.Items {
			txt, ok := it.(*upg.TextItem)
			if !ok || txt.EndOff > len(f.Src) || string(f.Src[txt.Offset:txt.EndOff]) != txt.Text {
				continue
			}
			for i := 0; i < len(txt.Text); {
				if !isDigit(txt.Text[i]) {
					i++
					continue
				}
				j := i
				for j < len(txt.Text) && isDigit(txt.Text[j]) {
					j++
				}
				si.values = append(si.values, valueSite{off: txt.Offset + i, end: txt.Offset + j, kind: valText})
				i = j
			}
		}
	}
	for _, st := range s.Body() {
		upg.Inspect(st, func(n upg.Node) bool {
			as, ok := n.(*upg.AssignStmt)
			if !ok {
				return true
			}
			if lit, ok := as.Rhs.(*upg.BasicLit); ok && lit.Kind == upg.LitNumber && lit.End() <= len(f.Src) {
				if v, ok := parseNumber(lit.Value); ok && v != 0 && v != 1 {
					si.values = append(si.values, valueSite{off: lit.ValuePos, end: lit.End(), kind: valCalc})
				}
			}
			return true
		})
	}
}

// include records the file-name part of a :LIBRARY=/:INCLUDE= path that
// names a machine file of the template (it is renamed with the package).
func (si *srcInfo) include(f *upg.File, inc *upg.Include, t *template) {
	c := inc.Command
	valuePos, valueEnd := int(c.ValuePos), int(c.ValueEnd)
	if inc.Path == "" || valueEnd > len(f.Src) {
		return
	}
	base := upg.BaseName(inc.Path)
	target := -1
	for i, tf := range t.files {
		if tf.role == roleMachine && strings.EqualFold(tf.name, base) {
			target = i
		}
	}
	if target < 0 {
		return
	}
	off := valueEnd - len(base)
	if off < valuePos || !strings.EqualFold(string(f.Src[off:valueEnd]), base) {
		return
	}
	si.includes = append(si.includes, incSite{off: off, end: valueEnd, target: target})
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseNumber reads a plain decimal number: optional sign, digits, an
// optional point and digits.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case c == '.' || (i == 0 && (c == '-' || c == '+')):
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
