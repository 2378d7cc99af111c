package diff

import (
	"bytes"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

// text is a file's content split into decoded lines.
type text struct {
	lines   []string       // decoded to UTF-8, without line breaks
	cr      []bool         // the line ended in CRLF
	raw     map[int][]byte // original bytes of lines Text cannot reproduce
	finalNL bool           // the last line ends with a line break
	comment []bool         // comment or blank line (for IgnoreComments)
}

// undefined1252 are the Windows-1252 bytes that have no character: they
// decode to U+FFFD, so the line's bytes must travel with it.
func hasUndefined1252(b []byte) bool {
	for _, c := range b {
		switch c {
		case 0x81, 0x8D, 0x8F, 0x90, 0x9D:
			return true
		}
	}
	return false
}

// splitText decodes data (in encoding, as textfile.Inspect named it) into
// lines. parsed, when not nil, is the UPG parse of the same bytes and says
// which lines are comments.
func splitText(data []byte, encoding string, parsed *upg.File) *text {
	t := &text{}
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	t.lines = make([]string, 0, n)
	t.cr = make([]bool, 0, n)
	rest := data
	for len(rest) > 0 {
		var line []byte
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
			if len(rest) == 0 {
				t.finalNL = true
			}
		}
		cr := i >= 0 && len(line) > 0 && line[len(line)-1] == '\r'
		if cr {
			line = line[:len(line)-1]
		}
		if encoding == textfile.Windows1252 && hasUndefined1252(line) {
			if t.raw == nil {
				t.raw = map[int][]byte{}
			}
			t.raw[len(t.lines)] = append([]byte(nil), line...)
		}
		t.lines = append(t.lines, textfile.Decode(line, encoding))
		t.cr = append(t.cr, cr)
	}
	t.comment = make([]bool, len(t.lines))
	if parsed != nil && len(parsed.Lines) >= len(t.lines) {
		for i := range t.lines {
			k := parsed.Lines[i].Kind
			t.comment[i] = k == upg.LineComment || k == upg.LineBlank
		}
	} else {
		for i, l := range t.lines {
			s := strings.TrimSpace(l)
			t.comment[i] = s == "" || s[0] == '*'
		}
	}
	return t
}

// keyer turns a line into the string that is compared, under the options.
type keyer struct {
	opt     Options
	perLine bool // line breaks are part of the comparison
}

func (k keyer) key(t *text, i int) string {
	s := t.lines[i]
	if k.opt.IgnoreWhitespace {
		s = stripBlanks(s)
	}
	if k.opt.IgnoreCase {
		s = strings.ToUpper(s)
	}
	// NUL never occurs in text (it makes a file binary), so it keeps the
	// line break and the raw bytes apart from the text itself.
	if k.perLine && !k.opt.IgnoreWhitespace && t.cr[i] {
		s += "\x00CR"
	}
	if raw, ok := t.raw[i]; ok {
		s += "\x00RAW" + string(raw)
	}
	return s
}

