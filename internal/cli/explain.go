package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/copilot"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
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
	ask       string
}

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
  veripost explain ./my-post/ --file MILL.LIB --section CALC_START_OF_TAPE --json

With --llm (or --ask) the LLM copilot configured by the same VERIPOST_LLM_*
variables as the server also answers, after the offline explanation; its
citations are checked against the files and the ones they do not back are
removed. Nothing is sent anywhere without --llm or --ask.

  VERIPOST_LLM_PROVIDER=openai VERIPOST_LLM_BASE_URL=http://localhost:11434/v1 \
  VERIPOST_LLM_MODEL=llama3.1 veripost explain ./my-post/ --section TOOL_CHANGE --llm
  veripost explain ./my-post/ --ask "where is the tool change output?"`,
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
	f.StringVar(&opt.ask, "ask", "", "ask the LLM copilot a free question about the package (implies --llm)")
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
	if opt.ask != "" {
		if n > 0 {
			return errors.New("--ask is a question about the whole package; leave out --section, --attribute and --lines")
		}
		opt.llm = true
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

	if opt.json {
		slot := explain.CopilotNotConfigured()
		if opt.llm {
			slot = askJSON(ctx, errOut, pkg, e, file, opt)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Explanation *explain.Explanation `json:"explanation"`
			Copilot     explain.Copilot      `json:"copilot"`
		}{e, slot})
	}
	if opt.markdown {
		fmt.Fprint(out, explain.Markdown(e, nil))
	} else {
		fmt.Fprint(out, explain.Text(e))
	}
	if !opt.llm {
		return nil
	}
	cp, ask, err := copilotQuestion(errOut, pkg, e, file, opt)
	if cp == nil || err != nil {
		return err
	}
	if note := ask.Packed.Summary(); note != "" {
		fmt.Fprintln(errOut, "veripost: "+note)
	}
	ch, err := cp.Stream(ctx, ask.Request)
	if err != nil {
		return copilotFailed(err)
	}
	fmt.Fprintf(out, "\n## The copilot (%s) says\n\n", cp.Model())
	for ev := range ch {
		switch ev.Kind {
		case llm.EventText:
			fmt.Fprint(out, ev.Text)
		case llm.EventCitation:
			fmt.Fprintf(out, " [%s]", citeLabel(*ev.Citation))
		case llm.EventDone:
			fmt.Fprintf(out, "\n\n(%s)\n", answerNote(*ev.Answer))
			return nil
		case llm.EventError:
			fmt.Fprintln(out)
			return copilotFailed(ev.Err)
		}
	}
	return copilotFailed(ctx.Err())
}

// copilotQuestion builds the question --llm asks about e, with the
// copilot the VERIPOST_LLM_* settings configure. A nil copilot (and nil
// error) means it is off; that has been said on errOut.
func copilotQuestion(errOut io.Writer, pkg *explain.Package, e *explain.Explanation, file string, opt explainOptions) (*llm.Copilot, *copilot.Ask, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := llm.FromConfig(cfg, nil, log) // no database here: no cache, no budget
	if err != nil {
		return nil, nil, err
	}
	if cp == nil {
		fmt.Fprintln(errOut, "veripost: the copilot is not configured, so only the offline explanation is shown")
		return nil, nil, nil
	}
	b := copilot.Builder{Budget: cp.ContextTokens()}
	var ask *copilot.Ask
	switch {
	case opt.ask != "":
		ask, err = b.Question(pkg, e, opt.ask)
	case e.Kind == explain.KindSection:
		ask, err = b.Section(pkg, e, file, opt.section)
	case e.Kind == explain.KindPackage:
		ask = b.Package(pkg, e)
	default:
		ask = b.Explanation(pkg, e)
	}
	if err != nil {
		return nil, nil, err
	}
	ask.Request.User = "command line"
	return cp, ask, nil
}

// askJSON asks the copilot and returns the slot for --json: the answer as
// sentences, each with the verified citations that follow it.
func askJSON(ctx context.Context, errOut io.Writer, pkg *explain.Package, e *explain.Explanation, file string, opt explainOptions) explain.Copilot {
	cp, ask, err := copilotQuestion(errOut, pkg, e, file, opt)
	switch {
	case err != nil:
		return explain.Copilot{Status: "error", Message: err.Error()}
	case cp == nil:
		return explain.CopilotNotConfigured()
	}
	a, err := cp.Ask(ctx, ask.Request)
	if err != nil {
		return explain.Copilot{Status: "error", Message: copilotFailed(err).Error()}
	}
	return explain.Copilot{Status: "answered", Message: ask.Packed.Summary(),
		Answer: &explain.CopilotAnswer{Model: a.Model, Sentences: answerSentences(a), Unverified: a.Dropped}}
}

// answerSentences cuts an answer at its citations: each piece of text
// carries the citations that stand right after it.
func answerSentences(a llm.Answer) []explain.Sentence {
	var out []explain.Sentence
	prev := 0
	for _, c := range a.Citations {
		cite := explain.Cite{File: c.File, Start: c.StartLine, End: c.EndLine}
		if c.Offset > prev || len(out) == 0 {
			out = append(out, explain.Sentence{Text: strings.TrimSpace(a.Text[prev:c.Offset]), Cites: []explain.Cite{}})
			prev = c.Offset
		}
		last := &out[len(out)-1]
		last.Cites = append(last.Cites, cite)
	}
	if rest := strings.TrimSpace(a.Text[prev:]); rest != "" {
		out = append(out, explain.Sentence{Text: rest, Cites: []explain.Cite{}})
	}
	return out
}

func citeLabel(c llm.Citation) string {
	if c.EndLine > c.StartLine {
		return fmt.Sprintf("%s:%d-%d", c.File, c.StartLine, c.EndLine)
	}
	return fmt.Sprintf("%s:%d", c.File, c.StartLine)
}

// answerNote says what the answer cost and what was removed from it.
func answerNote(a llm.Answer) string {
	parts := []string{a.Model}
	if a.Usage.InputTokens+a.Usage.OutputTokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens in, %d out", a.Usage.InputTokens, a.Usage.OutputTokens))
	}
	switch a.Dropped {
	case 0:
	case 1:
		parts = append(parts, "1 citation could not be verified against the files and was removed")
	default:
		parts = append(parts, fmt.Sprintf("%d citations could not be verified against the files and were removed", a.Dropped))
	}
	if a.Truncated {
		parts = append(parts, "the answer was cut at VERIPOST_LLM_MAX_OUTPUT_TOKENS")
	}
	return strings.Join(parts, "; ")
}

// copilotFailed says why the copilot did not answer; the offline
// explanation above stands.
func copilotFailed(err error) error {
	if e, ok := apperror.As(err); ok {
		return errors.New("the copilot could not answer: " + e.Message)
	}
	return fmt.Errorf("the copilot could not answer: %w", err)
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
