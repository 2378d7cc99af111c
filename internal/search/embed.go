package search

import (
	"math"
	"slices"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Dims is the size of the structural embedding.
const Dims = 512

// The structural embedding is a hashed TF-IDF vector: every feature of a
// file or section (identifiers, words, keywords, output words, token-kind
// n-grams, syntax-tree path shingles, header settings) is hashed into one
// of Dims signed buckets with weight (1 + ln tf) × a prior IDF of its class,
// and the vector is L2-normalised. It needs no model and no corpus
// statistics, so it is the same on every server and for every upload order.
//
// The prior IDF says how much a class tells posts apart: what a post writes
// and which names it uses weigh most; keywords and the shape of the code
// weigh less; names the UPG language itself defines (system variables,
// built-ins) weigh less than the post's own.
//
// Every word a file or section carries — identifiers and their parts,
// words of comments and labels, words it outputs — is also counted in one
// shared word channel ('w'), which is all a free-text query is embedded
// in; the other channels say what kind of word it was, and how the code is
// shaped.
var classWeight = map[byte]float64{
	'w': 1.0,  // any word: identifier, identifier part, comment or label word, output word
	'i': 0.8,  // identifier (canonical term)
	'o': 0.8,  // word a :T: line outputs (M06, G43)
	'h': 1.0,  // header setting (:5AXIS_MILLING=TRUE)
	'k': 0.15, // keyword (IF, THEN …)
	'f': 0.4,  // built-in function or command
	'n': 0.3,  // token-kind trigram of a line
	'p': 0.3,  // syntax-tree path shingle
}

// systemNameWeight scales identifiers the language defines.
const systemNameWeight = 0.5

// features is a bag of hashed features: count and prior weight by hash.
type features map[uint64]feat

type feat struct {
	n int32
	w float32
}

// featureHash is FNV-1a of class, ':' and v (no allocation).
func featureHash(class byte, v string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(class)) * prime
	h = (h ^ ':') * prime
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * prime
	}
	return h
}

func (f features) add(class byte, v string) {
	if v == "" {
		return
	}
	h := featureHash(class, v)
	e, ok := f[h]
	if !ok {
		w := classWeight[class]
		if class == 'i' && upg.IsSystemName(v) {
			w *= systemNameWeight
		}
		e.w = float32(w)
	}
	e.n++
	f[h] = e
}

func (f features) merge(g features) {
	for h, e := range g {
		x, ok := f[h]
		if !ok {
			x.w = e.w
		}
		x.n += e.n
		f[h] = x
	}
}

