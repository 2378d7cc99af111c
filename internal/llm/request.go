package llm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/apperror"
)

// PromptVersion names the wording of the prompts below. It is part of every
// cache key: change it whenever the system prompt, the citation rules or the
// layout of the sources change, so old answers are not served for new prompts.
const PromptVersion = "1"

// Limits on one request. They protect the provider bill and this process
// from a runaway context builder; the context budget (Pack) normally keeps
// requests far below them.
const (
	MaxQuestionBytes = 4000
	MaxSources       = 200
	MaxSourceLines   = 50_000
	MaxRequestBytes  = 4 << 20
)

// Source is a stretch of one stored file, sent to the model as numbered
// lines that it can cite. A whole file is FirstLine 1 and all its lines; a
// section is its first line number and its lines.
type Source struct {
	// ID is opaque to this package (for example the file id the source view
	// links to); it is copied into every citation of this source.
	ID string `json:"id,omitempty"`
	// File is the file name the model sees and cites, e.g. "MILL.LIB".
	File string `json:"file"`
	// FirstLine is the 1-based line number of Lines[0].
	FirstLine int `json:"first_line"`
	// Lines are the file's lines without line endings.
	Lines []string `json:"lines"`
}

// LastLine is the line number of the last line.
func (s Source) LastLine() int { return s.FirstLine + len(s.Lines) - 1 }

// line returns the text of line number n as it is sent (valid UTF-8), and
// whether the source has that line.
func (s Source) line(n int) (string, bool) {
	i := n - s.FirstLine
	if i < 0 || i >= len(s.Lines) {
		return "", false
	}
	return strings.ToValidUTF8(s.Lines[i], "\uFFFD"), true
}

// block is how line n is sent: "L12: text\n". The "L" prefix is the one the
// citation markers use, and it keeps blocks of empty lines non-empty (the
// Anthropic API refuses empty text blocks).
func (s Source) block(n int) string {
	t, _ := s.line(n)
	return "L" + strconv.Itoa(n) + ": " + t + "\n"
}

// title is what a source is called in the prompt.
func (s Source) title() string {
	if len(s.Lines) == 1 {
		return fmt.Sprintf("%s line %d", s.File, s.FirstLine)
	}
	return fmt.Sprintf("%s lines %d-%d", s.File, s.FirstLine, s.LastLine())
}

// Note is context the model may use but cannot cite: a catalogue meaning,
// the machine metadata, the offline explanation.
type Note struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Request is one question with its grounding. Build it with Pack and
// Packed.Fill, then set Question (and Kind, Instructions).
type Request struct {
	// Kind labels the usage record: "section", "package", "change",
	// "question" … Free text; not sent to the model.
	Kind string `json:"kind,omitempty"`
	// Question is what the user (or the page) asks, in plain words.
	Question string `json:"question"`
	// Instructions are task-specific guidance added to the system prompt
	// ("explain what this section outputs, in order").
	Instructions string `json:"instructions,omitempty"`
	// Sources are the citable source lines, most important first.
	Sources []Source `json:"sources"`
	// Notes are non-citable context.
	Notes []Note `json:"notes,omitempty"`
	// LeftOut names what the context builder had to leave out; the model
	// is told, so it can say what it could not see.
	LeftOut []string `json:"left_out,omitempty"`
	// Subject ("section TOOL_CHANGE of Tormach v3") and User (who asked)
	// label the usage record for the admins' view. Neither is sent to the
	// model nor part of the cache key.
	Subject string `json:"subject,omitempty"`
	User    string `json:"user,omitempty"`
}

func badRequest(detail string, args ...any) error {
	return apperror.Newf(http.StatusBadRequest, apperror.CodeBadRequest,
		"The question cannot be sent to the AI provider as it is.", detail, args...)
}

// validate checks the limits above and the shape of the sources.
func (r Request) validate() error {
	q := strings.TrimSpace(r.Question)
	switch {
	case q == "":
		return badRequest("the question is empty")
	case len(r.Question) > MaxQuestionBytes:
		return badRequest("the question has %d bytes; at most %d are allowed", len(r.Question), MaxQuestionBytes)
	case len(r.Sources) == 0:
		return badRequest("no source lines to ground the answer in")
	case len(r.Sources) > MaxSources:
		return badRequest("%d sources; at most %d are allowed", len(r.Sources), MaxSources)
	}
	size, lines := len(r.Question)+len(r.Instructions), 0
	for i, s := range r.Sources {
		switch {
		case strings.TrimSpace(s.File) == "":
			return badRequest("source %d has no file name", i)
		case strings.ContainsAny(s.File, "\r\n"):
			return badRequest("source %d: file name %q has a line break", i, s.File)
		case s.FirstLine < 1:
			return badRequest("source %d (%s) starts at line %d; lines count from 1", i, s.File, s.FirstLine)
		case len(s.Lines) == 0:
			return badRequest("source %d (%s) has no lines", i, s.File)
		}
		for j, l := range s.Lines {
			if strings.ContainsAny(l, "\r\n") {
				return badRequest("source %d (%s) line %d holds a line break; split the text into lines", i, s.File, s.FirstLine+j)
			}
			size += len(l)
		}
		lines += len(s.Lines)
	}
	for _, n := range r.Notes {
		size += len(n.Title) + len(n.Text)
	}
	if lines > MaxSourceLines {
		return badRequest("%d source lines; at most %d are allowed", lines, MaxSourceLines)
	}
	if size > MaxRequestBytes {
		return badRequest("%d bytes of context; at most %d are allowed", size, MaxRequestBytes)
	}
	return nil
}

