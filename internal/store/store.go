// Package store keeps VeriPost's metadata in SQL: SQLite for the embedded
// deployment, PostgreSQL for the scaled one. The same queries serve both
// ($n placeholders work in each); the few dialect differences are methods
// on DB.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/veripost/veripost/internal/transient"
	"modernc.org/sqlite"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is an open metadata database.
type DB struct {
	// SQL is the connection pool that writes (on SQLite its one writer
	// connection; the queue uses it too).
	SQL *sql.DB
	// R is the pool that reads. On SQLite it is a separate pool of
	// read-only connections: in WAL mode readers see the last commit and
	// never wait behind the writer. On PostgreSQL it is SQL.
	R       *sql.DB
	Dialect Dialect
	log     *slog.Logger
	cache   *analysisCache
	search  searchBackend // which search index paths are active (search.go)
	writer  writeGate     // SQLite: who gets the writer connection next
	ckpt    *checkpointer // SQLite: copies the write-ahead log in the background
	// generations reads the commit generation, reads keeps answers per
	// generation (generation.go).
	generations commitGenerations
	reads       generationReads
}

// Options tune the connection pool.
type Options struct {
	PoolSize     int // connections (PostgreSQL: with PoolOverflow); readers (SQLite)
	PoolOverflow int // extra connections allowed under load (PostgreSQL), kept while in use recently
	Log          *slog.Logger
}

// Open connects to the database named by url: sqlite://path/to/file.db
// (relative or absolute) or postgres://…
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	var (
		db, reader *sql.DB
		dialect    Dialect
		err        error
		sqlitePath string
	)
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		dialect = SQLite
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("database URL %q names no file; use sqlite://path/to/veripost.db", url)
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("creating database folder: %w", err)
			}
		}
		sqlitePath = path
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(" + strconv.Itoa(writerCheckpointPages) + ")&_pragma=journal_size_limit(67108864)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_pragma=mmap_size(1073741824)&_time_format=sqlite&_txlock=immediate"
		db, err = openSQLite(dsn)
		if err == nil {
			// SQLite allows one writer; one connection avoids SQLITE_BUSY
			// between River's maintenance and the app (River's advice too).
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			db.SetConnMaxIdleTime(0)
		}
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = Postgres
		db, err = sql.Open("pgx", url)
		if err == nil {
			// Every connection opened under load stays open until it has
			// been idle a while: with fewer idle slots than open ones, a
			// burst of concurrent requests closes and reopens connections
			// (a new server process, login and statement preparation each
			// time) and requests queue behind that churn. The pool shrinks
			// once the load has gone.
			open := max(opt.PoolSize, 1) + max(opt.PoolOverflow, 0)
			db.SetMaxOpenConns(open)
			db.SetMaxIdleConns(open)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("unsupported database URL %q: use sqlite://path/file.db or postgres://user:pass@host:port/db", redact(url))
	}
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to database %s: %w", redact(url), err)
	}
	reader = db
	if dialect == SQLite {
		// The writer has created the file and switched it to WAL; readers
		// are query-only connections of their own. mmap_size: reads of a
		// large search index come from the OS page cache, not a read() per page.
		reader, err = openSQLite("file:" + sqlitePath + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=mmap_size(1073741824)&_time_format=sqlite")
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("opening database readers: %w", err)
		}
		n := max(opt.PoolSize, 2)
		reader.SetMaxOpenConns(n)
		reader.SetMaxIdleConns(n)
	}
	out := &DB{SQL: db, R: reader, Dialect: dialect, log: opt.Log, cache: newAnalysisCache()}
	if dialect == SQLite {
		if out.ckpt, err = startCheckpointer(sqlitePath, opt.Log); err != nil {
			out.Close()
			return nil, fmt.Errorf("opening the database checkpointer: %w", err)
		}
		if out.generations.pool, err = openSQLite("file:" + sqlitePath + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)"); err != nil {
			out.Close()
			return nil, fmt.Errorf("opening the database's generation reader: %w", err)
		}
		out.generations.pool.SetMaxOpenConns(1)
	}
	return out, nil
}

// Close closes the pools.
func (db *DB) Close() error {
	if db.ckpt != nil {
		db.ckpt.close()
	}
	db.generations.close()
	if db.R != db.SQL {
		db.R.Close()
	}
	return db.SQL.Close()
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// migrations is the goose provider of the embedded schema migrations and
// the Go ones (search_lines.go, symbol_index.go).
func (db *DB) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectSQLite3
	if db.Dialect == Postgres {
		gd = goose.DialectPostgres
	}
	// Migrations are numbered in ranges per feature; allowing out-of-order
	// ones lets a database that already has a later range take an earlier
	// one added afterwards.
	p, err := goose.NewProvider(gd, db.SQL, sub, goose.WithAllowOutofOrder(true),
		goose.WithGoMigrations(searchLinesMigration(), symbolIndexMigration(), docLinesFormatMigration(),
			postingBlocksMigration(db.Dialect), symbolOccurrencesMigration(), quantisedVectorsMigration(db.Dialect),
			sqlitePostingBlocksMigration(db.Dialect), postingTailMigration(db.Dialect), symbolBlocksMigration(db.Dialect),
			symbolTailMigration(db.Dialect), sectionPacksMigration(db.Dialect)))
	if err != nil {
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	return p, nil
}

// Migrate applies the embedded schema migrations and, on PostgreSQL, turns
// on the pgvector extension when the server offers it.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	for _, r := range results {
		db.log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	if db.Dialect == Postgres {
		if err := db.enableVector(ctx); err != nil {
			return err
		}
		return db.enableSearchIndexes(ctx)
	}
	return nil
}

