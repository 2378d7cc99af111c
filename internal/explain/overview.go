package explain

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/sidefile"
)

// stockLibraries are the file names of the libraries CAMWorks ships (the
// language reference's list); a package file of that name is called a stock
// library, whatever its content.
var stockLibraries = map[string]bool{
	"MILL.LIB": true, "LATHE.LIB": true, "MILLTURN.LIB": true, "GENERAL.LIB": true,
	"LATHE_MULTI_TURRET.LIB": true, "MILLTURN_MULTI_TURRET.LIB": true, "MILLTURN_PROBE.LIB": true,
}

// IsStockLibrary reports whether a file name is the name of a stock library.
func IsStockLibrary(name string) bool { return stockLibraries[strings.ToUpper(upg.BaseName(name))] }

// ownFiles are the parsed files that make this post its own: not stock
// libraries, not the master attribute file.
func (p *Package) ownFiles() []string {
	var out []string
	for _, n := range p.order {
		if !IsStockLibrary(n) && p.role(n) != roleAttributes {
			out = append(out, n)
		}
	}
	return out
}

// maxListed bounds lists of names in one overview sentence.
const maxListed = 12

// Overview explains the whole package in a page a person reads in a
// minute: machine and controller, libraries and their variants, its own
// sections, what it overrides, notable settings, questions, diagnostics.
func (p *Package) Overview() *Explanation {
	main := p.mainFile()
	e := &Explanation{Kind: KindPackage, Title: "Package overview"}
	if main != nil {
		e.Subject, e.File, e.Start, e.End = main.Name, main.Name, 1, len(main.Lines)
		e.Title = "Overview of " + main.Name
	}
	e.addPart(Part{Key: PartSummary, Title: "Machine and controller", Sentences: p.machine(main)})
	e.addPart(Part{Key: PartLibraries, Title: "Libraries", Sentences: p.libraries()})
	e.addPart(Part{Key: PartSections, Title: "Its own sections", Sentences: p.customSections()})
	e.addPart(Part{Key: PartOverrides, Title: "What it overrides", Sentences: p.overrides()})
	e.addPart(Part{Key: PartSettings, Title: "Notable settings", Sentences: p.settings(main)})
	e.addPart(Part{Key: PartQuestions, Title: "Questions it asks", Sentences: p.questions()})
	e.addPart(Part{Key: PartDiagnostics, Title: "Diagnostics", Sentences: p.diagnostics(main)})
	return e
}