// The system prompt: who the reader is, what to answer from, and the rule
// that every statement about the code carries a citation. The last part
// depends on how the provider cites (documents or markers).
const systemBase = `You help applications engineers understand CAMWorks / SOLIDWORKS CAM post processors written in UPG, the Universal Post Generator language (.SRC sources and .LIB libraries such as MILL.LIB).
The reader did not write this post. Explain in plain words what runs when, what it writes to the NC program and why it matters on the machine.
Use only the sources and notes you are given. When they do not show something, say that you cannot see it rather than guessing.
Every statement about the code must cite the source lines it rests on.
Be brief: a few short paragraphs or a list.`

const citeWithDocuments = `The sources are documents with one block per line; each block starts with its line number ("L12: "). Cite the exact lines that support each statement.`

const citeWithMarkers = `Each source line starts with its line number ("L12: "). Right after each statement, cite the lines it rests on with a marker in square brackets: [FILE:L12] for one line, [FILE:L12-L14] for a range, several separated by commas: [FILE:L12-L14, FILE:L40]. Write FILE exactly as the source names it. Cite only lines that appear in the sources. Do not use square brackets for anything else.`

const citeWithMarkersOneFile = `Each source line starts with its line number ("L12: "). Right after each statement, cite the lines it rests on with a marker in square brackets: [L12] for one line, [L12-L14] for a range, several separated by commas: [L12-L14, L40]. Cite only lines that appear in the source. Do not use square brackets for anything else.`

// prompt is a Request rendered for sending. Both providers share the
// system text and the final user text; they differ in how the sources are
// attached (documents or inline text).
type prompt struct {
	req    Request
	system string
	// tail is the last user text: notes, what was left out, the question.
	tail string
	// inputTokens estimates what the provider will count as input.
	inputTokens int
}

func oneFile(sources []Source) bool {
	for _, s := range sources[1:] {
		if !strings.EqualFold(s.File, sources[0].File) {
			return false
		}
	}
	return true
}

func buildPrompt(r Request, markers bool) *prompt {
	var sys strings.Builder
	sys.WriteString(systemBase)
	sys.WriteString("\n\n")
	switch {
	case !markers:
		sys.WriteString(citeWithDocuments)
	case oneFile(r.Sources):
		sys.WriteString(citeWithMarkersOneFile)
	default:
		sys.WriteString(citeWithMarkers)
	}
	if in := strings.TrimSpace(r.Instructions); in != "" {
		sys.WriteString("\n\n")
		sys.WriteString(in)
	}

	var tail strings.Builder
	if len(r.Notes) > 0 {
		tail.WriteString("Notes (context you may use; they cannot be cited):\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&tail, "## %s\n%s\n", n.Title, strings.TrimSpace(n.Text))
		}
		tail.WriteString("\n")
	}
	if len(r.LeftOut) > 0 {
		tail.WriteString("Left out to stay within the context budget (you cannot see these): ")
		tail.WriteString(strings.Join(r.LeftOut, "; "))
		tail.WriteString("\n\n")
	}
	tail.WriteString("Question: ")
	tail.WriteString(strings.TrimSpace(r.Question))

	p := &prompt{req: r, system: sys.String(), tail: tail.String()}
	p.inputTokens = EstimateTokens(p.system) + EstimateTokens(p.tail)
	for _, s := range r.Sources {
		p.inputTokens += s.Tokens()
	}
	return p
}

// inlineSources renders the sources as text for providers without
// documents (the OpenAI-compatible chat format).
func (p *prompt) inlineSources() string {
	var b strings.Builder
	for _, s := range p.req.Sources {
		fmt.Fprintf(&b, "<source file=%q lines=\"%d-%d\">\n", s.File, s.FirstLine, s.LastLine())
		for n := s.FirstLine; n <= s.LastLine(); n++ {
			b.WriteString(s.block(n))
		}
		b.WriteString("</source>\n\n")
	}
	return b.String()
}

// CacheKey is the stable hex key of an answer: the prompt version, the
// provider, the model and the answer length limit, the content hash of every
// source (with its file name and first line), the notes, what was left out,
// the instructions and the question. Kind and Source.ID are not part of it:
// the same lines asked the same way in another package version share the
// answer.
func CacheKey(provider, model string, maxOutputTokens int, r Request) string {
	h := sha256.New()
	field := func(h hash.Hash, s string) {
		// Length-prefixed, so no two different field lists hash alike.
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	field(h, "veripost-llm-answer")
	field(h, PromptVersion)
	field(h, provider)
	field(h, model)
	field(h, strconv.Itoa(maxOutputTokens))
	field(h, strings.TrimSpace(r.Instructions))
	field(h, strings.TrimSpace(r.Question))
	field(h, strconv.Itoa(len(r.Sources)))
	for _, s := range r.Sources {
		content := sha256.New()
		for _, l := range s.Lines {
			field(content, l)
		}
		field(h, s.File)
		field(h, strconv.Itoa(s.FirstLine))
		field(h, hex.EncodeToString(content.Sum(nil)))
	}
	field(h, strconv.Itoa(len(r.Notes)))
	for _, n := range r.Notes {
		field(h, n.Title)
		field(h, n.Text)
	}
	field(h, strconv.Itoa(len(r.LeftOut)))
	for _, l := range r.LeftOut {
		field(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}
