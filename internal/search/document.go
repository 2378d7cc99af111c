package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

// IndexVersion names the shape of the search index. Stored documents are
// keyed by (content SHA-256, IndexVersionFor(parser version)); changing how
// documents are built means bumping it, after which `veripost reindex`
// rebuilds them.
const IndexVersion = 1

// IndexVersionFor is the key search documents are stored under for a
// parser version: a document depends on both.
func IndexVersionFor(parserVersion string) string {
	return fmt.Sprintf("s%d/p%s", IndexVersion, parserVersion)
}

// Limits of what one document holds. Longer lines are cut for display and
// search (the file itself is untouched); files with more lines are indexed
// up to the limit.
const (
	MaxLineBytes = 1000
	MaxLines     = 200_000
)

// Line classes: how a line's matches rank (see Score).
const (
	ClassCode    = 0 // calculation code, commands, attribute blocks …
	ClassOutput  = 1 // a :T: template line (what the post writes)
	ClassComment = 2 // a comment (also commented-out code)
)

// Section kinds a search can filter on: the outline's kinds, with the
// sections the posting engine fires by itself ("template sections") told
// apart from the other system sections.
const (
	SectionSystem   = upg.SectionSystem
	SectionCalc     = upg.SectionCalc
	SectionUser     = upg.SectionUser
	SectionTemplate = "template"
)

// SectionKinds lists the kinds in display order.
var SectionKinds = []string{SectionSystem, SectionTemplate, SectionCalc, SectionUser}

// Document is what the search index stores for one file content: its
// non-blank lines with their terms, its sections, and the vectors and
// signature used to find alike posts and sections. It is a pure function
// of the file's bytes, its kind and the parser version.
type Document struct {
	SHA256        string
	ParserVersion string
	Kind          string // upg.FileKind, or "binary"
	LineCount     int    // physical lines of the file
	Bytes         int
	Lines         []Line
	Sections      []Section
	// Vector is the structural embedding of the whole file; Signature its
	// MinHash over normalised lines (see MinHash).
	Vector    []float32
	Signature []uint32
}

// Line is one non-blank line.
type Line struct {
	N       int    // 1-based line number
	Section int    // index into Document.Sections, -1 outside sections
	Class   int    // ClassCode, ClassOutput or ClassComment
	Text    string // the line as UTF-8, without its terminator (cut at MaxLineBytes)
	// Output is what a :T: line writes, as words ("M06 T G43 H#"), "" for
	// other lines. Literal searches look at it too: `<M:06>` outputs M06.
	Output string
	Words  []string // words of the code: identifiers, keywords, output words (lower case)
	Prose  []string // words of its prose: comments, labels and other values
	Parts  []string // parts of identifiers that are not whole words of the line
	Defs   []string // names defined on this line (attribute, section, :DEFINE)
	Sets   []string // names assigned on this line (:C: NAME=…)
}

// Section is one :SECTION= block.
type Section struct {
	Name      string
	Canonical string
	Kind      string // SectionSystem, SectionTemplate, SectionCalc or SectionUser
	StartLine int
	EndLine   int
	// Hash is the SHA-256 of the section's bytes: the same section in two
	// files has the same hash.
	Hash   string
	Vector []float32
}

// Input is one file to build a document from.
type Input struct {
	SHA256        string
	ParserVersion string
	Filename      string
	Data          []byte
	// Parsed is the UPG parse of Data when the caller already has it; nil
	// makes Build parse UPG source itself.
	Parsed *upg.File
}

// Build turns a file into its search document. It is the one place where
// parser output becomes search input: ingestion calls it for every new
// content (a content shared by many packages is built once).
func Build(in Input) Document {
	d := Document{SHA256: in.SHA256, ParserVersion: in.ParserVersion, Kind: string(upg.KindOf(in.Filename)), Bytes: len(in.Data)}
	facts := textfile.Inspect(in.Data)
	d.LineCount = facts.Lines
	if facts.Kind == "binary" {
		d.Kind = "binary"
		return d
	}
	decode := func(b []byte) string { return textfile.Decode(b, facts.Encoding) }
	var bag features
	if upg.KindOf(in.Filename).IsSource() {
		f := in.Parsed
		if f == nil {
			f = upg.Parse(in.Filename, in.Data)
		}
		bag = buildSource(&d, f, decode)
	} else {
		buildText(&d, in.Data, decode)
		bag = textFeatures(&d)
	}
	d.Vector = Quantize(bag.embed())
	d.Signature = MinHash(d.Lines)
	return d
}

