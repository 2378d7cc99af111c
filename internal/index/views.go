package index

import (
	"sort"

	"github.com/veripost/veripost/internal/upg"
)

// DiagnosticRow is one finding of a version: a file's own (from the
// parser) or a cross-file one (from the resolver).
type DiagnosticRow struct {
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Source   string `json:"source"` // parser or resolver
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
}

// DiagnosticFilter narrows Diagnostics; empty fields match everything.
type DiagnosticFilter struct {
	Severity string
	FileID   string
}

// Diagnostics lists a version's findings: every file's own, by file name
// and position, then the cross-file ones, by file and position.
func Diagnostics(files []StoredFile, res *VersionResult, f DiagnosticFilter) []DiagnosticRow {
	out := []DiagnosticRow{}
	idByName := map[string]string{}
	for _, sf := range files {
		idByName[sf.Filename] = sf.ID
	}
	keep := func(r DiagnosticRow) {
		if (f.Severity == "" || r.Severity == f.Severity) && (f.FileID == "" || r.FileID == f.FileID) {
			out = append(out, r)
		}
	}
	row := func(source, fileID, filename string, d upg.Diagnostic) DiagnosticRow {
		return DiagnosticRow{FileID: fileID, Filename: filename, Source: source, Code: d.Code, Severity: d.Severity.String(),
			Message: d.Message, Line: d.Line, Col: d.Col}
	}
	var own []DiagnosticRow
	for _, sf := range files {
		if sf.Analysis == nil {
			continue
		}
		for _, d := range sf.Analysis.Diagnostics() {
			own = append(own, row("parser", sf.ID, sf.Filename, d))
		}
	}
	sort.SliceStable(own, func(i, j int) bool { return less(own[i], own[j]) })
	for _, r := range own {
		keep(r)
	}
	if res != nil {
		var cross []DiagnosticRow
		for _, d := range res.Diagnostics {
			cross = append(cross, row("resolver", idByName[d.File], d.File, d))
		}
		sort.SliceStable(cross, func(i, j int) bool { return less(cross[i], cross[j]) })
		for _, r := range cross {
			keep(r)
		}
	}
	return out
}

func less(a, b DiagnosticRow) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// Count counts rows by severity (every severity present, zero or not).
func Count(rows []DiagnosticRow) map[string]int {
	c := map[string]int{SeverityError: 0, SeverityWarning: 0, SeverityInfo: 0}
	for _, r := range rows {
		c[r.Severity]++
	}
	return c
}
