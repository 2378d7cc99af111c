package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/fsck"
	"github.com/veripost/veripost/internal/server"
)

func init() { register(newFsckCmd) }

func newFsckCmd() *cobra.Command {
	var repair, quick, asJSON bool
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Check that the database and the object store agree (and repair what is safe)",
		Long: `Check every recorded file against its stored original (present, same size and
SHA-256), list stored originals no file references (orphans), versions not indexed
by this analysis version or stuck without a job, and library counters that differ
from the packages' latest files. Prints a summary and exits with status 1 when
something is wrong.

--repair does the safe repairs and says what it did: it queues the ingestion of
unindexed and stuck versions again, and removes orphans older than the collector's
grace period (15 minutes). Lost or damaged originals cannot be repaired here:
restore them from a backup or upload the package again. --quick compares sizes
only instead of reading every original.

It can run while the server runs.` + envHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig(cmd, 0)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			app, err := server.New(ctx, cfg, log, server.Options{Workers: 0, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			checker := app.Fsck(quick)
			out := cmd.OutOrStdout()
			if !asJSON {
				checker.Progress = progress(cmd.ErrOrStderr(), "checking originals")
			}
			rep, err := checker.Check(ctx)
			if err != nil {
				return err
			}
			if repair && !rep.OK() {
				err := checker.Repair(ctx, rep, app.FsckRepairer())
				if len(rep.Repaired) > 0 {
					actx := asCLI(ctx)
					app.Auth.Record(actx, auth.NewEvent(actx, auth.ActionRepair, fmt.Sprintf("fsck --repair: %d repairs", len(rep.Repaired))).
						With("repaired", rep.Repaired))
				}
				if err != nil {
					return err
				}
				done := rep.Repaired
				if rep, err = checker.Check(ctx); err != nil {
					return err
				}
				rep.Repaired = done
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printFsck(out, rep)
			}
			if !rep.OK() {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "queue unindexed and stuck versions again and remove old orphans, then check again")
	cmd.Flags().BoolVar(&quick, "quick", false, "compare sizes only; do not read every stored original")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printFsck(out io.Writer, rep *fsck.Report) {
	fmt.Fprintf(out, "checked %d files (%d distinct contents), %d stored originals, %d versions\n", rep.Files, rep.Contents, rep.Blobs, rep.Versions)
	if rep.InProgress > 0 || rep.YoungOrphans > 0 {
		fmt.Fprintf(out, "in progress: %d versions being ingested, %d originals of uploads not yet recorded\n", rep.InProgress, rep.YoungOrphans)
	}
	for _, r := range rep.Repaired {
		fmt.Fprintf(out, "repaired: %s\n", r)
	}
	if rep.OK() {
		fmt.Fprintln(out, "OK: the database and the object store agree")
		return
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(out, "%s: %s: %s\n    fix: %s\n", p.Kind, p.Subject, p.Detail, p.Fix)
	}
	fmt.Fprintf(out, "PROBLEMS: %d\n", len(rep.Problems))
}
