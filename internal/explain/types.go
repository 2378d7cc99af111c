package explain

import (
	"fmt"
	"strings"
)

// Explanation kinds.
const (
	KindSection   = "section"
	KindAttribute = "attribute" // an attribute, :DEFINE constant, system variable or user question
	KindLines     = "lines"
	KindPackage   = "package"
	KindChange    = "change" // what changed between two versions (sides A and B)
)

// Part keys, in the order parts appear.
const (
	PartSummary     = "summary"     // what it is (package: machine, controller, platform)
	PartWhen        = "when"        // when a section runs: the system event or its callers
	PartOutputs     = "outputs"     // what a section prints (its :T: lines)
	PartComputes    = "computes"    // what a section calculates, step by step
	PartNames       = "names"       // what it reads and sets
	PartDepends     = "depends"     // libraries, other sections, definitions it relies on
	PartControls    = "controls"    // attribute: what it controls
	PartValues      = "values"      // attribute: type, allowed values, default, format
	PartUses        = "uses"        // attribute: where it is read and set
	PartLibraries   = "libraries"   // package: libraries and their variants
	PartSections    = "sections"    // package: custom sections
	PartOverrides   = "overrides"   // package: library sections the post replaces
	PartSettings    = "settings"    // package: notable header settings
	PartQuestions   = "questions"   // package: setup and operation questions
	PartDiagnostics = "diagnostics" // package: findings in one paragraph
	PartLines       = "lines"       // a range of lines: what each item in it does
	PartNotes       = "notes"       // what was left out, and why

	// The parts of a change explanation.
	PartChanged        = "changed"         // the change in one paragraph
	PartSectionChanges = "section-changes" // sections added, removed, changed: what runs and prints differently
	PartSettingChanges = "setting-changes" // attributes, questions, header settings, constants
	PartLibraryChanges = "library-changes" // libraries declared, dropped, or of another variant
	PartRisks          = "risks"           // what to check on the machine: names now undefined, overrides gone
	PartFileChanges    = "file-changes"    // other files added or removed
)

// Cite is a citation: lines Start..End (1-based, inclusive) of File.
// FileID is empty in the explainer's output; callers that know the stored
// file ids fill it (see Explanation.SetFileIDs). Side is set only in the
// explanation of a change: "a" (the old side) or "b" (the new side).
type Cite struct {
	File   string `json:"file"`
	Start  int    `json:"start"`
	End    int    `json:"end"`
	FileID string `json:"file_id,omitempty"`
	Side   string `json:"side,omitempty" enum:"a,b"`
}

// Sides of a change.
const (
	SideA = "a"
	SideB = "b"
)

// String formats the citation as FILE:START or FILE:START-END (with "A " or
// "B " in front on a side of a change).
func (c Cite) String() string {
	prefix := ""
	if c.Side != "" {
		prefix = strings.ToUpper(c.Side) + " "
	}
	if c.End > c.Start {
		return fmt.Sprintf("%s%s:%d-%d", prefix, c.File, c.Start, c.End)
	}
	return fmt.Sprintf("%s%s:%d", prefix, c.File, c.Start)
}