// VectorEnabled reports whether the pgvector extension is installed.
func (db *DB) VectorEnabled(ctx context.Context) (bool, error) {
	if db.Dialect != Postgres {
		return false, nil
	}
	var on bool
	err := db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')`).Scan(&on)
	return on, err
}

func (db *DB) enableVector(ctx context.Context) error {
	var available bool
	if err := db.SQL.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&available); err != nil {
		return fmt.Errorf("checking for pgvector: %w", err)
	}
	if !available {
		db.log.Info("pgvector is not available on this PostgreSQL server; vector search stays off")
		return nil
	}
	if _, err := db.SQL.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS vector`); err != nil {
		// Lacking the privilege is not fatal: VeriPost works without it.
		db.log.Warn("pgvector is available but could not be enabled; vector search stays off", "err", err)
		return nil
	}
	db.log.Info("pgvector extension is on")
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil. A
// transaction the database refused because of a concurrent one (deadlock,
// serialization failure, SQLite busy) or whose connection broke before the
// commit is run again with backoff, so fn must only change the database
// (it may run more than once). A failure of the commit itself is retried
// only when the database said it did not commit (a conflict): after a
// broken connection the outcome is unknown, and the caller gets the error.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTxAs(ctx, writeForeground, fn)
}

// inBackgroundTx is InTx for the search index's writes: on SQLite they
// wait while uploads and ingestion want the writer (writeGate).
func (db *DB) inBackgroundTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTxAs(ctx, writeBackground, fn)
}

func (db *DB) inTxAs(ctx context.Context, class writeClass, fn func(tx *sql.Tx) error) error {
	return transient.Do(ctx, transient.DefaultPolicy, func(err error) bool {
		var ce commitError
		retry := transient.Retryable(err) || errors.Is(err, errLockAgain)
		if errors.As(err, &ce) {
			retry = transient.Conflict(err)
		}
		if retry {
			txRetries.Inc()
			db.log.Debug("retrying a transaction", "err", err)
		}
		return retry
	}, func() error { return db.inTx(ctx, class, fn) })
}

var txRetries = promauto.NewCounter(prometheus.CounterOpts{
	Name: "veripost_db_transaction_retries_total",
	Help: "Transactions run again after a deadlock, serialization failure, busy database or broken connection.",
})

// commitError marks a failure of COMMIT.
type commitError struct{ error }

func (e commitError) Unwrap() error { return e.error }

func (db *DB) inTx(ctx context.Context, class writeClass, fn func(tx *sql.Tx) error) error {
	if db.Dialect == SQLite {
		if err := db.writer.enter(ctx, class); err != nil {
			return err
		}
		defer db.writer.leave()
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return commitError{err}
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// lockContents takes the per-content locks of shas until tx ends, in
// sorted order (no deadlocks). PostgreSQL uses transaction advisory locks;
// SQLite needs none because its write transactions (BEGIN IMMEDIATE)
// already exclude each other.
func (db *DB) lockContents(ctx context.Context, tx *sql.Tx, shas []string) error {
	return db.lockContentsShared(ctx, tx, shas, nil)
}

// lockContentsShared is lockContents with shared locks on the contents in
// shared: a writer that only refers to a content's stored rows shares its
// lock with other such writers, and still excludes whoever removes them.
// A content listed twice is locked once.
func (db *DB) lockContentsShared(ctx context.Context, tx *sql.Tx, shas []string, shared map[string]bool) error {
	if db.Dialect != Postgres {
		return nil
	}
	if len(shas) == 0 {
		return nil
	}
	exclusive := make([]bool, len(shas))
	for i, s := range shas {
		exclusive[i] = !shared[s]
	}
	// One round trip; the locks are taken in key order (a volatile call is
	// evaluated above the sort), so two transactions cannot deadlock.
	_, err := tx.ExecContext(ctx, `SELECT CASE WHEN x THEN pg_advisory_xact_lock(hashtextextended(k, 0))
			ELSE pg_advisory_xact_lock_shared(hashtextextended(k, 0)) END
		FROM (SELECT 'blob:' || s AS k, bool_or(x) AS x FROM unnest($1::text[], $2::bool[]) AS t(s, x) GROUP BY 1) d
		ORDER BY k COLLATE "C"`, shas, exclusive)
	return err
}

// errLockAgain: what a transaction decided its locks from changed before
// it held them; it runs again (InTx retries it).
var errLockAgain = errors.New("the stored rows changed while they were being locked")

func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	cred := url[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return url[:scheme+3] + cred[:i] + ":***" + url[at:]
	}
	return url
}

// openSQLite opens a pool of SQLite connections that keep their prepared
// statements (stmtcache.go).
func openSQLite(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{c}), nil
}
