package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/registry"
)

func init() { register(newLibraryCmd) }

// newLibraryCmd manages the stock library registry of a running server.
func newLibraryCmd() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "library",
		Short: "Manage the stock library registry (MILL.LIB, LATHE.LIB, MASTER.ATR variants) of a running server",
		Long: `Register variants of the vendor's stock libraries with a label, list them, and
choose the default per file name. A package whose :LIBRARY= points outside itself
and that does not ship the file is resolved against the default variant.

The commands talk to the server named by --server or VERIPOST_SERVER (token:
VERIPOST_TOKEN).`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "server URL (default $VERIPOST_SERVER or "+apiclient.DefaultServer+")")

	var label, name, sha string
	reg := &cobra.Command{
		Use:   "register [FILE]",
		Short: "Register a library file (or, with --sha256, a content the server holds) under a label",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"label": label, "name": name}
			switch {
			case len(args) == 1:
				data, err := os.ReadFile(args[0])
				if err != nil {
					return err
				}
				if name == "" {
					body["name"] = filepath.Base(args[0])
				}
				body["content"] = data
			case sha != "":
				body["sha256"] = sha
			default:
				return fmt.Errorf("give a library FILE, or --sha256 of a file the server holds (with --name)")
			}
			var v registry.Variant
			if err := apiclient.FromEnv(server).SendJSON(cmd.Context(), "POST", apiclient.Prefix+"/admin/registry", nil, body, &v); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s %s (%s)\n", v.Name, v.SHA256, v.Label)
			return nil
		},
	}
	reg.Flags().StringVar(&label, "label", "", "what the variant is, e.g. \"CAMWorks 2024 SP2\" (required)")
	reg.Flags().StringVar(&name, "name", "", "library file name (default: the FILE's name)")
	reg.Flags().StringVar(&sha, "sha256", "", "register a content the server already holds")
	_ = reg.MarkFlagRequired("label")

	list := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List the registered variants (the default of each name is marked)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("name", args[0])
			}
			var out struct{ Items []registry.Variant }
			if err := apiclient.FromEnv(server).GetJSON(cmd.Context(), apiclient.Prefix+"/registry", q, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDEFAULT\tLABEL\tSHA256\tSIZE")
			for _, v := range out.Items {
				def := ""
				if v.Default {
					def = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", v.Name, def, v.Label, v.SHA256, v.Size)
			}
			return tw.Flush()
		},
	}

	var wait bool
	def := &cobra.Command{
		Use:   "default NAME SHA256",
		Short: "Make a registered variant the default of its name; the versions that need it are analysed again",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := apiclient.FromEnv(server)
			var res struct{ Queued int }
			if err := c.SendJSON(cmd.Context(), "PUT", apiclient.Prefix+"/admin/registry/"+url.PathEscape(args[0])+"/default", nil,
				map[string]string{"sha256": args[1]}, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s now defaults to %s; %d version(s) queued for analysis\n", args[0], args[1], res.Queued)
			if !wait || res.Queued == 0 {
				return nil
			}
			var p struct{ Done, Total int }
			bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionSetDescription("re-analysing"),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			for {
				if err := c.GetJSON(cmd.Context(), apiclient.Prefix+"/admin/reindex", nil, &p); err != nil {
					return err
				}
				bar.ChangeMax(p.Total)
				_ = bar.Set(p.Done)
				if p.Done >= p.Total {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(300 * time.Millisecond):
				}
			}
			_ = bar.Finish()
			fmt.Fprintln(out, "done: every version is analysed")
			return nil
		},
	}
	def.Flags().BoolVar(&wait, "wait", true, "show progress until the re-analysis is done")
	cmd.AddCommand(reg, list, def)
	return cmd
}
