package analysis

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// Packed is a File's stored form, in three parts read at different times:
// Facts by the write path (to resolve a package without parsing), Display
// (outline and sections) and Tokens by the pages that show the file. The
// scalar fields of File are stored beside them as they are.
type Packed struct {
	Facts   []byte
	Display []byte
	Tokens  []byte
}

type display struct {
	Outline  *upg.Outline `json:"outline,omitempty"`
	Sections []Section    `json:"sections,omitempty"`
}

// Pack compresses the parts of f for storage.
func Pack(f *File) (Packed, error) {
	var p Packed
	facts := f.Facts
	if facts == nil {
		facts = &resolve.Facts{}
	}
	raw, err := encodeFacts(facts)
	if err != nil {
		return p, err
	}
	if p.Facts, err = deflate(raw); err != nil {
		return p, err
	}
	if f.Outline != nil || len(f.Sections) > 0 {
		d := display{Outline: f.Outline, Sections: f.Sections}
		if f.Outline != nil {
			// The catalogue's meaning of each section is filled in again
			// when the outline is read: no need to store it per content.
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
		if p.Display, err = deflate(raw); err != nil {
			return p, err
		}
	}
	if len(f.Tokens) > 0 {
		if p.Tokens, err = deflate(f.Tokens); err != nil {
			return p, err
		}
	}
	return p, nil
}

// UnpackFacts reads the Facts part.
func UnpackFacts(b []byte) (*resolve.Facts, error) {
	raw, err := inflate(b)
	if err != nil {
		return nil, err
	}
	return decodeFacts(raw)
}

// UnpackDisplay fills f's outline and sections from the Display part.
func UnpackDisplay(f *File, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	raw, err := inflate(b)
	if err != nil {
		return err
	}
	var d display
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decoding a stored outline: %w", err)
	}
	f.Outline, f.Sections = d.Outline, d.Sections
	if f.Outline != nil {
		for i := range f.Outline.Sections {
			f.Outline.Sections[i].Meaning = upg.SectionMeaning(f.Outline.Sections[i].Name)
		}
	}
	return nil
}

// UnpackTokens reads the Tokens part (packed; see Tokens).
func UnpackTokens(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return inflate(b)
}

// PackJSON stores v as compressed JSON (the package-level results).
func PackJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return deflate(raw)
}

// UnpackJSON reads what PackJSON wrote into v.
func UnpackJSON(b []byte, v any) error {
	raw, err := inflate(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// writers reuses flate writers: each holds about a megabyte of state, and
// allocating it per call cost more than the compression itself.
var writers = sync.Pool{New: func() any {
	zw, _ := flate.NewWriter(nil, flate.BestSpeed) // error only for a bad level
	return zw
}}

func deflate(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := writers.Get().(*flate.Writer)
	defer writers.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(b []byte) ([]byte, error) {
	zr := flate.NewReader(bytes.NewReader(b))
	defer zr.Close()
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorruptFacts, err)
	}
	return raw, nil
}
