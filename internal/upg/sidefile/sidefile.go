// Package sidefile reads the files that travel with a UPG post next to its
// source: .CNF configuration, .KIN kinematics, .PINF post info, the
// generated .LNG language file, and recognises compiled .CTL posts. Like
// package upg it is pure: it takes bytes and returns structures and
// diagnostics, and never panics.
package sidefile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

// line is one line of a side file: its text without the terminator and
// the offset where it starts.
type line struct {
	text string
	off  int
}

// lines splits src into lines as every VeriPost reader does ("\r\n", "\n"
// or a lone "\r" ends a line).
func lines(src []byte) []line {
	var out []line
	r := textfile.NewLineReader(src)
	for {
		s, e, _, ok := r.Next()
		if !ok {
			return out
		}
		out = append(out, line{string(src[s:e]), s})
	}
}

func diag(file string, sev upg.Severity, code string, line, col, off int, format string, args ...any) upg.Diagnostic {
	return upg.Diagnostic{Code: code, Severity: sev, File: file, Line: line, Col: col, Offset: off, End: off, Message: fmt.Sprintf(format, args...)}
}

// ---------------------------------------------------------------- .PINF

// KeyValue is one "Key = Value" line.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Line  int    `json:"line"`
}

// PINF is a post info file: banner lines of '/' and "Key = Value" lines.
type PINF struct {
	File          string           `json:"file"`
	Entries       []KeyValue       `json:"entries"`
	PostName      string           `json:"post_name,omitempty"`
	PostExtension string           `json:"post_extension,omitempty"`
	Diagnostics   []upg.Diagnostic `json:"diagnostics"`
}

// ParsePINF parses a .PINF file.
func ParsePINF(name string, src []byte) *PINF {
	p := &PINF{File: name, Entries: []KeyValue{}, Diagnostics: []upg.Diagnostic{}}
	for i, l := range lines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || strings.HasPrefix(t, "/") {
			continue // blank or banner ("/////  Post Info File  /////")
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) == "" {
			p.Diagnostics = append(p.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, i+1, 1, l.off,
				"line %q is not a Key = Value line or a '/' banner", t))
			continue
		}
		kv := KeyValue{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: i + 1}
		p.Entries = append(p.Entries, kv)
		switch strings.ToLower(kv.Key) {
		case "postname":
			p.PostName = kv.Value
		case "postextension":
			p.PostExtension = kv.Value
		}
	}
	return p
}

// ---------------------------------------------------------------- .CNF

// CNFHeader is a header override ":NAME=VALUE" in a .CNF.
type CNFHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Line  int    `json:"line"`
	Known bool   `json:"known"`
}

// ConfigSelect is a :CONFIG_SELECT_NAME= … :CONFIG_SELECT_END pick list.
type ConfigSelect struct {
	Name       string   `json:"name"` // the (lower-case) SELECT attribute it fills
	Options    []string `json:"options"`
	Default    int      `json:"default,omitempty"` // 1-based, 0 when not given
	Line       int      `json:"line"`
	EndLine    int      `json:"end_line"`
	Terminated bool     `json:"terminated"`
}

// CNF is a post configuration file.
type CNF struct {
	File        string           `json:"file"`
	Headers     []CNFHeader      `json:"headers"`
	Selects     []ConfigSelect   `json:"selects"`
	Diagnostics []upg.Diagnostic `json:"diagnostics"`
}