// Link names a section, attribute or constant a sentence mentions and
// where it is defined, so that a reader can open its source or its own
// explanation.
type Link struct {
	Kind   string `json:"kind"` // "section", "attribute" or "define"
	Name   string `json:"name"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	FileID string `json:"file_id,omitempty"`
	Side   string `json:"side,omitempty" enum:"a,b"` // in a change: the side the definition is on
}

// Sentence is one statement of an explanation. Text is plain prose in which
// source names and values are written as Markdown code spans (`NAME`); every
// code span shows text that occurs in the cited lines. Depth nests steps
// under a condition (0 = top level).
type Sentence struct {
	Text  string `json:"text"`
	Cites []Cite `json:"cites"`
	Depth int    `json:"depth,omitempty"`
	Links []Link `json:"links,omitempty"`
}

// Part is one heading of an explanation ("When it runs", "What it outputs" …).
type Part struct {
	Key       string     `json:"key"`
	Title     string     `json:"title"`
	Sentences []Sentence `json:"sentences"`
}

// Explanation is the offline explanation of one subject.
type Explanation struct {
	Kind    string `json:"kind"`    // KindSection, KindAttribute, KindLines or KindPackage
	Subject string `json:"subject"` // section or attribute name, "FILE:A-B", or the package's main source
	Title   string `json:"title"`
	// Where the subject is (a package explanation cites its main source).
	File   string `json:"file,omitempty"`
	Start  int    `json:"start,omitempty"`
	End    int    `json:"end,omitempty"`
	FileID string `json:"file_id,omitempty"`
	Parts  []Part `json:"parts"`
}

// Copilot is where the LLM copilot's answer goes next to an offline
// explanation. The offline explainer never fills Answer; it is the seam for
// the copilot layer, which streams its answer (with verified citations, in
// the same Sentence/Cite shape) and keeps the offline explanation on the page
// when it fails.
type Copilot struct {
	// Status is "not_configured" (no provider set up), "available" (ask
	// at AskURL), "answered" (Answer is set) or "error" (Message says why).
	Status  string         `json:"status" enum:"not_configured,available,answered,error"`
	Message string         `json:"message,omitempty"`
	AskURL  string         `json:"ask_url,omitempty"`
	Answer  *CopilotAnswer `json:"answer,omitempty"`
}

// CopilotAnswer is a copilot answer whose citations were checked against
// the stored source; sentences whose citations could not be verified are
// marked rather than shown as facts.
type CopilotAnswer struct {
	Model      string     `json:"model"`
	Sentences  []Sentence `json:"sentences"`
	Unverified int        `json:"unverified"` // citations dropped because the source did not support them
}

// CopilotNotConfigured is the copilot slot while no LLM provider is set up.
func CopilotNotConfigured() Copilot {
	return Copilot{Status: "not_configured",
		Message: "The copilot is not configured on this server, so only the offline explanation is shown."}
}

// SetFileIDs fills FileID of every citation and link (and of the
// explanation itself) from the stored files' names; names id does not know
// stay empty.
func (e *Explanation) SetFileIDs(id func(name string) string) {
	e.SetSideFileIDs(func(_, name string) string { return id(name) })
}

// SetSideFileIDs is SetFileIDs for a change, whose two sides are different
// stored files: id gets the side ("a", "b", or "" outside a change).
func (e *Explanation) SetSideFileIDs(id func(side, name string) string) {
	e.FileID = id("", e.File)
	for i := range e.Parts {
		for j := range e.Parts[i].Sentences {
			s := &e.Parts[i].Sentences[j]
			for k := range s.Cites {
				s.Cites[k].FileID = id(s.Cites[k].Side, s.Cites[k].File)
			}
			for k := range s.Links {
				s.Links[k].FileID = id(s.Links[k].Side, s.Links[k].File)
			}
		}
	}
}

// Part returns the part with the given key, or nil.
func (e *Explanation) Part(key string) *Part {
	for i := range e.Parts {
		if e.Parts[i].Key == key {
			return &e.Parts[i]
		}
	}
	return nil
}

// Sentences returns every sentence of the explanation in order.
func (e *Explanation) Sentences() []Sentence {
	var out []Sentence
	for _, p := range e.Parts {
		out = append(out, p.Sentences...)
	}
	return out
}

// NotFoundError says that the subject asked for is not in the package, and
// which names come closest.
type NotFoundError struct {
	What string // "section", "attribute", "file" or "lines"
	Name string
	In   string   // file or package it was looked for in
	Near []string // similar names that exist
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no %s %q in %s", e.What, e.Name, e.In)
	if len(e.Near) > 0 {
		msg += "; did you mean " + strings.Join(e.Near, ", ") + "?"
	}
	return msg
}
