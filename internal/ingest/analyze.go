package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// ParserVersion is the version of the UPG parser whose results are stored;
// bumping upg.ParserVersion makes `veripost reindex` re-parse everything.
var ParserVersion = fmt.Sprint(upg.ParserVersion)

// Analyze parses a version's files with the UPG package, resolves them as a
// package, and returns the rows to index: one FileResult per file (a pure
// function of its bytes and the parser version) and the version's
// cross-file result. It does no I/O.
func Analyze(versionID, parserVersion string, files []FileContent) ([]index.FileResult, index.VersionResult) {
	inputs := make([]resolve.Input, len(files))
	idByName := map[string]catalog.File{}
	for i, f := range files {
		inputs[i] = resolve.Input{Name: f.Filename, Src: f.Data}
		idByName[f.Filename] = f.File
	}
	pkg := resolve.Resolve(inputs)

	side := map[string]resolve.SideFile{}
	for _, s := range pkg.Side {
		side[s.Name] = s
	}
	defsByFile := map[string][]resolve.Definition{}
	for _, d := range pkg.Definitions {
		defsByFile[d.File] = append(defsByFile[d.File], d)
	}

	// A diagnostic the file's own parse reports belongs to the file's
	// result; the rest were found across files and belong to the version.
	own := map[string]bool{}
	results := make([]index.FileResult, 0, len(files))
	for _, f := range files {
		r := fileResult(f, parserVersion, pkg.Parsed(f.Filename), side[f.Filename], defsByFile[f.Filename])
		for _, d := range r.Diagnostics {
			own[diagKey(f.Filename, d)] = true
		}
		results = append(results, r)
	}

	v := index.VersionResult{VersionID: versionID, ParserVersion: parserVersion}
	for _, d := range pkg.Diagnostics {
		id := diagnostic(d)
		if own[diagKey(d.File, id)] {
			continue
		}
		v.Diagnostics = append(v.Diagnostics, index.FileDiagnostic{FileID: idByName[d.File].ID, Diagnostic: id})
	}
	for _, l := range pkg.Libraries {
		lib := index.Library{FileID: idByName[l.From].ID, DeclaredPath: l.Path, Line: l.Line, How: l.How}
		if to, ok := idByName[l.Resolved]; ok && l.Resolved != "" {
			lib.ResolvedFileID, lib.ResolvedName, lib.ResolvedSHA256 = to.ID, to.Filename, to.SHA256
		}
		v.Libraries = append(v.Libraries, lib)
	}
	for _, d := range pkg.Definitions {
		if d.Kind == resolve.KindSection {
			v.SectionCount++
		}
	}
	m := pkg.Metadata
	v.Metadata = index.Metadata{MachineName: m.MachineName, ControllerType: m.ControllerType, System: m.System, ControlFamily: m.ControlFamily}
	return results, v
}

func diagKey(file string, d index.Diagnostic) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s", file, d.Code, d.Line, d.Col, d.Message)
}

func diagnostic(d upg.Diagnostic) index.Diagnostic {
	return index.Diagnostic{Code: d.Code, Severity: d.Severity.String(), Message: d.Message, Line: d.Line, Col: d.Col}
}

// fileResult indexes one file. parsed is nil for files that are not UPG
// source (side files and compiled .CTL).
func fileResult(f FileContent, parserVersion string, parsed *upg.File, side resolve.SideFile, defs []resolve.Definition) index.FileResult {
	facts := textfile.Inspect(f.Data)
	r := index.FileResult{SHA256: f.SHA256, ParserVersion: parserVersion, LineCount: facts.Lines, Kind: string(upg.KindOf(f.Filename))}
	if facts.Kind == "binary" && parsed == nil {
		r.Kind = "binary"
	}
	if parsed == nil {
		r.Outline = sideOutline(side)
		return r
	}
	ol := parsed.Outline()
	ol.File = "" // the same bytes may be stored under other names
	r.Outline, _ = json.Marshal(ol)
	r.ControlFamily, r.System = parsed.ControlFamily, ol.System
	for _, s := range ol.Sections {
		sum := sha256.Sum256(f.Data[clamp(s.Offset, len(f.Data)):clamp(s.End, len(f.Data))])
		r.Sections = append(r.Sections, index.Section{
			Name: s.Name, Canonical: upg.CanonicalName(s.Name), Kind: s.Kind, StartLine: s.Line, EndLine: s.EndLine,
			StartByte: s.Offset, EndByte: s.End, ContentHash: hex.EncodeToString(sum[:]),
		})
	}
	for _, a := range ol.Attributes {
		id := ""
		if a.ID != 0 {
			id = fmt.Sprint(a.ID)
		}
		r.Attributes = append(r.Attributes, index.Attribute{
			Name: a.Name, Canonical: a.Canonical, Type: a.Type, VType: a.VType, DefaultValue: a.Default, AttrID: id, Line: a.Line,
		})
	}
	for _, d := range defs {
		r.Symbols = append(r.Symbols, index.Symbol{Name: d.Name, Canonical: d.Canonical, Kind: d.Kind, Role: "definition", Line: d.Line, Col: d.Col})
	}
	for _, ref := range parsed.References() {
		kind := resolve.KindAttribute
		if ref.Target == upg.TargetSection {
			kind = resolve.KindSection
		}
		r.Symbols = append(r.Symbols, index.Symbol{
			Name: ref.Name, Canonical: upg.CanonicalName(ref.Name), Kind: kind, Role: "reference", Context: ref.Context,
			Line: ref.Line, Col: ref.Col, Section: ref.Section,
		})
	}
	for _, d := range parsed.Diagnostics {
		id := diagnostic(d)
		r.Diagnostics = append(r.Diagnostics, id)
		switch id.Severity {
		case index.SeverityError:
			r.ErrorCount++
		case index.SeverityWarning:
			r.WarningCount++
		}
	}
	for _, inc := range parsed.Includes {
		r.Includes = append(r.Includes, index.Include{Path: inc.Path, Line: int(inc.Command.Line)})
	}
	return r
}

// sideOutline is the parsed structure of a side file (.PINF, .CNF, .KIN,
// .LNG, .CTL) as the file's outline.
func sideOutline(s resolve.SideFile) []byte {
	var v any
	switch {
	case s.CNF != nil:
		v = map[string]any{"kind": "cnf", "cnf": s.CNF}
	case s.KIN != nil:
		v = map[string]any{"kind": "kin", "kin": s.KIN}
	case s.PINF != nil:
		v = map[string]any{"kind": "pinf", "pinf": s.PINF}
	case s.LNG != nil:
		v = map[string]any{"kind": "lng", "lng": s.LNG}
	case s.CTL != nil:
		v = map[string]any{"kind": "ctl", "ctl": s.CTL}
	default:
		return []byte("{}")
	}
	b, err := json.Marshal(v)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return []byte("{}")
	}
	return b
}

func clamp(i, n int) int { return max(0, min(i, n)) }