func (p *Package) machine(main *upg.File) []Sentence {
	var out []Sentence
	if main == nil {
		return out
	}
	st := newSentence(0).text("the main source is "+main.Name+" ("+plural(len(main.Lines), "line", "lines")+"), a CAMWorks UPG post").cite(main.Name, 1, 1)
	if v, c := lastHeader(main, "SYSTEM"); c != nil {
		st.text(" for a ").code(v).text(" machine (").code(":"+c.Name()+"="+v).text(")").cite(main.Name, int(c.Line), int(c.Line))
	}
	if main.ControlFamily != "" {
		st.text("; its first line marks the control family ").code(main.ControlFamily)
	}
	out = append(out, st.done())
	for _, m := range []struct{ attr, words string }{
		{"MACHINE NAME", "the machine is "}, {"CONTROLLER TYPE", "the controller is "},
	} {
		a, d := p.attribute(m.attr)
		if a == nil {
			continue
		}
		c := attrCommand(a, "ATTRDEFAULT")
		if c == nil || strings.TrimSpace(c.Value()) == "" {
			continue
		}
		out = append(out, newSentence(0).text(m.words).code(c.Value()).text(" (the default of attribute ").code(a.Name).text(" in "+d.File+")").
			cite(d.File, a.StartLine, a.StartLine).cite(d.File, int(c.Line), int(c.Line)).link(symAttribute, a.Name, d.File, d.Line).done())
	}
	// Other machine descriptors with their values.
	var desc []*upg.Attribute
	var descDefs []*definition
	for _, name := range p.ownFiles() {
		f := p.files[name]
		for _, a := range f.Attributes {
			if !strings.EqualFold(strings.TrimSpace(a.Type()), "DESCRIPTOR") {
				continue
			}
			switch upg.CanonicalName(a.Name) {
			case "MACHINE_NAME", "CONTROLLER_TYPE":
				continue
			}
			if c := attrCommand(a, "ATTRDEFAULT"); c != nil && strings.TrimSpace(c.Value()) != "" {
				if d := p.defAtName(name, a.StartLine, a.Name); d != nil {
					desc = append(desc, a)
					descDefs = append(descDefs, d)
				}
			}
		}
	}
	if len(desc) > 0 {
		st := newSentence(0).text("machine descriptors: ")
		for i, a := range desc {
			if i == maxListed {
				st.text(" and " + plural(len(desc)-i, "more", "more"))
				break
			}
			if i > 0 {
				st.text(", ")
			}
			c := attrCommand(a, "ATTRDEFAULT")
			d := descDefs[i]
			st.code(a.Name).text(" = ").code(c.Value())
			if t, _ := attrText(a, "ATTRSHORT", "ATTREMARK"); t != "" {
				st.text(" (" + t + ")")
			}
			st.cite(d.File, a.StartLine, a.StartLine).cite(d.File, int(c.Line), int(c.Line)).link(symAttribute, a.Name, d.File, d.Line)
		}
		out = append(out, st.done())
	}
	for _, sf := range p.res.Side {
		switch {
		case sf.PINF != nil:
			var name, ext *sidefile.KeyValue
			for i := range sf.PINF.Entries {
				switch kv := &sf.PINF.Entries[i]; strings.ToLower(kv.Key) {
				case "postname":
					name = kv
				case "postextension":
					ext = kv
				}
			}
			if name != nil {
				st := newSentence(0).text("the post info file "+sf.Name+" names the post ").code(name.Value).cite(sf.Name, name.Line, name.Line)
				if ext != nil {
					st.text(" and its output file extension ").code(ext.Value).cite(sf.Name, ext.Line, ext.Line)
				}
				out = append(out, st.done())
			}
		case sf.KIN != nil:
			st := newSentence(0).text("the kinematics file " + sf.Name + " describes the machine's axes for multi-axis work")
			first := true
			for _, en := range sf.KIN.Entries {
				var words string
				switch en.Field {
				case "five_axis_type":
					words = "5-axis type "
				case "simulation":
					words = "default machine simulation "
				default:
					continue
				}
				if first {
					st.text(": ")
					first = false
				} else {
					st.text(", ")
				}
				st.text(words).code(en.Value).cite(sf.Name, en.Line, en.Line)
			}
			if len(sf.KIN.Entries) > 0 {
				if first {
					st.cite(sf.Name, sf.KIN.Entries[0].Line, sf.KIN.Entries[0].Line)
				}
				out = append(out, st.done())
			}
		}
	}
	return out
}

