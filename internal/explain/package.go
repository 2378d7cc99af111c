package explain

import (
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Package is a resolved post package indexed for explaining. It is
// read-only after New, so one Package may serve many explanations at once.
type Package struct {
	res   *resolved
	files map[string]*upg.File // parsed sources by name
	roles map[string]string    // file name → role
	order []string             // parsed files in override order: a main source, then what it includes, depth first

	refsByFile  map[string][]int // indexes into res.References, by file, in offset order
	callers     map[defKey][]int // references that reach a section definition
	secNameRefs map[string][]int // section references by exact name (also unresolved ones)
	nameRefs    map[string][]int // references to attributes, defines, system and user names, by canonical name
	defsBy      map[string][]int // attribute, define and operation definitions by canonical name, in override order
	sectionsBy  map[string][]int // section definitions by exact name, in override order (the winner first)
	sectionFold map[string][]int // … and by canonical name
	attrNodes   map[defKey]*upg.Attribute
	includedBy  map[string]library // package file → the :LIBRARY=/:INCLUDE= line that first pulls it in
	rank        map[string]int     // file name → position in order
}

type defKey struct {
	file string
	line int
}

// New indexes a resolved package.
func New(res *resolved, trees map[string]*upg.File) *Package {
	p := &Package{
		res: res, files: map[string]*upg.File{}, roles: map[string]string{},
		refsByFile: map[string][]int{}, callers: map[defKey][]int{}, secNameRefs: map[string][]int{},
		nameRefs: map[string][]int{}, defsBy: map[string][]int{}, sectionsBy: map[string][]int{},
		sectionFold: map[string][]int{}, attrNodes: map[defKey]*upg.Attribute{},
		includedBy: map[string]library{}, rank: map[string]int{},
	}
	for _, fi := range res.Files {
		p.roles[fi.Name] = fi.Role
		if f := trees[fi.Name]; f != nil {
			p.files[fi.Name] = f
			for _, a := range f.Attributes {
				p.attrNodes[defKey{f.Name, a.StartLine}] = a
			}
		}
	}
	p.order = p.overrideOrder()
	for i, n := range p.order {
		p.rank[n] = i
	}
	for _, l := range res.Libraries {
		if l.Resolved != "" {
			if _, ok := p.includedBy[l.Resolved]; !ok {
				p.includedBy[l.Resolved] = l
			}
		}
	}

	defIdx := make([]int, len(res.Definitions))
	for i := range defIdx {
		defIdx[i] = i
	}
	// Override order: files in p.order, then definitions in source order.
	sort.SliceStable(defIdx, func(a, b int) bool {
		da, db := &res.Definitions[defIdx[a]], &res.Definitions[defIdx[b]]
		if ra, rb := p.rankOf(da.File), p.rankOf(db.File); ra != rb {
			return ra < rb
		}
		return da.Offset < db.Offset
	})
	for _, i := range defIdx {
		d := &res.Definitions[i]
		switch d.Kind {
		case symSection:
			p.sectionsBy[d.Name] = append(p.sectionsBy[d.Name], i)
			key := upg.CanonicalName(d.Name)
			p.sectionFold[key] = append(p.sectionFold[key], i)
		default:
			p.defsBy[d.Canonical] = append(p.defsBy[d.Canonical], i)
		}
	}
	for i := range res.References {
		r := &res.References[i]
		p.refsByFile[r.File] = append(p.refsByFile[r.File], i)
		if r.Kind == symSection || isSectionContext(r.Context) {
			p.secNameRefs[r.Name] = append(p.secNameRefs[r.Name], i)
			if r.Status == statusDefined {
				k := defKey{r.DefFile, r.DefLine}
				p.callers[k] = append(p.callers[k], i)
			}
			continue
		}
		p.nameRefs[r.Canonical] = append(p.nameRefs[r.Canonical], i)
	}
	for _, list := range p.refsByFile {
		sort.SliceStable(list, func(a, b int) bool { return res.References[list[a]].Offset < res.References[list[b]].Offset })
	}
	return p
}

func isSectionContext(ctx string) bool {
	switch ctx {
	case upg.RefCall, upg.RefSectionArg, upg.RefSectionExist, upg.RefAttrCFunc, upg.RefAttrFunc:
		return true
	}
	return false
}

func (p *Package) rankOf(file string) int {
	if r, ok := p.rank[file]; ok {
		return r
	}
	return len(p.rank)
}

// overrideOrder lists the parsed files the way the resolver looks names up:
// the main source, then its libraries depth first in declaration order
// (a source overrides what it includes; an earlier library a later one),
// then files no main source reaches.
func (p *Package) overrideOrder() []string {
	edges := map[string][]string{}
	for _, l := range p.res.Libraries {
		if l.Resolved != "" {
			edges[l.From] = append(edges[l.From], l.Resolved)
		}
	}
	seen := map[string]bool{}
	var order []string
	var walk func(n string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if p.files[n] != nil {
			order = append(order, n)
		}
		for _, to := range edges[n] {
			walk(to)
		}
	}
	for _, m := range p.res.Metadata.Main {
		walk(m)
	}
	for _, fi := range p.res.Files {
		walk(fi.Name)
	}
	return order
}

// File returns a parsed source file of the package, or nil.
func (p *Package) File(name string) *upg.File { return p.files[name] }

// fileByName finds a parsed file by exact name, then ignoring case.
func (p *Package) fileByName(name string) *upg.File {
	if f := p.files[name]; f != nil {
		return f
	}
	for n, f := range p.files {
		if strings.EqualFold(n, name) || strings.EqualFold(upg.BaseName(n), upg.BaseName(name)) {
			return f
		}
	}
	return nil
}

// sectionDef returns the winning definition of a section name (exact name
// first, then ignoring case), or nil.
func (p *Package) sectionDef(name string) *definition {
	list := p.sectionsBy[name]
	if len(list) == 0 {
		list = p.sectionFold[upg.CanonicalName(name)]
	}
	for _, i := range list {
		if d := &p.res.Definitions[i]; !d.Overridden {
			return d
		}
	}
	if len(list) > 0 {
		return &p.res.Definitions[list[0]]
	}
	return nil
}

// sectionDefs returns every definition of a section name in override order.
func (p *Package) sectionDefs(name string) []*definition {
	var out []*definition
	for _, i := range p.sectionsBy[name] {
		out = append(out, &p.res.Definitions[i])
	}
	return out
}

// nameDef returns the first definition (override order) of an attribute,
// define or operation id, preferring the given kind when several kinds
// share the name.
func (p *Package) nameDef(canonical string, kinds ...string) *definition {
	list := p.defsBy[canonical]
	for _, k := range kinds {
		for _, i := range list {
			if d := &p.res.Definitions[i]; d.Kind == k {
				return d
			}
		}
	}
	if len(kinds) == 0 && len(list) > 0 {
		return &p.res.Definitions[list[0]]
	}
	return nil
}

// attrNode returns the attribute block of a definition.
func (p *Package) attrNode(d *definition) *upg.Attribute {
	if d == nil {
		return nil
	}
	return p.attrNodes[defKey{d.File, d.Line}]
}

// attribute returns the winning attribute block for a name, and its
// definition.
func (p *Package) attribute(name string) (*upg.Attribute, *definition) {
	d := p.nameDef(upg.CanonicalName(name), symAttribute)
	return p.attrNode(d), d
}

// sectionNode returns the section block of a section definition.
func (p *Package) sectionNode(d *definition) *upg.Section {
	if d == nil {
		return nil
	}
	f := p.files[d.File]
	if f == nil {
		return nil
	}
	for _, s := range f.Sections {
		if s.StartLine == d.Line && s.Name == d.Name {
			return s
		}
	}
	return nil
}

// refsIn returns the package references inside [from, to) of file.
func (p *Package) refsIn(file string, from, to int) []*reference {
	list := p.refsByFile[file]
	i := sort.Search(len(list), func(i int) bool { return p.res.References[list[i]].Offset >= from })
	var out []*reference
	for ; i < len(list); i++ {
		r := &p.res.References[list[i]]
		if r.Offset >= to {
			break
		}
		out = append(out, r)
	}
	return out
}

// refAt returns the reference whose name starts at offset in file, or nil.
func (p *Package) refAt(file string, offset int) *reference {
	list := p.refsByFile[file]
	i := sort.Search(len(list), func(i int) bool { return p.res.References[list[i]].Offset >= offset })
	if i < len(list) && p.res.References[list[i]].Offset == offset {
		return &p.res.References[list[i]]
	}
	return nil
}

// role returns a file's role in the package.
func (p *Package) role(file string) string { return p.roles[file] }

// mainFile returns the first main source, or the first parsed file.
func (p *Package) mainFile() *upg.File {
	for _, m := range p.res.Metadata.Main {
		if f := p.files[m]; f != nil {
			return f
		}
	}
	if len(p.order) > 0 {
		return p.files[p.order[0]]
	}
	return nil
}

// near returns up to n names from candidates that look like name (same
// prefix or containing it, ignoring case), for "did you mean" hints.
func near(name string, candidates []string, n int) []string {
	key := upg.CanonicalName(name)
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if !seen[c] && len(out) < n {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, c := range candidates {
		if ck := upg.CanonicalName(c); key != "" && (strings.HasPrefix(ck, key) || strings.HasPrefix(key, ck) && len(ck) > 3) {
			add(c)
		}
	}
	for _, c := range candidates {
		if key != "" && len(key) > 2 && strings.Contains(upg.CanonicalName(c), key) {
			add(c)
		}
	}
	return out
}
