package upg

import (
	"fmt"
	"sort"
)

// Severity of a diagnostic.
type Severity uint8

const (
	// SeverityError: the source is wrong; the post will not compile or will
	// not do what it says. `veripost parse` exits non-zero.
	SeverityError Severity = iota + 1
	// SeverityWarning: the compiler tolerates it, but it is almost certainly
	// a mistake or junk.
	SeverityWarning
	// SeverityInfo: worth knowing (undocumented behaviour, style).
	SeverityInfo
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityInfo:
		return "info"
	}
	return "unknown"
}

// MarshalText writes the severity as "error", "warning" or "info".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error", "warning" or "info".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	case "info":
		*s = SeverityInfo
	default:
		return fmt.Errorf("upg: unknown severity %q", b)
	}
	return nil
}

// Diagnostic is one finding about the source. Line and Col are 1-based; Col
// counts bytes (a tab is one column). Offset and End are byte offsets into the
// file (End exclusive; End==Offset for a point).
type Diagnostic struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Offset   int      `json:"offset"`
	End      int      `json:"end"`
	Message  string   `json:"message"`
	// Subject is the name the finding is about (an attribute, section or
	// library), when it is about one; views group infos by code and subject.
	Subject string `json:"subject,omitempty"`
}

// String formats the diagnostic as "file:line:col: severity code: message".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s %s: %s", d.File, d.Line, d.Col, d.Severity, d.Code, d.Message)
}

// Diagnostic codes. They are stable: tools and stored results key on them.
const (
	// Structure of the file.
	CodeUnterminatedAttribute = "UPG_UNTERMINATED_ATTRIBUTE"
	CodeUnterminatedOperation = "UPG_UNTERMINATED_OPERATION"
	CodeStrayBlockEnd         = "UPG_STRAY_BLOCK_END"
	CodeCommandOutsideBlock   = "UPG_COMMAND_OUTSIDE_BLOCK"
	CodeUnknownHeader         = "UPG_UNKNOWN_HEADER"
	CodeUnknownAttrCommand    = "UPG_UNKNOWN_ATTR_COMMAND"
	CodeMalformedCommand      = "UPG_MALFORMED_COMMAND"
	CodeMissingValue          = "UPG_MISSING_VALUE"
	CodeUnexpectedValue       = "UPG_UNEXPECTED_VALUE"
	CodeRepeatedSubcommand    = "UPG_REPEATED_SUBCOMMAND"
	CodeSelectOutsideSelect   = "UPG_SELECT_OUTSIDE_SELECT"
	CodeEmptyName             = "UPG_EMPTY_NAME"
	CodeDuplicateSection      = "UPG_DUPLICATE_SECTION"
	CodeCodeOutsideSection    = "UPG_CODE_OUTSIDE_SECTION"
	CodeTemplateInCalc        = "UPG_TEMPLATE_IN_CALC"
	CodeCalcInTemplate        = "UPG_CALC_IN_TEMPLATE"
	CodeStrayText             = "UPG_STRAY_TEXT"
	CodeTextAfterEOF          = "UPG_TEXT_AFTER_EOF"
	CodeBinaryContent         = "UPG_BINARY_CONTENT"
	CodeControlCharacter      = "UPG_CONTROL_CHARACTER"
	CodeBOM                   = "UPG_BOM"

	// Template (:T:) and calculation (:C:) code.
	CodeUnbalancedIf        = "UPG_UNBALANCED_IF"
	CodeMissingThen         = "UPG_MISSING_THEN"
	CodeMalformedToken      = "UPG_MALFORMED_TOKEN"
	CodeUnclosedString      = "UPG_UNCLOSED_STRING"
	CodeUnclosedParen       = "UPG_UNCLOSED_PAREN"
	CodeSyntax              = "UPG_SYNTAX"
	CodeUnsupportedOperator = "UPG_UNSUPPORTED_OPERATOR"
	CodeMixedAndOr          = "UPG_MIXED_AND_OR"
	CodeMixedArithmetic     = "UPG_MIXED_ARITHMETIC"
	CodeTrailingComment     = "UPG_TRAILING_COMMENT"
	CodeNestingTooDeep      = "UPG_NESTING_TOO_DEEP"
	CodeUndefinedLabel      = "UPG_UNDEFINED_LABEL"
	CodeDuplicateLabel      = "UPG_DUPLICATE_LABEL"
	CodeBareName            = "UPG_BARE_NAME"
	CodeUnknownCommand      = "UPG_UNKNOWN_COMMAND"

	// Package level (package resolver).
	CodeLibraryUnresolved     = "UPG_LIBRARY_UNRESOLVED"
	CodeLibraryCycle          = "UPG_LIBRARY_CYCLE"
	CodeUndefinedAttribute    = "UPG_UNDEFINED_ATTRIBUTE"
	CodeUnknownLibraryMissing = "UPG_UNKNOWN_LIBRARY_MISSING"
	CodeUnknownUserAttribute  = "UPG_UNKNOWN_USER_ATTRIBUTE"
	CodeUndefinedSection      = "UPG_UNDEFINED_SECTION"
	CodeSectionInTwoFiles     = "UPG_SECTION_IN_TWO_FILES"
	CodeAttributeInTwoFiles   = "UPG_ATTRIBUTE_IN_TWO_FILES"
	CodeSectionArgCount       = "UPG_SECTION_ARG_COUNT"
	CodeSideFileMalformed     = "UPG_SIDEFILE_MALFORMED"
	CodeCompiledFile          = "UPG_COMPILED_FILE"
	CodeLanguageFile          = "UPG_LANGUAGE_FILE"
	CodeNoMainSource          = "UPG_NO_MAIN_SOURCE"
	CodeUnknownFile           = "UPG_UNKNOWN_FILE"
)

