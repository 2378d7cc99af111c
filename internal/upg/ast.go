package upg

import (
	"fmt"
	"strings"
)

// LineKind classifies a physical line. Every line of a parsed file has
// exactly one kind; none is left unclassified.
type LineKind uint8

const (
	LineInvalid     LineKind = iota // never produced by Parse
	LineBlank                       // "blank": empty or only blanks/tabs
	LineComment                     // "comment": '*' line (incl. commented-out code) or free text inside *START COMMENTS … *END COMMENTS
	LineMarker                      // "marker": control-family marker on line 1 (*FANUCM, *PathPilot)
	LineHeader                      // "header": :NAME=VALUE global header command (also :IDHIGH=, :ATTRMACHINE=, .CNF :CONFIG_SELECT_…)
	LineDefine                      // "define": :DEFINE NAME=value
	LineLibrary                     // "library": :LIBRARY=path
	LineInclude                     // "include": :INCLUDE=path
	LineAttrStart                   // "attribute-start": :ATTRNAME=
	LineAttrCommand                 // "attribute-command": a sub-command inside (or stray outside) an attribute block
	LineAttrEnd                     // "attribute-end": :ATTREND
	LineOperStart                   // "operation-start": :OPERID=
	LineOperCommand                 // "operation-command": :OPERSUB= / :OPERLIST=
	LineOperEnd                     // "operation-end": :OPEREND
	LineSection                     // "section": :SECTION=NAME
	LineTemplate                    // "template": :T: output line
	LineCalc                        // "calc": :C: or :Cn: calculation line
	LineText                        // "text": stray free text (warning)
	LineEOF                         // "eof": line holding the DOS end-of-file byte 0x1A
	LineIgnored                     // "ignored": after the DOS end-of-file byte
	numLineKinds
)

var lineKindNames = [numLineKinds]string{
	"invalid", "blank", "comment", "marker", "header", "define", "library", "include",
	"attribute-start", "attribute-command", "attribute-end", "operation-start",
	"operation-command", "operation-end", "section", "template", "calc", "text", "eof", "ignored",
}

func (k LineKind) String() string {
	if int(k) < len(lineKindNames) {
		return lineKindNames[k]
	}
	return fmt.Sprintf("LineKind(%d)", k)
}

