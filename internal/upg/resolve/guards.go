package resolve

import (
	"maps"
	"slices"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Guard analysis across the call graph.
//
// A CALL (or SYS_CANNED/GETTOOLS … section argument) to a section no file
// defines is a finding only when the posting system can actually get there:
// some path from an entry point — a system or template section, an attribute
// function (:ATTRCFUNC/:ATTRFUNC), or a section nothing in the package calls
// (so only the system can run it) — reaches the call through code that can
// run. Code cannot run when it sits under SECTIONEXIST(Y) for a section Y the
// package does not define (this covers a guard on the called name itself), or
// in the ELSE branch (or a test compared with FALSE) of SECTIONEXIST(Y) for a
// section Y it does define. The guards of every call on the path count, so a
// guard on the caller, or on the caller's caller, protects the call.

// node is one section definition: the file that holds it and its name.
type node struct {
	file int
	name string
}

// step says how the walk reached a section: from another section (at a
// line), or as an entry point (entry says which kind).
type step struct {
	from  node
	line  int
	entry string
}

// reach is the result of walking one scope's call graph.
type reach struct {
	reached map[node]step
}

// sectionDefs returns the definitions of a section name visible in the
// scope, exact spelling first, then case-insensitively; the first wins.
func (sc *scope) sectionDefs(name string) []defRef {
	if defs := sc.sections[name]; len(defs) > 0 {
		return defs
	}
	return sc.secFold[upg.CanonicalName(name)]
}

// canRun reports whether code under these guards can run in the scope.
// With a library missing, an undefined section may be defined there, so
// only guards on defined sections are judged.
func (sc *scope) canRun(guards []upg.Guard) bool {
	for _, g := range guards {
		exists := len(sc.sectionDefs(g.Section)) > 0
		if !exists && sc.libMissing {
			continue
		}
		if g.Exists != exists {
			return false
		}
	}
	return true
}

func isEdge(ref upg.Ref) bool {
	return ref.Target == upg.TargetSection && (ref.Context == upg.RefCall || ref.Context == upg.RefSectionArg)
}

func isAttrFunc(ref upg.Ref) bool {
	return ref.Target == upg.TargetSection && (ref.Context == upg.RefAttrCFunc || ref.Context == upg.RefAttrFunc)
}

// Entry kinds, as the path in a message names them.
const (
	entrySystem   = "system"
	entryAttrFunc = "attribute"
	entryUncalled = "uncalled"
)

// walk computes which section definitions can run in the scope.
func (r *resolver) walk(sc *scope) *reach {
	files := sc.allFiles(r)
	edges := map[node][]upg.Ref{}
	called := map[node]bool{}
	type entry struct {
		n    node
		kind string
		attr string
	}
	var entries []entry
	target := func(name string) (node, bool) {
		defs := sc.sectionDefs(name)
		if len(defs) == 0 {
			return node{}, false
		}
		return node{file: defs[0].file, name: r.def(defs[0]).Name}, true
	}
	for _, i := range files {
		f := r.facts[i]
		if f == nil {
			continue
		}
		for _, ref := range f.References {
			switch {
			case isEdge(ref) && ref.Section != "":
				n := node{file: i, name: ref.Section}
				edges[n] = append(edges[n], ref)
				if t, ok := target(ref.Name); ok {
					called[t] = true
				}
			case isAttrFunc(ref):
				if t, ok := target(ref.Name); ok {
					called[t] = true
					if sc.canRun(ref.Guards) {
						entries = append(entries, entry{t, entryAttrFunc, ref.Attribute})
					}
				}
			}
		}
	}
	// Definitions in scope order: system sections and uncalled sections are
	// entries (the winning copy only: an overridden copy never runs).
	for _, name := range slices.Sorted(maps.Keys(sc.sections)) {
		t, _ := target(name)
		if t.name != name {
			continue // a later spelling of a case-folded name
		}
		switch {
		case upg.IsSystemSection(name) || upg.IsTemplateSection(name):
			entries = append(entries, entry{t, entrySystem, ""})
		case !called[t]:
			entries = append(entries, entry{t, entryUncalled, ""})
		}
	}
	rc := &reach{reached: map[node]step{}}
	var queue []node
	for _, e := range entries {
		if _, ok := rc.reached[e.n]; !ok {
			rc.reached[e.n] = step{entry: e.kind + "\x00" + e.attr}
			queue = append(queue, e.n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, ref := range edges[n] {
			if !sc.canRun(ref.Guards) {
				continue
			}
			t, ok := target(ref.Name)
			if !ok {
				continue
			}
			if _, seen := rc.reached[t]; !seen {
				rc.reached[t] = step{from: n, line: ref.Line}
				queue = append(queue, t)
			}
		}
	}
	return rc
}

// path returns how the walk reached the section holding a reference, as
// "CALC_START_OF_TAPE → CALC_X (line 12) → CALC_Y", or false when no path
// reaches it.
func (rc *reach) path(r *resolver, file int, section string) (string, bool) {
	n := node{file: file, name: section}
	st, ok := rc.reached[n]
	if !ok {
		return "", false
	}
	var parts []string
	for hops := 0; ; hops++ {
		if st.entry != "" || hops > 64 {
			kind, attr, _ := strings.Cut(st.entry, "\x00")
			head := n.name
			switch kind {
			case entrySystem:
				head += " (run by the posting system)"
			case entryAttrFunc:
				head = "attribute " + attr + " → " + n.name
			case entryUncalled:
				head += " (no section of the package calls it, so only the posting system can)"
			}
			parts = append(parts, head)
			break
		}
		parts = append(parts, n.name)
		n = st.from
		st = rc.reached[n]
	}
	slices.Reverse(parts)
	return strings.Join(parts, " → "), true
}

// allFiles is the scope's files and the package's attribute files.
func (sc *scope) allFiles(r *resolver) []int {
	files := append([]int(nil), sc.files...)
	for _, a := range r.atrs {
		if !slices.Contains(files, a) {
			files = append(files, a)
		}
	}
	return files
}