// BinaryContent is the UPG_BINARY_CONTENT finding for a file that
// textfile.IsBinary calls binary: one error at the start of the file
// (Parse moves it to the first control byte).
func BinaryContent(file string) Diagnostic {
	return Diagnostic{Code: CodeBinaryContent, Severity: SeverityError, File: file, Line: 1, Col: 1,
		Message: "the file is binary content (more than a tenth of its bytes are control bytes), not UPG source text: a compiled .CTL? Use the .SRC/.LIB source instead"}
}

// CodeInfo documents one diagnostic code.
type CodeInfo struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"` // usual severity (a few codes vary, see Meaning)
	Meaning  string   `json:"meaning"`
}

var codeTable = []CodeInfo{
	{CodeUnterminatedAttribute, SeverityWarning, "an :ATTRNAME= block is not closed by :ATTREND before the next block, section or end of file"},
	{CodeUnterminatedOperation, SeverityWarning, "an :OPERID= block is not closed by :OPEREND"},
	{CodeStrayBlockEnd, SeverityWarning, ":ATTREND or :OPEREND with no open block (e.g. a doubled :ATTREND)"},
	{CodeCommandOutsideBlock, SeverityWarning, "an attribute or operation sub-command outside any :ATTRNAME=/:OPERID= block"},
	{CodeUnknownHeader, SeverityWarning, "a :NAME=VALUE header command the language catalogue does not know (often a typo)"},
	{CodeUnknownAttrCommand, SeverityWarning, "a sub-command inside an attribute block that the catalogue does not know (e.g. :WORD_ADDRESS_AFTF)"},
	{CodeMalformedCommand, SeverityError, "a ':' command line whose shape is wrong (no name, ':SECTION:' instead of ':SECTION=', junk after a section name …)"},
	{CodeMissingValue, SeverityWarning, "a command that takes a value is written without '=' and value"},
	{CodeUnexpectedValue, SeverityWarning, "a flag command (e.g. :CANNOT_BE_SIGNED) is given a value"},
	{CodeRepeatedSubcommand, SeverityInfo, "a single-valued sub-command is repeated in one block; the last one wins"},
	{CodeSelectOutsideSelect, SeverityWarning, ":SELECT= or :VARB= in an attribute whose :CODETYPE is not SELECT/SELECT_FORMAT"},
	{CodeEmptyName, SeverityError, ":SECTION=, :ATTRNAME= or :DEFINE without a name"},
	{CodeDuplicateSection, SeverityWarning, "the same section name is defined twice in one file"},
	{CodeCodeOutsideSection, SeverityError, "a :T: or :C: line before the first :SECTION= or inside an attribute/operation block"},
	{CodeTemplateInCalc, SeverityWarning, "a :T: line in a CALC section (only :C: runs there)"},
	{CodeCalcInTemplate, SeverityWarning, "a :C: line in a template (non-CALC) section"},
	{CodeStrayText, SeverityWarning, "a line that is not a comment, command, :T: or :C: line; the compiler ignores it"},
	{CodeTextAfterEOF, SeverityWarning, "text after a DOS end-of-file byte (0x1A); the compiler never reads it"},
	{CodeBinaryContent, SeverityError, "the file is binary (compiled) content, not UPG source: more than a tenth of its bytes are control bytes (textfile.IsBinary)"},
	{CodeControlCharacter, SeverityWarning, "a NUL or another control byte in a text file (outside comments; in comments only NUL); the rest of the line is parsed as if it were not there"},
	{CodeBOM, SeverityInfo, "the file starts with a UTF-8 byte order mark; it is skipped, and a *FANUCM-style marker after it is still recognised"},
	{CodeUnbalancedIf, SeverityError, "IF without ENDIF, ENDIF or ELSE without IF (per line in :T:, across the lines of a section in :C:)"},
	{CodeMissingThen, SeverityWarning, "an IF condition is not followed by THEN: a warning in :C: code (the stock MILL.LIB has such IFs, so the compiler tolerates it), an error on a :T: line"},
	{CodeMalformedToken, SeverityError, "a template token <…> that is not closed or has an unexpected shape"},
	{CodeUnclosedString, SeverityError, "a {…} or \"…\" string or a \"format\" without its closing character on the same line"},
	{CodeUnclosedParen, SeverityError, "a '(' without its ')' in an expression, an argument list or CALL(…)"},
	{CodeSyntax, SeverityError, "an expression or statement that does not follow the calculation grammar"},
	{CodeUnsupportedOperator, SeverityError, "an operator or keyword UPG does not have (<=, >=, !=, NOT, ELSEIF, WHILE)"},
	{CodeMixedAndOr, SeverityInfo, "AND and OR mixed without parentheses; UPG does not document their precedence"},
	{CodeMixedArithmetic, SeverityWarning, "+ or - mixed with * or / without parentheses (A=B+C*D); UPG does not document their precedence"},
	{CodeTrailingComment, SeverityWarning, "words after '*' at the end of a :C: statement (A=1 * set the flag): UPG has no end-of-line comments, the '*' multiplies"},
	{CodeNestingTooDeep, SeverityError, "IF blocks or an expression nested more than 200 deep; reported once per block, whose inside is not checked"},
	{CodeUndefinedLabel, SeverityError, "GOTOn with no :Cn: label in the same section"},
	{CodeDuplicateLabel, SeverityWarning, "the same :Cn: label twice in one section"},
	{CodeBareName, SeverityWarning, "a name standing alone as a :C: statement that is not a built-in command (a missing '=' or '(…)'?)"},
	{CodeUnknownCommand, SeverityWarning, "a statement NAME(…) where NAME is neither a built-in command of the language catalogue nor an attribute"},
	{CodeLibraryUnresolved, SeverityWarning, "a :LIBRARY=/:INCLUDE= file is not in the package (usually the vendor's stock MILL.LIB/LATHE.LIB)"},
	{CodeLibraryCycle, SeverityError, "libraries include each other in a cycle"},
	{CodeUndefinedAttribute, SeverityWarning, "a reference to a name that no file of the package defines (attribute, :DEFINE, operation id) and the language catalogue does not know; a warning because the catalogue is known to miss some system names"},
	{CodeUnknownLibraryMissing, SeverityInfo, "a reference that is not defined in the package, but a missing library could define it"},
	{CodeUnknownUserAttribute, SeverityInfo, "a lower-case (MASTER.ATR) attribute the package does not define; MASTER.ATR is not in the package"},
	{CodeUndefinedSection, SeverityWarning, "CALL/:ATTRCFUNC/:ATTRFUNC/SYS_CANNED … of a section no file defines, not guarded by SECTIONEXIST (the compiler accepts it; the call finds nothing at run time)"},
	{CodeSectionInTwoFiles, SeverityWarning, "a section is defined in two files; the message says which copy wins (info when the post's own file overrides a stock library's copy)"},
	{CodeAttributeInTwoFiles, SeverityInfo, "an attribute is defined in two files of the package"},
	{CodeSectionArgCount, SeverityWarning, "a section is called with a different number of arguments than it declares"},
	{CodeSideFileMalformed, SeverityWarning, "a .CNF/.KIN/.PINF/.LNG line or block that does not fit the file's format"},
	{CodeCompiledFile, SeverityInfo, "a compiled .CTL post (binary) was recognised and not parsed as text"},
	{CodeLanguageFile, SeverityInfo, "a generated .LNG language file was recognised"},
	{CodeNoMainSource, SeverityWarning, "the package has no .SRC file"},
	{CodeUnknownFile, SeverityInfo, "a file could not be classified as UPG source or a known side file"},
}

// Codes returns the table of diagnostic codes with their usual severity and
// meaning, sorted by code.
func Codes() []CodeInfo {
	out := append([]CodeInfo(nil), codeTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// SortDiagnostics orders diagnostics by file, offset, then code.
func SortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.Code < b.Code
	})
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
