package analysis

import (
	"errors"
	"strings"
	"testing"
)

func TestLimits(t *testing.T) {
	l := Limits{MaxLines: 3, MaxDiagnostics: 2}
	for _, c := range []struct {
		data string
		ok   bool
	}{
		{"", true},
		{"a\nb\nc", true},
		{"a\nb\nc\n", true},
		{"a\r\nb\r\nc\r\nd", false},
		{"a\nb\nc\n\n", false},
	} {
		err := l.CheckSize("F.SRC", []byte(c.data))
		var le *LimitError
		if (err == nil) != c.ok || (err != nil && (!errors.As(err, &le) || le.What != "lines" || !strings.Contains(le.Message(), "VERIPOST_INGEST_MAX_LINES"))) {
			t.Errorf("CheckSize(%q) = %v, want ok=%v", c.data, err, c.ok)
		}
	}
	bad := AnalyzeFile("BAD.SRC", []byte(strings.Repeat("@@@@@\r\n", 5)))
	if n := len(bad.Diagnostics()); n < 3 {
		t.Fatalf("the bad file has only %d findings; the test needs more than the limit", n)
	}
	var le *LimitError
	if err := l.CheckFindings("BAD.SRC", bad); !errors.As(err, &le) || le.What != "findings" {
		t.Errorf("CheckFindings on %d findings: %v", len(bad.Diagnostics()), err)
	}
	if err := l.CheckFindings("OK.SRC", AnalyzeFile("OK.SRC", []byte("* fine\r\n"))); err != nil {
		t.Errorf("a clean file: %v", err)
	}
	if err := (Limits{}).CheckSize("F", []byte(strings.Repeat("\n", 1000))); err != nil {
		t.Errorf("zero limits limit nothing: %v", err)
	}
}