// ParseCNF parses a .CNF file. It uses the UPG line syntax (':' commands,
// '*' comments, also indented), so the parse goes through upg.Parse.
func ParseCNF(name string, src []byte) *CNF {
	c := &CNF{File: name, Headers: []CNFHeader{}, Selects: []ConfigSelect{}, Diagnostics: []upg.Diagnostic{}}
	f := upg.Parse(name, src)
	c.Diagnostics = append(c.Diagnostics, f.Diagnostics...)
	var cur *ConfigSelect
	closeCur := func(line int, ok bool) {
		if cur == nil {
			return
		}
		cur.EndLine = line
		cur.Terminated = ok
		if cur.Default > len(cur.Options) {
			c.Diagnostics = append(c.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, cur.Line, 1, 0,
				"pick list %q has default %d but only %d options", cur.Name, cur.Default, len(cur.Options)))
		}
		c.Selects = append(c.Selects, *cur)
		cur = nil
	}
	for _, h := range f.Headers {
		switch h.Key() {
		case "CONFIG_SELECT_NAME":
			if cur != nil {
				c.Diagnostics = append(c.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, cur.Line, 1, int(h.Colon),
					"pick list %q has no :CONFIG_SELECT_END before the next :CONFIG_SELECT_NAME", cur.Name))
				closeCur(int(h.Line)-1, false)
			}
			cur = &ConfigSelect{Name: h.Value(), Line: int(h.Line), Options: []string{}}
		case "CONFIG_SELECT_OPTION", "CONFIG_SELECT_DEFAULT", "CONFIG_SELECT_END":
			if cur == nil {
				c.Diagnostics = append(c.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, int(h.Line), 1, int(h.Colon),
					":%s outside a :CONFIG_SELECT_NAME= pick list", h.Name()))
				continue
			}
			switch h.Key() {
			case "CONFIG_SELECT_OPTION":
				cur.Options = append(cur.Options, h.Value())
			case "CONFIG_SELECT_DEFAULT":
				n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
				if err != nil || n < 1 {
					c.Diagnostics = append(c.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, int(h.Line), 1, int(h.Colon),
						":CONFIG_SELECT_DEFAULT=%s is not a choice number (1, 2, …)", h.Value()))
				}
				cur.Default = n
			case "CONFIG_SELECT_END":
				closeCur(int(h.Line), true)
			}
		default:
			c.Headers = append(c.Headers, CNFHeader{Name: h.Name(), Value: h.Value(), Line: int(h.Line), Known: h.Known})
		}
	}
	if cur != nil {
		c.Diagnostics = append(c.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, cur.Line, 1, 0,
			"pick list %q is not closed by :CONFIG_SELECT_END", cur.Name))
		closeCur(len(f.Lines), false)
	}
	upg.SortDiagnostics(c.Diagnostics)
	return c
}

// ---------------------------------------------------------------- .KIN

// KINEntry is one "value * description" line of a .KIN file.
type KINEntry struct {
	Value       string   `json:"value"`
	Number      *float64 `json:"number,omitempty"` // set when Value is numeric
	Description string   `json:"description,omitempty"`
	Field       string   `json:"field"` // meaning of the position (see KINFields)
	Line        int      `json:"line"`
}

// KINFields names the fixed line positions of a .KIN file.
var KINFields = []string{
	"five_axis_type", "coordinate_type",
	"spindle_x", "spindle_y", "spindle_z",
	"axis1_x", "axis1_y", "axis1_z",
	"axis2_x", "axis2_y", "axis2_z",
	"base_point_x", "base_point_y", "base_point_z",
	"axis1_min", "axis1_max", "axis2_min", "axis2_max",
	"simulation",
	"axis4_base_point_x", "axis4_base_point_y", "axis4_base_point_z",
}

// KIN is a machine kinematics file.
type KIN struct {
	File         string      `json:"file"`
	Entries      []KINEntry  `json:"entries"`
	FiveAxisType *int        `json:"five_axis_type,omitempty"`
	CoordType    *int        `json:"coordinate_type,omitempty"`
	Spindle      *[3]float64 `json:"spindle,omitempty"`
	Axis1        *[3]float64 `json:"axis1,omitempty"`
	Axis2        *[3]float64 `json:"axis2,omitempty"`
	BasePoint    *[3]float64 `json:"base_point_mm,omitempty"`
	Axis1Limits  *[2]float64 `json:"axis1_limits,omitempty"`
	Axis2Limits  *[2]float64 `json:"axis2_limits,omitempty"`
	Simulation   string      `json:"simulation,omitempty"`
	// Axis4BasePoint is the 4th-axis base point added in 2020 SP3.
	Axis4BasePoint *[3]float64      `json:"axis4_base_point_mm,omitempty"`
	Diagnostics    []upg.Diagnostic `json:"diagnostics"`
}

