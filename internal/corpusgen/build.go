package corpusgen

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// How often values change (per site), and how much structure changes per
// package.
const (
	pDefault  = 0.35 // numeric / SELECT attribute defaults
	pText     = 0.06 // digit runs in :T: text
	pCalc     = 0.08 // numbers assigned in :C: code
	pRedirect = 0.5  // a duplicated section takes over one CALL
	maxRename = 12
	maxDrop   = 3 // sections dropped: 0 … maxDrop
	maxDup    = 2 // sections duplicated: 0 … maxDup
	maxDupAtt = 2 // POST attributes duplicated: 0 … maxDupAtt
)

// edit replaces src[off:end] with text (an insertion when off == end).
type edit struct {
	off, end int
	text     string
}

// fileEdits is everything that changes in one source file.
type fileEdits struct {
	edits []edit
	drops []span
	dups  []dupBlock
}

// dupBlock is a copy of a block, inserted right after it under a new name.
type dupBlock struct {
	blk  block
	name string // the copy's name, as written
}

// build derives package i from one template.
func (g *Generator) build(i int, r *rand.Rand) Package {
	t := g.templates[r.IntN(len(g.templates))]
	machines, controls := millMachines, millControls
	if t.lathe {
		machines, controls = latheMachines, latheControls
	}
	machine := machines[r.IntN(len(machines))]
	control := controls[r.IntN(len(controls))]
	name := packageName(t.style, machine, i)
	libEdited := t.lib >= 0 && (g.opt.MachineLibUnchanged < 0 || r.IntN(g.opt.MachineLibUnchanged) != 0)

	edited := []int{t.src}
	if libEdited {
		edited = append(edited, t.lib)
	}
	fe := make(map[int]*fileEdits, 2)
	for _, fi := range edited {
		fe[fi] = &fileEdits{}
	}

	// new names must differ from every name of the template and each other
	taken := map[string]bool{}
	isTaken := func(n string) bool { return t.used[n] || taken[n] }

	// renames
	cands := t.renames[0]
	if libEdited {
		cands = t.renames[1]
	}
	renamed := make([]string, len(t.cands)) // new name by candidate, "" when kept
	if len(cands) > 0 {
		k := 1 + r.IntN(min(maxRename, len(cands)))
		for _, j := range r.Perm(len(cands))[:k] {
			c := cands[j]
			n := newName(r, t.cands[c], isTaken)
			taken[n] = true
			renamed[c] = n
		}
	}

	// sections: drop some, duplicate some (never the same one twice)
	type blockRef struct {
		file int
		blk  block
	}
	var secs []blockRef
	for _, fi := range edited {
		for _, s := range t.files[fi].src.sections {
			secs = append(secs, blockRef{fi, s})
		}
	}
	nDrop, nDup := r.IntN(maxDrop+1), r.IntN(maxDup+1)
	handled := map[string]bool{}
	for _, j := range r.Perm(len(secs)) {
		s := secs[j]
		if handled[s.blk.key] {
			continue
		}
		switch {
		case nDrop > 0 && s.blk.drop:
			nDrop--
			handled[s.blk.key] = true
			fe[s.file].drops = append(fe[s.file].drops, span{s.blk.start, s.blk.end})
		case nDup > 0 && s.blk.dup:
			nDup--
			handled[s.blk.key] = true
			k := newName(r, s.blk.key, isTaken)
			taken[k] = true
			copyName := spell(k, upg.IsUserName(s.blk.name), false)
			fe[s.file].dups = append(fe[s.file].dups, dupBlock{blk: s.blk, name: copyName})
			if calls := t.calls[s.blk.name]; len(calls) > 0 && r.Float64() < pRedirect {
				c := calls[r.IntN(len(calls))]
				if e := fe[c.file]; e != nil {
					e.edits = append(e.edits, edit{c.off, c.end, copyName})
				}
			}
		}
		if nDrop == 0 && nDup == 0 {
			break
		}
	}

	// POST attributes: duplicate some under new names
	var attrs []blockRef
	for _, fi := range edited {
		for _, a := range t.files[fi].src.attrs {
			attrs = append(attrs, blockRef{fi, a})
		}
	}
	if len(attrs) > 0 {
		for _, j := range r.Perm(len(attrs))[:min(r.IntN(maxDupAtt+1), len(attrs))] {
			a := attrs[j]
			k := newName(r, a.blk.key, isTaken)
			taken[k] = true
			fe[a.file].dups = append(fe[a.file].dups, dupBlock{blk: a.blk, name: spell(k, upg.IsUserName(a.blk.name), strings.ContainsAny(a.blk.name, " \t"))})
		}
	}

	// per-file edits: names, values, library paths, a header comment
	newFile := func(fi int) string { return name + t.files[fi].ext }
	for _, fi := range edited {
		si := t.files[fi].src
		e := fe[fi]
		for _, s := range si.names {
			if n := renamed[s.cand]; n != "" {
				e.edits = append(e.edits, edit{s.off, s.end, spell(n, s.lower, s.blanks)})
			}
		}
		for _, v := range si.values {
			if txt, ok := newValue(r, v, t.files[fi].data[v.off:v.end], machine, control); ok {
				e.edits = append(e.edits, edit{v.off, v.end, txt})
			}
		}
		for _, inc := range si.includes {
			e.edits = append(e.edits, edit{inc.off, inc.end, newFile(inc.target)})
		}
		comment := fmt.Sprintf("* %s - %s, %s control", name, machine, control)
		if fi != t.src {
			comment = fmt.Sprintf("* %s machine library", name)
		}
		e.edits = append(e.edits, edit{si.headAt, si.headAt, headLine(si, comment)})
	}

	files := make([]File, 0, len(t.files))
	for fi, tf := range t.files {
		f := File{Name: tf.name, Data: tf.data}
		switch tf.role {
		case roleMachine:
			f.Name = newFile(fi)
			if e := fe[fi]; e != nil {
				f.Data = e.apply(tf.data)
			}
			if tf.post != nil {
				f.Data = applyEdits(tf.data, []edit{{tf.post.off, tf.post.end, name}})
			}
		case roleStock:
			if every := g.opt.StockVariantEvery; every > 0 && r.IntN(every) == 0 {
				f.Data = tf.stock.variants[r.IntN(len(tf.stock.variants))]
			}
		}
		files = append(files, f)
	}
	sortFiles(files)
	return Package{Name: name, Files: files, Template: t.name}
}