// MarshalText writes the kind's stable name.
func (k LineKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind name.
func (k *LineKind) UnmarshalText(b []byte) error {
	for i, n := range lineKindNames {
		if n == string(b) {
			*k = LineKind(i)
			return nil
		}
	}
	return fmt.Errorf("upg: unknown line kind %q", b)
}

// LineKinds returns all line kind names in enum order (without "invalid").
func LineKinds() []string { return append([]string(nil), lineKindNames[1:]...) }

// Line is one physical line. Src[Offset:End] is its content without the line
// terminator; Src[End:EOLEnd()] is the terminator ("", "\n", "\r\n" or a
// lone "\r"). Its tokens, the terminator included, start at token FirstTok
// and run up to the next line's FirstTok (see File.LineTokens). A Line is
// 16 bytes: a 300 KB library has ten thousand of them.
type Line struct {
	Kind LineKind
	// CommentedCode is set on comment lines whose text is a disabled command
	// ("*:SECTION=…", "*:C: …").
	CommentedCode bool
	EOLLen        uint8 // length of the terminator: 0, 1 or 2
	Offset        int32
	End           int32
	FirstTok      int32
}

// EOLEnd is the offset after the line's terminator: the next line's Offset.
func (l *Line) EOLEnd() int32 { return l.End + int32(l.EOLLen) }

// Node is any syntax tree node. Pos and End are byte offsets into the
// file's source (End exclusive); File.Position turns them into line/col.
type Node interface {
	Pos() int
	End() int
}

// Span is a byte range [Offset, EndOff) of the source.
type Span struct {
	Offset int `json:"offset"`
	EndOff int `json:"end"`
}

// Pos returns the start offset.
func (s Span) Pos() int { return s.Offset }

// End returns the end offset (exclusive).
func (s Span) End() int { return s.EndOff }

// ---------------------------------------------------------------- commands

// Command is a ':' command line: a header command, an attribute or operation
// sub-command, :SECTION=, :LIBRARY=, :DEFINE …  Name is written without the
// colon, as in the source (e.g. "ATTRNAME"); Key() is its upper-case form.
// A 300 KB library has thousands of commands, so a Command is kept small
// (48 bytes, two pointers for the collector to follow): offsets are int32
// (like Token's), Name and Value are read from the file's source when
// asked for, the upper-case key is computed rather than stored, and the
// rarely set parsed values (Func, Define) sit behind one pointer.
type Command struct {
	file     *File   // whose Src holds Name and Value
	ext      *cmdExt // Func, Define, a Value without control bytes; nil for most commands
	Colon    int32   // offset of the ':'
	NameEnd  int32   //
	OpPos    int32   // -1 when Op == ""
	ValuePos int32   // offset of Value (end of line when empty)
	ValueEnd int32   //
	Line     int32   // 1-based
	EndOff   int32   // end of the line content
	Known    bool    // the command is in the language catalogue
	op       byte    // '=', '>' or '<' (see Op), 0 for none
	id       uint16  // catalogue id (cmdByID), 0 when unknown
}

// cmdExt holds the parsed values that only a few commands have.
type cmdExt struct {
	fn    *FuncRef
	def   *Define
	value *string // the value without the control bytes of its line
}

// Name is the command word as written (without the colon).
func (c *Command) Name() string { return unsafeString(c.file.Src[c.Colon+1 : c.NameEnd]) }

// Value is the trimmed value text ("" when none); control bytes on the
// line are left out of it.
func (c *Command) Value() string {
	if c.ext != nil && c.ext.value != nil {
		return *c.ext.value
	}
	return unsafeString(c.file.Src[c.ValuePos:c.ValueEnd])
}

// Key is the upper-case command word: the catalogue's spelling for a known
// command (no copy), the name upper-cased otherwise.
func (c *Command) Key() string {
	if c.id != 0 {
		return cmdByID[c.id].key
	}
	return strings.ToUpper(c.Name())
}

// Func is the parsed value of :ATTRCFUNC=NAME(args), :ATTRFUNC=NAME and
// :SECTION=NAME(params); nil for other commands.
func (c *Command) Func() *FuncRef {
	if c.ext == nil {
		return nil
	}
	return c.ext.fn
}

// Define holds NAME and value of a :DEFINE line; nil for other commands.
func (c *Command) Define() *Define {
	if c.ext == nil {
		return nil
	}
	return c.ext.def
}

// Op is "=", or ">"/"<" for :SELECT>54, "" for flags and :DEFINE.
func (c *Command) Op() string {
	switch c.op {
	case '=':
		return "="
	case '>':
		return ">"
	case '<':
		return "<"
	}
	return ""
}

// info is what the catalogue says about the command (zero when unknown).
func (c *Command) info() *cmdInfo { return &cmdByID[c.id] }

func (c *Command) Pos() int { return int(c.Colon) }
func (c *Command) End() int { return int(c.EndOff) }

// HasValue reports whether the command was written with '=' (or another
// operator) and a value.
func (c *Command) HasValue() bool { return c.op != 0 }

// FuncRef is NAME or NAME(a, b, …) as written after :SECTION=, :ATTRCFUNC=
// and :ATTRFUNC=.
type FuncRef struct {
	Name   *Ident
	Lparen int    // -1 when there is no argument list
	Args   []Expr // parameters (:SECTION) or arguments (:ATTRCFUNC)
	Rparen int    // -1 when missing
}

func (f *FuncRef) Pos() int { return f.Name.Pos() }
func (f *FuncRef) End() int {
	if f.Rparen >= 0 {
		return f.Rparen + 1
	}
	if n := len(f.Args); n > 0 {
		return f.Args[n-1].End()
	}
	return f.Name.End()
}

// Define is ":DEFINE NAME=value".
type Define struct {
	Command  *Command `json:"-"` // the :DEFINE line (whose Define points back here)
	Name     string
	NamePos  int
	Value    string
	ValuePos int
	Line     int
}

func (d *Define) Pos() int { return d.Command.Pos() }
func (d *Define) End() int { return d.Command.End() }

// Include is a :LIBRARY= or :INCLUDE= line.
type Include struct {
	Command *Command
	Library bool   // true for :LIBRARY, false for :INCLUDE
	Path    string // as written (trimmed)
	Line    int
}

func (i *Include) Pos() int { return i.Command.Pos() }
func (i *Include) End() int { return i.Command.End() }

// ---------------------------------------------------------------- blocks

// Attribute is an :ATTRNAME= … :ATTREND block. The values of its frequent
// sub-commands (Type, Default, ID …) are read from Commands when asked for
// rather than stored: a library has hundreds of attributes.
type Attribute struct {
	Start         *Command   // the :ATTRNAME= line
	Name          string     // as written, blanks kept ("MACHINE NAME")
	Commands      []*Command // sub-commands in order (without Start and EndCmd)
	EndCmd        *Command   // :ATTREND (or the :OPEREND that closed it); nil when unterminated
	SelectStrings []string   // :ATTRSELSTR values in order
	List          []ListMember
	Selects       []*SelectGroup
	StartLine     int // 1-based, inclusive
	EndLine       int // 1-based, inclusive
	EndOffset     int // end of the last line of the block
}

// last is the last sub-command with this catalogue key, nil when none.
// With before set, only commands before the first :SELECT count.
func (a *Attribute) last(key string, beforeSelect bool) *Command {
	id := commands()[key].id
	cmds := a.Commands
	if beforeSelect && len(a.Selects) > 0 {
		sel := commands()["SELECT"].id
		for i, c := range cmds {
			if c.id == sel {
				cmds = cmds[:i]
				break
			}
		}
	}
	for i := len(cmds) - 1; i >= 0; i-- {
		if cmds[i].id == id {
			return cmds[i]
		}
	}
	return nil
}

// value is the value of the last sub-command with this key ("" when none).
func (a *Attribute) value(key string, beforeSelect bool) string {
	if c := a.last(key, beforeSelect); c != nil {
		return c.Value()
	}
	return ""
}

// Type is the :ATTRTYPE= value (the last one when repeated).
func (a *Attribute) Type() string { return a.value("ATTRTYPE", false) }

// VType is the :ATTRVTYPE= value.
func (a *Attribute) VType() string { return a.value("ATTRVTYPE", false) }

// Default is the :ATTRDEFAULT= value.
func (a *Attribute) Default() string { return a.value("ATTRDEFAULT", false) }

// ID is the :ATTRID= value.
func (a *Attribute) ID() string { return a.value("ATTRID", false) }

// VCnt is the :ATTRVCNT= value.
func (a *Attribute) VCnt() string { return a.value("ATTRVCNT", false) }

// CodeType is the :CODETYPE= value.
func (a *Attribute) CodeType() string { return a.value("CODETYPE", false) }

// Var is the :VAR= value of the attribute itself (not of a :SELECT group).
func (a *Attribute) Var() string { return a.value("VAR", true) }

// CFunc is the parsed :ATTRCFUNC= value.
func (a *Attribute) CFunc() *FuncRef {
	if c := a.last("ATTRCFUNC", false); c != nil {
		return c.Func()
	}
	return nil
}

// AttrFunc is the parsed :ATTRFUNC= value.
func (a *Attribute) AttrFunc() *FuncRef {
	if c := a.last("ATTRFUNC", false); c != nil {
		return c.Func()
	}
	return nil
}

func (a *Attribute) Pos() int { return a.Start.Pos() }
func (a *Attribute) End() int { return a.EndOffset }

// CanonicalName is the attribute name in comparison form (MACHINE_NAME).
func (a *Attribute) CanonicalName() string { return CanonicalName(a.Name) }

// ListMember is one :ATTRLIST= member of a LIST attribute and its
// :ATTRLISTDEF= default.
type ListMember struct {
	Name    *Command
	Default *Command // nil when no :ATTRLISTDEF followed
}

// SelectGroup is one :SELECT= option of a SELECT / SELECT_FORMAT attribute
// with the sub-commands that belong to it.
type SelectGroup struct {
	Select   *Command // the :SELECT line; Select.Op() is "=" or ">"/"<"
	Key      string
	Commands []*Command
}

// Operation is an :OPERID= … :OPEREND block.
type Operation struct {
	Start              *Command
	ID                 string
	Sub                string     // :OPERSUB value
	List               []string   // :OPERLIST values
	Commands           []*Command // all sub-commands
	EndCmd             *Command   // :OPEREND (MASTER.ATR closes with :ATTREND); nil when unterminated
	StartLine, EndLine int
	EndOffset          int
}

func (o *Operation) Pos() int { return o.Start.Pos() }
func (o *Operation) End() int { return o.EndOffset }

// Section is ":SECTION=NAME[(params)]" and the lines up to the next section,
// block, top-level command or end of file.
type Section struct {
	Header             *Command
	Name               string   // as written
	Params             []*Ident // declared parameters
	Calc               bool     // name begins with CALC: a calculation section
	StartLine, EndLine int      // 1-based, inclusive
	EndOffset          int
	Templates          []*TemplateLine // the :T: lines
	Labels             []Label         // :Cn: labels
	CalcLines          int             // number of :C: lines
	file               *File           // builds Body on first use
	body               []Stmt
}

func (s *Section) Pos() int { return s.Header.Pos() }
func (s *Section) End() int { return s.EndOffset }

// CanonicalName is the section name in comparison form.
func (s *Section) CanonicalName() string { return CanonicalName(s.Name) }

// Body returns the :C: statements of the section: one statement stream
// over all its :C: lines (an IF may span lines). Parse checks the code and
// reports its diagnostics; the statement nodes of all sections of the file
// are built on the first call of Body on any of them (safe for concurrent
// use), so callers that need only the outline do not pay for them.
func (s *Section) Body() []Stmt {
	if s.file == nil || s.CalcLines == 0 {
		return nil
	}
	s.file.bodyOnce.Do(func() { buildBodies(s.file) })
	return s.body
}

// Label is a ":Cn:" label.
type Label struct {
	N    int
	Pos  int
	Line int
}

// StrayText is a line that is none of the UPG line kinds.
type StrayText struct {
	Span
	Line int
}

// ---------------------------------------------------------------- lines

// TemplateLine is a ":T:" line: literal text and tokens, optionally inside
// an inline "IF cond THEN … ENDIF".
type TemplateLine struct {
	Prefix Span
	If     *TemplateIf    // nil for an unconditional line
	Items  []TemplateItem // printed items (the THEN part when If != nil)
	Line   int
	EndOff int
}

func (t *TemplateLine) Pos() int { return t.Prefix.Offset }
func (t *TemplateLine) End() int { return t.EndOff }

// TemplateIf is the inline IF of a template line.
type TemplateIf struct {
	If    int  // offset of IF
	Cond  Expr // nil when missing
	Then  int  // offset of THEN, -1 when missing
	EndIf int  // offset of ENDIF, -1 when missing
}

// TemplateItem is *TextItem or *TokenItem.
type TemplateItem interface {
	Node
	templateItem()
}

// TextItem is literal template text.
type TextItem struct {
	Span
	Text string
}

func (*TextItem) templateItem() {}

// TokenForm tells which form a template token has.
type TokenForm uint8

const (
	FormAttr       TokenForm = iota // <NAME>, <NAME!>, <NAME:value>, <NAME!:value>
	FormEOL                         // <EOL>
	FormBlank                       // <BLANK>
	FormAttributes                  // <attributes>
	FormDecimal                     // <#:expr>
	FormInteger                     // <%:expr>
	FormFormat                      // <"fmt":expr>
	FormBad                         // malformed
)

var formNames = [...]string{"attribute", "eol", "blank", "attributes", "decimal", "integer", "format", "bad"}

func (f TokenForm) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "bad"
}

