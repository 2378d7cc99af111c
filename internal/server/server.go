// Package server assembles VeriPost from its parts (database, object
// store, queue, ingestion pipeline, HTTP handlers) for the serve and worker
// commands and for tests.
package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/auth/authhttp"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/embeddings"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/ingest"
	"github.com/veripost/veripost/internal/jobs"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/registry"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/upload"
	"github.com/veripost/veripost/internal/web"
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
	Config    config.Config
	Log       *slog.Logger
	DB        *store.DB
	Blobs     blob.Store
	Queue     *jobs.Queue
	Service   *catalog.Service
	Pipeline  *ingest.Pipeline
	Collector *catalog.Collector
	Registry  *registry.Service
	Search    *search.Searcher
	Handler   http.Handler
	// Auth and Guard: accounts, sessions, tokens, audit; access control.
	Auth  *auth.Service
	Guard *authhttp.Guard
	// Copilot is the LLM copilot (nil when VERIPOST_LLM_PROVIDER is empty).
	Copilot *llm.Copilot
	// API and UI are the two route sets behind Handler (for the access
	// table's test).
	API      huma.API
	UI       *web.UI
	version  string
	working  bool
	listener *pgxpool.Pool // the queue's LISTEN connection (PostgreSQL workers)
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
	app.Search = &search.Searcher{Index: db, ParserVersion: analysis.ParserVersion, Embedder: emb, Log: log,
		Weights: search.Weights{Lexical: cfg.SearchLexicalWeight, Vector: cfg.SearchVectorWeight, K: cfg.SearchRRFK}}
	app.Registry = &registry.Service{Store: db, Blobs: app.Blobs, Leases: db}
	app.Pipeline = &ingest.Pipeline{Repo: db, Blobs: app.Blobs, Index: analysisWriter{DB: db, app: app}, Registry: app.Registry, Log: log, Limits: app.AnalysisLimits(),
		Search: &search.Indexer{Store: db, Embedder: emb, Log: log}}
	app.Collector = &catalog.Collector{Blobs: blobSweeper{app.Blobs}, Refs: db, Log: log}
	workers := cfg.Workers
	if opt.Workers >= 0 {
		workers = opt.Workers
	}
	app.working = workers > 0
	driver, err := app.queueDriver(ctx)
	if err != nil {
		app.Close()
		return nil, err
	}
	poll := 50 * time.Millisecond // PostgreSQL workers are woken by LISTEN/NOTIFY; this is the fallback
	if db.Dialect == store.SQLite {
		// SQLite has no notifications and a job inserted inside a
		// transaction cannot wake the workers, so they poll: a cheap local
		// query that keeps an upload's wait for its worker to ~10 ms.
		poll = 20 * time.Millisecond
	}
	app.Queue, err = jobs.New(driver, jobs.Options{Workers: workers, MaxAttempts: cfg.JobMaxAttempts, Processor: app.Pipeline,
		Search: app.Pipeline, SearchWorkers: cfg.SearchWorkers, Log: log,
		PollInterval: poll, Collect: app.collect, Registry: db})
	if err != nil {
		app.Close()
		return nil, err
	}
	app.Registry.Queue = app.Queue
	gate := newUploadGate(db, cfg.DBPoolSize)
	app.Service = &catalog.Service{Repo: db, Recorder: recorder{db: db, queue: app.Queue, gate: gate}, Blobs: app.Blobs,
		Leases: gatedLeases{db: db, gate: gate}, Keys: db, Log: log}
	if app.Auth, err = NewAuth(cfg, db, log); err != nil {
		app.Close()
		return nil, err
	}
	if app.Copilot, err = llm.FromConfig(cfg, db, log); err != nil {
		app.Close()
		return nil, err
	}
	if app.Handler, err = app.routes(); err != nil {
		app.Close()
		return nil, err
	}
	return app, nil
}

