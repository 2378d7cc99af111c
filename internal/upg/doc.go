// Package upg reads the CAMWorks UPG post-processor language: a lossless,
// fault-tolerant lexer and parser with diagnostics, in the spirit of
// go/scanner + go/parser + go/ast. It is pure (bytes in, structures out, no
// I/O) and never panics.
//
// Entry points:
//
//	f := upg.Parse(name, src)   // *File: tokens, lines, tree, diagnostics
//	toks := upg.Tokenize(src)   // the same tokens without the tree (highlighting)
//	o := f.Outline()            // JSON-friendly table of contents
//	refs := f.References()      // every use of a name, with context and section
//	upg.Fprint(w, f)            // prints the file back, byte for byte
//	upg.Lookup("ATTRCFUNC")     // the language catalogue (names.tsv)
//
// Packages of several files are resolved by the sub-package resolve; the
// side files (.CNF, .KIN, .PINF, .LNG, .CTL) are read by sidefile.
//
// Positions: every token has Offset/End/Line/Col; every node has Pos/End
// byte offsets and File.Position turns an offset into line and column
// (1-based, columns in bytes). Diagnostics carry a stable Code (see Codes),
// a Severity and a message that says what is wrong and how to fix it.
//
// Memory: a File keeps its tokens compactly (File.Tokens builds the slice
// on request), and builds the statement nodes of its :C: code on the first
// Section.Body call; Parse checks that code and reports its diagnostics
// without keeping the nodes. Whether bytes are text at all, and where
// lines end, is decided by package textfile for all of VeriPost.
//
// ParserVersion changes whenever the output for a given input changes;
// stored results are keyed by it. docs/upg-language.md describes the
// grammar, the tree and the diagnostic codes.
package upg
