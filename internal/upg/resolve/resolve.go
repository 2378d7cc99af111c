// Package resolve turns the files of one UPG post package into a resolved
// whole: which file each :LIBRARY=/:INCLUDE= names, where every attribute,
// section and :DEFINE is defined, what every reference points at, the
// package's metadata, and the diagnostics that only show across files.
//
// It is pure: it takes named byte slices (a package is stored flattened, so
// names are plain file names; directories in names are ignored for matching)
// and does no I/O.
package resolve

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/sidefile"
)

// Input is one file of a package.
type Input struct {
	Name string // file name, e.g. "Tormach PCNC1100 Series 3.SRC"
	Src  []byte
}

// File roles in a package.
const (
	RoleMain       = "main"    // a .SRC: what gets compiled
	RoleLibrary    = "library" // a .LIB reached through :LIBRARY= from a main source
	RoleUnusedLib  = "unused-library"
	RoleInclude    = "include"    // a file reached through :INCLUDE=
	RoleAttributes = "attributes" // MASTER.ATR
	RoleConfig     = "config"     // .CNF
	RoleKinematics = "kinematics" // .KIN
	RoleInfo       = "info"       // .PINF
	RoleLanguage   = "language"   // .LNG
	RoleCompiled   = "compiled"   // .CTL
	RoleOther      = "other"
)

// How a library/include path was resolved.
const (
	HowRelative   = "relative"   // .\NAME (or a bare name): the file in the package folder
	HowFileName   = "file-name"  // the path points outside the package folder (..\ or absolute); matched by its file name
	HowUnresolved = "unresolved" // no package file has that name
	HowRegistry   = "registry"   // no package file has that name; the library registry's variant stands in
)

// FileInfo describes one file of the package.
type FileInfo struct {
	Name     string       `json:"name"`
	Kind     upg.FileKind `json:"kind"`
	Role     string       `json:"role"`
	Size     int          `json:"size"`
	Binary   bool         `json:"binary"`
	Lines    int          `json:"lines,omitempty"`
	Errors   int          `json:"errors"`
	Warnings int          `json:"warnings"`
}

// Library is one :LIBRARY= or :INCLUDE= line and how it was resolved.
type Library struct {
	From            string `json:"from"`      // declaring file
	Line            int    `json:"line"`      // line of the directive
	Directive       string `json:"directive"` // "library" or "include"
	Path            string `json:"path"`      // as declared
	Resolved        string `json:"resolved"`  // package file name, "" when unresolved
	How             string `json:"how"`       // HowRelative, HowFileName or HowUnresolved
	CaseInsensitive bool   `json:"case_insensitive,omitempty"`
	Explanation     string `json:"explanation"`
	// Registry is the label of the registry variant a HowRegistry library
	// resolved to.
	Registry string `json:"registry,omitempty"`
}

// Symbol kinds.
const (
	KindAttribute = "attribute"
	KindSection   = "section"
	KindDefine    = "define"
	KindOperation = "operation" // an :OPERID= id; free-text ids become constants (OPR_TYPE=POST_PROGRAM_STOP)
	KindParam     = "param"     // a parameter of the enclosing section
	KindSystem    = "system"    // a system variable, constant or built-in of the language
	KindUnknown   = "unknown"
)

// Reference statuses.
const (
	StatusDefined        = "defined"         // found in the package
	StatusSystem         = "system"          // a name the language defines (names.tsv)
	StatusParam          = "param"           // a section parameter
	StatusGuarded        = "guarded"         // a missing section referenced under SECTIONEXIST (optional by design)
	StatusUnreachable    = "unreachable"     // a missing section called only from code that cannot run (see guards.go)
	StatusLibraryMissing = "library-missing" // unknown, but an unresolved library could define it
	StatusUserMissing    = "user-missing"    // a lower-case MASTER.ATR attribute; MASTER.ATR is not in the package
	StatusUndefined      = "undefined"       // an error
)

// Definition is where an attribute, section or :DEFINE is defined.
type Definition struct {
	Name      string   `json:"name"`      // as written
	Canonical string   `json:"canonical"` // comparison form
	Kind      string   `json:"kind"`      // KindAttribute, KindSection, KindDefine or KindOperation
	File      string   `json:"file"`
	Line      int      `json:"line"`
	Col       int      `json:"col"`
	Offset    int      `json:"offset"`
	EndLine   int      `json:"end_line,omitempty"`
	Params    []string `json:"params,omitempty"` // section parameters
	Type      string   `json:"type,omitempty"`   // attribute :ATTRTYPE, section kind (system/calc/user), define value
	// Overridden is set on a section definition that loses to another file's
	// copy (see Package diagnostics for which wins).
	Overridden bool `json:"overridden,omitempty"`
}

