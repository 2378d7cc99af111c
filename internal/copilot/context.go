// Package copilot turns what a person asks on a page — explain this
// section, this package, this change, or a free question about one package
// — into a grounded question for the LLM copilot (internal/llm): it picks
// the source lines and notes that matter, ranks them, packs them within the
// context budget (VERIPOST_LLM_CONTEXT_TOKENS) and says what it left out.
//
// It is pure: it reads the analysed package (internal/explain), the diff
// (internal/diff) and the offline explanation, and returns an llm.Request.
// The API, the web UI and the command line all build their questions here.
package copilot

import (
	"fmt"
	"strings"

	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
)

// Question kinds (llm.Request.Kind, and the usage records).
const (
	KindSection  = "section"
	KindPackage  = "package"
	KindChange   = "change"
	KindQuestion = "question"
	KindLines    = "lines"
	KindName     = "attribute"
)

// Limits on how many pieces of each kind are offered to Pack (it then
// keeps what fits the budget, in order).
const (
	maxCallers     = 8
	maxCalls       = 8
	maxNames       = 24
	maxKeySections = 40
	maxFound       = 12 // sections offered for a free question
	maxHeaderLines = 200
	maxHunkPieces  = 150 // llm.MaxSources is 200
	// Notes of prose (the offline explanation, an overview) take at most
	// this share of the budget, so that the source lines they talk about
	// still fit.
	noteShare = 4
)

// FileID returns the stored file id of a file on a side ("" outside a
// change, "a" or "b" in one), copied into the sources so that citations
// link to the source view. nil leaves the ids empty (the command line).
type FileID func(side, file string) string

// Builder builds questions within a context budget.
type Builder struct {
	// Budget is the context budget in tokens (llm.Copilot.ContextTokens).
	Budget int
	// FileID names the stored files (may be nil).
	FileID FileID
}

// Ask is a question ready to send.
type Ask struct {
	Request llm.Request
	// Packed is what was kept and left out; Packed.Summary() says it.
	Packed llm.Packed
}

func (b Builder) id(side, file string) string {
	if b.FileID == nil {
		return ""
	}
	return b.FileID(side, file)
}

// source is the citable lines of a span.
func (b Builder) source(p *explain.Package, s explain.Span) *llm.Source {
	lines := p.SourceLines(s.File, s.Start, s.End)
	if len(lines) == 0 {
		return nil
	}
	for i, l := range lines {
		lines[i] = oneLine(l)
	}
	return &llm.Source{ID: b.id("", s.File), File: s.File, FirstLine: s.Start, Lines: lines}
}

func spanTitle(what string, s explain.Span) string {
	if s.Lines() == 1 {
		return fmt.Sprintf("%s (%s line %d)", what, s.File, s.Start)
	}
	return fmt.Sprintf("%s (%s lines %d-%d)", what, s.File, s.Start, s.End)
}

// note is a piece of prose, cut to the note share of the budget.
func (b Builder) note(title, text string) llm.Piece {
	limit := max(b.Budget/noteShare, 200) * 4 // bytes, by EstimateTokens' rule
	text = strings.TrimSpace(text)
	if len(text) > limit {
		cut := strings.LastIndexByte(text[:limit], '\n')
		if cut < limit/2 {
			cut = limit
		}
		text = strings.ToValidUTF8(text[:cut], "") + "\n… (the rest is left out to stay within the context budget)"
	}
	return llm.Piece{Title: title, Note: &llm.Note{Title: title, Text: text}}
}

// finish packs the pieces into a request.
func (b Builder) finish(kind, question, instructions, subject string, pieces []llm.Piece) *Ask {
	packed := llm.Pack(pieces, b.Budget)
	req := llm.Request{Kind: kind, Question: question, Instructions: instructions, Subject: subject}
	packed.Fill(&req)
	return &Ask{Request: req, Packed: packed}
}

// machineNote states the machine metadata.
func machineNote(p *explain.Package) (llm.Piece, bool) {
	m := p.Machine()
	var b strings.Builder
	line := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("Main source", strings.Join(m.Main, ", "))
	line("Machine name", m.MachineName)
	line("Controller type", m.ControllerType)
	line("System (:SYSTEM=)", m.System)
	line("Control family (first-line marker)", m.ControlFamily)
	line("Libraries (:LIBRARY=)", strings.Join(m.Libraries, ", "))
	line("Post name (.PINF)", m.PostName)
	line("Output file extension (.PINF)", m.PostExtension)
	if b.Len() == 0 {
		return llm.Piece{}, false
	}
	return llm.Piece{Title: "machine metadata", Note: &llm.Note{Title: "Machine metadata", Text: b.String()}}, true
}

func meaningsNote(ms []explain.Meaning) (llm.Piece, bool) {
	if len(ms) == 0 {
		return llm.Piece{}, false
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s (%s): %s\n", m.Name, strings.ReplaceAll(m.Kind, "-", " "), m.Text)
	}
	return llm.Piece{Title: "catalogue meanings", Note: &llm.Note{Title: "Language catalogue meanings", Text: b.String()}}, true
}