// lastHeader returns the value and command of the last header of a name.
func lastHeader(f *upg.File, name string) (string, *upg.Command) {
	for i := len(f.Headers) - 1; i >= 0; i-- {
		if f.Headers[i].Key() == name {
			return f.Headers[i].Value(), f.Headers[i]
		}
	}
	return "", nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (p *Package) libraries() []Sentence {
	var out []Sentence
	for _, l := range p.res.Libraries {
		dir := ":" + strings.ToUpper(l.Directive) + "=" + l.Path
		st := newSentence(0).text(l.From+" line "+itoa(l.Line)+": ").code(dir).cite(l.From, l.Line, l.Line)
		if l.How == howUnresolved {
			st.text(" names " + upg.BaseName(l.Path) + ", which is not in the package, so the sections and attributes it would bring are unknown here")
			out = append(out, st.done())
			continue
		}
		f := p.files[l.Resolved]
		st.text(" pulls in " + l.Resolved)
		if IsStockLibrary(l.Resolved) {
			st.text(", the file name of a stock library")
		} else {
			st.text(", the post's own library")
		}
		if f != nil {
			st.text("; this copy is variant " + sha256Hex(f.Src)[:12] + " (SHA-256 prefix), " + plural(len(f.Src), "byte", "bytes") + ", " + plural(len(f.Lines), "line", "lines") + ", with " + plural(len(f.Sections), "section", "sections") + " and " + plural(len(f.Attributes), "attribute", "attributes"))
		}
		out = append(out, st.done())
	}
	for _, fi := range p.res.Files {
		if f := p.files[fi.Name]; f != nil && fi.Role == roleAttributes {
			out = append(out, newSentence(0).text(fi.Name+" is the master attribute file: it defines "+plural(len(f.Attributes), "attribute", "attributes")+" for the questions CAMWorks asks, so VeriPost can check the post's lower-case names against it").cite(fi.Name, 1, 1).done())
		}
		if fi.Role == roleUnusedLib {
			if f := p.files[fi.Name]; f != nil {
				out = append(out, newSentence(0).text(fi.Name+" is in the package, but no source includes it, so it is not part of this post").cite(fi.Name, 1, 1).done())
			}
		}
	}
	if len(p.res.Libraries) == 0 {
		if main := p.mainFile(); main != nil {
			out = append(out, newSentence(0).text(main.Name+" includes no library").cite(main.Name, 1, 1).done())
		}
	}
	return out
}

// customSections lists, per file that is not a stock library, the sections
// it defines, by kind.
func (p *Package) customSections() []Sentence {
	var out []Sentence
	for _, name := range p.ownFiles() {
		f := p.files[name]
		if len(f.Sections) == 0 {
			continue
		}
		var sys, calc, user []*upg.Section
		for _, s := range f.Sections {
			switch upg.SectionKindOf(s) {
			case upg.SectionSystem:
				sys = append(sys, s)
			case upg.SectionCalc:
				calc = append(calc, s)
			default:
				user = append(user, s)
			}
		}
		st := newSentence(0).text(name + " defines " + plural(len(f.Sections), "section", "sections"))
		first := true
		group := func(list []*upg.Section, one, many string) {
			if len(list) == 0 {
				return
			}
			if first {
				st.text(": ")
				first = false
			} else {
				st.text("; ")
			}
			st.text(plural(len(list), one, many) + " (")
			for i, s := range list {
				if i == maxListed {
					st.text(" and " + plural(len(list)-i, "more", "more"))
					break
				}
				if i > 0 {
					st.text(", ")
				}
				st.code(s.Name).cite(name, s.StartLine, s.StartLine).link(symSection, s.Name, name, s.StartLine)
			}
			st.text(")")
		}
		group(sys, "that the posting system or the library knows by name", "that the posting system or the library knows by name")
		group(calc, "calculation section of its own", "calculation sections of its own")
		group(user, "output section of its own, reached by CALL or an attribute", "output sections of its own, reached by CALL or an attribute")
		out = append(out, st.done())
	}
	return out
}

// overrides lists the sections of one file that another file's copy
// replaces.
func (p *Package) overrides() []Sentence {
	var out []Sentence
	n := 0
	for _, name := range p.order {
		for _, s := range p.files[name].Sections {
			d := p.defAt(name, s.StartLine, s.Name)
			if d == nil || !d.Overridden {
				continue
			}
			win := p.sectionDef(s.Name)
			if win == nil || win == d {
				continue
			}
			n++
			if n > maxListed {
				continue
			}
			out = append(out, newSentence(0).code(s.Name).text(" in "+win.File+" (line "+itoa(win.Line)+") replaces the copy in "+name+" (line "+itoa(d.Line)+"), which never runs").
				cite(win.File, win.Line, win.Line).cite(name, d.Line, d.Line).link(symSection, win.Name, win.File, win.Line).done())
		}
	}
	if n > maxListed {
		out = append(out, newSentence(0).text("… and "+plural(n-maxListed, "more replaced section", "more replaced sections")+"; the package diagnostics list each one").cite(out[0].Cites[0].File, out[0].Cites[0].Start, out[0].Cites[0].Start).done())
	}
	if n == 0 && len(p.res.Libraries) > 0 {
		if main := p.mainFile(); main != nil {
			st := newSentence(0).text("no section of the post replaces a library section of the same name").cite(main.Name, 1, 1)
			var missing []string
			for _, l := range p.res.Libraries {
				if l.How == howUnresolved {
					missing = append(missing, upg.BaseName(l.Path))
					st.cite(l.From, l.Line, l.Line)
				}
			}
			if len(missing) > 0 {
				st.text(" in the files it has; " + joinWords(missing, "and") + " is not in the package, so what the post replaces there cannot be seen")
			}
			out = append(out, st.done())
		}
	}
	return out
}

// settingGroups are the header commands an overview mentions, by topic.
var settingGroups = []struct {
	words   string
	names   []string
	prefix  string // also every header starting with this
	onOnly  bool   // list only the switched-on ones (with meanings)
	meaning bool   // give the catalogue meaning of each
}{
	{words: "multi-axis work", names: []string{"4AXIS_X_MILLING", "4AXIS_Y_MILLING", "5AXIS_MILLING", "MILL_3AXIS_ONLY", "LIVE_Y_AXIS", "DUAL_SPINDLE", "MILL_OD_CYLINDRICAL", "MILL_FACE_POLAR", "WORLD_POSITIONING", "SINGLE_Y_AXIS_DIRECTION"}, onOnly: true, meaning: true},
	{words: "arcs", names: []string{"ARCS", "QUAD", "HELICAL", "VECTOR_COMP"}, meaning: true},
	{words: "number format", names: []string{"LEADING", "TRAILING", "DECIMAL", "G_LEFT_PLACES", "G_RIGHT_PLACES", "G_INT_LEFT_PLACES", "INT_LEADING", "INT_TRAILING", "METRIC_SHIFT", "SPACE", "SPACES", "MAXIMUM_LINE", "FORCE_UPPERCASE_OUTPUT"}},
	{words: "optional features", names: []string{"LENGTH_DIAM_OFFSET_FROM_TOOL", "NO_SET_FILE", "GENERIC_POST", "QUALIFIED_TOOLING", "BCL_FORMAT", "MILL_ADVANCED_ENTRY_RETRACT", "USE_TOOL_COMMENT_AS_NAME", "USE_STATION_ID_AS_NAME", "USE_SPECIAL_TOOL_TYPE"}, prefix: "ALLOW_", onOnly: true, meaning: true},
	{words: "subprograms", names: []string{"SINGLE_MACROS", "MULT_MACROS", "LAYOUT_MACROS", "MACROS_TAPE"}},
}

func isOn(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "TRUE", "YES":
		return true
	}
	return false
}