// Reference is one resolved use of a name.
type Reference struct {
	Name      string `json:"name"`      // as written
	Canonical string `json:"canonical"` // comparison form
	Kind      string `json:"kind"`      // what it resolved to (Kind* constants)
	Status    string `json:"status"`    // Status* constants
	Context   string `json:"context"`   // upg.Ref* context (token, expr, call, var …)
	File      string `json:"file"`
	Line      int    `json:"line"`
	Col       int    `json:"col"`
	Offset    int    `json:"offset"`
	Section   string `json:"section,omitempty"` // enclosing section
	DefFile   string `json:"def_file,omitempty"`
	DefLine   int    `json:"def_line,omitempty"`
}

// Metadata is what a package says about its machine.
type Metadata struct {
	Main           []string `json:"main"`                      // main .SRC files
	MachineName    string   `json:"machine_name,omitempty"`    // default of the MACHINE NAME attribute
	ControllerType string   `json:"controller_type,omitempty"` // default of the CONTROLLER TYPE attribute
	System         string   `json:"system,omitempty"`          // :SYSTEM=
	ControlFamily  string   `json:"control_family,omitempty"`  // first-line marker of the main source
	Libraries      []string `json:"libraries"`                 // declared :LIBRARY= paths of the main sources
	PostName       string   `json:"post_name,omitempty"`       // from the .PINF
	PostExtension  string   `json:"post_extension,omitempty"`  // from the .PINF
}

// SideFile holds a parsed side file; exactly one pointer is set.
type SideFile struct {
	Name string         `json:"name"`
	CNF  *sidefile.CNF  `json:"cnf,omitempty"`
	KIN  *sidefile.KIN  `json:"kin,omitempty"`
	PINF *sidefile.PINF `json:"pinf,omitempty"`
	LNG  *sidefile.LNG  `json:"lng,omitempty"`
	CTL  *sidefile.CTL  `json:"ctl,omitempty"`
}

// Package is the resolved package.
type Package struct {
	ParserVersion int              `json:"parser_version"`
	Files         []FileInfo       `json:"files"`
	Libraries     []Library        `json:"libraries"`
	Definitions   []Definition     `json:"definitions"`
	References    []Reference      `json:"references"`
	Side          []SideFile       `json:"side_files"`
	Metadata      Metadata         `json:"metadata"`
	Diagnostics   []upg.Diagnostic `json:"diagnostics"`
	parsed        map[string]*upg.File
}

// Parsed returns the parsed source file of that name, or nil.
func (p *Package) Parsed(name string) *upg.File { return p.parsed[name] }

// HasErrors reports whether any diagnostic of the package is an error.
func (p *Package) HasErrors() bool { return upg.HasErrors(p.Diagnostics) }

// Summary counts what the package holds.
type Summary struct {
	Files            int            `json:"files"`
	Definitions      map[string]int `json:"definitions"` // by kind
	References       map[string]int `json:"references"`  // by status
	Unresolved       int            `json:"unresolved_libraries"`
	Errors, Warnings int
}

// Summary counts definitions, references and diagnostics.
func (p *Package) Summary() Summary {
	s := Summary{Files: len(p.Files), Definitions: map[string]int{}, References: map[string]int{}}
	for _, d := range p.Definitions {
		s.Definitions[d.Kind]++
	}
	for _, r := range p.References {
		s.References[r.Status]++
	}
	for _, l := range p.Libraries {
		if l.How == HowUnresolved {
			s.Unresolved++
		}
	}
	for _, d := range p.Diagnostics {
		switch d.Severity {
		case upg.SeverityError:
			s.Errors++
		case upg.SeverityWarning:
			s.Warnings++
		}
	}
	return s
}

// ---------------------------------------------------------------- resolving

type resolver struct {
	pkg    *Package
	inputs []FileFacts
	byName map[string]int   // exact base name → input index
	byFold map[string][]int // upper-case base name → input indices
	facts  []*Facts         // facts of UPG sources (nil for other files)
	roles  []string
	edges  [][]edge // per input: resolved includes in declaration order
	atrs   []int
}

type edge struct {
	to  int
	lib int // index into pkg.Libraries
}