// The instructions every page question adds to the system prompt.
const (
	sectionInstructions  = "Explain the section for an applications engineer who inherits this post: when it runs, what it writes to the NC program line by line (in order, with the conditions), what it computes and sets, and what that means on the machine. Mention the callers and called sections only as far as they matter. Keep it under 300 words."
	packageInstructions  = "Summarise the post package for an applications engineer who inherits it: the machine and controller, which libraries it uses, what its own sections customise (tool change, start and end of program, cycles), notable settings, and what to check first on the machine. Keep it under 350 words."
	changeInstructions   = "The sources named A/… are lines of the old version, B/… of the new version (each diff hunk with a few unchanged lines around it). Say what the new version changes in the NC output and the settings, and why it might matter on the machine (tool changes, spindle, coolant, motion, safety). Cite both sides where both exist. Keep it under 300 words."
	questionInstructions = "Answer the question about this post package from the sources. Point to the sections and lines that matter. If the sources do not show the answer, say which part of the post you could not see."
	genericInstructions  = "Explain these lines for an applications engineer who inherits this post: what they do and what that means on the machine. Keep it under 250 words."
)

// Section builds "explain this section". e is its offline explanation
// (from p.Section); file may be empty (the copy the package uses).
func (b Builder) Section(p *explain.Package, e *explain.Explanation, file, name string) (*Ask, error) {
	rel, err := p.Related(file, name)
	if err != nil {
		return nil, err
	}
	s := rel.Section
	var pieces []llm.Piece
	if src := b.source(p, s); src != nil {
		pieces = append(pieces, llm.Piece{Title: spanTitle("section "+s.Name, s), Source: src, Cut: true})
	}
	add := func(what string, spans []explain.Span, limit int) {
		for i, sp := range spans {
			if i == limit {
				pieces = append(pieces, llm.Piece{Title: fmt.Sprintf("%d more %s", len(spans)-limit, what),
					Note: &llm.Note{Title: "Not shown", Text: fmt.Sprintf("%d more %s are not shown.", len(spans)-limit, what)}})
				break
			}
			if src := b.source(p, sp); src != nil {
				pieces = append(pieces, llm.Piece{Title: spanTitle(strings.TrimSuffix(what, "s")+" "+sp.Name, sp), Source: src})
			}
		}
	}
	add("callers", rel.Callers, maxCallers)
	add("called sections", rel.Calls, maxCalls)
	add("definitions", rel.Names, maxNames)
	if pc, ok := meaningsNote(rel.Meanings); ok {
		pieces = append(pieces, pc)
	}
	if pc, ok := machineNote(p); ok {
		pieces = append(pieces, pc)
	}
	if e != nil {
		pieces = append(pieces, b.note("offline explanation", explain.Text(e)))
	}
	q := fmt.Sprintf("Explain what the section %s (%s, lines %d-%d) does on the machine.", s.Name, s.File, s.Start, s.End)
	return b.finish(KindSection, q, sectionInstructions, "section "+s.Name+" ("+s.File+")", pieces), nil
}

// Package builds "explain this package": the overview, the machine, the
// main source's header and the package's own key sections.
func (b Builder) Package(p *explain.Package, overview *explain.Explanation) *Ask {
	var pieces []llm.Piece
	if overview != nil {
		pieces = append(pieces, b.note("package overview", explain.Text(overview)))
	}
	if pc, ok := machineNote(p); ok {
		pieces = append(pieces, pc)
	}
	if h, ok := p.Header(); ok {
		h.End = min(h.End, h.Start+maxHeaderLines-1)
		if src := b.source(p, h); src != nil {
			pieces = append(pieces, llm.Piece{Title: spanTitle("header of the main source", h), Source: src, Cut: true})
		}
	}
	keys := p.KeySections()
	for i, s := range keys {
		if i == maxKeySections {
			pieces = append(pieces, llm.Piece{Title: fmt.Sprintf("%d more sections", len(keys)-i),
				Note: &llm.Note{Title: "Not shown", Text: fmt.Sprintf("%d more sections of the post's own files are not shown.", len(keys)-i)}})
			break
		}
		if src := b.source(p, s); src != nil {
			pieces = append(pieces, llm.Piece{Title: spanTitle("section "+s.Name, s), Source: src})
		}
	}
	subject := "package"
	if m := p.Machine().Main; len(m) > 0 {
		subject = "package " + m[0]
	}
	return b.finish(KindPackage, "Explain this post package: what machine it drives and what it customises.", packageInstructions, subject, pieces)
}

