package upg

import (
	"fmt"
	"strconv"
	"strings"
)

// TreeNode is a JSON-friendly, self-describing view of one syntax node, for
// `veripost parse --json --tree`, debugging and golden tests. Type names the
// node ("section", "if", "binary" …); positions are resolved.
type TreeNode struct {
	Type     string      `json:"type"`
	Offset   int         `json:"offset"`
	End      int         `json:"end"`
	Line     int         `json:"line"`
	Col      int         `json:"col"`
	Name     string      `json:"name,omitempty"`
	Value    string      `json:"value,omitempty"`
	Op       string      `json:"op,omitempty"`
	Kind     string      `json:"kind,omitempty"`
	Children []*TreeNode `json:"children,omitempty"`
}

// Tree converts the file's syntax tree into TreeNodes: a "file" node whose
// children are the top-level items in source order.
func (f *File) Tree() *TreeNode {
	root := &TreeNode{Type: "file", Offset: 0, End: len(f.Src), Line: 1, Col: 1, Name: f.Name, Kind: string(f.Kind)}
	if f.ControlFamily != "" {
		root.Value = f.ControlFamily
	}
	for _, it := range f.Items {
		root.Children = append(root.Children, f.treeOf(it))
	}
	return root
}

func (f *File) mk(typ string, n Node) *TreeNode {
	pos := f.Position(n.Pos())
	return &TreeNode{Type: typ, Offset: n.Pos(), End: n.End(), Line: pos.Line, Col: pos.Col}
}

func (f *File) treeOf(n Node) *TreeNode {
	switch n := n.(type) {
	case *Command:
		t := f.mk("command", n)
		t.Name = n.Name()
		t.Op = n.Op()
		t.Value = n.Value()
		if fr := n.Func(); fr != nil {
			t.Children = append(t.Children, f.funcTree(fr))
		}
		return t
	case *Define:
		t := f.mk("define", n)
		t.Name, t.Value = n.Name, n.Value
		return t
	case *Include:
		t := f.mk("include", n)
		t.Kind = "include"
		if n.Library {
			t.Kind = "library"
		}
		t.Value = n.Path
		return t
	case *Attribute:
		t := f.mk("attribute", n)
		t.Name = n.Name
		for _, c := range n.Commands {
			t.Children = append(t.Children, f.treeOf(c))
		}
		if n.EndCmd == nil {
			t.Kind = "unterminated"
		}
		return t
	case *Operation:
		t := f.mk("operation", n)
		t.Name = n.ID
		for _, c := range n.Commands {
			t.Children = append(t.Children, f.treeOf(c))
		}
		return t
	case *Section:
		t := f.mk("section", n)
		t.Name = n.Name
		t.Kind = "template"
		if n.Calc {
			t.Kind = "calc"
		}
		for _, p := range n.Params {
			c := f.mk("param", p)
			c.Name = p.Name
			t.Children = append(t.Children, c)
		}
		for _, tl := range n.Templates {
			t.Children = append(t.Children, f.treeOf(tl))
		}
		for _, l := range n.Labels {
			pos := f.Position(l.Pos)
			t.Children = append(t.Children, &TreeNode{Type: "label", Offset: l.Pos, End: l.Pos, Line: pos.Line, Col: pos.Col, Value: strconv.Itoa(l.N)})
		}
		for _, s := range n.Body() {
			t.Children = append(t.Children, f.treeOf(s))
		}
		return t
	case *StrayText:
		t := f.mk("text", n)
		t.Value = string(f.Src[n.Offset:n.EndOff])
		return t
	case *TemplateLine:
		t := f.mk("template", n)
		if n.If != nil {
			it := &TreeNode{Type: "if", Offset: n.If.If, End: n.End()}
			pos := f.Position(n.If.If)
			it.Line, it.Col = pos.Line, pos.Col
			if n.If.Cond != nil {
				it.Children = append(it.Children, f.treeOf(n.If.Cond))
			}
			for _, x := range n.Items {
				it.Children = append(it.Children, f.treeOf(x))
			}
			t.Children = append(t.Children, it)
			return t
		}
		for _, x := range n.Items {
			t.Children = append(t.Children, f.treeOf(x))
		}
		return t
	case *TextItem:
		t := f.mk("text", n)
		t.Value = n.Text
		return t
	case *TokenItem:
		t := f.mk("token", n)
		t.Kind = n.Form.String()
		if n.Name != nil {
			t.Name = n.Name.Name
		}
		if n.Force {
			t.Op = "!"
		}
		if n.Format != "" {
			t.Value = n.Format
		}
		if n.Value != nil {
			t.Children = append(t.Children, f.treeOf(n.Value))
		}
		return t
	case *Ident:
		t := f.mk("ident", n)
		t.Name = n.Name
		return t
	case *BasicLit:
		t := f.mk("number", n)
		if n.Kind == LitString {
			t.Type = "string"
		}
		t.Value = n.Value
		return t
	case *BinaryExpr:
		t := f.mk("binary", n)
		t.Op = n.Op
		t.Children = []*TreeNode{f.treeOf(n.X), f.treeOf(n.Y)}
		return t
	case *UnaryExpr:
		t := f.mk("unary", n)
		t.Op = n.Op
		t.Children = []*TreeNode{f.treeOf(n.X)}
		return t
	case *ParenExpr:
		t := f.mk("paren", n)
		t.Children = []*TreeNode{f.treeOf(n.X)}
		return t
	case *CallExpr:
		t := f.mk("call", n)
		t.Name = n.Fun.Name
		for _, a := range n.Args {
			t.Children = append(t.Children, f.treeOf(a))
		}
		return t
	case *TokenRef:
		t := f.mk("tokenref", n)
		if n.Name != nil {
			t.Name = n.Name.Name
		}
		if n.Force {
			t.Op = "!"
		}
		return t
	case *BadExpr:
		return f.mk("bad", n)
	case *AssignStmt:
		t := f.mk("assign", n)
		t.Children = []*TreeNode{f.treeOf(n.Lhs), f.treeOf(n.Rhs)}
		return t
	case *CallStmt:
		t := f.mk("CALL", n)
		if n.Section != nil {
			t.Name = n.Section.Name
		}
		for _, a := range n.Args {
			t.Children = append(t.Children, f.treeOf(a))
		}
		return t
	case *CommandStmt:
		t := f.mk("command", n)
		t.Children = []*TreeNode{f.treeOf(n.X)}
		return t
	case *IfStmt:
		t := f.mk("IF", n)
		t.Children = append(t.Children, f.treeOf(n.Cond))
		then := &TreeNode{Type: "then"}
		for _, s := range n.Body {
			then.Children = append(then.Children, f.treeOf(s))
		}
		t.Children = append(t.Children, then)
		if n.ElsePos >= 0 {
			els := &TreeNode{Type: "else"}
			for _, s := range n.Else {
				els.Children = append(els.Children, f.treeOf(s))
			}
			t.Children = append(t.Children, els)
		}
		if n.EndIf < 0 {
			t.Kind = "no-endif"
		}
		return t
	case *GotoStmt:
		t := f.mk("GOTO", n)
		t.Value = strconv.Itoa(n.Label)
		return t
	case *ReturnStmt:
		return f.mk("RETURN", n)
	case *BadStmt:
		return f.mk("bad", n)
	case *FuncRef:
		return f.funcTree(n)
	}
	return &TreeNode{Type: fmt.Sprintf("%T", n), Offset: n.Pos(), End: n.End()}
}

