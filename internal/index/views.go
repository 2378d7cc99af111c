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
	// Subject is the name the finding is about, when it is about one.
	Subject string `json:"subject,omitempty"`
	// Count is how many locations the row stands for: 1, or more for an
	// info aggregated by Findings (Locations then lists the first few).
	Count     int        `json:"count"`
	Locations []Location `json:"locations,omitempty"`
}

// Location is one place an aggregated finding occurs.
type Location struct {
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
}

// DiagnosticFilter narrows Diagnostics; empty fields match everything.
type DiagnosticFilter struct {
	Severity string
	FileID   string
	Code     string
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
		if (f.Severity == "" || r.Severity == f.Severity) && (f.FileID == "" || r.FileID == f.FileID) && (f.Code == "" || r.Code == f.Code) {
			out = append(out, r)
		}
	}
	row := func(source, fileID, filename string, d upg.Diagnostic) DiagnosticRow {
		return DiagnosticRow{FileID: fileID, Filename: filename, Source: source, Code: d.Code, Severity: d.Severity.String(),
			Message: d.Message, Line: d.Line, Col: d.Col, Subject: d.Subject, Count: 1}
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

// MaxLocations is how many locations an aggregated finding lists.
const MaxLocations = 5

// Findings is what people read: errors and warnings one per location (each
// may need its own fix), then infos once per (code, subject) — or per
// (code, message) when they name nothing — with the count and the first
// MaxLocations locations. Rows keep Diagnostics' order within a severity;
// aggregated infos come in the order of their first location.
func Findings(rows []DiagnosticRow) []DiagnosticRow {
	out := make([]DiagnosticRow, 0, len(rows))
	var infos []DiagnosticRow
	at := map[string]int{}
	for _, r := range rows {
		if r.Severity != SeverityInfo {
			out = append(out, r)
			continue
		}
		key := r.Code + "\x00" + r.Subject
		if r.Subject == "" {
			key += "\x00" + r.Message
		}
		loc := Location{FileID: r.FileID, Filename: r.Filename, Line: r.Line, Col: r.Col}
		if i, ok := at[key]; ok {
			infos[i].Count++
			if len(infos[i].Locations) < MaxLocations {
				infos[i].Locations = append(infos[i].Locations, loc)
			}
			continue
		}
		at[key] = len(infos)
		r.Count = 1
		r.Locations = []Location{loc}
		infos = append(infos, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return SeverityRank(out[i].Severity) < SeverityRank(out[j].Severity) })
	return append(out, infos...)
}

// SeverityRank orders severities: errors, warnings, infos.
func SeverityRank(s string) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// DiagnosticGroup counts a version's findings of one severity and code,
// and per file.
type DiagnosticGroup struct {
	Severity string      `json:"severity"`
	Code     string      `json:"code"`
	Count    int         `json:"count"`
	Files    []FileCount `json:"files"`
}

// FileCount is how many findings of a group one file has ("" for findings
// of the package as a whole).
type FileCount struct {
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Count    int    `json:"count"`
}

// Groups counts rows by severity (errors first), code and file, each level
// most frequent first.
func Groups(rows []DiagnosticRow) []DiagnosticGroup {
	at := map[[2]string]int{}
	var out []DiagnosticGroup
	files := map[[2]string]map[string]int{}
	for _, r := range rows {
		k := [2]string{r.Severity, r.Code}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, DiagnosticGroup{Severity: r.Severity, Code: r.Code})
			files[k] = map[string]int{}
		}
		n := max(r.Count, 1)
		out[i].Count += n
		fi, ok := files[k][r.FileID+"\x00"+r.Filename]
		if !ok {
			fi = len(out[i].Files)
			files[k][r.FileID+"\x00"+r.Filename] = fi
			out[i].Files = append(out[i].Files, FileCount{FileID: r.FileID, Filename: r.Filename})
		}
		out[i].Files[fi].Count += n
	}
	for i := range out {
		sort.SliceStable(out[i].Files, func(a, b int) bool { return out[i].Files[a].Count > out[i].Files[b].Count })
	}
	sort.SliceStable(out, func(a, b int) bool {
		if ra, rb := SeverityRank(out[a].Severity), SeverityRank(out[b].Severity); ra != rb {
			return ra < rb
		}
		return out[a].Count > out[b].Count
	})
	return out
}
