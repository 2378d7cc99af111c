package cli

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/store"
)

func init() {
	register(newServeCmd)
	register(newWorkerCmd)
	register(newMigrateCmd)
}

const envHelp = `
Configuration comes from VERIPOST_* environment variables (see the README).
With none set, VeriPost uses SQLite and a blob folder under ./data.`

func newServeCmd() *cobra.Command {
	var addr string
	var workers int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web UI and API (and, by default, ingestion workers)",
		Long: `Run the VeriPost HTTP server: the web UI at /, the JSON API under /api/v1,
/healthz, /readyz and /metrics. Unless VERIPOST_WORKERS=0, ingestion workers run
in the same process, which is all the embedded deployment needs.` + envHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig(cmd, workers)
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.ListenAddr = addr
			}
			app, err := server.New(cmd.Context(), cfg, log, server.Options{Workers: -1, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			log.Info("starting VeriPost", "version", Version, "database", app.DB.Dialect, "object_store", redactURL(cfg.Blob()), "workers", cfg.Workers)
			return app.Serve(cmd.Context(), cfg.ListenAddr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (overrides VERIPOST_LISTEN_ADDR)")
	cmd.Flags().IntVar(&workers, "workers", 0, "ingestion workers in this process (overrides VERIPOST_WORKERS; 0 = none)")
	return cmd
}

func newWorkerCmd() *cobra.Command {
	var workers int
	var addr string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run ingestion workers only (scaled deployment)",
		Long: `Run background ingestion workers without the HTTP server. Run any number of
these next to 'veripost serve' processes started with VERIPOST_WORKERS=0; they
share work through the queue in the database.` + envHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig(cmd, workers)
			if err != nil {
				return err
			}
			if cfg.Workers < 1 {
				cfg.Workers = 1
			}
			app, err := server.New(cmd.Context(), cfg, log, server.Options{Workers: cfg.Workers, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			log.Info("starting VeriPost worker", "version", Version, "database", app.DB.Dialect, "workers", cfg.Workers)
			if addr != "" {
				app.Handler = app.OpsHandler()
			}
			return app.Serve(cmd.Context(), addr)
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 0, "jobs worked at once (overrides VERIPOST_WORKERS)")
	cmd.Flags().StringVar(&addr, "addr", "", "serve /healthz, /readyz and /metrics on this address (default: no HTTP)")
	return cmd
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema, then exit",
		Long:  `Apply VeriPost's embedded database migrations (and the job queue's) to the configured database.` + envHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := loadConfig(cmd, 0)
			if err != nil {
				return err
			}
			db, err := store.Open(cmd.Context(), cfg.Database(), store.Options{PoolSize: 1, Log: log})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := server.Migrate(cmd.Context(), db, log); err != nil {
				return err
			}
			log.Info("database is up to date", "database", db.Dialect)
			return nil
		},
	}
}

// loadConfig reads the environment, applies the command's --workers flag
// when it was given, and builds the logger the configuration asks for.
func loadConfig(cmd *cobra.Command, workers int) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load()
	if err != nil {
		return cfg, nil, err
	}
	if f := cmd.Flags().Lookup("workers"); f != nil && f.Changed {
		cfg.Workers = workers
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if strings.EqualFold(cfg.LogFormat, "json") {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(h)
	slog.SetDefault(log)
	return cfg, log, nil
}

// redactURL hides secrets in a URL's query (S3 keys) for logging.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
