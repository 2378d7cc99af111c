// Package jobs runs VeriPost's background work on River, a job queue that
// lives in the application database: SQLite in the embedded deployment,
// PostgreSQL in the scaled one. Because jobs are rows in the same database,
// an upload and its ingestion job commit together or not at all.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// IngestArgs asks for one package version to be ingested.
type IngestArgs struct {
	VersionID string `json:"version_id"`
	// Rescues counts how often this ingestion was taken over from a
	// worker that stopped while working it.
	Rescues int `json:"rescues,omitempty"`
}

// Kind implements river.JobArgs.
func (IngestArgs) Kind() string { return "ingest_version" }

// Processor does the work of an ingestion job. lastAttempt tells it that a
// failure now is final, so it should record the error on the version. An
// error with a Permanent() bool method that returns true is not retried.
type Processor interface {
	Process(ctx context.Context, versionID string, lastAttempt bool) error
}

// SearchArgs asks for one ready package version to be indexed for search.
// Ingestion queues it in the transaction that makes the version ready, on
// a queue of its own: search indexing never holds up the next ingestion.
type SearchArgs struct {
	VersionID string `json:"version_id"`
}

// Kind implements river.JobArgs.
func (SearchArgs) Kind() string { return "index_search" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SearchArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: SearchQueue} }

// SearchQueue is the queue of search indexing jobs.
const SearchQueue = "search"

// SearchIndexer does the work of a search indexing job.
type SearchIndexer interface {
	IndexSearch(ctx context.Context, versionID string) error
}

// CollectArgs asks for one pass of the blob collector.
type CollectArgs struct{}

// Kind implements river.JobArgs.
func (CollectArgs) Kind() string { return "collect_blobs" }

// Driver is the River driver over the application database; the wiring
// code builds it (riversqlite, or riverdatabasesql with a LISTEN
// connection on PostgreSQL) and owns its connections.
type Driver = riverdriver.Driver[*sql.Tx]

// Options configure the queue client.
type Options struct {
	// Workers is how many jobs this process works at once; 0 makes an
	// insert-only client (an API process in a scaled deployment).
	Workers     int
	MaxAttempts int
	Processor   Processor
	// Search works the search indexing jobs, SearchWorkers at once (at
	// least one when Workers > 0); nil leaves them queued.
	Search        SearchIndexer
	SearchWorkers int
	Log           *slog.Logger
	// PollInterval is how often idle workers look for new jobs.
	PollInterval time.Duration
	// Collect, when set, runs every CollectEvery (default 15 minutes) on
	// one of the working processes (River elects one leader for periodic
	// jobs).
	Collect      func(ctx context.Context) error
	CollectEvery time.Duration
	// Registry, when set, keeps a heartbeat of this working process and
	// rescues at once the jobs of workers that stopped (see liveness.go).
	Registry Registry
}

// Queue inserts and (optionally) works jobs.
type Queue struct {
	client  *river.Client[*sql.Tx]
	working bool
	live    *liveness
}

// Migrate creates or updates River's own tables.
func Migrate(ctx context.Context, driver Driver, log *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("applying queue migrations: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("applied queue migration", "version", v.Version, "name", v.Name)
	}
	return nil
}

// jobTimeout bounds one attempt (ingesting even a 256 MiB package takes
// seconds); a job left running by a worker that was killed is rescued for
// another attempt one minute after it.
const jobTimeout = 3 * time.Minute

// New builds the queue client on driver.
// CompletedRetention is how long a completed job's row is kept. A finished
// ingestion job says nothing the version's status does not; River deletes
// it after this.
const CompletedRetention = 10 * time.Minute

