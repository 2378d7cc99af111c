package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/search"
)

func init() { register(newSearchCmd) }

func newSearchCmd() *cobra.Command {
	var server, cursor, mode, versions string
	var limit, context int
	var asJSON bool
	filters := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search every line, name and section of the packages on a VeriPost server",
		Long: `Search a running VeriPost server (GET /api/v1/search) and print the hits grouped by
package and file, like grep with context. The query language is the search box's:

  SPINDLE_DIR        the identifier (definitions first, then assignments, uses, comments)
  spindle            a word or name, and names containing it (ranked lower)
  COOL*              a prefix
  G43.4  %  M06      literal text of a line, or what a :T: line outputs (<M:06> → M06)
  "TOOL CHANGE"      a phrase
  -word              leave out files with it
  section:calc  kind:lib  machine:X  versions:all   filters, as the flags below

The server comes from --server or ` + apiclient.EnvServer + ` (default ` + apiclient.DefaultServer + `), the token
from ` + apiclient.EnvToken + `. Exit status 1 when nothing matched.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			q.Set("q", strings.Join(args, " "))
			for k, v := range filters {
				if *v != "" {
					q.Set(k, *v)
				}
			}
			for k, v := range map[string]string{"cursor": cursor, "mode": mode, "versions": versions} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			q.Set("context", strconv.Itoa(context))
			c := apiclient.FromEnv(server)
			var res search.Result
			if asJSON {
				var raw json.RawMessage
				if err := c.GetJSON(cmd.Context(), apiclient.Prefix+"/search", q, &raw); err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &res); err != nil {
					return err
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(raw); err != nil {
					return err
				}
			} else {
				if err := c.GetJSON(cmd.Context(), apiclient.Prefix+"/search", q, &res); err != nil {
					return err
				}
				printSearch(cmd.OutOrStdout(), &res, args)
			}
			if res.Total.Packages == 0 {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "VeriPost server URL (default $"+apiclient.EnvServer+" or "+apiclient.DefaultServer+")")
	for _, k := range []struct{ name, help string }{
		{"package", "only this package (id, or part of its name)"},
		{"machine", "only packages for this machine"},
		{"controller", "only packages for this controller"},
		{"platform", "only packages of this platform"},
		{"kind", "only files of this kind: src, lib, atr, include, cnf, kin, pinf, lng"},
		{"file", "only files whose name contains this"},
		{"section", "only in this section (NAME, NAME*), or sections of a kind: system, template, calc, user"},
	} {
		filters[k.name] = f.String(k.name, "", k.help)
	}
	f.StringVar(&versions, "versions", "", "latest (default) or all")
	f.StringVar(&mode, "mode", "", "ranking: lexical, vector or hybrid (default: hybrid for questions, lexical otherwise)")
	f.StringVar(&cursor, "cursor", "", "the next page's cursor printed by the previous search")
	f.IntVar(&limit, "limit", 20, "packages per page (1-100)")
	f.IntVar(&context, "context", 0, "lines of context around each hit (0-5)")
	f.BoolVar(&asJSON, "json", false, "print the API's JSON answer")
	return cmd
}

// printSearch writes results grep-style: package, then file, then
// "line  role  text" with context lines marked by '-'.
func printSearch(w io.Writer, res *search.Result, args []string) {
	for _, n := range res.Notices {
		fmt.Fprintln(w, "note:", n)
	}
	for _, p := range res.Packages {
		fmt.Fprintf(w, "%s v%d  (hits: %d)\n", p.PackageName, p.Version, p.Hits)
		for _, f := range p.Files {
			fmt.Fprintf(w, "  %s\n", f.Filename)
			for _, h := range f.Shown {
				for _, c := range h.Before {
					fmt.Fprintf(w, "  %7d-            %s\n", c.N, c.Text)
				}
				fmt.Fprintf(w, "  %7d: %-10s %s\n", h.Line, h.Role, h.Text)
				if h.Output != "" {
					fmt.Fprintf(w, "           %-10s %s\n", "outputs", h.Output)
				}
				for _, c := range h.After {
					fmt.Fprintf(w, "  %7d-            %s\n", c.N, c.Text)
				}
			}
			if f.More > 0 {
				fmt.Fprintf(w, "           … more hits in this file: %d\n", f.More)
			}
		}
	}
	if res.Total.Packages == 0 {
		fmt.Fprintln(w, "Nothing matched.")
		return
	}
	if res.Total.Truncated {
		// Counting stopped after the best matches: lower bounds.
		fmt.Fprintf(w, "Packages: %d+, files: %d+, hits: %d+ (%s ranking; counting stopped after the best matches, add a term or a filter to count them all).\n",
			res.Total.Packages, res.Total.Files, res.Total.Hits, res.Mode)
	} else {
		fmt.Fprintf(w, "Packages: %d, files: %d, hits: %d (%s ranking).\n", res.Total.Packages, res.Total.Files, res.Total.Hits, res.Mode)
	}
	if res.NextCursor != "" {
		fmt.Fprintf(w, "Next page: veripost search --cursor %s %s\n", res.NextCursor, shellQuote(strings.Join(args, " ")))
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