// MarshalText writes the form name.
func (f TokenForm) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// TokenItem is a template token "<…>".
type TokenItem struct {
	Lt     int       // offset of '<'
	Gt     int       // offset of '>', -1 when not closed
	Form   TokenForm //
	Name   *Ident    // attribute (FormAttr) or the word EOL/BLANK/attributes
	Force  bool      // '!' after the name
	Format string    // format without quotes (FormFormat)
	Colon  int       // offset of ':', -1 when there is no value
	Value  Expr      // override / printed value; *BasicLit for {text}; nil when none
	EndOff int
}

func (*TokenItem) templateItem() {}
func (t *TokenItem) Pos() int    { return t.Lt }
func (t *TokenItem) End() int    { return t.EndOff }

// ---------------------------------------------------------------- expressions

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Ident is a name.
type Ident struct {
	NamePos int
	Name    string
}

func (x *Ident) Pos() int { return x.NamePos }
func (x *Ident) End() int { return x.NamePos + len(x.Name) }
func (*Ident) exprNode()  {}

// LitKind is the kind of a literal.
type LitKind uint8

const (
	LitNumber LitKind = iota
	LitString         // {text} or "text"
)

// BasicLit is a number or string literal. Value is the source text
// (braces/quotes included for strings); String() of a string literal's
// content is Unquoted().
type BasicLit struct {
	ValuePos int
	Kind     LitKind
	Value    string
}

