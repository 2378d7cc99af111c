package llm_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/llm"
)

func TestEstimateTokens(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{{"", 0}, {"a", 1}, {"abcd", 1}, {"abcde", 2}, {strings.Repeat("x", 4000), 1000}} {
		if got := llm.EstimateTokens(c.s); got != c.want {
			t.Errorf("EstimateTokens(%d bytes) = %d, want %d", len(c.s), got, c.want)
		}
	}
}

func TestPack(t *testing.T) {
	src := source(t, "TOOLCHG.SRC")
	section := llm.Source{File: src.File, FirstLine: 2, Lines: src.Lines[1:10]}
	tape := llm.Source{File: src.File, FirstLine: 11, Lines: src.Lines[10:]}
	coolant := source(t, "COOLANT.LIB")
	meaning := llm.Note{Title: "TOOL_NUMBER", Text: "The number of the tool being loaded."}
	offline := llm.Note{Title: "Offline explanation", Text: strings.Repeat("It outputs the tool change. ", 40)}
	pieces := []llm.Piece{
		{Title: "section TOOL_CHANGE", Source: &section, Cut: true},
		{Title: "callee END_OF_TAPE", Source: &tape},
		{Title: "offline explanation", Note: &offline},
		{Title: "COOLANT.LIB", Source: &coolant},
		{Title: "meaning of TOOL_NUMBER", Note: &meaning},
	}
	sizes := []int{section.Tokens(), tape.Tokens(), offline.Tokens(), coolant.Tokens(), meaning.Tokens()}
	total := 0
	for _, s := range sizes {
		total += s
	}

	t.Run("everything fits", func(t *testing.T) {
		p := llm.Pack(pieces, total)
		if len(p.Omitted) != 0 || len(p.Sources) != 3 || len(p.Notes) != 2 || p.Tokens != total || p.Summary() != "" {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("a big piece is skipped, smaller ones after it still fit", func(t *testing.T) {
		budget := sizes[0] + sizes[1] + sizes[3] + sizes[4]
		p := llm.Pack(pieces, budget)
		if len(p.Omitted) != 1 || p.Omitted[0].Title != "offline explanation" || p.Omitted[0].Tokens != sizes[2] {
			t.Fatalf("omitted %+v", p.Omitted)
		}
		if len(p.Sources) != 3 || len(p.Notes) != 1 || p.Notes[0].Title != "TOOL_NUMBER" || p.Tokens != budget {
			t.Fatalf("kept %+v", p)
		}
		if !strings.Contains(p.Summary(), "offline explanation (about") {
			t.Fatalf("summary %q", p.Summary())
		}
	})
	t.Run("the section is cut at a line, the rest reported", func(t *testing.T) {
		budget := sizes[0] / 2
		p := llm.Pack(pieces, budget)
		if len(p.Sources) != 1 {
			t.Fatalf("sources %+v", p.Sources)
		}
		kept := p.Sources[0]
		if kept.FirstLine != 2 || len(kept.Lines) == 0 || len(kept.Lines) >= len(section.Lines) || kept.Tokens() > budget {
			t.Fatalf("cut section: lines %d-%d, %d tokens for a budget of %d", kept.FirstLine, kept.LastLine(), kept.Tokens(), budget)
		}
		// One more line would not have fitted.
		longer := kept
		longer.Lines = section.Lines[:len(kept.Lines)+1]
		if longer.Tokens() <= budget {
			t.Fatalf("the cut keeps %d lines but %d fit", len(kept.Lines), len(longer.Lines))
		}
		o := p.Omitted[0]
		if o.Title != "section TOOL_CHANGE" || o.Lines == "" || o.Tokens != sizes[0]-kept.Tokens() {
			t.Fatalf("omission %+v", o)
		}
		if !regexp.MustCompile(`^lines \d+-10$`).MatchString(o.Lines) || !strings.HasPrefix(o.Lines, "lines "+strconv.Itoa(kept.LastLine()+1)+"-") {
			t.Fatalf("omitted lines %q after keeping up to %d", o.Lines, kept.LastLine())
		}
	})
	t.Run("a callee is never cut", func(t *testing.T) {
		p := llm.Pack(pieces[1:2], sizes[1]-1)
		if len(p.Sources) != 0 || len(p.Omitted) != 1 || p.Omitted[0].Lines != "" {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("never over budget", func(t *testing.T) {
		for budget := 0; budget <= total+10; budget += 7 {
			if p := llm.Pack(pieces, budget); p.Tokens > budget {
				t.Fatalf("budget %d: packed %d", budget, p.Tokens)
			}
		}
	})
	t.Run("fill", func(t *testing.T) {
		p := llm.Pack(pieces, sizes[0]+sizes[1])
		var r llm.Request
		p.Fill(&r)
		if len(r.Sources) != 2 || len(r.Notes) != 0 || len(r.LeftOut) != 3 || !strings.HasPrefix(r.LeftOut[0], "offline explanation") {
			t.Fatalf("%+v", r)
		}
	})
}

func TestCacheKey(t *testing.T) {
	base := func() llm.Request { return request(t) }
	key := func(r llm.Request) string { return llm.CacheKey("anthropic", "m", 700, r) }
	k0 := key(base())
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(k0) || key(base()) != k0 {
		t.Fatalf("key %q is not a stable sha256 hex", k0)
	}
	same := []func(r *llm.Request){
		func(r *llm.Request) { r.Kind = "question" },
		func(r *llm.Request) { r.Sources[0].ID = "another-file-id" },
		func(r *llm.Request) { r.Question = "  " + r.Question + "\n" },
	}
	for i, mod := range same {
		r := base()
		mod(&r)
		if key(r) != k0 {
			t.Errorf("same-answer change %d changed the key", i)
		}
	}
	different := map[string]func(r *llm.Request){
		"question":     func(r *llm.Request) { r.Question += "?" },
		"instructions": func(r *llm.Request) { r.Instructions = "Be brief." },
		"a line":       func(r *llm.Request) { r.Sources[0].Lines = append([]string{"x"}, r.Sources[0].Lines[1:]...) },
		"first line":   func(r *llm.Request) { r.Sources[0].FirstLine++ },
		"file name":    func(r *llm.Request) { r.Sources[1].File = "COOLANT2.LIB" },
		"source order": func(r *llm.Request) { r.Sources[0], r.Sources[1] = r.Sources[1], r.Sources[0] },
		"note":         func(r *llm.Request) { r.Notes[0].Text += "." },
		"left out":     func(r *llm.Request) { r.LeftOut = []string{"callers"} },
		"line split": func(r *llm.Request) {
			r.Sources[1].Lines = append([]string{r.Sources[1].Lines[0] + r.Sources[1].Lines[1]}, r.Sources[1].Lines[2:]...)
		},
	}
	for name, mod := range different {
		r := base()
		mod(&r)
		if key(r) == k0 {
			t.Errorf("changing the %s kept the key", name)
		}
	}
	for name, k := range map[string]string{
		"model":    llm.CacheKey("anthropic", "m2", 700, base()),
		"provider": llm.CacheKey("openai", "m", 700, base()),
		"limit":    llm.CacheKey("anthropic", "m", 701, base()),
	} {
		if k == k0 {
			t.Errorf("changing the %s kept the key", name)
		}
	}
}