func stripBlanks(s string) string {
	if strings.IndexAny(s, " \t\r\v\f") < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '\t', '\r', '\v', '\f':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// group is one region of change: A[a0:a1] was replaced by B[b0:b1]
// (0-based, half-open). Between groups the lines are equal.
type group struct {
	a0, a1, b0, b1 int
	ignorable      bool // only changes the options ignore
}

// lineDiff computes the change groups between two key sequences with the
// Myers diff of github.com/sergi/go-diff, one rune standing for one
// distinct line.
func lineDiff(ka, kb []string) []group {
	ids := make(map[string]rune, len(ka))
	next := rune(1)
	toRunes := func(keys []string) []rune {
		rs := make([]rune, len(keys))
		for i, k := range keys {
			r, ok := ids[k]
			if !ok {
				r = next
				ids[k] = r
				next++
				if next == 0xD800 { // skip the surrogates: not valid runes
					next = 0xE000
				}
			}
			rs[i] = r
		}
		return rs
	}
	ra, rb := toRunes(ka), toRunes(kb)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = lineDiffTimeout
	var out []group
	ai, bi := 0, 0
	var cur *group
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
			ai += n
			bi += n
		case diffmatchpatch.DiffDelete:
			if cur == nil {
				cur = &group{a0: ai, a1: ai, b0: bi, b1: bi}
			}
			ai += n
			cur.a1 = ai
		case diffmatchpatch.DiffInsert:
			if cur == nil {
				cur = &group{a0: ai, a1: ai, b0: bi, b1: bi}
			}
			bi += n
			cur.b1 = bi
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// maxLineIDs bounds the distinct lines of one comparison (each needs a
// rune below U+110000).
const maxLineIDs = 0x10FFFF - 0x800

// textDiff fills fd's hunks and counts from the two texts.
func (c *comparer) textDiff(fd *FileDiff, ta, tb *text, sectionAt func(line int) string) {
	k := keyer{opt: c.opt, perLine: fd.PerLineEOL}
	ka := make([]string, len(ta.lines))
	for i := range ka {
		ka[i] = k.key(ta, i)
	}
	kb := make([]string, len(tb.lines))
	for i := range kb {
		kb[i] = k.key(tb, i)
	}
	if len(ka)+len(kb) > maxLineIDs {
		fd.TooLarge = true
		return
	}
	groups := lineDiff(ka, kb)
	for gi := range groups {
		g := &groups[gi]
		g.ignorable = c.ignorable(ta, tb, ka, kb, g)
		if !g.ignorable {
			fd.Removed += g.a1 - g.a0
			fd.Added += g.b1 - g.b0
		}
	}
	if c.opt.NoHunks {
		return
	}
	fd.Hunks = buildHunks(groups, ta, tb, c.opt.Context, fd.PerLineEOL)
	for i := range fd.Hunks {
		h := &fd.Hunks[i]
		if sectionAt != nil {
			h.Section = sectionAt(max(h.BStart, 1))
		}
	}
}

// ignorable reports whether a group only changes what the options ignore.
func (c *comparer) ignorable(ta, tb *text, ka, kb []string, g *group) bool {
	if !c.opt.IgnoreComments && !c.opt.IgnoreWhitespace {
		return false
	}
	ok := func(t *text, keys []string, i int) bool {
		if c.opt.IgnoreComments && t.comment[i] {
			return true
		}
		return c.opt.IgnoreWhitespace && keys[i] == ""
	}
	for i := g.a0; i < g.a1; i++ {
		if !ok(ta, ka, i) {
			return false
		}
	}
	for i := g.b0; i < g.b1; i++ {
		if !ok(tb, kb, i) {
			return false
		}
	}
	return true
}

// buildHunks turns change groups into hunks with ctx lines of context.
// Ignorable groups start no hunk; between two real changes they are shown,
// marked Ignored.
func buildHunks(groups []group, ta, tb *text, ctx int, perLine bool) []Hunk {
	var hunks []Hunk
	for i := 0; i < len(groups); {
		if groups[i].ignorable {
			i++
			continue
		}
		// groups[i..j] form one hunk: the next real group joins while the
		// unchanged gap is at most 2*ctx lines.
		j := i
		for k := i + 1; k < len(groups); k++ {
			if groups[k].a0-groups[j].a1 > 2*ctx {
				break
			}
			if !groups[k].ignorable {
				j = k
			}
		}
		first := groups[i]
		prevEnd := 0
		if i > 0 {
			prevEnd = groups[i-1].a1
		}
		start := max(first.a0-ctx, prevEnd)
		nextStart := len(ta.lines)
		if j+1 < len(groups) {
			nextStart = groups[j+1].a0
		}
		end := min(groups[j].a1+ctx, nextStart)
		h := Hunk{}
		add := func(op string, t *text, idx, a, b int, ignored bool) {
			l := Line{Op: op, Text: t.lines[idx], Ignored: ignored}
			if op != OpInsert {
				l.A = a + 1
			}
			if op != OpDelete {
				l.B = b + 1
			}
			if perLine {
				l.CR = t.cr[idx]
			}
			if raw, ok := t.raw[idx]; ok {
				l.Raw = raw
			}
			h.Lines = append(h.Lines, l)
		}
		off := first.b0 - first.a0 // in an unchanged run, B index = A index + off
		for a := start; a < first.a0; a++ {
			add(OpContext, ta, a, a, a+off, false)
		}
		for k := i; k <= j; k++ {
			g := groups[k]
			dels := len(h.Lines)
			for a := g.a0; a < g.a1; a++ {
				add(OpDelete, ta, a, a, 0, g.ignorable)
			}
			ins := len(h.Lines)
			for b := g.b0; b < g.b1; b++ {
				add(OpInsert, tb, b, 0, b, g.ignorable)
			}
			markPairs(h.Lines[dels:ins], h.Lines[ins:])
			off = g.b1 - g.a1
			stop := end
			if k < j {
				stop = groups[k+1].a0
			}
			for a := g.a1; a < stop; a++ {
				add(OpContext, ta, a, a, a+off, false)
			}
		}
		for _, l := range h.Lines {
			if l.Op != OpInsert {
				h.ALines++
			}
			if l.Op != OpDelete {
				h.BLines++
			}
		}
		h.AStart, h.BStart = start+1, start+1+(first.b0-first.a0)
		if h.ALines == 0 {
			h.AStart--
		}
		if h.BLines == 0 {
			h.BStart--
		}
		hunks = append(hunks, h)
		i = j + 1
	}
	return hunks
}

// maxMarkLine bounds the lines that get intra-line highlights.
const maxMarkLine = 2000

// markPairs highlights what changed inside lines replaced one for one:
// the i-th deleted line is paired with the i-th inserted one when enough
// of them is shared.
func markPairs(dels, ins []Line) {
	n := min(len(dels), len(ins))
	if n == 0 || n > 500 {
		return
	}
	dmp := diffmatchpatch.New()
	for i := 0; i < n; i++ {
		a, b := dels[i].Text, ins[i].Text
		if a == b || len(a) > maxMarkLine || len(b) > maxMarkLine {
			continue
		}
		ds := dmp.DiffCleanupSemantic(dmp.DiffMain(a, b, false))
		same := 0
		for _, d := range ds {
			if d.Type == diffmatchpatch.DiffEqual {
				same += len(d.Text)
			}
		}
		if 2*same < max(len(a), len(b)) {
			continue // mostly different: highlighting everything says nothing
		}
		var ma, mb [][2]int
		pa, pb := 0, 0
		for _, d := range ds {
			switch d.Type {
			case diffmatchpatch.DiffEqual:
				pa += len(d.Text)
				pb += len(d.Text)
			case diffmatchpatch.DiffDelete:
				ma = appendMark(ma, pa, pa+len(d.Text))
				pa += len(d.Text)
			case diffmatchpatch.DiffInsert:
				mb = appendMark(mb, pb, pb+len(d.Text))
				pb += len(d.Text)
			}
		}
		dels[i].Marks, ins[i].Marks = ma, mb
	}
}

func appendMark(m [][2]int, from, to int) [][2]int {
	if n := len(m); n > 0 && m[n-1][1] == from {
		m[n-1][1] = to
		return m
	}
	return append(m, [2]int{from, to})
}

// sectionFinder returns the name of the section holding a 1-based line of
// f ("" outside sections).
func sectionFinder(f *upg.File) func(int) string {
	if f == nil || len(f.Sections) == 0 {
		return nil
	}
	secs := f.Sections
	return func(line int) string {
		i := sort.Search(len(secs), func(i int) bool { return secs[i].EndLine >= line })
		if i < len(secs) && secs[i].StartLine <= line {
			return secs[i].Name
		}
		return ""
	}
}