// ParseKIN parses a .KIN file.
func ParseKIN(name string, src []byte) *KIN {
	k := &KIN{File: name, Entries: []KINEntry{}, Diagnostics: []upg.Diagnostic{}}
	for i, l := range lines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" {
			continue
		}
		val, desc, _ := strings.Cut(t, "*")
		val = strings.TrimSpace(val)
		desc = strings.TrimSpace(desc)
		if val == "" {
			continue // a comment line
		}
		e := KINEntry{Value: val, Description: desc, Line: i + 1}
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			e.Number = &f
		}
		idx := len(k.Entries)
		if idx < len(KINFields) {
			e.Field = KINFields[idx]
		} else {
			e.Field = "extra"
			k.Diagnostics = append(k.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, i+1, 1, l.off,
				"unexpected line %d in the kinematics file: a .KIN has at most %d value lines", idx+1, len(KINFields)))
		}
		if e.Number == nil && e.Field != "simulation" && e.Field != "extra" {
			k.Diagnostics = append(k.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, i+1, 1, l.off,
				"%s should be a number, found %q", e.Field, val))
		}
		k.Entries = append(k.Entries, e)
	}
	num := func(i int) (float64, bool) {
		if i < len(k.Entries) && k.Entries[i].Number != nil {
			return *k.Entries[i].Number, true
		}
		return 0, false
	}
	vec3 := func(i int) *[3]float64 {
		a, ok1 := num(i)
		b, ok2 := num(i + 1)
		c, ok3 := num(i + 2)
		if ok1 && ok2 && ok3 {
			return &[3]float64{a, b, c}
		}
		return nil
	}
	vec2 := func(i int) *[2]float64 {
		a, ok1 := num(i)
		b, ok2 := num(i + 1)
		if ok1 && ok2 {
			return &[2]float64{a, b}
		}
		return nil
	}
	if v, ok := num(0); ok {
		n := int(v)
		k.FiveAxisType = &n
	}
	if v, ok := num(1); ok {
		n := int(v)
		k.CoordType = &n
	}
	k.Spindle, k.Axis1, k.Axis2, k.BasePoint = vec3(2), vec3(5), vec3(8), vec3(11)
	k.Axis1Limits, k.Axis2Limits = vec2(14), vec2(16)
	if len(k.Entries) > 18 {
		k.Simulation = k.Entries[18].Value
	}
	k.Axis4BasePoint = vec3(19)
	if len(k.Entries) > 0 && len(k.Entries) < 19 {
		k.Diagnostics = append(k.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, 1, 1, 0,
			"the kinematics file has %d value lines; a complete .KIN has 19 (22 from 2020 SP3)", len(k.Entries)))
	}
	return k
}

// ---------------------------------------------------------------- .LNG

// LNGEntry is one language-file line: a text and its sequence number.
type LNGEntry struct {
	Number int    `json:"number"`
	Text   string `json:"text"`
	Line   int    `json:"line"`
}

// LNG is a generated language file. Binary is set when the content is not
// text; then nothing else is read.
type LNG struct {
	File        string           `json:"file"`
	Binary      bool             `json:"binary"`
	Entries     []LNGEntry       `json:"entries"`
	Diagnostics []upg.Diagnostic `json:"diagnostics"`
}

// ParseLNG reads a .LNG file: each line is a text padded with blanks,
// followed by a sequence tag ":NNNN:".
func ParseLNG(name string, src []byte) *LNG {
	g := &LNG{File: name, Entries: []LNGEntry{}, Diagnostics: []upg.Diagnostic{}}
	if textfile.IsBinary(src) {
		g.Binary = true
		g.Diagnostics = append(g.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, 1, 1, 0,
			"the language file holds binary content; a .LNG is text generated by the compiler"))
		return g
	}
	for i, l := range lines(src) {
		t := strings.TrimRight(l.text, " \t")
		if t == "" {
			continue
		}
		n := len(t)
		if n >= 3 && t[n-1] == ':' {
			if j := strings.LastIndexByte(t[:n-1], ':'); j >= 0 {
				if num, err := strconv.Atoi(t[j+1 : n-1]); err == nil {
					g.Entries = append(g.Entries, LNGEntry{Number: num, Text: strings.TrimRight(t[:j], " \t"), Line: i + 1})
					continue
				}
			}
		}
		g.Diagnostics = append(g.Diagnostics, diag(name, upg.SeverityWarning, upg.CodeSideFileMalformed, i+1, 1, l.off,
			"language file line without a :NNNN: sequence tag"))
	}
	return g
}

// ---------------------------------------------------------------- .CTL

// CTL describes a compiled post. Its content is never parsed.
type CTL struct {
	File   string `json:"file"`
	Size   int    `json:"size"`
	Binary bool   `json:"binary"`
	// Strings is the number of printable ASCII runs of 4+ bytes (attribute
	// names and texts embedded by the compiler); a rough size indicator.
	Strings int `json:"strings"`
}

// DetectCTL recognises a compiled .CTL post.
func DetectCTL(name string, src []byte) *CTL {
	c := &CTL{File: name, Size: len(src), Binary: textfile.IsBinary(src)}
	run := 0
	for _, b := range src {
		if b >= 0x20 && b < 0x7f {
			run++
			continue
		}
		if run >= 4 {
			c.Strings++
		}
		run = 0
	}
	if run >= 4 {
		c.Strings++
	}
	return c
}