// cutLine bounds a line for storage, at a rune edge.
func cutLine(s string) string {
	if len(s) <= MaxLineBytes {
		return s
	}
	cut := MaxLineBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func buildText(d *Document, data []byte, decode func([]byte) string) {
	n := 0
	for len(data) > 0 && len(d.Lines) < MaxLines {
		n++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		text := strings.TrimRight(decode(line), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		var t lineTerms
		l := Line{N: n, Section: -1, Class: ClassCode, Text: cutLine(text)}
		if strings.HasPrefix(strings.TrimSpace(text), ";") || strings.HasPrefix(strings.TrimSpace(text), "*") {
			l.Class = ClassComment
		}
		// Side files hold settings and labels: prose, not code.
		t.addProse(text)
		l.Words, l.Prose, l.Parts = t.finish()
		d.Lines = append(d.Lines, l)
	}
}

// buildSource fills d's sections and lines from the parse, fills the
// sections' vectors and returns the whole file's feature bag. Terms and
// features come from one pass over each line's tokens: both need the same
// token texts, identifier terms, words and parts.
func buildSource(d *Document, f *upg.File, decode func([]byte) string) features {
	for _, s := range f.Sections {
		kind := upg.SectionKindOf(s)
		if upg.IsTemplateSection(s.Name) {
			kind = SectionTemplate
		}
		sum := sha256.Sum256(f.Src[clamp(s.Pos(), len(f.Src)):clamp(s.End(), len(f.Src))])
		d.Sections = append(d.Sections, Section{
			Name: s.Name, Canonical: upg.CanonicalName(s.Name), Kind: kind,
			StartLine: s.StartLine, EndLine: s.EndLine, Hash: hex.EncodeToString(sum[:]),
		})
	}
	defs := map[int][]string{}
	addDef := func(line int, name string) {
		if t := IdentTerm(name); t != "" {
			defs[line] = append(defs[line], t)
		}
	}
	for _, a := range f.Attributes {
		addDef(a.StartLine, a.Name)
	}
	for _, s := range f.Sections {
		addDef(s.StartLine, s.Name)
	}
	for _, df := range f.Defines {
		addDef(df.Line, df.Name)
	}
	sets := map[int][]string{}
	for _, r := range f.References() {
		if r.Context == upg.RefAssign {
			sets[r.Line] = append(sets[r.Line], IdentTerm(r.Name))
		}
	}
	outputs := map[int]string{}
	for _, s := range f.Sections {
		for _, t := range s.Templates {
			outputs[t.Line] = RenderOutput(t)
		}
	}

	// The file's bag and each section's: a section's syntax-tree shapes,
	// then every line's token features go into the file's bag and into
	// the bag of the section the line is in.
	file := features{}
	secs := make([]features, len(d.Sections))
	for i := range secs {
		secs[i] = pathFeatures(f.Sections[i])
		file.merge(secs[i])
	}

	var t lineTerms
	var kinds []string // the line's token kinds, for its kind trigrams
	sec := 0
	for i := range f.Lines {
		if len(d.Lines) >= MaxLines {
			break
		}
		n := i + 1
		ln := &f.Lines[i]
		if ln.Kind == upg.LineBlank || ln.Kind == upg.LineIgnored {
			continue
		}
		for sec < len(f.Sections) && f.Sections[sec].EndLine < n {
			sec++
		}
		l := Line{N: n, Section: -1, Class: ClassCode, Text: cutLine(decode(f.Src[ln.Offset:ln.End]))}
		if sec < len(f.Sections) && f.Sections[sec].StartLine <= n {
			l.Section = sec
		}
		switch ln.Kind {
		case upg.LineComment:
			l.Class = ClassComment
		case upg.LineTemplate:
			l.Class = ClassOutput
		}
		bag := bags{file: file}
		if l.Section >= 0 {
			bag.sec = secs[l.Section]
		}
		t.reset()
		kinds = kinds[:0]
		for _, tok := range f.LineTokens(n) {
			switch tok.Kind {
			case upg.TokSpace, upg.TokEOL, upg.TokEOF:
				continue
			}
			kinds = append(kinds, tok.Kind.String())
			switch tok.Kind {
			case upg.TokName, upg.TokVariable:
				id := IdentTerm(decode(f.Src[tok.Offset:tok.End]))
				parts := Parts(id)
				t.addWithParts(&t.words, id, parts)
				bag.add('i', id)
				bag.add('w', id)
				for _, p := range parts {
					bag.add('w', p)
				}
			case upg.TokFunction:
				id := IdentTerm(decode(f.Src[tok.Offset:tok.End]))
				t.addWord(id)
				bag.add('f', id)
			case upg.TokHeader, upg.TokDirective, upg.TokAttrCommand, upg.TokSection:
				t.addWord(term(strings.TrimPrefix(strings.TrimSpace(decode(f.Src[tok.Offset:tok.End])), ":")))
			case upg.TokKeyword:
				k := term(decode(f.Src[tok.Offset:tok.End]))
				t.addWord(k)
				bag.add('k', k)
			case upg.TokMarker:
				t.addWord(term(strings.TrimPrefix(strings.TrimSpace(decode(f.Src[tok.Offset:tok.End])), "*")))
			case upg.TokTemplateText, upg.TokPath, upg.TokNumber, upg.TokFormat:
				t.addText(decode(f.Src[tok.Offset:tok.End]))
			case upg.TokValue, upg.TokString, upg.TokComment, upg.TokText:
				// Labels, remarks, defaults and comments describe rather than do.
				for _, w := range Words(decode(f.Src[tok.Offset:tok.End])) {
					parts := Parts(w)
					t.addWithParts(&t.prose, w, parts)
					bag.add('w', w)
					for _, p := range parts {
						bag.add('w', p)
					}
				}
			}
		}
		if l.Class != ClassComment {
			for i := 0; i+3 <= len(kinds); i++ {
				bag.addHash('n', joinHash('n', '|', kinds[i:i+3]))
			}
			if len(kinds) > 0 && len(kinds) < 3 {
				bag.addHash('n', joinHash('n', '|', kinds))
			}
		}
		if out, ok := outputs[n]; ok {
			l.Output = out
			for _, w := range Words(out) {
				t.addWord(w)
				bag.add('o', w)
				bag.add('w', w)
			}
		}
		l.Words, l.Prose, l.Parts = t.finish()
		l.Defs = dedupe(defs[n])
		l.Sets = dedupe(sets[n])
		d.Lines = append(d.Lines, l)
	}
	for _, h := range f.Headers {
		file.add('h', h.Key()+"="+strings.ToUpper(strings.TrimSpace(h.Value())))
	}
	for i := range d.Sections {
		d.Sections[i].Vector = Quantize(secs[i].embed())
	}
	return file
}

// RenderOutput writes a template line the way the post prints it, as far as
// the source says: literal text as written, `<M:06>` as M06, `<T>` as T,
// computed values as '#', <EOL> as nothing. Items are separated by a blank,
// and runs of blanks become one.
func RenderOutput(t *upg.TemplateLine) string {
	var b strings.Builder
	for _, it := range t.Items {
		switch it := it.(type) {
		case *upg.TextItem:
			b.WriteString(it.Text)
		case *upg.TokenItem:
			b.WriteByte(' ')
			switch it.Form {
			case upg.FormAttr:
				if it.Name != nil {
					b.WriteString(it.Name.Name)
				}
				switch v := it.Value.(type) {
				case nil:
				case *upg.BasicLit:
					b.WriteString(v.Unquoted())
				default:
					b.WriteByte('#')
				}
			case upg.FormDecimal, upg.FormInteger, upg.FormFormat:
				b.WriteByte('#')
			}
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := s[:0:0]
	seen := map[string]bool{}
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func clamp(i, n int) int { return max(0, min(i, n)) }