// Resolve parses and resolves the files of one package. Files are processed
// in the order given; names must be unique. It is Extract on every file
// followed by ResolveFacts; the parsed files stay available through
// Package.Parsed.
func Resolve(inputs []Input) *Package {
	files := make([]FileFacts, len(inputs))
	parsed := map[string]*upg.File{}
	for i, in := range inputs {
		facts, f := Extract(in.Name, in.Src)
		files[i] = FileFacts{Name: in.Name, Facts: facts}
		if f != nil {
			parsed[in.Name] = f
		}
	}
	p := ResolveFacts(files)
	p.parsed = parsed
	return p
}

// ResolveFacts resolves a package from the facts of its files, without
// parsing anything: facts stored from an earlier analysis of the same bytes
// give the same result as parsing them again. Names must be unique.
func ResolveFacts(inputs []FileFacts) *Package {
	r := &resolver{
		pkg:    &Package{ParserVersion: upg.ParserVersion, Files: []FileInfo{}, Libraries: []Library{}, Definitions: []Definition{}, References: []Reference{}, Side: []SideFile{}, Diagnostics: []upg.Diagnostic{}, parsed: map[string]*upg.File{}},
		inputs: inputs,
		byName: map[string]int{},
		byFold: map[string][]int{},
		facts:  make([]*Facts, len(inputs)),
		roles:  make([]string, len(inputs)),
		edges:  make([][]edge, len(inputs)),
	}
	r.pkg.Metadata.Main = []string{}
	r.pkg.Metadata.Libraries = []string{}
	for i, in := range inputs {
		if in.Registry != "" {
			continue // found only by lookupFile's last resort
		}
		base := upg.BaseName(in.Name)
		r.byName[base] = i
		up := strings.ToUpper(base)
		r.byFold[up] = append(r.byFold[up], i)
	}
	r.collect()
	r.resolveIncludes()
	roots := r.assignRoles()
	r.symbols(roots)
	r.metadata(roots)
	r.fileInfos()
	upg.SortDiagnostics(r.pkg.Diagnostics)
	return r.pkg
}

func (r *resolver) diag(d upg.Diagnostic) { r.pkg.Diagnostics = append(r.pkg.Diagnostics, d) }

// diagName reports a diagnostic about a name (its Subject).
func (r *resolver) diagName(i int, subject, code string, sev upg.Severity, line, col, off, end int, format string, args ...any) {
	r.diagAt(i, code, sev, line, col, off, end, format, args...)
	r.pkg.Diagnostics[len(r.pkg.Diagnostics)-1].Subject = subject
}

// diagAt reports a diagnostic in input i at a position the facts recorded.
func (r *resolver) diagAt(i int, code string, sev upg.Severity, line, col, off, end int, format string, args ...any) {
	r.diag(upg.Diagnostic{Code: code, Severity: sev, File: r.inputs[i].Name, Line: line, Col: col, Offset: off, End: end, Message: fmt.Sprintf(format, args...)})
}

// collect takes each file's own diagnostics and side-file facts.
func (r *resolver) collect() {
	for i, in := range r.inputs {
		f := in.Facts
		if f == nil {
			continue
		}
		for _, d := range f.Diagnostics {
			d.File = in.Name
			r.diag(d)
		}
		kind := upg.KindOf(in.Name) // facts are shared by contents under any name
		switch {
		case f.Source && kind.IsSource():
			r.facts[i] = f
			if kind == upg.KindATR {
				r.atrs = append(r.atrs, i)
			}
		case kind.IsSource() && f.Binary:
			r.diag(upg.BinaryContent(in.Name)) // not parsed
		case f.Side != nil:
			side := *f.Side
			side.Name = in.Name
			r.pkg.Side = append(r.pkg.Side, side)
			switch {
			case side.PINF != nil:
				if r.pkg.Metadata.PostName == "" {
					r.pkg.Metadata.PostName, r.pkg.Metadata.PostExtension = side.PINF.PostName, side.PINF.PostExtension
				}
			case side.LNG != nil:
				r.diag(upg.Diagnostic{Code: upg.CodeLanguageFile, Severity: upg.SeverityInfo, File: in.Name, Line: 1, Col: 1,
					Message: fmt.Sprintf("language file with %d texts (generated by the compiler; not UPG source)", len(side.LNG.Entries))})
			case side.CTL != nil:
				what := "binary"
				if !side.CTL.Binary {
					what = "text (unexpected for a compiled post)"
				}
				r.diag(upg.Diagnostic{Code: upg.CodeCompiledFile, Severity: upg.SeverityInfo, File: in.Name, Line: 1, Col: 1,
					Message: fmt.Sprintf("compiled post (.CTL, %d bytes, %s); it is not parsed", side.CTL.Size, what)})
			}
		}
	}
}