func (p *Package) settings(main *upg.File) []Sentence {
	var out []Sentence
	if main == nil {
		return out
	}
	for _, g := range settingGroups {
		var cmds []*upg.Command
		seen := map[string]bool{}
		for i := len(main.Headers) - 1; i >= 0; i-- { // the last of a name wins
			h := main.Headers[i]
			in := g.prefix != "" && strings.HasPrefix(h.Key(), g.prefix)
			for _, n := range g.names {
				in = in || h.Key() == n
			}
			if in && !seen[h.Key()] {
				seen[h.Key()] = true
				cmds = append(cmds, h)
			}
		}
		sort.Slice(cmds, func(i, j int) bool { return cmds[i].Line < cmds[j].Line })
		if len(cmds) == 0 {
			continue
		}
		st := newSentence(0).text(g.words + ": ")
		listed := 0
		var off []*upg.Command
		for _, c := range cmds {
			if g.onOnly && !isOn(c.Value()) {
				off = append(off, c)
				continue
			}
			if listed > 0 {
				st.text(", ")
			}
			listed++
			st.code(":"+c.Name()+"="+c.Value()).cite(main.Name, int(c.Line), int(c.Line))
			if g.meaning {
				if e, ok := upg.LookupKind(c.Name(), upg.CatHeaderCommand); ok {
					st.text(" (" + e.Meaning + ")")
				}
			}
		}
		if g.onOnly {
			if listed == 0 {
				st.text("none is switched on")
			}
			if len(off) > 0 {
				st.text("; off: ")
				for i, c := range off {
					if i > 0 {
						st.text(", ")
					}
					st.code(":"+c.Name()+"="+c.Value()).cite(main.Name, int(c.Line), int(c.Line))
				}
			}
		}
		out = append(out, st.done())
	}
	// .CNF header overrides.
	for _, sf := range p.res.Side {
		if sf.CNF == nil || len(sf.CNF.Headers) == 0 {
			continue
		}
		st := newSentence(0).text("the configuration file " + sf.Name + " overrides the compiled post's headers: ")
		for i, h := range sf.CNF.Headers {
			if i > 0 {
				st.text(", ")
			}
			st.code(":"+h.Name+"="+h.Value).cite(sf.Name, h.Line, h.Line)
			if v, c := lastHeader(main, strings.ToUpper(strings.TrimSpace(h.Name))); c != nil && v != h.Value {
				st.text(" (the source says ").code(v).text(")").cite(main.Name, int(c.Line), int(c.Line))
			}
		}
		out = append(out, st.done())
	}
	return out
}

