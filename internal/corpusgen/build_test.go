package corpusgen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/upg"
)

func TestFileEditsApply(t *testing.T) {
	src := ":SECTION=A\n:C: X=1\n:SECTION=B\n:T:G54<EOL>\n:SECTION=C\n:T:M30<EOL>"
	// offsets in src
	secA := block{name: "A", start: 0, end: 19, nameOff: 9, nameEnd: 10}
	secB := block{name: "B", start: 19, end: 42, nameOff: 28, nameEnd: 29}
	secC := block{name: "C", start: 42, end: len(src), nameOff: 51, nameEnd: 52}
	x := strings.Index(src, "X=")
	g54 := strings.Index(src, "54")
	for _, tc := range []struct {
		name string
		fe   fileEdits
		want string
	}{
		{"nothing", fileEdits{}, src},
		{"rename and insert", fileEdits{edits: []edit{{x, x + 1, "MY_X"}, {0, 0, "* head\n"}}},
			"* head\n:SECTION=A\n:C: MY_X=1\n:SECTION=B\n:T:G54<EOL>\n:SECTION=C\n:T:M30<EOL>"},
		{"drop removes the edits inside", fileEdits{edits: []edit{{x, x + 1, "MY_X"}, {g54, g54 + 2, "55"}}, drops: []span{{secB.start, secB.end}}},
			":SECTION=A\n:C: MY_X=1\n:SECTION=C\n:T:M30<EOL>"},
		{"copy carries the edits and the new name", fileEdits{edits: []edit{{x, x + 1, "MY_X"}}, dups: []dupBlock{{blk: secA, name: "A_OLD"}}},
			":SECTION=A\n:C: MY_X=1\n:SECTION=A_OLD\n:C: MY_X=1\n:SECTION=B\n:T:G54<EOL>\n:SECTION=C\n:T:M30<EOL>"},
		{"copy before a dropped neighbour", fileEdits{dups: []dupBlock{{blk: secA, name: "A2"}}, drops: []span{{secB.start, secB.end}}},
			":SECTION=A\n:C: X=1\n:SECTION=A2\n:C: X=1\n:SECTION=C\n:T:M30<EOL>"},
		{"copy of the last section, no terminator", fileEdits{dups: []dupBlock{{blk: secC, name: "C2"}}},
			src + "\n:SECTION=C2\n:T:M30<EOL>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.fe.apply([]byte(src))); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestApplyEditsSkipsOverlaps(t *testing.T) {
	got := string(applyEdits([]byte("abcdef"), []edit{{1, 3, "X"}, {2, 4, "Y"}, {6, 6, "!"}, {4, 9, "bad"}}))
	if got != "aXdef!" {
		t.Errorf("got %q", got)
	}
}

func TestNewName(t *testing.T) {
	taken := map[string]bool{"TOOL_NUM_1": true}
	isTaken := func(n string) bool { return taken[n] }
	for _, key := range []string{"TOOL_NUM", "CALC_INIT_CODES", "CT_NEW", "5AXIS_RAPID_MOVE", "X", strings.Repeat("LONG_", 9) + "NAME", "CALC"} {
		r := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			n := newName(r, key, isTaken)
			switch {
			case n == key || taken[n]:
				t.Fatalf("%s → %s, which is taken", key, n)
			case !validName(n) || isDigit(n[0]) && !isDigit(key[0]):
				t.Fatalf("%s → %q is not a valid name", key, n)
			case strings.HasPrefix(n, "CALC") != strings.HasPrefix(key, "CALC"):
				t.Fatalf("%s → %s changes whether it is a calculation section", key, n)
			case len(n) > maxNameLen:
				t.Fatalf("%s → %s is longer than %d", key, n, maxNameLen)
			case upg.IsSystemName(n):
				t.Fatalf("%s → %s is a system name", key, n)
			}
			taken[n] = true
		}
	}
}

func TestChangeNumber(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		old    string
		bounds *[2]float64
		check  func(string) bool
	}{
		{"4", nil, func(s string) bool { return !strings.Contains(s, ".") }},
		{"25.40", nil, func(s string) bool { return len(s) >= 4 && s[len(s)-3] == '.' }},
		{".00005", nil, func(s string) bool { return strings.HasPrefix(s, ".") }},
		{"-.5", nil, func(s string) bool { return strings.HasPrefix(s, "-.") }},
		{"10.", nil, func(s string) bool { return strings.HasSuffix(s, ".") && !strings.Contains(s[:len(s)-1], ".") }},
		{"8000", &[2]float64{7000, 9000}, func(s string) bool { v, _ := parseNumber(s); return v >= 7000 && v <= 9000 }},
	} {
		v := valueSite{kind: valNumber}
		if tc.bounds != nil {
			v.lo, v.hi, v.bounded = tc.bounds[0], tc.bounds[1], true
		}
		changed := 0
		for range 20 {
			s, ok := changeNumber(r, tc.old, v)
			if !ok {
				continue
			}
			changed++
			if _, num := parseNumber(s); !num || s == tc.old || !tc.check(s) {
				t.Errorf("%s → %q", tc.old, s)
			}
		}
		if changed == 0 {
			t.Errorf("%s never changed", tc.old)
		}
	}
	if _, ok := changeNumber(r, "0", valueSite{}); ok {
		t.Error("zero changed (zeros are flags and counters; they stay)")
	}
}

func TestSpell(t *testing.T) {
	for _, tc := range []struct {
		key           string
		lower, blanks bool
		want          string
	}{
		{"MY_TOOL_NUM", false, false, "MY_TOOL_NUM"},
		{"MY_MEASURE_TOOL", true, true, "my measure tool"},
		{"TL_LIST_COMMENT", false, true, "TL LIST COMMENT"},
		{"STOP_NEXT_CNT", true, false, "stop_next_cnt"},
	} {
		if got := spell(tc.key, tc.lower, tc.blanks); got != tc.want || upg.CanonicalName(got) != tc.key {
			t.Errorf("spell(%s) = %q, want %q (same canonical name)", tc.key, got, tc.want)
		}
	}
}