// headLine is an inserted comment line with the file's line terminator.
func headLine(si *srcInfo, text string) string {
	if si.headEOL {
		return si.eol + text + si.eol
	}
	return text + si.eol
}

// newValue returns the changed text of a value site, or false to keep it.
func newValue(r *rand.Rand, v valueSite, old []byte, machine, control string) (string, bool) {
	p := pDefault
	switch v.kind {
	case valMachine:
		return machine, true
	case valController:
		return control, true
	case valText:
		p = pText
	case valCalc:
		p = pCalc
	}
	if r.Float64() >= p {
		return "", false
	}
	return changeValue(r, v, old)
}

// changeValue returns another value for a numeric, SELECT or digit-run site.
func changeValue(r *rand.Rand, v valueSite, old []byte) (string, bool) {
	switch v.kind {
	case valSelect:
		n := strconv.Itoa(1 + r.IntN(v.choices))
		return n, n != string(old)
	case valNumber, valCalc:
		return changeNumber(r, string(old), v)
	case valText:
		b := []byte(string(old))
		for i := range b {
			lo := 0
			if i == 0 && old[0] != '0' && len(b) > 1 {
				lo = 1
			}
			b[i] = byte('0' + lo + r.IntN(10-lo))
		}
		return string(b), string(b) != string(old)
	}
	return "", false
}

