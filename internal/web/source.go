package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upload"
)

// maxDisplayBytes bounds what the source view renders; larger files are
// offered for download only.
const maxDisplayBytes = 4 << 20

// linesPerChunk groups lines into blocks the browser can skip laying out
// while they are off screen (content-visibility: auto), which keeps a
// 300 KB file smooth to open and scroll.
const linesPerChunk = 200

// span is a highlighted byte range of a file: class is the CSS class
// suffix (the lexer's token kind name); sym, when set, makes the token a
// link to the symbol it names.
type span struct {
	class    string
	off, end int
	sym      string
	lib      *libRef // set on a :LIBRARY=/:INCLUDE= path the index resolved (or could not)
}

// libRef is where a :LIBRARY=/:INCLUDE= path leads: the package file it
// resolved to (href), or nowhere (missing), with an explanation (tip).
type libRef struct {
	href    string
	tip     string
	missing bool
}

type sourceData struct {
	Pkg         catalog.Package
	File        catalog.File
	Version     catalog.Version
	Files       []catalog.File
	Code        template.HTML
	Lines       int
	Encoding    string
	LineEnding  string
	Notice      string // why the file is not shown, when it is not
	Highlighted bool
	Parsed      bool // the file is UPG source and was parsed
	Outline     []outlineGroup
	Diags       []sourceDiag
	DiagCounts  map[string]int
	// Symbols: click a name to go to its definition (needs the index).
	Symbols bool
	// Explain: sections, attributes and selected lines can be explained.
	Explain bool
}