// lookupFile finds the package file a declared path names.
func (r *resolver) lookupFile(path string) (idx int, how string, folded bool) {
	base := upg.BaseName(path)
	p := strings.TrimSpace(path)
	outside := strings.Contains(p, "..") || strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/") || (len(p) >= 2 && p[1] == ':')
	how = HowRelative
	if outside {
		how = HowFileName
	}
	if i, ok := r.byName[base]; ok {
		return i, how, false
	}
	if is := r.byFold[strings.ToUpper(base)]; len(is) > 0 {
		return is[0], how, true
	}
	for i, in := range r.inputs {
		if in.Registry != "" && strings.EqualFold(upg.BaseName(in.Name), base) {
			return i, HowRegistry, false
		}
	}
	return -1, HowUnresolved, false
}

func (r *resolver) resolveIncludes() {
	for i, f := range r.facts {
		if f == nil {
			continue
		}
		for _, inc := range f.Includes {
			lib := Library{From: r.inputs[i].Name, Line: inc.Line, Path: inc.Path, Directive: "include"}
			if inc.Library {
				lib.Directive = "library"
			}
			j, how, folded := r.lookupFile(inc.Path)
			lib.How, lib.CaseInsensitive = how, folded
			base := upg.BaseName(inc.Path)
			switch {
			case inc.Path == "":
				lib.How = HowUnresolved
				lib.Explanation = "empty path"
			case j < 0:
				lib.Explanation = fmt.Sprintf("no file named %s in the package", base)
				sev := upg.SeverityWarning
				r.diagAt(i, upg.CodeLibraryUnresolved, sev, inc.Line, inc.Col, inc.Offset, inc.End,
					"library %s is not in the package (%s); references it could define are reported as unknown, not as errors — add the file to the package to check them", base, inc.Path)
			default:
				lib.Resolved = r.inputs[j].Name
				switch how {
				case HowRelative:
					lib.Explanation = fmt.Sprintf("relative path: the package file %s", lib.Resolved)
				case HowFileName:
					lib.Explanation = fmt.Sprintf("the path points outside the package folder; matched the package file %s by its file name", lib.Resolved)
				case HowRegistry:
					lib.Registry = r.inputs[j].Registry
					lib.Explanation = fmt.Sprintf("the package does not ship %s; resolved from the registry: %s", base, lib.Registry)
				}
				if folded {
					lib.Explanation += " (case-insensitive match)"
				}
				if j == i {
					r.diagAt(i, upg.CodeLibraryCycle, upg.SeverityError, inc.Line, inc.Col, inc.Offset, inc.End,
						"%s includes itself; remove this line", r.inputs[i].Name)
				} else if r.facts[j] == nil {
					lib.Explanation += "; the file is not UPG source and was not read as a library"
				}
			}
			idx := len(r.pkg.Libraries)
			r.pkg.Libraries = append(r.pkg.Libraries, lib)
			if j >= 0 && j != i && r.facts[j] != nil {
				r.edges[i] = append(r.edges[i], edge{to: j, lib: idx})
			}
		}
	}
	// cycles
	state := make([]uint8, len(r.inputs)) // 0 new, 1 on stack, 2 done
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = 1
		stack = append(stack, i)
		for _, e := range r.edges[i] {
			switch state[e.to] {
			case 0:
				visit(e.to)
			case 1:
				// cycle: from e.to … i → e.to
				var names []string
				k := len(stack) - 1
				for k >= 0 && stack[k] != e.to {
					k--
				}
				for _, s := range stack[k:] {
					names = append(names, upg.BaseName(r.inputs[s].Name))
				}
				names = append(names, upg.BaseName(r.inputs[e.to].Name))
				lib := r.pkg.Libraries[e.lib]
				var at IncludeFact
				if inc := findInclude(r.facts[i], lib.Line); inc != nil {
					at = *inc
				} else {
					at.Line, at.Col = lib.Line, 1
				}
				r.diagAt(i, upg.CodeLibraryCycle, upg.SeverityError, at.Line, at.Col, at.Offset, at.End,
					"libraries include each other in a cycle: %s; remove one of these :LIBRARY= lines", strings.Join(names, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = 2
	}
	for i := range r.inputs {
		if state[i] == 0 && r.facts[i] != nil {
			visit(i)
		}
	}
}

func findInclude(f *Facts, line int) *IncludeFact {
	for i := range f.Includes {
		if f.Includes[i].Line == line {
			return &f.Includes[i]
		}
	}
	return nil
}

// closure returns root followed by every file it reaches through includes,
// depth-first in declaration order (the override order: a file's own
// definitions win over its libraries; earlier libraries over later ones).
func (r *resolver) closure(root int) []int {
	seen := map[int]bool{root: true}
	order := []int{root}
	var walk func(i int)
	walk = func(i int) {
		for _, e := range r.edges[i] {
			if !seen[e.to] {
				seen[e.to] = true
				order = append(order, e.to)
				walk(e.to)
			}
		}
	}
	walk(root)
	return order
}

// assignRoles sets each file's role and returns the roots (main sources).
func (r *resolver) assignRoles() []int {
	var roots []int
	for i, in := range r.inputs {
		switch upg.KindOf(in.Name) {
		case upg.KindSRC:
			if r.facts[i] != nil {
				roots = append(roots, i)
			}
			r.roles[i] = RoleMain
		case upg.KindATR:
			r.roles[i] = RoleAttributes
		case upg.KindCNF:
			r.roles[i] = RoleConfig
		case upg.KindKIN:
			r.roles[i] = RoleKinematics
		case upg.KindPINF:
			r.roles[i] = RoleInfo
		case upg.KindLNG:
			r.roles[i] = RoleLanguage
		case upg.KindCTL:
			r.roles[i] = RoleCompiled
		case upg.KindLIB:
			r.roles[i] = RoleUnusedLib
		default:
			r.roles[i] = RoleOther
		}
	}
	for _, root := range roots {
		for _, j := range r.closure(root)[1:] {
			if r.roles[j] == RoleUnusedLib || r.roles[j] == RoleOther {
				if upg.KindOf(r.inputs[j].Name) == upg.KindLIB {
					r.roles[j] = RoleLibrary
				} else {
					r.roles[j] = RoleInclude
				}
			}
		}
	}
	if len(roots) == 0 {
		hasSource := false
		for i, f := range r.facts {
			if f != nil && upg.KindOf(r.inputs[i].Name) != upg.KindATR {
				hasSource = true
			}
		}
		if hasSource {
			r.diag(upg.Diagnostic{Code: upg.CodeNoMainSource, Severity: upg.SeverityWarning, File: "", Line: 1, Col: 1,
				Message: "the package has no .SRC file; its libraries are checked on their own"})
		}
	}
	for i, in := range r.inputs {
		if r.roles[i] == RoleOther && r.facts[i] == nil {
			r.diag(upg.Diagnostic{Code: upg.CodeUnknownFile, Severity: upg.SeverityInfo, File: in.Name, Line: 1, Col: 1,
				Message: "not a UPG source or known side file; kept as is"})
		}
	}
	return roots
}

func (r *resolver) fileInfos() {
	counts := map[string][2]int{}
	for _, d := range r.pkg.Diagnostics {
		c := counts[d.File]
		switch d.Severity {
		case upg.SeverityError:
			c[0]++
		case upg.SeverityWarning:
			c[1]++
		}
		counts[d.File] = c
	}
	for i, in := range r.inputs {
		fi := FileInfo{Name: in.Name, Kind: upg.KindOf(in.Name), Role: r.roles[i]}
		if f := in.Facts; f != nil {
			fi.Size, fi.Binary = f.Size, f.Binary
		}
		if f := r.facts[i]; f != nil {
			fi.Lines = f.Lines
		}
		c := counts[in.Name]
		fi.Errors, fi.Warnings = c[0], c[1]
		r.pkg.Files = append(r.pkg.Files, fi)
	}
}

// ---------------------------------------------------------------- symbols

type defRef struct {
	file int
	def  int // index into pkg.Definitions
}

// scope is the set of definitions visible from one main source.
type scope struct {
	files      []int // override order
	attrs      map[string][]defRef
	sections   map[string][]defRef // exact section name
	secFold    map[string][]defRef // canonical section name
	defines    map[string][]defRef
	opers      map[string][]defRef
	libMissing bool
	missing    []string // base names of the unresolved libraries
	hasATR     bool
	reach      *reach
}

func (r *resolver) symbols(roots []int) {
	// definitions of every parsed file
	fileDefs := make([][]int, len(r.inputs))
	// Every file's references end up in the package, each once: size the
	// slice once (growing a slice of large structs dominated resolution).
	refs := 0
	for _, f := range r.facts {
		if f != nil {
			refs += len(f.References)
		}
	}
	r.pkg.References = slices.Grow(r.pkg.References, refs)
	for i, f := range r.facts {
		if f == nil {
			continue
		}
		for _, d := range f.Definitions {
			d.File = r.inputs[i].Name
			fileDefs[i] = append(fileDefs[i], len(r.pkg.Definitions))
			r.pkg.Definitions = append(r.pkg.Definitions, d)
		}
	}
	done := make([]bool, len(r.inputs))
	resolveFrom := func(root int, order []int) {
		sc := r.buildScope(order, fileDefs)
		r.crossFile(sc)
		sc.reach = r.walk(sc)
		for _, i := range order {
			if !done[i] {
				done[i] = true
				r.references(i, sc)
			}
		}
	}
	for _, root := range roots {
		resolveFrom(root, r.closure(root))
	}
	// files no main source reaches: each with its own closure
	for i, f := range r.facts {
		if f != nil && !done[i] && r.roles[i] != RoleAttributes {
			resolveFrom(i, r.closure(i))
		}
	}
}

func (r *resolver) buildScope(order []int, fileDefs [][]int) *scope {
	sc := &scope{files: order, attrs: map[string][]defRef{}, sections: map[string][]defRef{}, secFold: map[string][]defRef{}, defines: map[string][]defRef{}, opers: map[string][]defRef{}}
	files := append([]int(nil), order...)
	for _, a := range r.atrs {
		in := false
		for _, o := range order {
			in = in || o == a
		}
		if !in {
			files = append(files, a)
		}
	}
	sc.hasATR = len(r.atrs) > 0
	for _, i := range files {
		for _, li := range r.pkg.Libraries {
			if li.From == r.inputs[i].Name && li.How == HowUnresolved {
				sc.libMissing = true
				if b := upg.BaseName(li.Path); b != "" && !slices.Contains(sc.missing, b) {
					sc.missing = append(sc.missing, b)
				}
			}
		}
		for _, di := range fileDefs[i] {
			d := &r.pkg.Definitions[di]
			ref := defRef{file: i, def: di}
			switch d.Kind {
			case KindAttribute:
				sc.attrs[d.Canonical] = append(sc.attrs[d.Canonical], ref)
			case KindSection:
				sc.sections[d.Name] = append(sc.sections[d.Name], ref)
				key := upg.CanonicalName(d.Name)
				sc.secFold[key] = append(sc.secFold[key], ref)
			case KindDefine:
				sc.defines[d.Canonical] = append(sc.defines[d.Canonical], ref)
			case KindOperation:
				sc.opers[d.Canonical] = append(sc.opers[d.Canonical], ref)
			}
		}
	}
	return sc
}

// crossFile reports sections and attributes defined in more than one file.
func (r *resolver) crossFile(sc *scope) {
	for _, n := range slices.Sorted(maps.Keys(sc.sections)) {
		defs := sc.sections[n]
		if len(defs) < 2 {
			continue
		}
		winner := defs[0]
		for _, d := range defs[1:] {
			if d.file == winner.file {
				continue // duplicate in one file: reported by the parser
			}
			wd := r.pkg.Definitions[winner.def]
			ld := &r.pkg.Definitions[d.def]
			if ld.Overridden {
				continue
			}
			ld.Overridden = true
			if IsStockLibrary(ld.File) && !IsStockLibrary(wd.File) {
				// Overriding a stock library's section in the post's own
				// files is how a post customises it.
				r.diagName(d.file, n, upg.CodeSectionInTwoFiles, upg.SeverityInfo, ld.Line, ld.Col, ld.Offset, ld.Offset+len(ld.Name),
					"section %s of the stock %s is overridden by %s line %d (the usual way to customise a stock library); this copy is not used",
					n, upg.BaseName(ld.File), upg.BaseName(wd.File), wd.Line)
				continue
			}
			r.diagName(d.file, n, upg.CodeSectionInTwoFiles, upg.SeverityWarning, ld.Line, ld.Col, ld.Offset, ld.Offset+len(ld.Name),
				"section %s is also defined in %s line %d, and that copy wins (a source overrides the libraries it includes; among libraries the one listed first wins) — this copy is never used",
				n, upg.BaseName(wd.File), wd.Line)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(sc.attrs)) {
		defs := sc.attrs[n]
		if len(defs) < 2 {
			continue
		}
		first := defs[0]
		for _, d := range defs[1:] {
			if d.file == first.file || r.roles[d.file] == RoleAttributes || r.roles[first.file] == RoleAttributes {
				continue
			}
			fd := r.pkg.Definitions[first.def]
			ld := r.pkg.Definitions[d.def]
			r.diagName(d.file, ld.Canonical, upg.CodeAttributeInTwoFiles, upg.SeverityInfo, ld.Line, ld.Col, ld.Offset, ld.Offset+len(ld.Name),
				"attribute %s is also defined in %s line %d", ld.Name, upg.BaseName(fd.File), fd.Line)
			break
		}
	}
}

func (r *resolver) references(i int, sc *scope) {
	for _, ref := range r.facts[i].References {
		rr := Reference{Name: ref.Name, Context: ref.Context, File: r.inputs[i].Name, Line: ref.Line, Col: ref.Col, Offset: ref.Offset, Section: ref.Section}
		if ref.Target == upg.TargetSection {
			rr.Canonical = ref.Name
			r.resolveSection(i, &rr, ref, sc)
		} else {
			rr.Canonical = upg.CanonicalName(ref.Name)
			r.resolveName(i, &rr, ref, sc)
		}
		r.pkg.References = append(r.pkg.References, rr)
	}
}

func (r *resolver) def(d defRef) *Definition { return &r.pkg.Definitions[d.def] }

func (r *resolver) resolveSection(f int, rr *Reference, ref upg.Ref, sc *scope) {
	defs := sc.sections[ref.Name]
	if len(defs) == 0 {
		defs = sc.secFold[upg.CanonicalName(ref.Name)]
	}
	if len(defs) > 0 {
		d := r.def(defs[0])
		rr.Kind, rr.Status, rr.DefFile, rr.DefLine = KindSection, StatusDefined, d.File, d.Line
		if ref.Args >= 0 || len(d.Params) > 0 {
			n := ref.Args
			if n < 0 {
				n = 0
			}
			if ref.Context != upg.RefSectionExist && ref.Context != upg.RefSectionArg && n != len(d.Params) {
				r.diagName(f, rr.Canonical, upg.CodeSectionArgCount, upg.SeverityWarning, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
					"section %s takes %d parameter(s) (%s line %d) but is given %d argument(s) here", ref.Name, len(d.Params), upg.BaseName(d.File), d.Line, n)
			}
		}
		return
	}
	rr.Kind = KindUnknown
	switch {
	case ref.Guarded:
		rr.Status = StatusGuarded
	case sc.libMissing:
		rr.Status = StatusLibraryMissing
		r.diagName(f, rr.Canonical, upg.CodeUnknownLibraryMissing, upg.SeverityInfo, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"section %s is not defined in the package; unknown, %s", ref.Name, sc.missingText())
	case isAttrFunc(ref):
		// An attribute function runs whenever the attribute is output; no
		// SECTIONEXIST can guard it.
		rr.Status = StatusUndefined
		r.diagName(f, rr.Canonical, upg.CodeUndefinedSection, upg.SeverityWarning, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s of attribute %s names section %s, which no file of the package defines (at run time it finds nothing); define :SECTION=%s or remove the %s line",
			contextWord(ref.Context), ref.Attribute, ref.Name, ref.Name, contextWord(ref.Context))
	default:
		path, ok := sc.reach.path(r, f, ref.Section)
		if ok && ref.Section != "" && !sc.canRun(ref.Guards) {
			ok = false
		}
		if !ok {
			rr.Status = StatusUnreachable
			return
		}
		rr.Status = StatusUndefined
		r.diagName(f, rr.Canonical, upg.CodeUndefinedSection, upg.SeverityWarning, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s refers to section %s, which no file of the package defines, and the posting system can get here without a SECTIONEXIST guard: %s; define :SECTION=%s or guard the call with IF SECTIONEXIST(%s) THEN … ENDIF",
			contextWord(ref.Context), ref.Name, path, ref.Name, ref.Name)
	}
}

// missingText names the unresolved libraries: "MILL.LIB missing".
func (sc *scope) missingText() string {
	switch len(sc.missing) {
	case 0:
		return "a library is missing"
	case 1:
		return sc.missing[0] + " missing"
	}
	return strings.Join(sc.missing, " or ") + " missing"
}

func contextWord(ctx string) string {
	switch ctx {
	case upg.RefCall:
		return "CALL"
	case upg.RefAttrCFunc:
		return ":ATTRCFUNC"
	case upg.RefAttrFunc:
		return ":ATTRFUNC"
	case upg.RefSectionArg:
		return "this command"
	}
	return "this line"
}

func (r *resolver) resolveName(f int, rr *Reference, ref upg.Ref, sc *scope) {
	key := rr.Canonical
	if ref.Param {
		rr.Kind, rr.Status = KindParam, StatusParam
		return
	}
	set := func(kind string, d *Definition) {
		rr.Kind, rr.Status, rr.DefFile, rr.DefLine = kind, StatusDefined, d.File, d.Line
	}
	// Exact spelling first (blanks and underscores are the same); a match
	// that differs only in case is accepted after system names, because
	// e.g. HOME is a system constant while "home" is a MASTER.ATR question.
	exact := exactKey(ref.Name)
	var folded *Definition
	foldedKind := ""
	for _, m := range []struct {
		kind string
		defs []defRef
	}{{KindAttribute, sc.attrs[key]}, {KindDefine, sc.defines[key]}, {KindOperation, sc.opers[key]}} {
		if m.kind == KindOperation && ref.Context == upg.RefCommand {
			continue
		}
		for _, dr := range m.defs {
			d := r.def(dr)
			if exactKey(d.Name) == exact {
				set(m.kind, d)
				return
			}
			if folded == nil {
				folded, foldedKind = d, m.kind
			}
		}
	}
	if upg.IsSystemName(ref.Name) {
		rr.Kind, rr.Status = KindSystem, StatusSystem
		return
	}
	if folded != nil {
		set(foldedKind, folded)
		return
	}
	rr.Kind = KindUnknown
	switch {
	case ref.Context == upg.RefCommand:
		rr.Status = StatusUndefined
		r.diagName(f, rr.Canonical, upg.CodeUnknownCommand, upg.SeverityWarning, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s(…) is used as a command, but it is neither a built-in command of the language catalogue nor an attribute of the package; check the spelling", ref.Name)
	case upg.IsUserName(ref.Name) && !sc.hasATR:
		rr.Status = StatusUserMissing
		r.diagName(f, rr.Canonical, upg.CodeUnknownUserAttribute, upg.SeverityInfo, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s is a user attribute (lower case: MASTER.ATR defines those); unknown, MASTER.ATR missing — add MASTER.ATR to the package to check it", ref.Name)
	case !sc.hasATR && MasterATRDefines(ref.Name) != "":
		rr.Status = StatusUserMissing
		r.diagName(f, rr.Canonical, upg.CodeUnknownUserAttribute, upg.SeverityInfo, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s is %s of the stock MASTER.ATR; unknown, MASTER.ATR missing — add MASTER.ATR to the package to check it", ref.Name, MasterATRDefines(ref.Name))
	case sc.libMissing:
		rr.Status = StatusLibraryMissing
		r.diagName(f, rr.Canonical, upg.CodeUnknownLibraryMissing, upg.SeverityInfo, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s is not defined in the package; unknown, %s", ref.Name, sc.missingText())
	default:
		rr.Status = StatusUndefined
		r.diagName(f, rr.Canonical, upg.CodeUndefinedAttribute, upg.SeverityWarning, ref.Line, ref.Col, ref.Offset, ref.Offset+len(ref.Name),
			"%s is not defined: no attribute, :DEFINE or operation id of the package has this name and the language catalogue does not list it; define it with :ATTRNAME=%s … :ATTREND or fix the spelling (if it is a system name the catalogue lacks, ignore this)",
			ref.Name, strings.ReplaceAll(ref.Name, "_", " "))
	}
}

// ---------------------------------------------------------------- metadata

func (r *resolver) metadata(roots []int) {
	m := &r.pkg.Metadata
	order := []int{}
	for _, root := range roots {
		m.Main = append(m.Main, r.inputs[root].Name)
		order = append(order, r.closure(root)...)
	}
	if len(roots) == 0 {
		for i, f := range r.facts {
			if f != nil {
				order = append(order, i)
			}
		}
	}
	for _, root := range roots {
		f := r.facts[root]
		if m.ControlFamily == "" {
			m.ControlFamily = f.ControlFamily
		}
		if m.System == "" {
			m.System = f.System
		}
		for _, inc := range f.Includes {
			if inc.Library {
				m.Libraries = append(m.Libraries, inc.Path)
			}
		}
	}
	for _, i := range order {
		f := r.facts[i]
		if f == nil {
			continue
		}
		if m.System == "" {
			m.System = f.System
		}
		if f.MachineName != nil && m.MachineName == "" {
			m.MachineName = *f.MachineName
		}
		if f.ControllerType != nil && m.ControllerType == "" {
			m.ControllerType = *f.ControllerType
		}
	}
}

// exactKey is a name with blanks turned into '_' and case kept.
func exactKey(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	return strings.Join(strings.Fields(s), "_")
}