func (x *BasicLit) Pos() int { return x.ValuePos }
func (x *BasicLit) End() int { return x.ValuePos + len(x.Value) }
func (*BasicLit) exprNode()  {}

// Unquoted returns a string literal's text without its braces or quotes.
func (x *BasicLit) Unquoted() string {
	v := x.Value
	if x.Kind != LitString || len(v) == 0 {
		return v
	}
	v = v[1:]
	if n := len(v); n > 0 && (v[n-1] == '}' || v[n-1] == '"') {
		v = v[:n-1]
	}
	return v
}

// BinaryExpr is X Op Y. Op is one of + - * / = <> < > AND OR (and the
// unsupported <= >= != which are reported).
type BinaryExpr struct {
	X     Expr
	OpPos int
	Op    string
	Y     Expr
}

func (x *BinaryExpr) Pos() int { return x.X.Pos() }
func (x *BinaryExpr) End() int { return x.Y.End() }
func (*BinaryExpr) exprNode()  {}

// UnaryExpr is -X (or +X).
type UnaryExpr struct {
	OpPos int
	Op    string
	X     Expr
}

func (x *UnaryExpr) Pos() int { return x.OpPos }
func (x *UnaryExpr) End() int { return x.X.End() }
func (*UnaryExpr) exprNode()  {}