func (u *UI) source(w http.ResponseWriter, r *http.Request) {
	id, fileID := chi.URLParam(r, "id"), chi.URLParam(r, "file_id")
	ctx := r.Context()
	p, err := u.Store.GetPackage(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		u.notFound(w, r, "There is no package with this address. It may have been deleted.", "package "+id)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f, err := u.Store.GetFile(ctx, id, fileID)
	if errors.Is(err, catalog.ErrNotFound) {
		u.notFound(w, r, "This package has no such file. It may belong to a version that was replaced; open the package to see its files.", "file "+fileID)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := sourceData{Pkg: p, File: f, Symbols: true, Explain: u.Explain != nil}
	if d.Version, err = u.Store.GetVersion(ctx, f.VersionID); err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Files, err = u.Store.VersionFiles(ctx, f.VersionID); err != nil {
		u.fail(w, r, err)
		return
	}
	switch {
	case f.ContentKind == "binary":
		d.Notice = "This is a binary file (for example a compiled .CTL), so it cannot be shown as text. Download it to use it."
	case f.Size > maxDisplayBytes:
		d.Notice = fmt.Sprintf("This file is too large to show in the browser (%s). Download it to read it.", upload.HumanBytes(f.Size))
	default:
		src, err := u.readBlob(r, f)
		if err != nil {
			u.blobFail(w, r, err, f)
			return
		}
		if textfile.IsBinary(src) {
			d.Notice = "This file contains binary data, so it cannot be shown as text. Download it to use it."
			break
		}
		af, err := u.fileAnalysis(r, f, src)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		var a view
		if upg.KindOf(f.Filename).IsSource() {
			a = viewOf(af, src)
		}
		d.Parsed = a.parsed
		u.linkLibraries(r, &d, &a, src)
		d.Outline = a.outline
		if u.Search != nil {
			linkSimilarSections(d.Outline, f.SHA256, r.URL.Path)
		}
		d.Diags = u.fileDiagnostics(r, d.Version, f, af)
		d.DiagCounts = map[string]int{}
		marks := map[int]string{}
		for _, dg := range d.Diags {
			d.DiagCounts[dg.Severity]++
			if dg.Severity == "info" {
				continue // notes are listed, not flagged in the margin
			}
			if cur, ok := marks[dg.Line]; !ok || index.SeverityRank(dg.Severity) < index.SeverityRank(cur) {
				marks[dg.Line] = dg.Severity
			}
		}
		facts := textfile.Inspect(src)
		d.Encoding, d.LineEnding = facts.Encoding, facts.LineEnding
		d.Code, d.Lines = renderSource(src, d.Encoding == textfile.Windows1252, a.spans, marks)
		d.Highlighted = len(a.spans) > 0
	}
	pg := u.newPage(r, f.Filename+" · "+p.Name, "packages", d)
	pg.Wide, pg.Key = true, f.ID
	u.render(w, r, http.StatusOK, "source", pg)
}

// linkSimilarSections points each section of the outline at the sections
// like it (the outline lists a file's sections in file order, which is
// their position in the search index).
func linkSimilarSections(groups []outlineGroup, sha, from string) {
	for gi := range groups {
		if groups[gi].Kind != "section" {
			continue
		}
		for i := range groups[gi].Items {
			groups[gi].Items[i].Similar = "/sections/" + search.SectionID(sha, i) + "/similar?from=" + url.QueryEscape(from)
		}
	}
}

// fileAnalysis is the stored analysis of the file; a version not analysed
// yet (still being ingested) is analysed on the fly instead.
func (u *UI) fileAnalysis(r *http.Request, f catalog.File, src []byte) (*analysis.File, error) {
	files, err := u.Index.AnalysedFiles(r.Context(), f.VersionID)
	if err != nil {
		return nil, err
	}
	for _, sf := range files {
		if sf.ID == f.ID && sf.Analysis != nil {
			return sf.Analysis, nil
		}
	}
	return analysis.AnalyzeFile(f.Filename, src), nil
}

// fileDiagnostics are the file's findings as the package page lists them
// (its own and the cross-file ones placed in it); before the version is
// analysed, the file's own.
func (u *UI) fileDiagnostics(r *http.Request, v catalog.Version, f catalog.File, af *analysis.File) []sourceDiag {
	var out []sourceDiag
	if v.ParserVersion != "" {
		rows, err := u.versionDiagnostics(r, v.ID, index.DiagnosticFilter{FileID: f.ID})
		if err == nil {
			for _, d := range rows {
				out = append(out, sourceDiag{Line: d.Line, Col: d.Col, Severity: d.Severity, Code: d.Code, Message: d.Message})
			}
			sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
			return out
		}
		u.Log.WarnContext(r.Context(), "loading diagnostics for the source view failed; showing the file's own", "file", f.ID, "err", err)
	}
	for _, d := range af.Diagnostics() {
		out = append(out, sourceDiag{Line: d.Line, Col: d.Col, Severity: d.Severity.String(), Code: d.Code, Message: d.Message})
	}
	return out
}

func (u *UI) readBlob(r *http.Request, f catalog.File) ([]byte, error) {
	obj, err := u.Blobs.Open(r.Context(), f.BlobKey)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.LimitReader(obj, maxDisplayBytes+1))
}

func (u *UI) blobFail(w http.ResponseWriter, r *http.Request, err error, f catalog.File) {
	if errors.Is(err, blob.ErrNotFound) {
		u.renderError(w, r, http.StatusNotFound, "File missing",
			"The stored copy of "+f.Filename+" is missing. Upload the package again.", "")
		return
	}
	u.Log.ErrorContext(r.Context(), "reading a file for display failed", "file", f.ID, "err", err)
	u.renderError(w, r, http.StatusServiceUnavailable, "File store unavailable",
		"The file store is not reachable right now, so "+f.Filename+" cannot be shown. Try again in a minute.", "")
}

// writeText escapes b as HTML text, decoding Windows-1252 when asked and
// showing control bytes as visible symbols.
func writeText(sb *strings.Builder, b []byte, win1252 bool) {
	if win1252 {
		b = []byte(textfile.Decode(b, textfile.Windows1252))
	}
	start := 0
	flush := func(i int) {
		if i > start {
			template.HTMLEscape(sbWriter{sb}, b[start:i])
		}
	}
	for i, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			flush(i)
			sym := rune(0x2400 + int(c))
			if c == 0x7f {
				sym = '\u2421'
			}
			fmt.Fprintf(sb, `<span class="ctl" title="control byte 0x%02X">%c</span>`, c, sym)
			start = i + 1
		}
	}
	flush(len(b))
}

type sbWriter struct{ sb *strings.Builder }

func (w sbWriter) Write(p []byte) (int, error) { return w.sb.Write(p) }

