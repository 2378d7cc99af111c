package upg

import (
	"strings"
	"testing"
)

// TestKeywordOf checks the keyword ids, including the names the quick
// first-byte and length test turns away and the ones it must let through.
func TestKeywordOf(t *testing.T) {
	tests := []struct {
		w    string
		want int
	}{
		{"IF", kwIf}, {"if", kwIf}, {"If", kwIf}, {"THEN", kwThen}, {"then", kwThen},
		{"ELSE", kwElse}, {"ENDIF", kwEndif}, {"endif", kwEndif}, {"AND", kwAnd},
		{"OR", kwOr}, {"or", kwOr}, {"CALL", kwCall}, {"RETURN", kwReturn}, {"return", kwReturn},
		{"GOTO", kwGoto}, {"GOTO12", kwGoto}, {"goto7", kwGoto}, {"GOTO" + strings.Repeat("9", 300), kwGoto},
		{"GOTO1A", kwNone}, {"GOTOX", kwNone}, {"GOT", kwNone},
		{"", kwNone}, {"I", kwNone}, {"IFF", kwNone}, {"ENDIFS", kwNone}, {"RETURNS", kwNone},
		{"ORDER", kwNone}, {"ANDX", kwNone}, {"THENCE", kwNone}, {"X", kwNone}, {"TOOL_NUMBER", kwNone},
		{"_IF", kwNone}, {"9IF", kwNone},
	}
	for _, tt := range tests {
		if got := keywordOf([]byte(tt.w)); got != tt.want {
			t.Errorf("keywordOf(%.20q) = %d, want %d", tt.w, got, tt.want)
		}
	}
}