// queueDriver builds the queue's River driver on the application database:
// riversqlite on SQLite; on PostgreSQL database/sql, plus a LISTEN
// connection of its own when this process works jobs, so workers hear of
// new jobs at once instead of at the next poll.
func (a *App) queueDriver(ctx context.Context) (jobs.Driver, error) {
	if a.DB.Dialect == store.SQLite {
		return riversqlite.New(a.DB.SQL), nil
	}
	if !a.working {
		return riverdatabasesql.New(a.DB.SQL), nil
	}
	cfg, err := pgxpool.ParseConfig(a.Config.Database())
	if err != nil {
		return nil, fmt.Errorf("queue listener: %w", err)
	}
	cfg.MinConns, cfg.MaxConns = 0, 1
	if a.listener, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("queue listener: %w", err)
	}
	return riverdatabasesql.NewWithPgxListener(a.DB.SQL, a.listener), nil
}

// uploadGate bounds how many uploads write to the database at once. On
// SQLite every write shares one connection with ingestion: without the gate
// fifty uploaders win that connection fifty times as often as the workers,
// uploads are accepted far faster than they are analysed and the backlog
// grows without bound. With it, the workers keep their share and the
// uploaders wait (in order) for theirs.
type uploadGate chan struct{}

func newUploadGate(db *store.DB, poolSize int) uploadGate {
	n := max(poolSize, 1)
	if db.Dialect == store.SQLite {
		n = 1
	}
	return make(uploadGate, n)
}

func (g uploadGate) enter(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g uploadGate) leave() { <-g }

// gatedLeases takes upload leases through the gate.
type gatedLeases struct {
	db   *store.DB
	gate uploadGate
}

func (l gatedLeases) Lease(ctx context.Context, id string, shas []string, expires time.Time) error {
	if err := l.gate.enter(ctx); err != nil {
		return err
	}
	defer l.gate.leave()
	return l.db.Lease(ctx, id, shas, expires)
}

func (l gatedLeases) Release(ctx context.Context, id string) error { return l.db.Release(ctx, id) }

// recorder records an accepted upload and its ingestion job in one
// transaction (catalog.VersionRecorder).
type recorder struct {
	db    *store.DB
	queue *jobs.Queue
	gate  uploadGate
}

func (r recorder) RecordVersion(ctx context.Context, nv catalog.NewVersion) (catalog.Package, catalog.Version, error) {
	if err := r.gate.enter(ctx); err != nil {
		return catalog.Package{}, catalog.Version{}, err
	}
	defer r.gate.leave()
	var ver catalog.Version
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ver, err = r.db.CreateVersionTx(ctx, tx, nv); err != nil {
			return err
		}
		if nv.Key != nil {
			if err := r.db.SaveUploadKeyTx(ctx, tx, *nv.Key, ver.ID); err != nil {
				return err
			}
		}
		if ver.JobID, err = r.queue.EnqueueIngest(ctx, tx, ver.ID); err != nil {
			return fmt.Errorf("queueing ingestion: %w", err)
		}
		return r.db.SetVersionJob(ctx, tx, ver.ID, ver.JobID)
	})
	if err != nil {
		return catalog.Package{}, catalog.Version{}, err
	}
	pkg, err := r.db.GetPackage(ctx, ver.PackageID)
	return pkg, ver, err
}

// analysisWriter stores a version's analysis and, when the version ends
// ready, queues its search indexing in the same transaction: a ready
// version is never left out of search by a crash in between.
type analysisWriter struct {
	*store.DB
	app *App
}

func (w analysisWriter) SaveAnalysis(ctx context.Context, a index.VersionAnalysis) error {
	if a.Status != catalog.StatusReady || w.app.Queue == nil {
		return w.DB.SaveAnalysis(ctx, a)
	}
	return w.DB.SaveAnalysisThen(ctx, a, func(tx *sql.Tx) error {
		if err := w.app.Queue.EnqueueSearchTx(ctx, tx, a.VersionID); err != nil {
			return fmt.Errorf("queueing search indexing: %w", err)
		}
		return nil
	})
}

// UploadKeyTTL is how long an upload's Idempotency-Key is remembered.
const UploadKeyTTL = 24 * time.Hour

// collect is the periodic housekeeping: the blob collector, and forgetting
// idempotency keys older than UploadKeyTTL.
func (a *App) collect(ctx context.Context) error {
	_, err := a.Collector.Collect(ctx)
	if _, kerr := a.DB.PruneUploadKeys(ctx, time.Now().Add(-UploadKeyTTL)); kerr != nil {
		err = errors.Join(err, kerr)
	}
	return err
}

