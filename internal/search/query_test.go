package search

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
)

func TestParse(t *testing.T) {
	tests := []struct {
		q       string
		clauses []Clause
		filter  Filter
		mode    Mode
		eff     Mode
	}{
		{q: "SPINDLE_DIR", clauses: []Clause{{Kind: ClauseIdent, Text: "spindle_dir"}}, eff: ModeLexical},
		{q: "spindle", clauses: []Clause{{Kind: ClauseWord, Text: "spindle"}}, eff: ModeLexical},
		{q: "SPIN*", clauses: []Clause{{Kind: ClausePrefix, Text: "spin"}}, eff: ModeLexical},
		{q: "G43.4", clauses: []Clause{{Kind: ClauseLiteral, Text: "G43.4"}}, eff: ModeLexical},
		{q: "%", clauses: []Clause{{Kind: ClauseLiteral, Text: "%"}}, eff: ModeLexical},
		{q: "M06", clauses: []Clause{{Kind: ClauseWord, Text: "m06"}}, eff: ModeLexical},
		{q: `"TOOL CHANGE"`, clauses: []Clause{{Kind: ClauseLiteral, Text: "TOOL CHANGE", Quoted: true}}, eff: ModeLexical},
		{q: `"say \"hi\""`, clauses: []Clause{{Kind: ClauseLiteral, Text: `say "hi"`, Quoted: true}}, eff: ModeLexical},
		{q: "coolant -mist", clauses: []Clause{{Kind: ClauseWord, Text: "coolant"}, {Kind: ClauseWord, Text: "mist", Negate: true}}, eff: ModeLexical},
		{q: "  tool\tchange  ", clauses: []Clause{{Kind: ClauseWord, Text: "tool"}, {Kind: ClauseWord, Text: "change"}}, eff: ModeLexical},
		{
			q:       `COOLANT_TYPE section:calc kind:LIB machine:"Alpha VMC" versions:all package:alpha file:.SRC controller:fanuc platform:camworks`,
			clauses: []Clause{{Kind: ClauseIdent, Text: "coolant_type"}},
			filter: Filter{Section: "calc", FileKind: "lib", Machine: "Alpha VMC", AllVersions: true, Package: "alpha",
				File: ".SRC", Controller: "fanuc", Platform: "camworks"},
			eff: ModeLexical,
		},
		{q: "which posts handle a 4th axis", clauses: []Clause{{Kind: ClauseWord, Text: "which"}, {Kind: ClauseWord, Text: "posts"},
			{Kind: ClauseWord, Text: "handle"}, {Kind: ClauseWord, Text: "a"}, {Kind: ClauseWord, Text: "4th"}, {Kind: ClauseWord, Text: "axis"}}, eff: ModeHybrid},
		{q: "spindle mode:vector", clauses: []Clause{{Kind: ClauseWord, Text: "spindle"}}, mode: ModeVector, eff: ModeVector},
		{q: "a b c SPINDLE_DIR", clauses: []Clause{{Kind: ClauseWord, Text: "a"}, {Kind: ClauseWord, Text: "b"}, {Kind: ClauseWord, Text: "c"},
			{Kind: ClauseIdent, Text: "spindle_dir"}}, eff: ModeLexical},
		{q: "unknown:qualifier", clauses: []Clause{{Kind: ClauseLiteral, Text: "unknown:qualifier"}}, eff: ModeLexical},
		{q: "-", clauses: []Clause{{Kind: ClauseLiteral, Text: "-"}}, eff: ModeLexical},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, err := Parse(tt.q, Filter{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(q.Clauses, tt.clauses) {
				t.Errorf("clauses = %+v, want %+v", q.Clauses, tt.clauses)
			}
			if q.Filter != tt.filter {
				t.Errorf("filter = %+v, want %+v", q.Filter, tt.filter)
			}
			if q.Mode != tt.mode || q.EffectiveMode() != tt.eff {
				t.Errorf("mode = %q (effective %q), want %q (%q)", q.Mode, q.EffectiveMode(), tt.mode, tt.eff)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ q, want string }{
		{"", "Type something"},
		{"   ", "Type something"},
		{"-spindle", "not only what to leave out"},
		{"S*", "at least 2 characters"},
		{"mode:fast spindle", "mode: takes"},
		{"versions:some x", "versions: takes"},
		{strings.Repeat("a ", 300), "too long"},
		{strings.Repeat("a ", 17), "too many terms"},
		{"bad\xffutf8", "not valid text"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.q, Filter{})
		var e *apperror.Error
		if !errors.As(err, &e) || e.Code != apperror.CodeBadQuery || e.Status != 400 {
			t.Errorf("Parse(%q) = %v; want a 400 BAD_QUERY", tt.q, err)
			continue
		}
		if !strings.Contains(e.Message, tt.want) {
			t.Errorf("Parse(%q) message %q; want it to say %q", tt.q, e.Message, tt.want)
		}
	}
}

func TestKeywords(t *testing.T) {
	q, err := Parse("which posts handle a 4th axis", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Keywords(); !reflect.DeepEqual(got, []string{"4th", "axis"}) {
		t.Errorf("Keywords = %v", got)
	}
	q, _ = Parse("which posts", Filter{})
	if got := q.Keywords(); !reflect.DeepEqual(got, []string{"which", "posts"}) {
		t.Errorf("all stop words: Keywords = %v; want them all rather than none", got)
	}
}

func TestSectionID(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	id := SectionID(sha, 7)
	got, ord, ok := ParseSectionID(id)
	if !ok || got != sha || ord != 7 {
		t.Errorf("ParseSectionID(%q) = %q, %d, %v", id, got, ord, ok)
	}
	for _, bad := range []string{"", "x-1", sha, sha + "-", sha + "--1", sha + "-x", strings.Repeat("zz", 32) + "-1"} {
		if _, _, ok := ParseSectionID(bad); ok {
			t.Errorf("ParseSectionID(%q) accepted", bad)
		}
	}
}
