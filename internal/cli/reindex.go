package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/server"
)

func init() { register(newReindexCmd) }

func newReindexCmd() *cobra.Command {
	var wait bool
	var workers int
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Re-parse every package version after a parser upgrade, with progress",
		Long: `Queue the ingestion job again for every ready version not yet indexed by this
binary's UPG parser version, then (unless --wait=false) show progress until all are
done. Stored originals are not touched; only the parse results are rebuilt.

This process works the jobs itself with --workers (default VERIPOST_WORKERS); with
--workers 0 it only queues them and watches the workers of other processes.` + envHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig(cmd, workers)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			app, err := server.New(ctx, cfg, log, server.Options{Workers: -1, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			if err := app.Queue.Start(ctx); err != nil {
				return err
			}
			defer func() {
				stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
				defer cancel()
				_ = app.Queue.Stop(stopCtx)
			}()
			r := app.Reindexer()
			queued, err := r.StartReindex(ctx)
			if err != nil {
				return fmt.Errorf("queueing re-index: %w", err)
			}
			pv, done, total, err := r.ReindexProgress(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "parser version %s: %d of %d versions indexed, %d queued\n", pv, done, total, queued)
			if !wait || done >= total {
				return nil
			}
			if cfg.Workers == 0 {
				fmt.Fprintln(out, "this process works no jobs (--workers 0): waiting for other workers")
			}
			bar := progressbar.NewOptions(total,
				progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetDescription("re-indexing"),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionClearOnFinish())
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for done < total {
				_ = bar.Set(done)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
				}
				if _, done, total, err = r.ReindexProgress(ctx); err != nil {
					return err
				}
			}
			_ = bar.Finish()
			fmt.Fprintf(out, "done: %d versions indexed by parser version %s\n", total, pv)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", true, "wait and show progress until every version is indexed")
	cmd.Flags().IntVar(&workers, "workers", 0, "jobs this process works at once (overrides VERIPOST_WORKERS; 0 = only queue)")
	return cmd
}