// questions lists the user-facing attributes of the post's own files and
// the questions it adds to operations.
func (p *Package) questions() []Sentence {
	var out []Sentence
	n := 0
	for _, name := range p.ownFiles() {
		f := p.files[name]
		for _, a := range f.Attributes {
			t := strings.ToUpper(strings.TrimSpace(a.Type()))
			if t != "SELECT" && t != "VALUE" && t != "LIST" {
				continue
			}
			n++
			if n > maxListed {
				continue
			}
			st := newSentence(0).code(a.Name).cite(name, a.StartLine, a.StartLine)
			if txt, c := attrText(a, "ATTRTITLE", "ATTRSHORT", "ATTRLONG", "ATTREMARK"); txt != "" {
				st.text(" "+quoteProse(txt)).cite(name, int(c.Line), int(c.Line))
			}
			switch t {
			case "SELECT":
				st.text(": pick one of ")
				first := true
				for _, c := range a.Commands {
					if c.Key() == "ATTRSELSTR" {
						if !first {
							st.text(", ")
						}
						first = false
						st.code(c.Value()).cite(name, int(c.Line), int(c.Line))
					}
				}
				if first {
					st.text("its choices (none listed in the source)")
				}
			case "VALUE":
				st.text(": a value")
			case "LIST":
				st.text(": a list of " + plural(len(a.List), "question", "questions"))
			}
			if c := attrCommand(a, "ATTRDEFAULT"); c != nil && strings.TrimSpace(c.Value()) != "" {
				st.text("; default ").code(c.Value()).cite(name, int(c.Line), int(c.Line))
			}
			if d := p.defAtName(name, a.StartLine, a.Name); d != nil {
				st.link(symAttribute, a.Name, name, a.StartLine)
			}
			out = append(out, st.done())
		}
		if st := operationQuestions(name, f); st != nil {
			out = append(out, *st)
		}
	}
	if n > maxListed {
		out = append(out, newSentence(0).text("… and "+plural(n-maxListed, "more question", "more questions")).cite(out[0].Cites[0].File, out[0].Cites[0].Start, out[0].Cites[0].Start).done())
	}
	return out
}

