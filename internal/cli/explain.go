package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/explain"
)

func init() { register(newExplainCmd) }

type explainOptions struct {
	section   string
	attribute string
	lines     string
	file      string
	json      bool
	markdown  bool
	llm       bool
}

// askCopilot answers --llm: it asks the configured LLM provider (the
// VERIPOST_LLM_* settings) about the explanation and prints the answer with
// its verified citations. It stays nil until the copilot layer is connected;
// --llm then says so and the offline explanation stands.
var askCopilot func(ctx context.Context, out io.Writer, pkg *explain.Package, e *explain.Explanation) error

func newExplainCmd() *cobra.Command {
	var opt explainOptions
	cmd := &cobra.Command{
		Use:   "explain FILE_OR_DIR",
		Short: "Explain a post package, a section, an attribute or lines in plain words (offline)",
		Long: `Explain UPG post source in plain words, from the source alone: no server, no
network, no key. Every statement cites the lines (FILE:LINE) that show it.

A folder is read as one package (a .SRC with its libraries and side files); a
single file is explained on its own. Without a flag the whole package is
summed up: machine and controller, libraries and their variants, its own
sections, what it overrides, notable settings, questions and diagnostics.

  veripost explain ./my-post/
  veripost explain ./my-post/ --section INIT_TOOL_CHANGE_MILL
  veripost explain ./my-post/ --attribute "MACHINE NAME"
  veripost explain ./my-post/MILL.LIB --lines 5360-5420
  veripost explain ./my-post/ --file MILL.LIB --section CALC_START_OF_TAPE --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.section, "section", "", "explain this section (when it runs, what it outputs and computes, what it depends on)")
	f.StringVar(&opt.attribute, "attribute", "", "explain this attribute, :DEFINE constant or variable (what it controls, values, where it is used)")
	f.StringVar(&opt.lines, "lines", "", "explain these lines of a file, as FROM-TO (or one line)")
	f.StringVar(&opt.file, "file", "", "with a folder: the file a --section or --lines is in (default: the section the package uses)")
	f.BoolVar(&opt.json, "json", false, "print the structured explanation (sentences with citations) as JSON")
	f.BoolVar(&opt.markdown, "markdown", false, "print Markdown instead of plain text")
	f.BoolVar(&opt.llm, "llm", false, "also ask the LLM copilot configured by VERIPOST_LLM_* (the offline explanation is printed first)")
	return cmd
}

func runExplain(ctx context.Context, out, errOut io.Writer, path string, opt explainOptions) error {
	n := 0
	for _, set := range []bool{opt.section != "", opt.attribute != "", opt.lines != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("give only one of --section, --attribute and --lines")
	}
	if opt.json && opt.markdown {
		return errors.New("give --json or --markdown, not both")
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var inputs []explain.Input
	file := opt.file
	if st.IsDir() {
		if inputs, err = readPackageDir(path); err != nil {
			return err
		}
		if len(inputs) == 0 {
			return fmt.Errorf("%s holds no files to explain", path)
		}
	} else {
		if file != "" {
			return errors.New("--file is for a folder; name the file itself instead")
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file = filepath.Base(path)
		inputs = []explain.Input{{Name: file, Data: src}}
	}
	pkg := explain.Analyze(inputs)
	var e *explain.Explanation
	switch {
	case opt.section != "":
		e, err = pkg.Section(file, opt.section)
	case opt.attribute != "":
		e, err = pkg.Attribute(opt.attribute)
	case opt.lines != "":
		if file == "" {
			return errors.New("--lines needs the file: name it with --file, or give the file instead of the folder")
		}
		from, to, perr := parseLines(opt.lines)
		if perr != nil {
			return perr
		}
		e, err = pkg.Lines(file, from, to)
	default:
		e = pkg.Overview()
	}
	if err != nil {
		return err
	}

	switch {
	case opt.json:
		copilot := explain.CopilotNotConfigured()
		if askCopilot != nil && opt.llm {
			copilot.Status, copilot.Message = "available", ""
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Explanation *explain.Explanation `json:"explanation"`
			Copilot     explain.Copilot      `json:"copilot"`
		}{e, copilot}); err != nil {
			return err
		}
	case opt.markdown:
		fmt.Fprint(out, explain.Markdown(e, nil))
	default:
		fmt.Fprint(out, explain.Text(e))
	}
	if !opt.llm {
		return nil
	}
	if askCopilot == nil {
		fmt.Fprintln(errOut, "veripost: the copilot is not configured, so only the offline explanation is shown")
		return nil
	}
	return askCopilot(ctx, out, pkg, e)
}

// parseLines reads "FROM-TO" or "LINE".
func parseLines(s string) (int, int, error) {
	a, b, ranged := strings.Cut(strings.TrimSpace(s), "-")
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to := from
	var err2 error
	if ranged {
		to, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || from < 1 || to < from {
		return 0, 0, fmt.Errorf("--lines %q: write the lines as FROM-TO (for example 120-160) or one line number", s)
	}
	return from, to, nil
}
