package analysis

// The stored formats written before the columnar ones (facts format 2 in
// a flate stream, display JSON and tokens in flate streams), kept here to
// prove that rows stored by earlier versions still read, and to compare
// sizes and speeds.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/veripost/veripost/internal/upg/resolve"
)

type factWriter struct {
	buf     []byte
	strings map[string]uint64
	table   []string
}

func (w *factWriter) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *factWriter) int(v int)     { w.buf = binary.AppendVarint(w.buf, int64(v)) }
func (w *factWriter) bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *factWriter) str(s string) {
	i, ok := w.strings[s]
	if !ok {
		i = uint64(len(w.table))
		w.strings[s] = i
		w.table = append(w.table, s)
	}
	w.uint(i)
}

func (w *factWriter) optStr(s *string) {
	w.bool(s != nil)
	if s != nil {
		w.str(*s)
	}
}

func (w *factWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// encodeFactsV2 is the row layout stored before format 3 (facts format 2).
func encodeFactsV2(f *resolve.Facts) ([]byte, error) {
	w := &factWriter{strings: map[string]uint64{}}
	w.str(string(f.Kind))
	w.int(f.Size)
	w.bool(f.Binary)
	w.bool(f.Source)
	w.int(f.Lines)
	w.str(f.ControlFamily)
	w.str(f.System)
	w.optStr(f.MachineName)
	w.optStr(f.ControllerType)
	w.uint(uint64(len(f.Includes)))
	for _, in := range f.Includes {
		w.str(in.Path)
		w.bool(in.Library)
		w.int(in.Line)
		w.int(in.Col)
		w.int(in.Offset)
		w.int(in.End)
	}
	w.uint(uint64(len(f.Definitions)))
	for _, d := range f.Definitions {
		w.str(d.Name)
		w.str(d.Canonical)
		w.str(d.Kind)
		w.str(d.File)
		w.int(d.Line)
		w.int(d.Col)
		w.int(d.Offset)
		w.int(d.EndLine)
		w.bool(d.Params != nil)
		w.strs(d.Params)
		w.str(d.Type)
		w.bool(d.Overridden)
	}
	w.uint(uint64(len(f.References)))
	for _, r := range f.References {
		w.str(r.Name)
		w.str(r.Target)
		w.str(r.Context)
		w.int(r.Offset)
		w.int(r.Line)
		w.int(r.Col)
		w.str(r.Section)
		w.bool(r.Param)
		w.bool(r.Guarded)
		w.int(r.Args)
		w.str(r.Attribute)
		w.uint(uint64(len(r.Guards)))
		for _, g := range r.Guards {
			w.str(g.Section)
			w.bool(g.Exists)
		}
	}
	w.uint(uint64(len(f.Diagnostics)))
	for _, d := range f.Diagnostics {
		w.str(d.Code)
		w.uint(uint64(d.Severity))
		w.str(d.File)
		w.int(d.Line)
		w.int(d.Col)
		w.int(d.Offset)
		w.int(d.End)
		w.str(d.Message)
	}
	side := []byte{}
	if f.Side != nil {
		var err error
		if side, err = json.Marshal(f.Side); err != nil {
			return nil, err
		}
	}
	// Layout: format, string table, side-file JSON, records.
	out := binary.AppendUvarint(nil, 2)
	out = binary.AppendUvarint(out, uint64(len(w.table)))
	for _, s := range w.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(len(side)))
	out = append(out, side...)
	return append(out, w.buf...), nil
}

func deflateV1(raw []byte) []byte {
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// packV1 is Pack as it was before the columnar formats.
func packV1(f *File) (Packed, error) {
	var p Packed
	facts := f.Facts
	if facts == nil {
		facts = &resolve.Facts{}
	}
	raw, err := encodeFactsV2(facts)
	if err != nil {
		return p, err
	}
	p.Facts = deflateV1(raw)
	if f.Outline != nil || len(f.Sections) > 0 {
		d := legacyDisplay{Outline: f.Outline, Sections: f.Sections}
		if f.Outline != nil {
			ol := *f.Outline
			ol.Sections = slices.Clone(ol.Sections)
			for i := range ol.Sections {
				ol.Sections[i].Meaning = ""
			}
			d.Outline = &ol
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return p, fmt.Errorf("encoding the outline of %s: %w", f.SHA256, err)
		}
		p.Display = deflateV1(raw)
	}
	if len(f.Tokens) > 0 {
		p.Tokens = deflateV1(f.Tokens)
	}
	return p, nil
}

func packJSONV1(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return deflateV1(raw), nil
}