// ParenExpr is (X).
type ParenExpr struct {
	Lparen int
	X      Expr
	Rparen int // -1 when missing
}

func (x *ParenExpr) Pos() int { return x.Lparen }
func (x *ParenExpr) End() int {
	if x.Rparen >= 0 {
		return x.Rparen + 1
	}
	return x.X.End()
}
func (*ParenExpr) exprNode() {}

// CallExpr is NAME(args): a built-in function/command call or an array
// element (GC(G_LINE)); the symbol table tells which.
type CallExpr struct {
	Fun    *Ident
	Lparen int
	Args   []Expr
	Rparen int // -1 when missing
}

func (x *CallExpr) Pos() int { return x.Fun.Pos() }
func (x *CallExpr) End() int {
	if x.Rparen >= 0 {
		return x.Rparen + 1
	}
	if n := len(x.Args); n > 0 {
		return x.Args[n-1].End()
	}
	return x.Lparen + 1
}
func (*CallExpr) exprNode() {}

// TokenRef is a template token used as an argument: SETON(<X>), SETOFF(<X!>).
type TokenRef struct {
	Lt    int
	Name  *Ident
	Force bool
	Gt    int
}

func (x *TokenRef) Pos() int { return x.Lt }
func (x *TokenRef) End() int { return x.Gt + 1 }
func (*TokenRef) exprNode()  {}

