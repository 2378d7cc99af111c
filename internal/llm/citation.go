package llm

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Citation ties a place in the answer to source lines.
type Citation struct {
	// Source is the index of the cited source in Request.Sources; -1 in a
	// citation that was not yet matched to a source (a marker naming a file).
	Source int `json:"source"`
	// SourceID is the cited source's ID, File its file name.
	SourceID string `json:"source_id,omitempty"`
	File     string `json:"file"`
	// StartLine and EndLine are the cited line numbers, inclusive.
	StartLine int `json:"start_line"`
	EndLine   int `json:"end_line"`
	// Quote is the cited text as the provider returned it (Anthropic
	// citations carry it; markers do not).
	Quote string `json:"quote,omitempty"`
	// Offset is the byte offset in the answer text where the citation
	// stands: right after the statement it supports. In a stream it is
	// always the length of the text streamed before it.
	Offset int `json:"offset"`
}

// Verify checks a citation against the sources of the request it answers
// and returns it completed (source index, ID and file name set) when it
// holds:
//
//   - the cited lines exist in the cited source (a citation that names a
//     file but no source index is matched to the source of that file that
//     holds the lines; with no file it must be unambiguous);
//   - when the provider quoted the cited text, that text is on those lines
//     (compared with runs of white space collapsed, with or without the
//     "L12: " prefixes the lines were sent with). Document citations
//     always quote; one that arrives without a quote is never valid.
//
// A citation that does not hold must be dropped, and the answer marked.
func Verify(sources []Source, c Citation) (Citation, bool) {
	if c.StartLine < 1 || c.EndLine < c.StartLine {
		return c, false
	}
	idx := c.Source
	if idx < 0 {
		idx = findSource(sources, c.File, c.StartLine, c.EndLine)
	}
	if idx < 0 || idx >= len(sources) {
		return c, false
	}
	s := sources[idx]
	if c.StartLine < s.FirstLine || c.EndLine > s.LastLine() {
		return c, false
	}
	if c.Source >= 0 && c.File != "" && !strings.EqualFold(c.File, s.File) {
		return c, false
	}
	if c.Quote != "" && !quoteOnLines(s, c.StartLine, c.EndLine, c.Quote) {
		return c, false
	}
	c.Source, c.SourceID, c.File = idx, s.ID, s.File
	return c, true
}

// findSource returns the index of the source that holds lines start-end of
// file, or -1. An empty file matches only when every source is the same
// file.
func findSource(sources []Source, file string, start, end int) int {
	if file == "" && (len(sources) == 0 || !oneFile(sources)) {
		return -1
	}
	for i, s := range sources {
		if (file == "" || strings.EqualFold(s.File, file)) && start >= s.FirstLine && end <= s.LastLine() {
			return i
		}
	}
	return -1
}

func quoteOnLines(s Source, start, end int, quote string) bool {
	q := squash(quote)
	if q == "" {
		return false
	}
	var sent, bare strings.Builder
	for n := start; n <= end; n++ {
		t, _ := s.line(n)
		sent.WriteString(s.block(n))
		bare.WriteString(t)
		bare.WriteByte('\n')
	}
	return strings.Contains(squash(sent.String()), q) || strings.Contains(squash(bare.String()), q)
}

// squash collapses runs of white space to one space and trims the ends.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// Citation markers in the text of providers without document citations:
// [L12], [L12-L14], [MILL.LIB:L12-L14], [MILL.LIB L12], several separated
// by commas or semicolons.
var markerItem = regexp.MustCompile(`^\s*(?:([^\[\]:,;]+?)(?:\s*:\s*|\s+))?L(\d{1,7})(?:\s*[-\x{2013}]\s*L?(\d{1,7}))?\s*$`)

// maxMarker bounds how long an opened bracket is held back waiting to see
// whether it is a marker; past it the text is let through.
const maxMarker = 160

// parseMarker parses the inside of a bracket. ok is false when it is not a
// citation marker (ordinary bracketed text).
func parseMarker(inner string) ([]Citation, bool) {
	var out []Citation
	for _, item := range strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ';' }) {
		m := markerItem.FindStringSubmatch(item)
		if m == nil {
			return nil, false
		}
		start, _ := strconv.Atoi(m[2])
		end := start
		if m[3] != "" {
			end, _ = strconv.Atoi(m[3])
		}
		out = append(out, Citation{Source: -1, File: strings.TrimSpace(m[1]), StartLine: start, EndLine: end})
	}
	return out, len(out) > 0
}

// segment is a piece of streamed answer: text, or the citations of one
// marker.
type segment struct {
	text  string
	cites []Citation
}

// markerScanner takes text deltas as they stream and splits out citation
// markers, even when a marker is split across deltas. Text that cannot be
// part of a marker passes at once; only an opened bracket (until it closes,
// or grows past maxMarker, or meets a line break) and trailing spaces are
// held back. Spaces right before a marker are dropped, so "sets H [L12]."
// reads "sets H." with the citation after "H".
type markerScanner struct {
	pend   strings.Builder // an opened bracket and what followed it
	spaces string          // trailing spaces not yet let through
}

func (m *markerScanner) feed(s string, emit func(segment)) {
	for s != "" {
		if m.pend.Len() == 0 {
			i := strings.IndexByte(s, '[')
			if i < 0 {
				m.text(s, emit)
				return
			}
			m.text(s[:i], emit)
			m.pend.WriteByte('[')
			s = s[i+1:]
			continue
		}
		// Inside an opened bracket: take up to and including ']'.
		j := strings.IndexAny(s, "[]\n")
		if j < 0 {
			m.pend.WriteString(s)
			s = ""
			if m.pend.Len() > maxMarker {
				s = m.release(emit)
			}
			continue
		}
		switch s[j] {
		case ']':
			m.pend.WriteString(s[:j+1])
			s = s[j+1:]
			held := m.pend.String()
			m.pend.Reset()
			if cites, ok := parseMarker(held[1 : len(held)-1]); ok {
				m.spaces = ""
				emit(segment{cites: cites})
			} else {
				m.text(held, emit)
			}
		default: // '[' or '\n': the opened bracket was not a marker
			m.pend.WriteString(s[:j])
			s = m.release(emit) + s[j:]
		}
	}
}

// release lets the held bracket through as text and returns what followed
// the bracket, to be scanned again (it may open another one).
func (m *markerScanner) release(emit func(segment)) string {
	held := m.pend.String()
	m.pend.Reset()
	m.text("[", emit)
	return held[1:]
}

// text emits s, holding back its trailing spaces.
func (m *markerScanner) text(s string, emit func(segment)) {
	if s == "" {
		return
	}
	body := strings.TrimRight(s, " \t")
	if body == "" {
		m.spaces += s
		return
	}
	emit(segment{text: m.spaces + body})
	m.spaces = s[len(body):]
}

// flush lets everything held through at the end of the stream.
func (m *markerScanner) flush(emit func(segment)) {
	if m.pend.Len() > 0 {
		held := m.pend.String()
		m.pend.Reset()
		m.text(held, emit)
	}
	if m.spaces != "" {
		emit(segment{text: m.spaces})
		m.spaces = ""
	}
}
