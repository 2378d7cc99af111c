package llm

import (
	"fmt"
	"strings"
)

// EstimateTokens estimates how many tokens a text costs: one token per four
// bytes, rounded up. That is the usual rule of thumb for byte-pair
// tokenizers on English and code; it runs high for plain words and low for
// dense symbols, so budgets should keep a margin. Every budget in this
// package (context packing, the monthly cap, usage when a provider reports
// none) uses this one rule.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// pieceOverhead covers the per-piece framing (title, document wrapper).
const pieceOverhead = 8

// Tokens estimates what sending s costs: every line as it is sent
// ("L12: text\n") plus the framing.
func (s Source) Tokens() int {
	n := pieceOverhead + EstimateTokens(s.title())
	for ln := s.FirstLine; ln <= s.LastLine(); ln++ {
		n += EstimateTokens(s.block(ln))
	}
	return n
}

// Tokens estimates what sending n costs.
func (n Note) Tokens() int {
	return pieceOverhead + EstimateTokens(n.Title) + EstimateTokens(n.Text)
}

// Piece is one candidate for the context of a question: either citable
// source lines (Source set) or a note (Note set). Pieces are handed to Pack
// most important first: the section itself, then what it calls and what
// calls it, definitions of the names it uses, catalogue meanings, machine
// metadata, the offline explanation.
type Piece struct {
	// Title names the piece in the "left out" report, e.g.
	// "callers of TOOL_CHANGE".
	Title  string
	Source *Source
	Note   *Note
	// Cut lets Pack keep the first lines of a source that does not fit
	// whole (use it for the section being explained, not for callers).
	Cut bool
}

func (p Piece) tokens() int {
	switch {
	case p.Source != nil:
		return p.Source.Tokens()
	case p.Note != nil:
		return p.Note.Tokens()
	}
	return 0
}

// Omission is a piece Pack left out, whole or in part.
type Omission struct {
	Title string `json:"title"`
	// Tokens is the estimated size of what was left out.
	Tokens int `json:"tokens"`
	// Lines is set when only the end of a source was cut: "lines 301-420".
	Lines string `json:"lines,omitempty"`
}

func (o Omission) String() string {
	if o.Lines != "" {
		return fmt.Sprintf("%s, %s (about %d tokens)", o.Title, o.Lines, o.Tokens)
	}
	return fmt.Sprintf("%s (about %d tokens)", o.Title, o.Tokens)
}

// Packed is the context that fits a budget.
type Packed struct {
	Sources []Source   `json:"sources"`
	Notes   []Note     `json:"notes"`
	Omitted []Omission `json:"omitted"`
	// Tokens is the estimated size of what was kept.
	Tokens int `json:"tokens"`
	Budget int `json:"budget"`
}

// Pack keeps the pieces that fit within budget tokens, in the order given.
// A piece that does not fit is left out and the next ones are still tried
// (a small definition may fit where a long caller did not); a source piece
// marked Cut keeps as many of its first lines as fit. Everything left out is
// reported in Omitted, in order.
func Pack(pieces []Piece, budget int) Packed {
	p := Packed{Budget: budget}
	for _, pc := range pieces {
		cost := pc.tokens()
		if cost == 0 {
			continue
		}
		if p.Tokens+cost <= budget {
			p.Tokens += cost
			if pc.Source != nil {
				p.Sources = append(p.Sources, *pc.Source)
			} else {
				p.Notes = append(p.Notes, *pc.Note)
			}
			continue
		}
		if pc.Source != nil && pc.Cut {
			if kept, ok := cutToFit(*pc.Source, budget-p.Tokens); ok {
				p.Tokens += kept.Tokens()
				p.Sources = append(p.Sources, kept)
				p.Omitted = append(p.Omitted, Omission{
					Title:  pc.Title,
					Tokens: cost - kept.Tokens(),
					Lines:  fmt.Sprintf("lines %d-%d", kept.LastLine()+1, pc.Source.LastLine()),
				})
				continue
			}
		}
		p.Omitted = append(p.Omitted, Omission{Title: pc.Title, Tokens: cost})
	}
	return p
}

// cutToFit returns the longest head of s that costs at most room tokens.
func cutToFit(s Source, room int) (Source, bool) {
	n := pieceOverhead + EstimateTokens(s.title())
	keep := 0
	for ln := s.FirstLine; ln <= s.LastLine(); ln++ {
		n += EstimateTokens(s.block(ln))
		if n > room {
			break
		}
		keep++
	}
	if keep == 0 {
		return Source{}, false
	}
	s.Lines = s.Lines[:keep]
	// The title changes with the line count; trim until it fits again.
	for keep > 0 && s.Tokens() > room {
		keep--
		s.Lines = s.Lines[:keep]
	}
	return s, keep > 0
}

// Fill puts the packed context into r: its sources, notes and the list of
// what was left out.
func (p Packed) Fill(r *Request) {
	r.Sources = p.Sources
	r.Notes = p.Notes
	r.LeftOut = nil
	for _, o := range p.Omitted {
		r.LeftOut = append(r.LeftOut, o.String())
	}
}

// Summary says in one sentence what was left out, for the page ("" when
// everything fit).
func (p Packed) Summary() string {
	if len(p.Omitted) == 0 {
		return ""
	}
	parts := make([]string, len(p.Omitted))
	for i, o := range p.Omitted {
		parts[i] = o.String()
	}
	return fmt.Sprintf("Left out to stay within the %d-token context budget: %s.", p.Budget, strings.Join(parts, "; "))
}