// blobSweeper lets the collector list and delete blobs.
type blobSweeper struct{ blob.Store }

func (b blobSweeper) ListBlobs(ctx context.Context, fn func(catalog.StoredBlob) error) error {
	return b.List(ctx, func(i blob.Info) error { return fn(catalog.StoredBlob{Key: i.Key, ModTime: i.ModTime}) })
}

// reindexer re-queues every version not yet indexed by the pipeline's
// parser version.
type reindexer struct{ app *App }

// StartReindex implements api.Reindexer: versions parsed by another parser
// version, and versions without a current search index entry.
func (r reindexer) StartReindex(ctx context.Context) (int, error) {
	ids, err := r.app.DB.VersionsToReindex(ctx)
	if err != nil {
		return 0, err
	}
	unsearched, err := r.app.DB.VersionsToIndexForSearch(ctx, search.IndexVersionFor(analysis.ParserVersion))
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
	done, total, err := r.app.DB.SearchIndexProgress(ctx, analysis.ParserVersion, search.IndexVersionFor(analysis.ParserVersion))
	return analysis.ParserVersion, done, total, err
}

// Reindexer returns the app's re-index control.
func (a *App) Reindexer() api.Reindexer { return reindexer{a} }

// Migrate applies the application's and the queue's migrations.
func Migrate(ctx context.Context, db *store.DB, log *slog.Logger) error {
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	var driver jobs.Driver = riverdatabasesql.New(db.SQL)
	if db.Dialect == store.SQLite {
		driver = riversqlite.New(db.SQL)
	}
	return jobs.Migrate(ctx, driver, log)
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

// AnalysisLimits are the per-file analysis limits from the configuration.
func (a *App) AnalysisLimits() analysis.Limits {
	return analysis.Limits{MaxLines: a.Config.IngestMaxLines, MaxDiagnostics: a.Config.IngestMaxDiagnostics}
}

// Close releases connections. Stop the queue first.
func (a *App) Close() {
	if a.listener != nil {
		a.listener.Close()
	}
	if a.Blobs != nil {
		a.Blobs.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}

// StartWork starts the queue (working jobs when this process has workers)
// and, in a working process, queues the re-analysis of versions analysed by
// an older VeriPost, so an upgrade needs no `veripost reindex` by hand.
func (a *App) StartWork(ctx context.Context) error {
	if err := a.Queue.Start(ctx); err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	if !a.working {
		return nil
	}
	if n, err := a.Reindexer().StartReindex(ctx); err != nil {
		a.Log.Warn("could not queue re-analysis of older versions", "err", err)
	} else if n > 0 {
		a.Log.Info("re-analysing versions analysed by an older VeriPost", "versions", n, "analysis_version", analysis.ParserVersion)
	}
	return nil
}

// Serve runs the HTTP server (when addr is not empty) and the queue until
// ctx ends, then shuts both down gracefully.
func (a *App) Serve(ctx context.Context, addr string) error {
	if err := a.StartWork(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	var srv *http.Server
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			a.stopQueue()
			return fmt.Errorf("listening on %s: %w (set VERIPOST_LISTEN_ADDR to a free address)", addr, err)
		}
		srv = a.HTTPServer()
		a.Log.Info("VeriPost is listening", "url", "http://"+ln.Addr().String())
		if err := a.announceSetup(ctx, browsable(ln.Addr())); err != nil {
			a.stopQueue()
			ln.Close()
			return err
		}
		go a.cleanupLoop(ctx)
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

// HTTPServer is the HTTP server for the app's handler with the configured
// timeouts: headers must arrive within VERIPOST_READ_HEADER_TIMEOUT, a
// body must not pause longer than VERIPOST_READ_BODY_TIMEOUT (see
// httpguard.BodyTimeout, in the handler), idle keep-alive connections are
// closed after VERIPOST_IDLE_TIMEOUT. There is no overall read or write
// deadline: a large upload or download on a slow link is not cut off.
func (a *App) HTTPServer() *http.Server {
	return &http.Server{Handler: a.Handler, ReadHeaderTimeout: a.Config.ReadHeaderTimeout, IdleTimeout: a.Config.IdleTimeout,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelDebug)}
}

func (a *App) stopQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	_ = a.Queue.Stop(ctx)
}
