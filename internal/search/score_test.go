package search

import (
	"reflect"
	"sort"
	"testing"
)

func analysed(l Line) Analysed {
	return Analysed{Class: l.Class, Text: l.Text, Output: l.Output, Words: l.Words, Prose: l.Prose, Parts: l.Parts, Defs: l.Defs, Sets: l.Sets}
}

type scoredLine struct {
	n     int
	role  string
	score float64
}

// ranked scores every line of a fixture against a query, best first.
func ranked(t *testing.T, d Document, query string) []scoredLine {
	t.Helper()
	q, err := Parse(query, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []scoredLine
	for _, l := range d.Lines {
		a := analysed(l)
		if s, ok := scoreLine(q.Clauses, &a); ok {
			out = append(out, scoredLine{l.N, s.role, s.score})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

func TestRanking(t *testing.T) {
	d := buildFixture(t, "alpha/ALPHA.SRC")
	got := ranked(t, d, "SPINDLE_DIR")
	want := []scoredLine{{13, RoleDefinition, 3}, {33, RoleAssignment, 2}, {35, RoleAssignment, 2}, {30, RoleOutput, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SPINDLE_DIR ranks %+v\nwant %+v", got, want)
	}
	// A word finds the identifiers it is part of, ranked below exact
	// matches; comments come last.
	got = ranked(t, d, "spindle")
	want = []scoredLine{{13, RoleDefinition, 0.75}, {31, RoleDefinition, 0.75}, {33, RoleAssignment, 0.5}, {35, RoleAssignment, 0.5},
		{30, RoleOutput, 0.25}, {32, RoleUse, 0.25}, {27, RoleComment, 0.2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spindle ranks %+v\nwant %+v", got, want)
	}
	// An identifier never matches its words written apart.
	if got := ranked(t, d, "spindle_direction"); len(got) != 0 {
		t.Errorf("spindle_direction matched %+v", got)
	}
	// Labels and other values are prose: below uses, above comments.
	got = ranked(t, d, "VMC")
	if len(got) != 1 || got[0].n != 7 || got[0].role != RoleText || got[0].score != 0.5 {
		t.Errorf("VMC ranks %+v", got)
	}
	// Literals match what a :T: line outputs above its source text.
	got = ranked(t, d, "M06")
	if len(got) != 1 || got[0].n != 28 || got[0].role != RoleOutput {
		t.Errorf("M06 ranks %+v", got)
	}
	got = ranked(t, d, "%")
	if len(got) != 2 || got[0].role != RoleOutput {
		t.Errorf("%% ranks %+v", got)
	}
	// Prefixes.
	got = ranked(t, d, "COOL*")
	want = []scoredLine{{17, RoleDefinition, 2.4}, {37, RoleAssignment, 1.6}, {30, RoleOutput, 0.8}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("COOL* ranks %+v\nwant %+v", got, want)
	}
	// The line with both names leads (coordination: a line with one of
	// two terms keeps a quarter of its score).
	got = ranked(t, d, "SPINDLE_DIR COOLANT_TYPE")
	want = []scoredLine{{30, RoleOutput, 2}, {13, RoleDefinition, 0.75}, {17, RoleDefinition, 0.75}, {33, RoleAssignment, 0.5}, {35, RoleAssignment, 0.5}, {37, RoleAssignment, 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("two names rank %+v\nwant %+v", got, want)
	}
}

func TestHighlights(t *testing.T) {
	tests := []struct {
		q, text string
		want    []Highlight
	}{
		{"SPINDLE_DIR", ":C:  SPINDLE_DIR=3", []Highlight{{5, 16}}},
		{"SPINDLE_DIR", ":ATTRNAME=SPINDLE DIR", []Highlight{{10, 21}}},
		{"spindle", ":C:  SPINDLE_DIR=3 * spindle", []Highlight{{5, 12}, {21, 28}}},
		{"SPIN*", "spindle_dir SPINNER", []Highlight{{0, 4}, {12, 16}}},
		{"G43.4", ":T:G43.4 H<TOOL><EOL>", []Highlight{{3, 8}}},
		{`"tool change"`, "* before the Tool Change", []Highlight{{13, 24}}},
		{"dir -spindle", "SPINDLE_DIR", []Highlight{{8, 11}}},
		{"nothing", "SPINDLE_DIR", nil},
	}
	for _, tt := range tests {
		q, err := Parse(tt.q, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := highlights(q.Clauses, tt.text); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("highlights(%q, %q) = %v, want %v", tt.q, tt.text, got, tt.want)
		}
	}
}
