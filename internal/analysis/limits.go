package analysis

import (
	"bytes"
	"fmt"
)

// Limits bound the work one file may cost: a file with a million lines or
// a million findings is not a post processor, and analysing it would hold
// a worker (and, when stored, the database) for minutes. Zero means no
// limit.
type Limits struct {
	MaxLines       int // lines per file
	MaxDiagnostics int // findings (diagnostics) per file
}

// LimitError says which limit a file went over.
type LimitError struct {
	File   string
	What   string // "lines" or "findings"
	Count  int
	Limit  int
	Config string // the setting that raises the limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s has %d %s; at most %d are analysed per file (%s)", e.File, e.Count, e.What, e.Limit, e.Config)
}

// Message is the explanation for people.
func (e *LimitError) Message() string {
	if e.What == "lines" {
		return fmt.Sprintf("%s has %d lines, more than the %d this server analyses per file, so the package was not analysed. A post processor file is far smaller: check that it is the right file, or ask your administrator to raise %s.",
			e.File, e.Count, e.Limit, e.Config)
	}
	return fmt.Sprintf("%s has more than %d findings (errors and warnings), so the package was not analysed. It is probably not a UPG file; check it, or ask your administrator to raise %s.",
		e.File, e.Limit, e.Config)
}

// CheckSize refuses a file with more lines than allowed, before it is
// analysed (counting lines is cheap; analysing them is not).
func (l Limits) CheckSize(name string, data []byte) error {
	if l.MaxLines <= 0 {
		return nil
	}
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	if n > l.MaxLines {
		return &LimitError{File: name, What: "lines", Count: n, Limit: l.MaxLines, Config: "VERIPOST_INGEST_MAX_LINES"}
	}
	return nil
}

// CheckFindings refuses an analysed file with more findings than allowed.
func (l Limits) CheckFindings(name string, f *File) error {
	if l.MaxDiagnostics <= 0 || f == nil {
		return nil
	}
	if n := len(f.Diagnostics()); n > l.MaxDiagnostics {
		return &LimitError{File: name, What: "findings", Count: n, Limit: l.MaxDiagnostics, Config: "VERIPOST_INGEST_MAX_DIAGNOSTICS"}
	}
	return nil
}
