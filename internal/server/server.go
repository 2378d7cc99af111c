// Package server assembles VeriPost from its parts (database, object
// store, queue, ingestion pipeline, HTTP handlers) for the serve and worker
// commands and for tests.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/embeddings"
	"github.com/veripost/veripost/internal/ingest"
	"github.com/veripost/veripost/internal/jobs"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/upload"
)

// Options choose what an App does besides holding its connections.
type Options struct {
	// Workers overrides cfg.Workers when >= 0; use -1 to keep the config.
	Workers int
	// Version is reported by the API and /healthz.
	Version string
}

// App is a running VeriPost process.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *store.DB
	Blobs    blob.Store
	Queue    *jobs.Queue
	Service  *catalog.Service
	Pipeline *ingest.Pipeline
	Search   *search.Searcher
	Handler  http.Handler
	version  string
}

// New connects to the database and object store, migrates when configured,
// and builds the queue client and HTTP handler.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	db, err := store.Open(ctx, cfg.Database(), store.Options{PoolSize: cfg.DBPoolSize, PoolOverflow: cfg.DBPoolOverflow, Log: log})
	if err != nil {
		return nil, err
	}
	app := &App{Config: cfg, Log: log, DB: db, version: opt.Version}
	if cfg.AutoMigrate {
		if err := Migrate(ctx, db, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	app.Blobs, err = blob.Open(ctx, cfg.Blob())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening object store: %w", err)
	}
	// Search: the indexer runs in the ingestion pipeline, the searcher
	// answers the API and the pages; both may use an external embeddings
	// service.
	var emb search.Embedder
	if cfg.EmbeddingsURL != "" {
		emb = embeddings.New(cfg.EmbeddingsURL, cfg.EmbeddingsModel, cfg.EmbeddingsAPIKey, cfg.EmbeddingsTimeout)
		log.Info("search uses an external embeddings service", "url", cfg.EmbeddingsURL, "model", cfg.EmbeddingsModel)
	}
	if _, _, err := db.SearchBackend(ctx); err != nil {
		log.Warn("could not tell which search index paths are active", "err", err)
	}
	app.Search = &search.Searcher{Index: db, ParserVersion: ingest.ParserVersion, Embedder: emb, Log: log,
		Weights: search.Weights{Lexical: cfg.SearchLexicalWeight, Vector: cfg.SearchVectorWeight, K: cfg.SearchRRFK}}
	app.Pipeline = &ingest.Pipeline{Repo: db, Blobs: app.Blobs, Index: db, Log: log,
		Search: &search.Indexer{Store: db, Embedder: emb, Log: log}}
	workers := cfg.Workers
	if opt.Workers >= 0 {
		workers = opt.Workers
	}
	app.Queue, err = jobs.New(db, jobs.Options{Workers: workers, MaxAttempts: cfg.JobMaxAttempts, Processor: app.Pipeline, Log: log})
	if err != nil {
		app.Close()
		return nil, err
	}
	app.Service = &catalog.Service{Repo: db, Blobs: app.Blobs, Enqueue: app.Queue.EnqueueIngest, Log: log}
	app.Handler = app.routes()
	return app, nil
}

// reindexer re-queues every version not yet indexed by the pipeline's
// parser version.
type reindexer struct{ app *App }

func (r reindexer) parserVersion() string {
	if pv := r.app.Pipeline.ParserVersion; pv != "" {
		return pv
	}
	return ingest.ParserVersion
}

// StartReindex implements api.Reindexer: versions parsed by another parser
// version, and versions without a current search index entry.
func (r reindexer) StartReindex(ctx context.Context) (int, error) {
	ids, err := r.app.DB.VersionsToReindex(ctx, r.parserVersion())
	if err != nil {
		return 0, err
	}
	unsearched, err := r.app.DB.VersionsToIndexForSearch(ctx, search.IndexVersionFor(r.parserVersion()))
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	all := make([]string, 0, len(ids)+len(unsearched))
	for _, id := range append(ids, unsearched...) {
		if !seen[id] {
			seen[id] = true
			all = append(all, id)
		}
	}
	return r.app.Queue.EnqueueReindex(ctx, all)
}

// ReindexProgress implements api.Reindexer: a version is done when it is
// parsed by this parser version and indexed for search.
func (r reindexer) ReindexProgress(ctx context.Context) (string, int, int, error) {
	pv := r.parserVersion()
	done, total, err := r.app.DB.SearchIndexProgress(ctx, pv, search.IndexVersionFor(pv))
	return pv, done, total, err
}

// Reindexer returns the app's re-index control.
func (a *App) Reindexer() api.Reindexer { return reindexer{a} }

// Migrate applies the application's and the queue's migrations.
func Migrate(ctx context.Context, db *store.DB, log *slog.Logger) error {
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	return jobs.Migrate(ctx, db, log)
}

// Limits are the upload limits from the configuration.
func (a *App) Limits() upload.Limits {
	return upload.Limits{
		MaxRequestBytes:     a.Config.MaxRequestBytes,
		MaxFiles:            a.Config.MaxFiles,
		MaxFileBytes:        a.Config.MaxFileBytes,
		MaxTotalBytes:       a.Config.MaxTotalBytes,
		MaxCompressionRatio: a.Config.MaxCompressionRatio,
	}
}

// Close releases connections. Stop the queue first.
func (a *App) Close() {
	if a.Blobs != nil {
		a.Blobs.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}

// Serve runs the HTTP server (when addr is not empty) and the queue until
// ctx ends, then shuts both down gracefully.
func (a *App) Serve(ctx context.Context, addr string) error {
	if err := a.Queue.Start(ctx); err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	errc := make(chan error, 1)
	var srv *http.Server
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			a.stopQueue()
			return fmt.Errorf("listening on %s: %w (set VERIPOST_LISTEN_ADDR to a free address)", addr, err)
		}
		srv = &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		a.Log.Info("VeriPost is listening", "url", "http://"+ln.Addr().String())
		go func() { errc <- srv.Serve(ln) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if srv != nil {
		if serr := srv.Shutdown(shutdownCtx); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	if qerr := a.Queue.Stop(shutdownCtx); qerr != nil {
		err = errors.Join(err, qerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (a *App) stopQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	_ = a.Queue.Stop(ctx)
}
