package resolve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/upg"
)

// TestGuardAnalysis: a call to an undefined section is a warning only when
// some path from an entry point reaches it through code that can run.
func TestGuardAnalysis(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want lists "line:section" of the UPG_UNDEFINED_SECTION warnings,
		// path is a part every warning's message must hold.
		want []string
		path string
	}{
		{name: "unguarded call from a system section", src: `
:SECTION=CALC_START_OF_TAPE
:C: CALL(MISSING)`, want: []string{"2:MISSING"}, path: "CALC_START_OF_TAPE (run by the posting system)"},
		{name: "guard directly around the call", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING) THEN CALL(MISSING) ENDIF`},
		{name: "guard compared with TRUE and 1", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING)=TRUE THEN CALL(MISSING) ENDIF
:C: IF (SECTIONEXIST(MISSING)<>0) THEN CALL(MISSING) ENDIF`},
		{name: "guard on the caller", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING) THEN CALL(CALC_HELPER) ENDIF
:SECTION=CALC_HELPER
:C: CALL(MISSING)`},
		{name: "guard on the caller's caller", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING) THEN
:C:   CALL(CALC_ONE)
:C: ENDIF
:SECTION=CALC_ONE
:C: CALL(CALC_TWO)
:SECTION=CALC_TWO
:C: CALL(MISSING)`},
		{name: "one unguarded caller is enough, and the path names it", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING) THEN CALL(CALC_HELPER) ENDIF
:SECTION=CALC_END_OF_TAPE
:C: CALL(CALC_HELPER)
:SECTION=CALC_HELPER
:C: CALL(MISSING)`, want: []string{"6:MISSING"}, path: "CALC_END_OF_TAPE (run by the posting system) → CALC_HELPER"},
		{name: "under a guard on another absent section, also in a nested ELSE", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(ABSENT) THEN
:C:   IF X=1 THEN CALL(CALC_A) ELSE CALL(MISSING) ENDIF
:C: ENDIF
:SECTION=CALC_A
:T:<EOL>`},
		{name: "ELSE of a guard on a present section cannot run", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(PRESENT) THEN CALL(PRESENT) ELSE CALL(MISSING) ENDIF
:SECTION=PRESENT
:T:<EOL>`},
		{name: "ELSE of a guard on an absent section runs", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(ABSENT) THEN CALL(ABSENT) ELSE CALL(MISSING) ENDIF`, want: []string{"2:MISSING"}},
		{name: "negated guard: compared with FALSE, 0 or <>TRUE", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(MISSING)=FALSE THEN X=1 ELSE CALL(MISSING) ENDIF
:C: IF SECTIONEXIST(PRESENT)=0 THEN CALL(MISSING) ENDIF
:C: IF SECTIONEXIST(PRESENT)<>TRUE THEN CALL(MISSING) ENDIF
:C: IF SECTIONEXIST(ABSENT)=FALSE THEN CALL(MISSING) ENDIF
:SECTION=PRESENT
:T:<EOL>`, want: []string{"5:MISSING"}},
		{name: "AND guards both sides, OR guards neither", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF X=1 AND SECTIONEXIST(MISSING) THEN CALL(MISSING) ENDIF
:C: IF SECTIONEXIST(MISSING) OR X=1 THEN CALL(MISSING) ENDIF
:C: IF SECTIONEXIST(PRESENT) OR X=1 THEN X=2 ELSE CALL(MISSING) ENDIF
:SECTION=PRESENT
:T:<EOL>`, want: []string{"3:MISSING"}},
		{name: "a section nothing calls is an entry point", src: `
:SECTION=CALC_LOOSE_END
:C: CALL(MISSING)`, want: []string{"2:MISSING"}, path: "CALC_LOOSE_END (no section of the package calls it"},
		{name: "a section called only from dead code is not reached", src: `
:SECTION=CALC_START_OF_TAPE
:C: IF SECTIONEXIST(ABSENT) THEN CALL(CALC_DEAD) ENDIF
:SECTION=CALC_DEAD
:C: CALL(MISSING)`},
		{name: "attribute function is an entry point", src: `
:ATTRNAME=G
:ATTRCFUNC=CALC_G
:ATTREND
:SECTION=CALC_G
:C: CALL(MISSING)`, want: []string{"5:MISSING"}, path: "attribute G → CALC_G"},
		{name: "attribute function to a missing section has no guard hint", src: `
:ATTRNAME=G
:ATTRCFUNC=CALC_G(A)
:ATTREND`, want: []string{"2:CALC_G"}, path: "remove the :ATTRCFUNC line"},
		{name: "overridden copy never runs", src: `
:LIBRARY=.\L.LIB
:SECTION=CALC_X
:C: X=1`, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []Input{{Name: "MAIN.SRC", Src: []byte(strings.TrimPrefix(tc.src, "\n") + "\n")}}
			if strings.Contains(tc.src, "L.LIB") {
				in = append(in, Input{Name: "L.LIB", Src: []byte(":SECTION=CALC_X\n:C: CALL(MISSING)\n")})
			}
			pkg := Resolve(in)
			var got []string
			for _, d := range pkg.Diagnostics {
				if d.Code != upg.CodeUndefinedSection {
					continue
				}
				name := strings.Fields(d.Message[strings.Index(d.Message, "section ")+len("section "):])[0]
				got = append(got, fmt.Sprintf("%d:%s", d.Line, strings.TrimRight(name, ",")))
				if tc.path != "" && !strings.Contains(d.Message, tc.path) {
					t.Errorf("message %q does not hold %q", d.Message, tc.path)
				}
				if d.Severity != upg.SeverityWarning {
					t.Errorf("severity %v", d.Severity)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("warnings at %v, want %v\n%v", got, tc.want, pkg.Diagnostics)
			}
			for _, r := range pkg.References {
				if r.Name == "MISSING" && r.Status != StatusUndefined && r.Status != StatusGuarded && r.Status != StatusUnreachable {
					t.Errorf("MISSING at line %d has status %s", r.Line, r.Status)
				}
			}
		})
	}
}
