package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/upg"
)

func init() { register(newDiffCmd) }

type diffOptions struct {
	json     bool
	summary  bool
	server   string
	context  int
	opt      diff.Options
	maxBytes int64
}

func newDiffCmd() *cobra.Command {
	o := diffOptions{maxBytes: compare.DefaultMaxSideBytes}
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two post packages, files or library variants (text and UPG-aware)",
		Long: `Compare A with B and print what changed: files added, removed and renamed,
sections, attributes, operations, header commands, defines, libraries and
symbols, then a unified line diff.

A and B are each one of:
  a local file or folder        read from disk; a folder is one package (no server needed)
  PACKAGE[@VERSION]             a package on a VeriPost server, by id or exact name
                                (the latest version without @VERSION)
  sha256:HEX                    a stored file (a library variant) on the server

The server is --server or VERIPOST_SERVER (default ` + apiclient.DefaultServer + `); an API
token is read from VERIPOST_TOKEN.

Exit status: 0 when A and B are the same (under the ignore options), 1 when
they differ, 2 when the comparison could not be made.`,
		Example: `  veripost diff stock/ customer/
  veripost diff "Tormach PCNC1100@2" "Tormach PCNC1100" --summary
  veripost diff MILL.LIB sha256:1a2b…  --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := runDiff(cmd.Context(), cmd.OutOrStdout(), args[0], args[1], o)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "veripost diff:", describe(err))
				return ExitError{Code: 2}
			}
			if code != 0 {
				return ExitError{Code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the comparison as JSON (the API's shape)")
	f.BoolVar(&o.summary, "summary", false, "print the summary and the UPG-aware changes, without line diffs and statements")
	f.StringVar(&o.server, "server", "", "VeriPost server for PACKAGE[@VERSION] and sha256: references (default $"+apiclient.EnvServer+")")
	f.IntVarP(&o.context, "context", "U", diff.DefaultContext, "unchanged lines around each change")
	f.BoolVarP(&o.opt.IgnoreWhitespace, "ignore-whitespace", "w", false, "ignore blanks, blank lines, line endings and the final newline")
	f.BoolVarP(&o.opt.IgnoreCase, "ignore-case", "i", false, "ignore letter case")
	f.BoolVar(&o.opt.IgnoreComments, "ignore-comments", false, "ignore changes that only touch comment lines")
	return cmd
}

// describe writes an error with its detail, as the API gives them.
func describe(err error) string {
	if e, ok := apperror.As(err); ok {
		if e.Detail != "" {
			return e.Message + " (" + e.Detail + ")"
		}
		return e.Message
	}
	return err.Error()
}

// arg is one side as given on the command line.
type arg struct {
	text  string
	local bool
	ref   compare.Ref
}

func parseArg(s string) (arg, error) {
	if _, err := os.Stat(s); err == nil {
		return arg{text: s, local: true}, nil
	}
	if hex, ok := strings.CutPrefix(s, "sha256:"); ok {
		return arg{text: s, ref: compare.Ref{SHA256: hex}}, nil
	}
	// Something that looks like a path but is not there is a typo, not a
	// package name.
	if strings.HasSuffix(s, "/") || strings.HasSuffix(s, `\`) || upg.KindOf(s) != upg.KindOther || strings.HasPrefix(s, ".") {
		return arg{}, fmt.Errorf("%s: no such file or folder", s)
	}
	r, err := compare.ParseRef(s)
	return arg{text: s, ref: r}, err
}

func runDiff(ctx context.Context, out io.Writer, as, bs string, o diffOptions) (int, error) {
	a, err := parseArg(as)
	if err != nil {
		return 2, err
	}
	b, err := parseArg(bs)
	if err != nil {
		return 2, err
	}
	o.opt.Context = o.context
	if o.context == 0 {
		o.opt.Context = -1
	}
	o.opt.NoHunks = o.summary && !o.json
	var c *compare.Comparison
	client := apiclient.FromEnv(o.server)
	if !a.local && !b.local {
		c, err = remoteCompare(ctx, client, a.ref, b.ref, o.opt)
	} else {
		var sa, sb diff.Side
		var ma, mb compare.Side
		if ma, sa, err = loadArg(ctx, client, a, o.maxBytes); err == nil {
			mb, sb, err = loadArg(ctx, client, b, o.maxBytes)
		}
		if err == nil {
			c = &compare.Comparison{A: ma, B: mb, Result: diff.Compare(sa, sb, o.opt)}
		}
	}
	if err != nil {
		return 2, err
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(c)
	} else {
		err = diff.WriteText(out, c.Result, diff.TextOptions{Hunks: !o.summary, Statements: !o.summary})
	}
	if err != nil {
		return 2, err
	}
	if c.Result.Identical {
		return 0, nil
	}
	return 1, nil
}

// remoteCompare asks the server to compare two of its sides.
func remoteCompare(ctx context.Context, client *apiclient.Client, a, b compare.Ref, opt diff.Options) (*compare.Comparison, error) {
	q := url.Values{}
	a.SetParams(q, "a")
	b.SetParams(q, "b")
	q.Set("ignore_whitespace", strconv.FormatBool(opt.IgnoreWhitespace))
	q.Set("ignore_case", strconv.FormatBool(opt.IgnoreCase))
	q.Set("ignore_comments", strconv.FormatBool(opt.IgnoreComments))
	q.Set("context", strconv.Itoa(max(opt.Context, 0)))
	q.Set("hunks", strconv.FormatBool(!opt.NoHunks))
	var c compare.Comparison
	if err := client.GetJSON(ctx, apiclient.Prefix+"/compare", q, &c); err != nil {
		return nil, err
	}
	if c.Result == nil {
		return nil, errors.New("the server's answer holds no comparison")
	}
	return &c, nil
}

// loadArg reads one side: from disk, or the files of a server side.
func loadArg(ctx context.Context, client *apiclient.Client, a arg, maxBytes int64) (compare.Side, diff.Side, error) {
	if a.local {
		s, err := readLocal(a.text, maxBytes)
		return compare.Side{Kind: "local", Label: a.text, Files: []compare.SideFile{}}, s, err
	}
	// The server resolves the reference (names, latest version) by
	// comparing it with itself; then each file is downloaded.
	c, err := remoteCompare(ctx, client, a.ref, a.ref, diff.Options{NoHunks: true})
	if err != nil {
		return compare.Side{}, diff.Side{}, err
	}
	side := c.A
	out := diff.Side{Label: side.Label}
	var total int64
	for _, f := range side.Files {
		data, err := download(ctx, client, side.PackageID, f.ID, maxBytes-total)
		if err != nil {
			return side, out, fmt.Errorf("downloading %s: %w", f.Name, err)
		}
		total += int64(len(data))
		out.Files = append(out.Files, diff.File{Name: f.Name, Data: data, SHA256: f.SHA256, ID: f.ID})
	}
	return side, out, nil
}

func download(ctx context.Context, client *apiclient.Client, pkgID, fileID string, limit int64) ([]byte, error) {
	req, err := client.NewRequest(ctx, http.MethodGet, apiclient.Prefix+"/packages/"+url.PathEscape(pkgID)+"/files/"+url.PathEscape(fileID)+"/download", nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("more than %d MiB to compare", compare.DefaultMaxSideBytes>>20)
	}
	return data, err
}

// readLocal reads a file, or the files of a folder (not its sub-folders,
// nor hidden files), as one side.
func readLocal(path string, maxBytes int64) (diff.Side, error) {
	s := diff.Side{Label: path}
	st, err := os.Stat(path)
	if err != nil {
		return s, err
	}
	var names []string
	dir := path
	if st.IsDir() {
		es, err := os.ReadDir(path)
		if err != nil {
			return s, err
		}
		for _, e := range es {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
	} else {
		dir, names = filepath.Dir(path), []string{filepath.Base(path)}
	}
	var total int64
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return s, err
		}
		if total += int64(len(data)); total > maxBytes {
			return s, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("more than %d MiB to compare", maxBytes>>20)}
		}
		s.Files = append(s.Files, diff.File{Name: n, Data: data})
	}
	return s, nil
}