func New(driver Driver, opt Options) (*Queue, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.PollInterval == 0 {
		// PostgreSQL workers are woken by LISTEN/NOTIFY; polling is the
		// fallback there and the only signal on SQLite, where a poll is a
		// cheap local query.
		opt.PollInterval = 50 * time.Millisecond
	}
	cfg := &river.Config{
		Logger:               opt.Log.With("component", "queue"),
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: jobTimeout + time.Minute,
		FetchPollInterval:    opt.PollInterval,
		// A job inserted right after a fetch waits at most this long: an
		// upload's wait for its worker is part of upload → ready.
		FetchCooldown:               min(opt.PollInterval, 10*time.Millisecond),
		RetryPolicy:                 backoff{},
		MaxAttempts:                 max(opt.MaxAttempts, 1),
		CompletedJobRetentionPeriod: CompletedRetention,
	}
	q := &Queue{working: opt.Workers > 0}
	workers := river.NewWorkers()
	if opt.Processor != nil {
		river.AddWorker(workers, &ingestWorker{p: opt.Processor, q: q})
	}
	if opt.Search != nil {
		river.AddWorker(workers, &searchWorker{s: opt.Search, q: q})
	}
	if opt.Collect != nil {
		river.AddWorker(workers, &collectWorker{collect: opt.Collect, q: q})
		every := opt.CollectEvery
		if every <= 0 {
			every = 15 * time.Minute
		}
		cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return CollectArgs{}, &river.InsertOpts{MaxAttempts: 1} },
			&river.PeriodicJobOpts{RunOnStart: false})}
	}
	cfg.Workers = workers
	if opt.Workers > 0 {
		if opt.Processor == nil {
			return nil, errors.New("jobs: workers requested without a processor")
		}
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opt.Workers}}
		if opt.Search != nil {
			cfg.Queues[SearchQueue] = river.QueueConfig{MaxWorkers: max(opt.SearchWorkers, 1)}
		}
	}
	if q.working && opt.Registry != nil {
		q.live = &liveness{reg: opt.Registry, me: newWorkerID(), log: opt.Log.With("component", "liveness"), q: q}
		cfg.ID = q.live.me.ID
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating queue client: %w", err)
	}
	q.client = client
	return q, nil
}

// EnqueueIngest inserts the ingestion job of a version inside tx.
func (q *Queue) EnqueueIngest(ctx context.Context, tx *sql.Tx, versionID string) (int64, error) {
	res, err := q.client.InsertTx(ctx, tx, IngestArgs{VersionID: versionID}, nil)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// EnqueueSearchTx inserts the search indexing job of a version inside tx.
func (q *Queue) EnqueueSearchTx(ctx context.Context, tx *sql.Tx, versionID string) error {
	_, err := q.client.InsertTx(ctx, tx, SearchArgs{VersionID: versionID}, nil)
	return err
}

// EnqueueAnalysis queues the ingestion job of each version again even
// when one is running: something it reads (a library registry choice) has
// changed since that job started. The job is idempotent.
func (q *Queue) EnqueueAnalysis(ctx context.Context, versionIDs []string) (int, error) {
	for start := 0; start < len(versionIDs); start += 500 {
		chunk := versionIDs[start:min(start+500, len(versionIDs))]
		params := make([]river.InsertManyParams, len(chunk))
		for i, id := range chunk {
			params[i] = river.InsertManyParams{Args: IngestArgs{VersionID: id}, InsertOpts: &river.InsertOpts{Priority: 2}}
		}
		if _, err := q.client.InsertMany(ctx, params); err != nil {
			return start, err
		}
	}
	return len(versionIDs), nil
}

// EnqueueReindex queues the ingestion job again for each version (the job
// is idempotent, so this re-parses and re-indexes it). A version that
// already has such a job waiting is not queued twice.
func (q *Queue) EnqueueReindex(ctx context.Context, versionIDs []string) (int, error) {
	params := make([]river.InsertManyParams, len(versionIDs))
	for i, id := range versionIDs {
		params[i] = river.InsertManyParams{Args: IngestArgs{VersionID: id}, InsertOpts: &river.InsertOpts{
			Priority:   2, // after fresh uploads
			UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}},
		}}
	}
	queued := 0
	for start := 0; start < len(params); start += 500 {
		res, err := q.client.InsertMany(ctx, params[start:min(start+500, len(params))])
		if err != nil {
			return queued, err
		}
		for _, r := range res {
			if !r.UniqueSkippedAsDuplicate {
				queued++
			}
		}
	}
	return queued, nil
}

