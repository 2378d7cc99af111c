package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

func init() { register(newParseCmd) }

type parseOptions struct {
	json      bool
	tree      bool
	info      bool
	noOutline bool
	each      bool
}

func newParseCmd() *cobra.Command {
	var opt parseOptions
	cmd := &cobra.Command{
		Use:   "parse FILE_OR_DIR...",
		Short: "Parse UPG post sources and report outline and diagnostics",
		Long: `Parse UPG post processor files and print their outline (sections, attributes,
libraries, operations) and diagnostics as "file:line:col: severity code: message".

A directory is read as one post package: its files are resolved together
(libraries, symbols, metadata). A single file is analysed as a package of one
file (.CNF, .KIN, .PINF, .LNG and .CTL files are read as side files).

--json prints the analysis exactly as POST /api/v1/parse answers it for the
same files (one argument: one object; several: an array).

The exit status is 1 when any error was found, so post writers can use the
command in their own checks.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runParse(cmd.OutOrStdout(), args, opt)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opt.json, "json", false, "print JSON (outline, libraries, metadata, diagnostics) instead of text")
	f.BoolVar(&opt.tree, "tree", false, "with --json: include the full syntax tree of every file and the package symbol table")
	f.BoolVar(&opt.info, "info", false, "also print info diagnostics (text output; JSON always has them)")
	f.BoolVar(&opt.noOutline, "no-outline", false, "print diagnostics only (text output)")
	f.BoolVar(&opt.each, "each", false, "with --info: print every info at every location (by default once per code and name, with a count)")
	return cmd
}

// treeResult is the JSON of --tree: the analysis plus every source's
// syntax tree and the package's symbol table.
type treeResult struct {
	analysis.Result
	Trees       map[string]*upg.TreeNode `json:"trees"`
	Definitions []resolve.Definition     `json:"definitions"`
	References  []resolve.Reference      `json:"references"`
}

// argResult is one argument analysed: a folder as one package, a file as a
// package of one file.
type argResult struct {
	path   string
	dir    bool
	inputs []analysis.Input
	res    analysis.Result
}

func runParse(out io.Writer, args []string, opt parseOptions) error {
	var results []*argResult
	for _, arg := range args {
		r, err := analyseArg(arg)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	errors := 0
	for _, r := range results {
		errors += r.res.Summary.Errors
	}
	if opt.json {
		// One argument prints exactly what POST /api/v1/parse answers for
		// the same files; several print an array of those.
		var docs []any
		for _, r := range results {
			docs = append(docs, jsonDoc(r, opt.tree))
		}
		var v any = docs
		if len(docs) == 1 {
			v = docs[0]
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			printResult(out, r, opt)
		}
	}
	if errors > 0 {
		return ExitError{Code: 1}
	}
	return nil
}

func jsonDoc(r *argResult, tree bool) any {
	if !tree {
		return r.res
	}
	t := treeResult{Result: r.res, Trees: map[string]*upg.TreeNode{}, Definitions: r.res.Package.Definitions, References: r.res.Package.References}
	for _, in := range r.inputs {
		if upg.KindOf(in.Name).IsSource() && !textfile.IsBinary(in.Data) {
			t.Trees[in.Name] = upg.Parse(in.Name, in.Data).Tree()
		}
	}
	return t
}

// analyseArg reads a file, or every regular file of a folder, and analyses
// them as one package.
func analyseArg(arg string) (*argResult, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	r := &argResult{path: arg, dir: st.IsDir()}
	if !r.dir {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		r.inputs = []analysis.Input{{Name: filepath.Base(arg), Data: src}}
	} else if r.inputs, err = readPackageDir(arg); err != nil {
		return nil, err
	}
	r.res = analysis.Analyze(r.inputs)
	return r, nil
}

// readPackageDir reads the regular, non-hidden files of a folder as the
// files of one package, in name order.
func readPackageDir(dir string) ([]analysis.Input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var inputs []analysis.Input
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, analysis.Input{Name: e.Name(), Data: src})
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	return inputs, nil
}

// diagnostics lists every finding of the argument, each file's own then
// the cross-file ones, named by path.
func (r *argResult) diagnostics() []upg.Diagnostic {
	var out []upg.Diagnostic
	name := func(file string) string {
		switch {
		case !r.dir:
			return r.path
		case file == "":
			return r.path
		}
		return filepath.Join(r.path, file)
	}
	for _, f := range r.res.Files {
		for _, d := range f.Diagnostics {
			d.File = name(d.File)
			out = append(out, d)
		}
	}
	for _, d := range r.res.Diagnostics {
		d.File = name(d.File)
		out = append(out, d)
	}
	upg.SortDiagnostics(out)
	return out
}

// ---------------------------------------------------------------- text output

func printResult(w io.Writer, r *argResult, opt parseOptions) {
	if !opt.noOutline {
		if r.dir {
			printPackage(w, r.path, r.res)
		}
		for _, f := range r.res.Files {
			switch {
			case f.Outline != nil:
				printOutline(w, f.Name, f.Outline)
			case f.Side != nil:
				printSide(w, filepath.Join(r.path, f.Name), f.Side)
			}
		}
	}
	hidden := 0
	var rows []index.DiagnosticRow
	for _, d := range r.diagnostics() {
		if d.Severity == upg.SeverityInfo && !opt.info {
			hidden++
			continue
		}
		if opt.each {
			fmt.Fprintln(w, d.String())
			continue
		}
		rows = append(rows, index.DiagnosticRow{Filename: d.File, Code: d.Code, Severity: d.Severity.String(), Message: d.Message,
			Line: d.Line, Col: d.Col, Subject: d.Subject, Count: 1})
	}
	// Infos once per (code, name), with how often and where first.
	for _, f := range index.Findings(rows) {
		fmt.Fprintf(w, "%s:%d:%d: %s %s: %s", f.Filename, f.Line, f.Col, f.Severity, f.Code, f.Message)
		if f.Count > 1 {
			var at []string
			for _, l := range f.Locations[1:] {
				at = append(at, fmt.Sprintf("%s:%d:%d", l.Filename, l.Line, l.Col))
			}
			more := ""
			if f.Count > len(f.Locations) {
				more = ", …"
			}
			fmt.Fprintf(w, " [%d times; also at %s%s]", f.Count, strings.Join(at, ", "), more)
		}
		fmt.Fprintln(w)
	}
	s := r.res.Summary
	fmt.Fprintf(w, "%s: %d error(s), %d warning(s), %d info", r.path, s.Errors, s.Warnings, s.Infos)
	if hidden > 0 {
		fmt.Fprintf(w, " (not shown; use --info)")
	}
	fmt.Fprintln(w)
}

func printPackage(w io.Writer, dir string, p analysis.Result) {
	m := p.Metadata
	fmt.Fprintf(w, "== package %s\n", dir)
	fmt.Fprintf(w, "main:            %s\n", strings.Join(m.Main, ", "))
	if m.MachineName != "" {
		fmt.Fprintf(w, "machine:         %s\n", m.MachineName)
	}
	if m.ControllerType != "" {
		fmt.Fprintf(w, "controller:      %s\n", m.ControllerType)
	}
	if m.System != "" {
		fmt.Fprintf(w, "system:          %s\n", m.System)
	}
	if m.ControlFamily != "" {
		fmt.Fprintf(w, "control family:  %s\n", m.ControlFamily)
	}
	if m.PostName != "" {
		fmt.Fprintf(w, "post name:       %s (.%s)\n", m.PostName, m.PostExtension)
	}
	fmt.Fprintln(w, "files:")
	for _, f := range p.Files {
		fmt.Fprintf(w, "  %-42s %-8s %-15s %7d bytes\n", f.Name, f.Kind, f.Role, f.Size)
	}
	if len(p.Libraries) > 0 {
		fmt.Fprintln(w, "libraries:")
		for _, l := range p.Libraries {
			to := l.Resolved
			if to == "" {
				to = "(not in package)"
			}
			fmt.Fprintf(w, "  %s:%d :%s=%s\n      -> %s [%s] %s\n", l.From, l.Line, strings.ToUpper(l.Directive), l.Path, to, l.How, l.Explanation)
		}
	}
	s := p.Summary
	fmt.Fprintf(w, "symbols:         %s\n", fmtCounts(s.Definitions))
	fmt.Fprintf(w, "references:      %s\n", fmtCounts(s.References))
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func printOutline(w io.Writer, name string, o *upg.Outline) {
	fmt.Fprintf(w, "== %s (%s, %d lines", name, upg.KindOf(name), o.Lines)
	if o.ControlFamily != "" {
		fmt.Fprintf(w, ", control family %s", o.ControlFamily)
	}
	if o.System != "" {
		fmt.Fprintf(w, ", system %s", o.System)
	}
	fmt.Fprintln(w, ")")
	if len(o.Headers) > 0 {
		fmt.Fprintf(w, "headers (%d):", len(o.Headers))
		for i, h := range o.Headers {
			if i == 8 {
				fmt.Fprintf(w, " …")
				break
			}
			fmt.Fprintf(w, " %s=%s", h.Name, h.Value)
		}
		fmt.Fprintln(w)
	}
	if len(o.Defines) > 0 {
		fmt.Fprintf(w, "defines: %d\n", len(o.Defines))
	}
	if len(o.Libraries) > 0 {
		fmt.Fprintln(w, "libraries:")
		for _, l := range o.Libraries {
			fmt.Fprintf(w, "  %5d  :%s=%s\n", l.Line, strings.ToUpper(l.Directive), l.Path)
		}
	}
	if len(o.Attributes) > 0 {
		fmt.Fprintf(w, "attributes (%d):\n", len(o.Attributes))
		for _, a := range o.Attributes {
			def := ""
			if a.Default != "" {
				def = fmt.Sprintf(" default=%q", a.Default)
			}
			fmt.Fprintf(w, "  %5d  %-32s %-10s %-9s%s\n", a.Line, a.Name, a.Type, a.VType, def)
		}
	}
	if len(o.Operations) > 0 {
		fmt.Fprintf(w, "operations (%d):\n", len(o.Operations))
		for _, op := range o.Operations {
			id := op.ID
			if op.Sub != "" {
				id += "/" + op.Sub
			}
			fmt.Fprintf(w, "  %5d  %-32s %s\n", op.Line, id, strings.Join(op.List, ", "))
		}
	}
	if len(o.Sections) > 0 {
		fmt.Fprintf(w, "sections (%d):\n", len(o.Sections))
		for _, s := range o.Sections {
			name := s.Name
			if len(s.Params) > 0 {
				name += "(" + strings.Join(s.Params, ",") + ")"
			}
			fmt.Fprintf(w, "  %5d-%-5d %-6s %s\n", s.Line, s.EndLine, s.Kind, name)
		}
	}
}

func printSide(w io.Writer, path string, side *resolve.SideFile) {
	fmt.Fprintf(w, "== %s\n", path)
	switch {
	case side.CNF != nil:
		s := side.CNF
		for _, h := range s.Headers {
			fmt.Fprintf(w, "  header  %s=%s (line %d)\n", h.Name, h.Value, h.Line)
		}
		for _, c := range s.Selects {
			fmt.Fprintf(w, "  pick list %s: %s (default %d)\n", c.Name, strings.Join(c.Options, " | "), c.Default)
		}
	case side.KIN != nil:
		s := side.KIN
		for _, e := range s.Entries {
			fmt.Fprintf(w, "  %-20s %-16s %s\n", e.Field, e.Value, e.Description)
		}
	case side.PINF != nil:
		s := side.PINF
		for _, e := range s.Entries {
			fmt.Fprintf(w, "  %s = %s\n", e.Key, e.Value)
		}
	case side.LNG != nil:
		s := side.LNG
		fmt.Fprintf(w, "  language file: %d texts (binary: %v)\n", len(s.Entries), s.Binary)
	case side.CTL != nil:
		s := side.CTL
		fmt.Fprintf(w, "  compiled post: %d bytes, binary: %v\n", s.Size, s.Binary)
	}
}
