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

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
	"github.com/veripost/veripost/internal/upg/sidefile"
)

func init() { register(newParseCmd) }

type parseOptions struct {
	json      bool
	tree      bool
	info      bool
	noOutline bool
}

func newParseCmd() *cobra.Command {
	var opt parseOptions
	cmd := &cobra.Command{
		Use:   "parse FILE_OR_DIR...",
		Short: "Parse UPG post sources and report outline and diagnostics",
		Long: `Parse UPG post processor files and print their outline (sections, attributes,
libraries, operations) and diagnostics as "file:line:col: severity code: message".

A directory is read as one post package: its files are resolved together
(libraries, symbols, metadata). A single .SRC/.LIB/.ATR file is parsed on its own;
.CNF, .KIN, .PINF, .LNG and .CTL files are read as side files.

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
	return cmd
}

// parseResult is the JSON shape of one argument.
type parseResult struct {
	Path        string           `json:"path"`
	Type        string           `json:"type"` // "file", "side-file" or "package"
	Outline     *upg.Outline     `json:"outline,omitempty"`
	Tree        *upg.TreeNode    `json:"tree,omitempty"`
	Side        any              `json:"side_file,omitempty"`
	Package     *packageJSON     `json:"package,omitempty"`
	Diagnostics []upg.Diagnostic `json:"diagnostics"`
	Counts      map[string]int   `json:"counts"`
}

type packageJSON struct {
	Metadata    resolve.Metadata     `json:"metadata"`
	Files       []resolve.FileInfo   `json:"files"`
	Libraries   []resolve.Library    `json:"libraries"`
	Summary     resolve.Summary      `json:"summary"`
	Outlines    []*upg.Outline       `json:"outlines"`
	Side        []resolve.SideFile   `json:"side_files"`
	Trees       []*upg.TreeNode      `json:"trees,omitempty"`
	Definitions []resolve.Definition `json:"definitions,omitempty"`
	References  []resolve.Reference  `json:"references,omitempty"`
}

func runParse(out io.Writer, args []string, opt parseOptions) error {
	var results []*parseResult
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return err
		}
		var r *parseResult
		if st.IsDir() {
			r, err = parsePackageDir(arg, opt)
		} else {
			r, err = parseOneFile(arg, opt)
		}
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	errors := 0
	for _, r := range results {
		errors += r.Counts["error"]
	}
	if opt.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			ParserVersion int            `json:"parser_version"`
			Results       []*parseResult `json:"results"`
		}{upg.ParserVersion, results}); err != nil {
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

func countDiags(ds []upg.Diagnostic) map[string]int {
	c := map[string]int{"error": 0, "warning": 0, "info": 0}
	for _, d := range ds {
		c[d.Severity.String()]++
	}
	return c
}

func parseOneFile(path string, opt parseOptions) (*parseResult, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &parseResult{Path: path, Type: "file"}
	switch kind := upg.KindOf(path); kind {
	case upg.KindCNF:
		c := sidefile.ParseCNF(path, src)
		r.Type, r.Side, r.Diagnostics = "side-file", c, c.Diagnostics
	case upg.KindKIN:
		k := sidefile.ParseKIN(path, src)
		r.Type, r.Side, r.Diagnostics = "side-file", k, k.Diagnostics
	case upg.KindPINF:
		p := sidefile.ParsePINF(path, src)
		r.Type, r.Side, r.Diagnostics = "side-file", p, p.Diagnostics
	case upg.KindLNG:
		g := sidefile.ParseLNG(path, src)
		r.Type, r.Side, r.Diagnostics = "side-file", g, g.Diagnostics
	case upg.KindCTL:
		c := sidefile.DetectCTL(path, src)
		r.Type, r.Side = "side-file", c
		r.Diagnostics = []upg.Diagnostic{{Code: upg.CodeCompiledFile, Severity: upg.SeverityInfo, File: path, Line: 1, Col: 1,
			Message: fmt.Sprintf("compiled post (.CTL, %d bytes); it is not parsed", c.Size)}}
	default:
		if textfile.IsBinary(src) {
			r.Diagnostics = []upg.Diagnostic{upg.BinaryContent(path)} // not parsed
			break
		}
		f := upg.Parse(path, src)
		r.Outline = f.Outline()
		if opt.tree {
			r.Tree = f.Tree()
		}
		r.Diagnostics = f.Diagnostics
	}
	if r.Diagnostics == nil {
		r.Diagnostics = []upg.Diagnostic{}
	}
	r.Counts = countDiags(r.Diagnostics)
	return r, nil
}

func parsePackageDir(dir string, opt parseOptions) (*parseResult, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var inputs []resolve.Input
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, resolve.Input{Name: e.Name(), Src: src})
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	pkg := resolve.Resolve(inputs)
	pj := &packageJSON{
		Metadata: pkg.Metadata, Files: pkg.Files, Libraries: pkg.Libraries,
		Summary: pkg.Summary(), Side: pkg.Side, Outlines: []*upg.Outline{},
	}
	for _, in := range inputs {
		if f := pkg.Parsed(in.Name); f != nil {
			pj.Outlines = append(pj.Outlines, f.Outline())
			if opt.tree {
				pj.Trees = append(pj.Trees, f.Tree())
			}
		}
	}
	if opt.tree {
		pj.Definitions, pj.References = pkg.Definitions, pkg.References
	}
	diags := make([]upg.Diagnostic, len(pkg.Diagnostics))
	for i, d := range pkg.Diagnostics {
		if d.File != "" {
			d.File = filepath.Join(dir, d.File)
		} else {
			d.File = dir
		}
		diags[i] = d
	}
	r := &parseResult{Path: dir, Type: "package", Package: pj, Diagnostics: diags}
	r.Counts = countDiags(diags)
	return r, nil
}

// ---------------------------------------------------------------- text output

func printResult(w io.Writer, r *parseResult, opt parseOptions) {
	if !opt.noOutline {
		switch {
		case r.Package != nil:
			printPackage(w, r.Path, r.Package)
		case r.Outline != nil:
			printOutline(w, r.Outline)
		case r.Side != nil:
			printSide(w, r.Path, r.Side)
		}
	}
	hidden := 0
	for _, d := range r.Diagnostics {
		if d.Severity == upg.SeverityInfo && !opt.info {
			hidden++
			continue
		}
		fmt.Fprintln(w, d.String())
	}
	fmt.Fprintf(w, "%s: %d error(s), %d warning(s), %d info", r.Path, r.Counts["error"], r.Counts["warning"], r.Counts["info"])
	if hidden > 0 {
		fmt.Fprintf(w, " (not shown; use --info)")
	}
	fmt.Fprintln(w)
}

func printPackage(w io.Writer, dir string, p *packageJSON) {
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
	for _, o := range p.Outlines {
		printOutline(w, o)
	}
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

func printOutline(w io.Writer, o *upg.Outline) {
	fmt.Fprintf(w, "== %s (%s, %d lines", o.File, o.Kind, o.Lines)
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

func printSide(w io.Writer, path string, side any) {
	fmt.Fprintf(w, "== %s\n", path)
	switch s := side.(type) {
	case *sidefile.CNF:
		for _, h := range s.Headers {
			fmt.Fprintf(w, "  header  %s=%s (line %d)\n", h.Name, h.Value, h.Line)
		}
		for _, c := range s.Selects {
			fmt.Fprintf(w, "  pick list %s: %s (default %d)\n", c.Name, strings.Join(c.Options, " | "), c.Default)
		}
	case *sidefile.KIN:
		for _, e := range s.Entries {
			fmt.Fprintf(w, "  %-20s %-16s %s\n", e.Field, e.Value, e.Description)
		}
	case *sidefile.PINF:
		for _, e := range s.Entries {
			fmt.Fprintf(w, "  %s = %s\n", e.Key, e.Value)
		}
	case *sidefile.LNG:
		fmt.Fprintf(w, "  language file: %d texts (binary: %v)\n", len(s.Entries), s.Binary)
	case *sidefile.CTL:
		fmt.Fprintf(w, "  compiled post: %d bytes, binary: %v\n", s.Size, s.Binary)
	}
}