// changeNumber scales a number by 0.5–1.5 (within :ATTRLOW/:ATTRHIGH), in
// the same format: as many decimals, a trailing point kept.
func changeNumber(r *rand.Rand, old string, v valueSite) (string, bool) {
	x, ok := parseNumber(old)
	if !ok || x == 0 {
		return "", false
	}
	decimals := 0
	point := strings.IndexByte(old, '.')
	if point >= 0 {
		decimals = len(old) - point - 1
	}
	y := x * (0.5 + r.Float64())
	if v.bounded {
		y = math.Max(v.lo, math.Min(v.hi, y))
	}
	s := strconv.FormatFloat(y, 'f', decimals, 64)
	if s == strconv.FormatFloat(x, 'f', decimals, 64) {
		return "", false
	}
	if strings.HasPrefix(strings.TrimLeft(old, "+-"), ".") {
		// written without the zero before the point (.00005)
		if strings.HasPrefix(s, "-0.") {
			s = "-" + s[2:]
		} else {
			s = strings.TrimPrefix(s, "0")
		}
	}
	if point >= 0 && decimals == 0 {
		s += "."
	}
	if strings.HasPrefix(old, "+") && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s, true
}

// apply writes the edited file: section copies go right after their
// originals (with the same edits inside, and the new name), dropped
// sections lose every edit inside them.
func (fe *fileEdits) apply(src []byte) []byte {
	edits := fe.edits[:0:0]
	for _, e := range fe.edits {
		if !insideAny(e, fe.drops) {
			edits = append(edits, e)
		}
	}
	sortEdits(edits)
	all := slices.Clone(edits)
	for _, d := range fe.dups {
		b := d.blk
		body := applyEdits(src[b.start:b.end], shiftEdits(edits, b.start, b.end, edit{b.nameOff, b.nameEnd, d.name}))
		if len(body) > 0 && body[len(body)-1] != '\n' {
			// the section ends the file without a terminator
			eol := "\n"
			if bytes.HasSuffix(src[:b.start], []byte("\r\n")) {
				eol = "\r\n"
			}
			body = append([]byte(eol), body...)
		}
		all = append(all, edit{b.end, b.end, string(body)})
	}
	for _, d := range fe.drops {
		all = append(all, edit{d.off, d.end, ""})
	}
	sortEdits(all)
	return applyEdits(src, all)
}

// insideAny reports whether an edit falls in one of the dropped ranges
// (insertions at a range's edges stay).
func insideAny(e edit, drops []span) bool {
	for _, d := range drops {
		if e.off < d.end && e.end > d.off || e.off == e.end && e.off > d.off && e.off < d.end {
			return true
		}
	}
	return false
}

// shiftEdits returns the edits strictly inside [from, to), moved to offsets
// relative to from, with extra (also inside) replacing any edit at its place.
func shiftEdits(edits []edit, from, to int, extra edit) []edit {
	var out []edit
	for _, e := range edits {
		if e.off >= from && e.end <= to && !(e.off == e.end && (e.off == from || e.off == to)) &&
			!(e.off < extra.end && e.end > extra.off) {
			out = append(out, edit{e.off - from, e.end - from, e.text})
		}
	}
	out = append(out, edit{extra.off - from, extra.end - from, extra.text})
	sortEdits(out)
	return out
}

// sortEdits orders edits by offset, insertions first at equal offsets.
func sortEdits(edits []edit) {
	slices.SortStableFunc(edits, func(a, b edit) int {
		if a.off != b.off {
			return a.off - b.off
		}
		return (a.end - a.off) - (b.end - b.off)
	})
}

// applyEdits applies sorted edits to src; an edit overlapping an earlier one
// is skipped.
func applyEdits(src []byte, edits []edit) []byte {
	n := len(src)
	for _, e := range edits {
		n += len(e.text) - (e.end - e.off)
	}
	out := make([]byte, 0, max(n, 0))
	pos := 0
	for _, e := range edits {
		if e.off < pos || e.end > len(src) || e.end < e.off {
			continue
		}
		out = append(out, src[pos:e.off]...)
		out = append(out, e.text...)
		pos = e.end
	}
	return append(out, src[pos:]...)
}
