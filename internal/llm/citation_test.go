package llm

import (
	"slices"
	"strings"
	"testing"
)

type marker struct {
	file       string
	start, end int
	offset     int
}

// scan feeds deltas through a markerScanner and returns the text and the
// markers with the offset where each stood.
func scan(deltas []string) (string, []marker) {
	var m markerScanner
	var text strings.Builder
	var cites []marker
	emit := func(s segment) {
		text.WriteString(s.text)
		for _, c := range s.cites {
			cites = append(cites, marker{c.File, c.StartLine, c.EndLine, text.Len()})
		}
	}
	for _, d := range deltas {
		m.feed(d, emit)
	}
	m.flush(emit)
	return text.String(), cites
}

func TestMarkerScanner(t *testing.T) {
	cases := []struct {
		in    string
		text  string
		cites []marker
	}{
		{"Sets H [L12].", "Sets H.", []marker{{"", 12, 12, 6}}},
		{"A [MILL.LIB:L3-L5, L7] b", "A b", []marker{{"MILL.LIB", 3, 5, 1}, {"", 7, 7, 1}}},
		{"A [MILL.LIB: L3 - L5; POST.SRC L9]", "A", []marker{{"MILL.LIB", 3, 5, 1}, {"POST.SRC", 9, 9, 1}}},
		{"dash [L12\u2013L14]", "dash", []marker{{"", 12, 14, 4}}},
		{"short form [L12-14]", "short form", []marker{{"", 12, 14, 10}}},
		{"array[3] stays", "array[3] stays", nil},
		{"a [note] b", "a [note] b", nil},
		{"open [L12 never closes", "open [L12 never closes", nil},
		{"a [b\nc] [L2]", "a [b\nc]", []marker{{"", 2, 2, 7}}},
		{"x [[L2]]", "x []", []marker{{"", 2, 2, 3}}},
		{"[" + strings.Repeat("y", maxMarker+10) + "] [L1]", "[" + strings.Repeat("y", maxMarker+10) + "]", []marker{{"", 1, 1, maxMarker + 12}}},
		{"ends with spaces  ", "ends with spaces  ", nil},
		{"two [L1] [L2] in a row", "two in a row", []marker{{"", 1, 1, 3}, {"", 2, 2, 3}}},
		{"", "", nil},
	}
	for _, c := range cases {
		// Whole, split at every byte, and one byte at a time: the result
		// must not depend on how the provider cut its deltas.
		splits := [][]string{{c.in}}
		for i := 1; i < len(c.in); i++ {
			splits = append(splits, []string{c.in[:i], c.in[i:]})
		}
		var bytes []string
		for i := range len(c.in) {
			bytes = append(bytes, c.in[i:i+1])
		}
		splits = append(splits, bytes)
		for _, deltas := range splits {
			text, cites := scan(deltas)
			if text != c.text || !slices.Equal(cites, c.cites) {
				t.Fatalf("%q as %q:\n got %q %v\nwant %q %v", c.in, deltas, text, cites, c.text, c.cites)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	sources := []Source{
		{ID: "a", File: "MILL.LIB", FirstLine: 10, Lines: []string{"@TOOL_CHANGE", "  :T:<N><M:06>", "", "  :C:X = 1"}},
		{ID: "b", File: "POST.SRC", FirstLine: 1, Lines: []string{"@START"}},
		{ID: "c", File: "MILL.LIB", FirstLine: 100, Lines: []string{"@END_OF_TAPE", ":T:<N><M:30>"}},
	}
	cases := []struct {
		name string
		c    Citation
		ok   bool
		src  int
	}{
		{"document citation quoting the sent blocks", Citation{Source: 0, StartLine: 10, EndLine: 11, Quote: "L10: @TOOL_CHANGE\nL11:   :T:<N><M:06>\n"}, true, 0},
		{"quote of the bare lines, white space differing", Citation{Source: 0, StartLine: 11, EndLine: 13, Quote: ":T:<N><M:06>\n\n :C:X = 1"}, true, 0},
		{"quote of part of the range", Citation{Source: 0, StartLine: 10, EndLine: 13, Quote: "<M:06>"}, true, 0},
		{"quote not on the lines", Citation{Source: 0, StartLine: 10, EndLine: 10, Quote: "<M:06>"}, false, 0},
		{"white space only quote counts as a quote of nothing", Citation{Source: 0, StartLine: 12, EndLine: 12, Quote: "  \n"}, false, 0},
		{"past the last line", Citation{Source: 0, StartLine: 12, EndLine: 14, Quote: "X"}, false, 0},
		{"before the first line", Citation{Source: 0, StartLine: 9, EndLine: 10}, false, 0},
		{"unknown source index", Citation{Source: 3, StartLine: 1, EndLine: 1}, false, 0},
		{"end before start", Citation{Source: 1, StartLine: 1, EndLine: 0}, false, 0},
		{"line zero", Citation{Source: 1, StartLine: 0, EndLine: 1}, false, 0},
		{"index and file disagree", Citation{Source: 1, File: "MILL.LIB", StartLine: 1, EndLine: 1}, false, 0},
		{"marker naming the file, case ignored", Citation{Source: -1, File: "mill.lib", StartLine: 101, EndLine: 101}, true, 2},
		{"marker found in the first slice of the file", Citation{Source: -1, File: "MILL.LIB", StartLine: 13, EndLine: 13}, true, 0},
		{"marker between the two slices", Citation{Source: -1, File: "MILL.LIB", StartLine: 50, EndLine: 50}, false, 0},
		{"marker spanning both slices", Citation{Source: -1, File: "MILL.LIB", StartLine: 12, EndLine: 100}, false, 0},
		{"marker of an unknown file", Citation{Source: -1, File: "OTHER.LIB", StartLine: 1, EndLine: 1}, false, 0},
		{"marker without a file among several files", Citation{Source: -1, StartLine: 1, EndLine: 1}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Verify(sources, c.c)
			if ok != c.ok {
				t.Fatalf("Verify = %v, want %v", ok, c.ok)
			}
			if ok && (got.Source != c.src || got.SourceID != sources[c.src].ID || got.File != sources[c.src].File ||
				got.StartLine != c.c.StartLine || got.EndLine != c.c.EndLine) {
				t.Fatalf("verified citation %+v", got)
			}
		})
	}
	// With one file, a marker may leave the file out.
	one := []Source{sources[0], sources[2]}
	if got, ok := Verify(one, Citation{Source: -1, StartLine: 100, EndLine: 101}); !ok || got.Source != 1 {
		t.Fatalf("file-less marker with one file: %+v %v", got, ok)
	}
}