// Start begins working jobs (no-op for an insert-only client).
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	if q.live != nil {
		// Registered and the jobs of stopped workers rescued before this
		// process takes any job.
		if err := q.live.start(ctx); err != nil {
			return err
		}
	}
	return q.client.Start(ctx)
}

// RescueNow takes over at once the running jobs of workers that stopped
// (it also happens at start-up and every few seconds); it returns how many.
func (q *Queue) RescueNow(ctx context.Context) (int, error) {
	if q.live == nil {
		return 0, nil
	}
	return q.live.rescue(ctx)
}

// Stop waits for running jobs to finish, up to ctx's deadline; jobs still
// running then are cancelled and retried later by another worker.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = q.client.StopAndCancel(context.Background())
	}
	if q.live != nil {
		q.live.close(context.WithoutCancel(ctx))
	}
	return err
}

// Job returns a job's row, for status and tests.
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return q.client.JobGet(ctx, id)
}

// JobLive reports whether a job exists and will still run (available,
// pending, scheduled, retryable or running).
func (q *Queue) JobLive(ctx context.Context, id int64) (bool, error) {
	if id == 0 {
		return false, nil
	}
	job, err := q.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch job.State {
	case rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStateRunning:
		return true, nil
	}
	return false, nil
}

type ingestWorker struct {
	river.WorkerDefaults[IngestArgs]
	p Processor
	q *Queue
}

func (w *ingestWorker) Work(ctx context.Context, job *river.Job[IngestArgs]) error {
	if job.Args.Rescues >= maxRescues {
		if gu, ok := w.p.(GiveUpper); ok {
			return gu.GiveUp(ctx, job.Args.VersionID, fmt.Sprintf(
				"Ingesting this package stopped the worker process %d times, so VeriPost gave up on it. Check the files (an enormous or damaged file is the usual cause) and upload again.", job.Args.Rescues))
		}
	}
	ctx, done := w.q.attempt(ctx, job.ID)
	defer done()
	err := w.p.Process(ctx, job.Args.VersionID, job.Attempt >= job.MaxAttempts)
	var perm interface{ Permanent() bool }
	if errors.As(err, &perm) && perm.Permanent() {
		// Retrying cannot help; the processor has recorded why.
		return river.JobCancel(err)
	}
	return err
}

// attempt registers a job attempt with this process's liveness: the
// returned context ends when the process loses its lease on its jobs (they
// are rescued elsewhere then). Call done when the attempt ends.
func (q *Queue) attempt(ctx context.Context, jobID int64) (context.Context, func()) {
	if q.live == nil {
		return ctx, func() {}
	}
	stopWorking := q.live.working(jobID)
	ctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(q.live.lease(), cancel)
	return ctx, func() {
		stopAfter()
		cancel()
		stopWorking()
	}
}

type searchWorker struct {
	river.WorkerDefaults[SearchArgs]
	s SearchIndexer
	q *Queue
}

func (w *searchWorker) Work(ctx context.Context, job *river.Job[SearchArgs]) error {
	ctx, done := w.q.attempt(ctx, job.ID)
	defer done()
	return w.s.IndexSearch(ctx, job.Args.VersionID)
}

type collectWorker struct {
	river.WorkerDefaults[CollectArgs]
	collect func(ctx context.Context) error
	q       *Queue
}

// Work runs one collector pass, registered like every other job: a pass
// over a large store takes longer than liveness's lostAfter, and a job
// this process does not say it works is taken for lost and cancelled.
func (w *collectWorker) Work(ctx context.Context, job *river.Job[CollectArgs]) error {
	ctx, done := w.q.attempt(ctx, job.ID)
	defer done()
	return w.collect(ctx)
}

func unmarshalArgs(data []byte, v any) error { return json.Unmarshal(data, v) }

// backoff retries quickly at first (a store restarting), then slower:
// 2s, 4s, 8s … capped at two minutes.
type backoff struct{}

func (backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := time.Duration(1<<min(job.Attempt, 7)) * time.Second
	return time.Now().Add(min(d, 2*time.Minute))
}