// embed hashes the bag into a normalised vector. Features are visited in
// sorted order so the floating-point sums are the same on every run.
func (f features) embed() []float32 {
	v := make([]float64, Dims)
	keys := make([]uint64, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, h := range keys {
		e := f[h]
		w := float64(e.w) * (1 + math.Log(float64(e.n)))
		if h>>63 == 1 {
			w = -w
		}
		v[h%Dims] += w
	}
	return normalize(v)
}

func normalize(v []float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	n = math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

// Cosine is the cosine similarity of two vectors (0 when either is zero or
// their sizes differ).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Combine is the normalised weighted sum of vectors (the embedding of a
// package version from its files').
func Combine(vecs [][]float32, weights []float64) []float32 {
	if len(vecs) == 0 {
		return nil
	}
	sum := make([]float64, len(vecs[0]))
	for i, v := range vecs {
		if len(v) != len(sum) {
			continue
		}
		for j, x := range v {
			sum[j] += weights[i] * float64(x)
		}
	}
	return normalize(sum)
}

// EmbedQuery is the structural embedding of free text: its words in the
// word channel, where every section's names, comments, labels and output
// words are too.
func EmbedQuery(words []string) []float32 {
	f := features{}
	for _, w := range words {
		f.add('w', w)
		for _, p := range Parts(w) {
			f.add('w', p)
		}
	}
	return f.embed()
}

// lineFeatures are the token features of one line of UPG source.
func lineFeatures(f *upg.File, ln *upg.Line, l *Line, decode func([]byte) string) features {
	out := features{}
	var kinds []string
	for _, tok := range f.LineTokens(l.N) {
		switch tok.Kind {
		case upg.TokSpace, upg.TokEOL, upg.TokEOF:
			continue
		}
		kinds = append(kinds, tok.Kind.String())
		text := decode(f.Src[tok.Offset:tok.End])
		switch tok.Kind {
		case upg.TokName, upg.TokVariable:
			t := IdentTerm(text)
			out.add('i', t)
			out.add('w', t)
			for _, p := range Parts(t) {
				out.add('w', p)
			}
		case upg.TokFunction:
			out.add('f', IdentTerm(text))
		case upg.TokKeyword:
			out.add('k', term(text))
		case upg.TokComment, upg.TokValue, upg.TokString, upg.TokText:
			for _, w := range Words(text) {
				out.add('w', w)
				for _, p := range Parts(w) {
					out.add('w', p)
				}
			}
		}
	}
	if l.Class != ClassComment {
		for i := 0; i+3 <= len(kinds); i++ {
			out.add('n', strings.Join(kinds[i:i+3], "|"))
		}
		if len(kinds) > 0 && len(kinds) < 3 {
			out.add('n', strings.Join(kinds, "|"))
		}
	}
	for _, w := range Words(l.Output) {
		out.add('o', w)
		out.add('w', w)
	}
	return out
}

// pathFeatures are the syntax-tree path shingles of a section: for every
// node, the names of it and its two nearest ancestors ("IfStmt>Assign>Binary").
func pathFeatures(s *upg.Section) features {
	out := features{}
	var stack []string
	upg.Inspect(s, func(n upg.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		stack = append(stack, nodeName(n))
		from := max(0, len(stack)-3)
		out.add('p', strings.Join(stack[from:], ">"))
		return true
	})
	return out
}

func nodeName(n upg.Node) string {
	switch n := n.(type) {
	case *upg.Section:
		return "Section"
	case *upg.Command:
		return "Cmd"
	case *upg.FuncRef:
		return "FuncRef"
	case *upg.TemplateLine:
		if n.If != nil {
			return "TemplateIf"
		}
		return "Template"
	case *upg.TextItem:
		return "Text"
	case *upg.TokenItem:
		return "Token:" + n.Form.String()
	case *upg.Ident:
		return "Ident"
	case *upg.BasicLit:
		if n.Kind == upg.LitString {
			return "String"
		}
		return "Number"
	case *upg.BinaryExpr:
		return "Binary" + n.Op
	case *upg.UnaryExpr:
		return "Unary"
	case *upg.ParenExpr:
		return "Paren"
	case *upg.CallExpr:
		return "Call"
	case *upg.TokenRef:
		return "TokenRef"
	case *upg.AssignStmt:
		return "Assign"
	case *upg.CallStmt:
		return "CallStmt"
	case *upg.CommandStmt:
		return "CommandStmt"
	case *upg.IfStmt:
		return "If"
	case *upg.GotoStmt:
		return "Goto"
	case *upg.ReturnStmt:
		return "Return"
	}
	return "Node"
}

// sourceFeatures fills the section vectors of d and returns the whole
// file's feature bag.
func sourceFeatures(d *Document, f *upg.File, decode func([]byte) string) features {
	file := features{}
	secs := make([]features, len(d.Sections))
	for i := range secs {
		secs[i] = pathFeatures(f.Sections[i])
		file.merge(secs[i])
	}
	for i := range d.Lines {
		l := &d.Lines[i]
		lf := lineFeatures(f, &f.Lines[l.N-1], l, decode)
		file.merge(lf)
		if l.Section >= 0 {
			secs[l.Section].merge(lf)
		}
	}
	for _, h := range f.Headers {
		file.add('h', h.Key()+"="+strings.ToUpper(strings.TrimSpace(h.Value())))
	}
	for i := range d.Sections {
		d.Sections[i].Vector = secs[i].embed()
	}
	return file
}

// textFeatures is the bag of a side file (.CNF, .PINF, .KIN, .LNG): its
// words, and its KEY=VALUE settings.
func textFeatures(d *Document) features {
	out := features{}
	for _, l := range d.Lines {
		for _, w := range l.Words {
			out.add('w', w)
		}
		if k, v, ok := strings.Cut(l.Text, "="); ok && !strings.ContainsAny(k, " \t") {
			out.add('h', strings.ToUpper(strings.TrimSpace(k))+"="+strings.ToUpper(strings.TrimSpace(v)))
		}
	}
	return out
}
