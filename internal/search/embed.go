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

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// featureHash is FNV-1a of class, ':' and v (no allocation).
func featureHash(class byte, v string) uint64 {
	return fnvString(fnvClass(class), v)
}

// joinHash is featureHash(class, strings.Join(parts, string(sep))) without
// building the joined string.
func joinHash(class, sep byte, parts []string) uint64 {
	h := fnvClass(class)
	for i, p := range parts {
		if i > 0 {
			h = (h ^ uint64(sep)) * fnvPrime
		}
		h = fnvString(h, p)
	}
	return h
}

func fnvClass(class byte) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(class)) * fnvPrime
	return (h ^ ':') * fnvPrime
}

func fnvString(h uint64, v string) uint64 {
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * fnvPrime
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

// addHash counts a feature of a class other than 'i' by its hash.
func (f features) addHash(class byte, h uint64) {
	e, ok := f[h]
	if !ok {
		e.w = float32(classWeight[class])
	}
	e.n++
	f[h] = e
}

// bags are the bags a line's features go to: its file's and, when the
// line is in a section, the section's (nil otherwise).
type bags struct{ file, sec features }

func (b bags) add(class byte, v string) {
	b.file.add(class, v)
	if b.sec != nil {
		b.sec.add(class, v)
	}
}

func (b bags) addHash(class byte, h uint64) {
	b.file.addHash(class, h)
	if b.sec != nil {
		b.sec.addHash(class, h)
	}
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

// pathFeatures are the syntax-tree path shingles of a section: for every
// node, the names of it and its two nearest ancestors ("IfStmt>Assign>Binary").
func pathFeatures(s *upg.Section) features {
	out := features{}
	var stack []nodeLabel
	upg.Inspect(s, func(n upg.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		stack = append(stack, nodeName(n))
		h := fnvClass('p')
		for i, l := range stack[max(0, len(stack)-3):] {
			if i > 0 {
				h = (h ^ '>') * fnvPrime
			}
			h = fnvString(fnvString(h, l.name), l.detail)
		}
		out.addHash('p', h)
		return true
	})
	return out
}

// nodeLabel is a node's name in path shingles: name followed by detail
// (an operator or a token form), kept apart so no string is built per node.
type nodeLabel struct{ name, detail string }

func nodeName(n upg.Node) nodeLabel {
	switch n := n.(type) {
	case *upg.Section:
		return nodeLabel{name: "Section"}
	case *upg.Command:
		return nodeLabel{name: "Cmd"}
	case *upg.FuncRef:
		return nodeLabel{name: "FuncRef"}
	case *upg.TemplateLine:
		if n.If != nil {
			return nodeLabel{name: "TemplateIf"}
		}
		return nodeLabel{name: "Template"}
	case *upg.TextItem:
		return nodeLabel{name: "Text"}
	case *upg.TokenItem:
		return nodeLabel{"Token:", n.Form.String()}
	case *upg.Ident:
		return nodeLabel{name: "Ident"}
	case *upg.BasicLit:
		if n.Kind == upg.LitString {
			return nodeLabel{name: "String"}
		}
		return nodeLabel{name: "Number"}
	case *upg.BinaryExpr:
		return nodeLabel{"Binary", n.Op}
	case *upg.UnaryExpr:
		return nodeLabel{name: "Unary"}
	case *upg.ParenExpr:
		return nodeLabel{name: "Paren"}
	case *upg.CallExpr:
		return nodeLabel{name: "Call"}
	case *upg.TokenRef:
		return nodeLabel{name: "TokenRef"}
	case *upg.AssignStmt:
		return nodeLabel{name: "Assign"}
	case *upg.CallStmt:
		return nodeLabel{name: "CallStmt"}
	case *upg.CommandStmt:
		return nodeLabel{name: "CommandStmt"}
	case *upg.IfStmt:
		return nodeLabel{name: "If"}
	case *upg.GotoStmt:
		return nodeLabel{name: "Goto"}
	case *upg.ReturnStmt:
		return nodeLabel{name: "Return"}
	}
	return nodeLabel{name: "Node"}
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