// Explanation builds a question about any other offline explanation (a
// range of lines, an attribute): its subject's lines, the lines it cites,
// the machine, and the explanation itself.
func (b Builder) Explanation(p *explain.Package, e *explain.Explanation) *Ask {
	var pieces []llm.Piece
	subject := explain.Span{Kind: "lines", Name: e.Subject, File: e.File, Start: e.Start, End: e.End}
	if e.File != "" && e.Start > 0 {
		if src := b.source(p, subject); src != nil {
			pieces = append(pieces, llm.Piece{Title: spanTitle(e.Title, subject), Source: src, Cut: true})
		}
	}
	for _, sp := range explain.CitedSpans(e) {
		if sp.File == subject.File && sp.Start >= subject.Start && sp.End <= subject.End {
			continue
		}
		sp.Start, sp.End = max(sp.Start-2, 1), sp.End+2 // a little context
		if src := b.source(p, sp); src != nil {
			pieces = append(pieces, llm.Piece{Title: spanTitle("cited lines", sp), Source: src})
		}
	}
	if pc, ok := machineNote(p); ok {
		pieces = append(pieces, pc)
	}
	pieces = append(pieces, b.note("offline explanation", explain.Text(e)))
	kind := KindLines
	if e.Kind == explain.KindAttribute {
		kind = KindName
	}
	return b.finish(kind, "Explain "+e.Title+" and what it means on the machine.", genericInstructions, e.Title, pieces)
}

// Change builds "what did this version change and why might it matter":
// the diff hunks of both sides (A/FILE and B/FILE) and the offline
// explanation of the change.
func (b Builder) Change(r *diff.Result, e *explain.Explanation) *Ask {
	var pieces []llm.Piece
	if e != nil {
		pieces = append(pieces, b.note("offline explanation of the change", explain.Text(e)))
	}
	var src, side []llm.Piece // hunks of side files come after the source's
	for _, f := range r.Files {
		for _, h := range f.Hunks {
			if isSource(f.Kind) {
				src = append(src, b.hunk(f, h)...)
			} else {
				side = append(side, b.hunk(f, h)...)
			}
		}
	}
	hunks := append(src, side...)
	if len(hunks) > maxHunkPieces {
		n := len(hunks) - maxHunkPieces
		hunks = append(hunks[:maxHunkPieces], llm.Piece{Title: fmt.Sprintf("%d more stretches of changed lines", n),
			Note: &llm.Note{Title: "Not shown", Text: fmt.Sprintf("%d more stretches of changed lines are not shown.", n)}})
	}
	pieces = append(pieces, hunks...)
	q := "What did this version change, and why might that matter on the machine?"
	return b.finish(KindChange, q, changeInstructions, r.A.Label+" → "+r.B.Label, pieces)
}

func isSource(kind string) bool {
	switch kind {
	case "src", "lib", "atr", "include":
		return true
	}
	return false
}

// hunk is one diff hunk as up to two sources: the lines of side A
// (unchanged and removed) and of side B (unchanged and added).
func (b Builder) hunk(f diff.FileDiff, h diff.Hunk) []llm.Piece {
	var a, bb []string
	for _, l := range h.Lines {
		if l.Op != diff.OpInsert {
			a = append(a, oneLine(l.Text))
		}
		if l.Op != diff.OpDelete {
			bb = append(bb, oneLine(l.Text))
		}
	}
	var out []llm.Piece
	where := ""
	if h.Section != "" {
		where = " in section " + h.Section
	}
	if f.A != nil && h.ALines > 0 && len(a) == h.ALines {
		name := "A/" + f.A.Name
		out = append(out, llm.Piece{Title: fmt.Sprintf("old lines %d-%d of %s%s", h.AStart, h.AStart+h.ALines-1, f.A.Name, where),
			Source: &llm.Source{ID: b.id(explain.SideA, f.A.Name), File: name, FirstLine: h.AStart, Lines: a}, Cut: true})
	}
	if f.B != nil && h.BLines > 0 && len(bb) == h.BLines {
		name := "B/" + f.B.Name
		out = append(out, llm.Piece{Title: fmt.Sprintf("new lines %d-%d of %s%s", h.BStart, h.BStart+h.BLines-1, f.B.Name, where),
			Source: &llm.Source{ID: b.id(explain.SideB, f.B.Name), File: name, FirstLine: h.BStart, Lines: bb}, Cut: true})
	}
	return out
}

// oneLine keeps a line a line: the lines come split as the parser splits
// them, so a break inside one would be a bug; the request refuses them.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// SideOf reads the side of a change's source file name ("A/MILL.LIB" →
// "a", "MILL.LIB"); other names have no side.
func SideOf(file string) (side, name string) {
	switch {
	case strings.HasPrefix(file, "A/"):
		return explain.SideA, file[2:]
	case strings.HasPrefix(file, "B/"):
		return explain.SideB, file[2:]
	}
	return "", file
}

// Slot is the copilot part of an explanation: "available" with the address
// to ask at when a provider is configured (cp not nil), else
// "not_configured". The API and the web UI show the same.
func Slot(cp *llm.Copilot, askURL string) explain.Copilot {
	if !cp.Enabled() {
		return explain.CopilotNotConfigured()
	}
	return explain.Copilot{Status: "available", AskURL: askURL,
		Message: fmt.Sprintf("Ask %s (%s) to explain this in its own words. Its statements link to the lines they rest on; citations the source does not back are removed.", cp.Model(), cp.Provider())}
}