// tokenClass maps the lexer's token kinds to short CSS classes (the page
// of a 300 KB library has some 40,000 tokens, so every byte of markup per
// token counts). Kinds shown in the text colour get no element at all.
var tokenClass = map[string]string{
	"comment": "cm", "marker": "mk", "eof": "eo", "header": "hd", "directive": "dr",
	"attribute-command": "ac", "section": "sc", "prefix": "pf", "name": "nm", "value": "vl",
	"path": "pt", "keyword": "kw", "function": "fn", "variable": "vr", "number": "nb",
	"string": "st", "token": "tk", "format": "fm", "text": "tx", "error": "er",
	// operator, punct and template-text: plain text colour
}

// renderSource renders src as numbered lines, each an anchor target
// (<div id="L12" data-n="12">; the number is drawn by CSS so copying code
// does not copy it), grouped in chunks the browser can skip while off
// screen. spans add highlighting classes and symbol links; marks flag
// lines with diagnostics. Line terminators are not shown. It returns the
// HTML and the line count.
func renderSource(src []byte, win1252 bool, spans []span, marks map[int]string) (template.HTML, int) {
	var sb strings.Builder
	sb.Grow(len(src)*3 + 32*bytes.Count(src, []byte{'\n'}))
	si := 0
	line := 0
	// Lines end where the parser's do (LF, CRLF or a lone CR), so line
	// numbers and #L anchors match diagnostics and the outline.
	lr := textfile.NewLineReader(src)
	for {
		off, text, _, ok := lr.Next()
		if !ok {
			if line == 0 { // an empty file still shows one empty line
				off, text = 0, 0
			} else {
				break
			}
		}
		line++
		if (line-1)%linesPerChunk == 0 {
			if line > 1 {
				sb.WriteString("</div>\n")
			}
			sb.WriteString(`<div class="chunk">`)
		}
		n := strconv.Itoa(line)
		sb.WriteString(`<div id="L` + n + `" data-n="` + n + `"`)
		if sev, ok := marks[line]; ok {
			sb.WriteString(` class="dg dg-` + sev + `"`)
		}
		sb.WriteByte('>')
		// Spans that end before this line are done.
		for si < len(spans) && spans[si].end <= off {
			si++
		}
		pos := off
		for j := si; j < len(spans) && spans[j].off < text; j++ {
			s := spans[j]
			cls := tokenClass[s.class]
			a, b := max(s.off, pos), min(s.end, text)
			if a >= b || (cls == "" && s.sym == "") {
				continue
			}
			writeText(&sb, src[pos:a], win1252)
			switch {
			case s.lib != nil && !s.lib.missing:
				sb.WriteString(`<a class="` + cls + ` lib-link" href="` + template.HTMLEscapeString(s.lib.href) + `" title="` + template.HTMLEscapeString(s.lib.tip) + `">`)
				writeText(&sb, src[a:b], win1252)
				sb.WriteString(`</a>`)
			case s.lib != nil:
				sb.WriteString(`<span class=` + cls + `>`)
				writeText(&sb, src[a:b], win1252)
				sb.WriteString(`</span>`)
				if b == s.end {
					// Focusable so keyboard users can read the explanation
					// (shown by CSS on focus; the mouse gets the title).
					tip := template.HTMLEscapeString(s.lib.tip)
					if s.lib.href != "" {
						// To the variants of this library VeriPost holds.
						sb.WriteString(`<a class="lib-missing" href="` + template.HTMLEscapeString(s.lib.href) + `" title="` + tip + `" data-tip="` + tip + `">not in this package: see the variants</a>`)
					} else {
						sb.WriteString(`<span class="lib-missing" tabindex="0" title="` + tip + `" data-tip="` + tip + `">not in this package</span>`)
					}
				}
			case s.sym != "":
				// Keyboard users reach symbols through the outline; thousands
				// of tab stops in the code would trap them.
				// The link names the canonical form: the page compares
				// links by it (see app.js), so it never re-derives it.
				sb.WriteString(`<a class=` + cls + ` href="/symbols/` + template.HTMLEscapeString(url.PathEscape(upg.CanonicalName(s.sym))) + `" tabindex=-1>`)
				writeText(&sb, src[a:b], win1252)
				sb.WriteString(`</a>`)
			default:
				sb.WriteString(`<span class=` + cls + `>`)
				writeText(&sb, src[a:b], win1252)
				sb.WriteString(`</span>`)
			}
			pos = b
		}
		writeText(&sb, src[pos:text], win1252)
		sb.WriteString("</div>\n")
		if !ok {
			break
		}
	}
	sb.WriteString("</div>")
	return template.HTML(sb.String()), line
}
