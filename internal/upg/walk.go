package upg

// Inspect traverses the tree rooted at n in depth-first order, like
// go/ast.Inspect: it calls fn(n); when fn returns true it visits n's
// children and then calls fn(nil). n may be any node, a *File's item, a
// *Section, a statement, an expression or a template line.
func Inspect(n Node, fn func(Node) bool) {
	if n == nil || isNilNode(n) || !fn(n) {
		return
	}
	switch n := n.(type) {
	case *Attribute:
		Inspect(n.Start, fn)
		for _, c := range n.Commands {
			Inspect(c, fn)
		}
		if n.EndCmd != nil {
			Inspect(n.EndCmd, fn)
		}
	case *Operation:
		Inspect(n.Start, fn)
		for _, c := range n.Commands {
			Inspect(c, fn)
		}
		if n.EndCmd != nil {
			Inspect(n.EndCmd, fn)
		}
	case *Command:
		if fr := n.Func(); fr != nil {
			Inspect(fr, fn)
		}
		if d := n.Define(); d != nil {
			Inspect(d, fn)
		}
	case *FuncRef:
		Inspect(n.Name, fn)
		for _, a := range n.Args {
			Inspect(a, fn)
		}
	case *Section:
		Inspect(n.Header, fn)
		for _, t := range n.Templates {
			Inspect(t, fn)
		}
		for _, s := range n.Body() {
			Inspect(s, fn)
		}
	case *TemplateLine:
		if n.If != nil && n.If.Cond != nil {
			Inspect(n.If.Cond, fn)
		}
		for _, it := range n.Items {
			Inspect(it, fn)
		}
	case *TokenItem:
		if n.Name != nil {
			Inspect(n.Name, fn)
		}
		if n.Value != nil {
			Inspect(n.Value, fn)
		}
	case *BinaryExpr:
		Inspect(n.X, fn)
		Inspect(n.Y, fn)
	case *UnaryExpr:
		Inspect(n.X, fn)
	case *ParenExpr:
		Inspect(n.X, fn)
	case *CallExpr:
		Inspect(n.Fun, fn)
		for _, a := range n.Args {
			Inspect(a, fn)
		}
	case *TokenRef:
		if n.Name != nil {
			Inspect(n.Name, fn)
		}
	case *AssignStmt:
		Inspect(n.Lhs, fn)
		Inspect(n.Rhs, fn)
	case *CallStmt:
		if n.Section != nil {
			Inspect(n.Section, fn)
		}
		for _, a := range n.Args {
			Inspect(a, fn)
		}
	case *CommandStmt:
		Inspect(n.X, fn)
	case *IfStmt:
		Inspect(n.Cond, fn)
		for _, s := range n.Body {
			Inspect(s, fn)
		}
		for _, s := range n.Else {
			Inspect(s, fn)
		}
	}
	fn(nil)
}

// isNilNode guards against typed nil pointers stored in interfaces.
func isNilNode(n Node) bool {
	switch n := n.(type) {
	case *Ident:
		return n == nil
	case *Command:
		return n == nil
	case *FuncRef:
		return n == nil
	case *TemplateLine:
		return n == nil
	case *Section:
		return n == nil
	}
	return false
}
