// Package explain is VeriPost's offline explainer: it says in plain words
// what a section, an attribute or variable, a range of lines and a whole
// post package do on the machine, from the parsed and resolved package and
// the language catalogue alone (no network, no model, no key).
//
// Every sentence carries citations (file and line range) of the lines that
// show what it says; nothing is said that the source does not show, except
// the catalogue's short meaning of a language name. The result is
// structured (Explanation → Parts → Sentences → Cites) and renders as
// Markdown or plain text.
//
// The package is pure: it does no I/O. It reads the resolved package
// through one adapter (analysis.go), so that the shared analysis result can
// replace the resolver there without touching the rest.
package explain