// BadExpr stands for an expression that could not be parsed.
type BadExpr struct {
	From, To int
}

func (x *BadExpr) Pos() int { return x.From }
func (x *BadExpr) End() int { return x.To }
func (*BadExpr) exprNode()  {}

// ---------------------------------------------------------------- statements

// Stmt is a calculation statement.
type Stmt interface {
	Node
	stmtNode()
}

// AssignStmt is Lhs = Rhs; Lhs is *Ident or *CallExpr (array element).
type AssignStmt struct {
	Lhs   Expr
	EqPos int
	Rhs   Expr
}

func (s *AssignStmt) Pos() int { return s.Lhs.Pos() }
func (s *AssignStmt) End() int { return s.Rhs.End() }
func (*AssignStmt) stmtNode()  {}

// CallStmt is CALL(SECTION) or CALL(SECTION(args)).
type CallStmt struct {
	Call    int // offset of CALL
	Lparen  int
	Section *Ident // nil when missing
	Args    []Expr // arguments passed to the section
	HasArgs bool
	Rparen  int // offset of the outer ')', -1 when missing
	EndOff  int
}

func (s *CallStmt) Pos() int { return s.Call }
func (s *CallStmt) End() int { return s.EndOff }
func (*CallStmt) stmtNode()  {}

// CommandStmt is a built-in command used as a statement: STRCAT(A,B),
// SETON(), LOOKUP(GC,V,I), or a bare word such as INCON. X is *CallExpr or
// *Ident.
type CommandStmt struct {
	X Expr
}

func (s *CommandStmt) Pos() int { return s.X.Pos() }
func (s *CommandStmt) End() int { return s.X.End() }
func (*CommandStmt) stmtNode()  {}

// IfStmt is IF Cond THEN Body [ELSE Else] ENDIF, possibly over many lines.
type IfStmt struct {
	If      int
	Cond    Expr
	Then    int // -1 when missing
	Body    []Stmt
	ElsePos int // -1 when there is no ELSE
	Else    []Stmt
	EndIf   int // -1 when missing
	EndOff  int
}

func (s *IfStmt) Pos() int { return s.If }
func (s *IfStmt) End() int { return s.EndOff }
func (*IfStmt) stmtNode()  {}

// GotoStmt is GOTOn.
type GotoStmt struct {
	GotoPos int
	Label   int
	EndOff  int
}

func (s *GotoStmt) Pos() int { return s.GotoPos }
func (s *GotoStmt) End() int { return s.EndOff }
func (*GotoStmt) stmtNode()  {}

// ReturnStmt is RETURN.
type ReturnStmt struct {
	Return int
}

func (s *ReturnStmt) Pos() int { return s.Return }
func (s *ReturnStmt) End() int { return s.Return + 6 }
func (*ReturnStmt) stmtNode()  {}

// BadStmt stands for tokens that do not form a statement.
type BadStmt struct {
	From, To int
}

func (s *BadStmt) Pos() int { return s.From }
func (s *BadStmt) End() int { return s.To }
func (*BadStmt) stmtNode()  {}