// operationQuestions sums up a file's :OPERID= blocks: which questions are
// added to how many operation types.
func operationQuestions(file string, f *upg.File) *Sentence {
	type q struct {
		name string
		ops  []string
	}
	var order []string
	by := map[string]*q{}
	blocks := 0
	st := newSentence(0)
	for _, o := range f.Operations {
		if len(o.List) == 0 {
			continue
		}
		blocks++
		st.cite(file, o.StartLine, o.EndLine)
		op := o.ID
		if o.Sub != "" {
			op += "/" + o.Sub
		}
		for _, name := range o.List {
			k := upg.CanonicalName(name)
			if by[k] == nil {
				by[k] = &q{name: name}
				order = append(order, k)
			}
			by[k].ops = append(by[k].ops, op)
		}
	}
	if blocks == 0 {
		return nil
	}
	st.text(file + " adds questions to " + plural(blocks, "operation type", "operation types") + ": ")
	for i, k := range order {
		if i > 0 {
			st.text(", ")
		}
		x := by[k]
		st.code(x.name)
		if len(x.ops) == blocks && blocks > 1 {
			st.text(" (all of them)")
		} else if len(x.ops) <= 3 {
			st.text(" (" + strings.Join(x.ops, ", ") + ")")
		} else {
			st.text(" (" + itoa(len(x.ops)) + " of them)")
		}
	}
	d := st.done()
	return &d
}

// diagnostics sums up the package's findings in one paragraph.
func (p *Package) diagnostics(main *upg.File) []Sentence {
	ds := p.res.Diagnostics
	var out []Sentence
	fallback := func(st *sentence) {
		if main != nil {
			st.cite(main.Name, 1, 1)
		}
	}
	counts := map[upg.Severity]int{}
	type codeStat struct {
		code  string
		sev   upg.Severity
		n     int
		first upg.Diagnostic
	}
	byCode := map[string]*codeStat{}
	var codes []*codeStat
	for _, d := range ds {
		counts[d.Severity]++
		c := byCode[d.Code]
		if c == nil {
			c = &codeStat{code: d.Code, sev: d.Severity, first: d}
			byCode[d.Code] = c
			codes = append(codes, c)
		}
		c.n++
		if d.Severity < c.sev {
			c.sev = d.Severity
		}
	}
	st := newSentence(0)
	if len(ds) == 0 {
		st.text("VeriPost's checks found nothing to report")
		fallback(st)
		return append(out, st.done())
	}
	st.text("VeriPost's checks report " + plural(counts[upg.SeverityError], "error", "errors") + ", " + plural(counts[upg.SeverityWarning], "warning", "warnings") + " and " + plural(counts[upg.SeverityInfo], "note", "notes"))
	fallback(st)
	out = append(out, st.done())
	sort.SliceStable(codes, func(i, j int) bool {
		if codes[i].sev != codes[j].sev {
			return codes[i].sev < codes[j].sev
		}
		return codes[i].n > codes[j].n
	})
	meanings := map[string]string{}
	for _, ci := range upg.Codes() {
		meanings[ci.Code] = ci.Meaning
	}
	for i, c := range codes {
		if i == 6 {
			rest := 0
			for _, r := range codes[i:] {
				rest += r.n
			}
			st := newSentence(0).text("… " + plural(rest, "more finding", "more findings") + " of " + plural(len(codes)-i, "other kind", "other kinds"))
			fallback(st)
			out = append(out, st.done())
			break
		}
		st := newSentence(0).text(c.sev.String() + " " + c.code + " ×" + itoa(c.n))
		if m := meanings[c.code]; m != "" {
			st.text(": " + m)
		}
		if c.first.File != "" && c.first.Line > 0 {
			st.text("; the first is in " + c.first.File + " line " + itoa(c.first.Line))
		}
		if c.first.File != "" && c.first.Line > 0 {
			st.cite(c.first.File, c.first.Line, c.first.Line)
		} else {
			fallback(st)
		}
		out = append(out, st.done())
	}
	return out
}