func (f *File) funcTree(fr *FuncRef) *TreeNode {
	t := f.mk("func", fr)
	t.Name = fr.Name.Name
	for _, a := range fr.Args {
		t.Children = append(t.Children, f.treeOf(a))
	}
	return t
}

// dumpDepth is the tree depth below which Dump writes "…".
const dumpDepth = 40

// Dump renders the syntax tree as indented text (one node a line), the
// line classification and the diagnostics: a compact, diff-friendly form used
// by golden tests and for debugging.
func (f *File) Dump() string {
	var b strings.Builder
	b.WriteString("# lines\n")
	for i := range f.Lines {
		ln := &f.Lines[i]
		fmt.Fprintf(&b, "%4d %-17s", i+1, ln.Kind)
		if ln.CommentedCode {
			b.WriteString(" (commented code)")
		}
		off := ln.Offset
		for t, last := ln.FirstTok, lastTok(f.Lines, i, f.NumTokens()); t < last; t++ {
			end := off + f.toks.lenOf(t)
			if k := f.toks.kinds[t]; k != TokSpace && k != TokEOL {
				fmt.Fprintf(&b, " %s%q", k, f.Src[off:end])
			}
			off = end
		}
		b.WriteByte('\n')
	}
	b.WriteString("# tree\n")
	var walk func(t *TreeNode, depth int)
	walk = func(t *TreeNode, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		if depth == dumpDepth {
			b.WriteString("…\n") // deeper levels are left out to keep the dump readable
			return
		}
		b.WriteString(t.Type)
		if t.Line > 0 {
			fmt.Fprintf(&b, " @%d:%d", t.Line, t.Col)
		}
		if t.Kind != "" {
			b.WriteString(" [" + t.Kind + "]")
		}
		if t.Name != "" {
			fmt.Fprintf(&b, " name=%q", t.Name)
		}
		if t.Op != "" {
			fmt.Fprintf(&b, " op=%q", t.Op)
		}
		if t.Value != "" {
			fmt.Fprintf(&b, " value=%q", t.Value)
		}
		b.WriteByte('\n')
		for _, c := range t.Children {
			walk(c, depth+1)
		}
	}
	walk(f.Tree(), 0)
	b.WriteString("# diagnostics\n")
	for _, d := range f.Diagnostics {
		fmt.Fprintf(&b, "%d:%d: %s %s: %s\n", d.Line, d.Col, d.Severity, d.Code, d.Message)
	}
	return b.String()
}
