package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Worker is a process that works jobs, as its heartbeat records it.
type Worker struct {
	ID        string // the queue client's id; river_job.attempted_by names it
	Host      string
	PID       int
	StartedAt time.Time
	BeatAt    time.Time
}

// Registry keeps the working processes' heartbeats and records rescues.
// The SQL store implements it.
type Registry interface {
	// Beat records that w is alive now (registering it the first time).
	Beat(ctx context.Context, w Worker) error
	// Leave removes a worker that stopped cleanly.
	Leave(ctx context.Context, id string) error
	// Workers lists the registered workers.
	Workers(ctx context.Context) ([]Worker, error)
	// ForgetWorkers removes workers and rescue records older than before.
	ForgetWorkers(ctx context.Context, before time.Time) error
	// RescueTx runs fn in one transaction; claim records there that a job
	// is being rescued and is false when another process already did.
	RescueTx(ctx context.Context, fn func(tx *sql.Tx, claim func(jobID int64) (bool, error)) error) error
	// MoveJobTx points a version at its new ingestion job.
	MoveJobTx(ctx context.Context, tx *sql.Tx, versionID string, from, to int64) error
}

// Liveness timing. A worker beats every beatEvery; a worker whose last
// beat is older than staleAfter is gone and its running jobs are rescued
// (checked every rescueEvery, and at start-up). A worker that could not
// beat for fenceAfter (shorter than staleAfter) cancels its own running
// jobs first, so a job is never worked by the process that was given up
// on and by the one that rescued it at the same time. On the same host a
// process that no longer exists is gone at once.
const (
	beatEvery   = 2 * time.Second
	fenceAfter  = 10 * time.Second
	staleAfter  = 15 * time.Second
	rescueEvery = 5 * time.Second
	// lostAfter: a job the queue shows running for this process that has
	// not run here for this long is taken over like the job of a stopped
	// worker (see lost).
	lostAfter = 15 * time.Second
	// maxRescues: an ingestion that took its worker down this many times
	// (a file that exhausts memory, say) is not tried again.
	maxRescues = 3
)

// GiveUpper is implemented by a Processor that records why a version will
// not be ingested (its ingestion kept taking the worker down).
type GiveUpper interface {
	GiveUp(ctx context.Context, versionID, message string) error
}

// liveness is the heartbeat and rescuer of a working Queue.
type liveness struct {
	reg  Registry
	me   Worker
	log  *slog.Logger
	q    *Queue
	mu   sync.Mutex
	ok   time.Time          // last successful beat
	held context.Context    // cancelled when this process lost its lease
	drop context.CancelFunc // cancels held
	stop context.CancelFunc
	done chan struct{}
	// Jobs this process works now, and when the ones it worked ended.
	running map[int64]bool
	ended   map[int64]time.Time
}

// working records that this process works job id until the returned
// function is called.
func (l *liveness) working(id int64) func() {
	l.mu.Lock()
	if l.running == nil {
		l.running, l.ended = map[int64]bool{}, map[int64]time.Time{}
	}
	l.running[id] = true
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.running, id)
		l.ended[id] = time.Now()
		l.mu.Unlock()
	}
}

// lost reports whether a job the queue shows running for this process is
// not running here and has not been for lostAfter: its completion was
// never recorded, or the answer to the query that fetched it was lost
// (the queue gives up recording after a few failures while the database is
// unreachable, and a connection cut after a commit loses the answer). It
// forgets jobs that ended long ago.
func (l *liveness) lost(id int64, attemptedAt *time.Time, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for j, at := range l.ended {
		if now.Sub(at) > time.Hour {
			delete(l.ended, j)
		}
	}
	if l.running[id] || attemptedAt == nil {
		return false
	}
	last := *attemptedAt
	if at, ok := l.ended[id]; ok && at.After(last) {
		last = at
	}
	return now.Sub(last) > lostAfter
}

func newWorkerID() Worker {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return Worker{ID: fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b)), Host: host, PID: os.Getpid(), StartedAt: time.Now()}
}

// start registers the worker, rescues the jobs of gone workers once, and
// keeps beating and rescuing until stop.
func (l *liveness) start(ctx context.Context) error {
	if err := l.reg.Beat(ctx, l.me); err != nil {
		return fmt.Errorf("registering this worker: %w", err)
	}
	l.ok = time.Now()
	l.held, l.drop = context.WithCancel(context.Background())
	if _, err := l.rescue(ctx); err != nil {
		l.log.Warn("could not rescue the jobs of stopped workers at start-up", "err", err)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = stop, make(chan struct{})
	go l.loop(bg)
	return nil
}

func (l *liveness) loop(ctx context.Context) {
	defer close(l.done)
	beat := time.NewTicker(beatEvery)
	defer beat.Stop()
	rescue := time.NewTicker(rescueEvery)
	defer rescue.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			l.beat(ctx)
		case <-rescue.C:
			if _, err := l.rescue(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("rescuing the jobs of stopped workers failed; trying again", "err", err)
			}
		}
	}
}

func (l *liveness) beat(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, beatEvery)
	sent := time.Now()
	err := l.reg.Beat(bctx, l.me)
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.ok = sent
		if l.held.Err() != nil { // the lease is back
			l.held, l.drop = context.WithCancel(context.Background())
		}
		return
	}
	if time.Since(l.ok) > fenceAfter && l.held.Err() == nil {
		l.log.Error("this worker could not record its heartbeat; cancelling its running jobs so another worker can take them over", "err", err)
		l.drop()
	}
}

// lease is cancelled when this process loses its lease on its jobs.
func (l *liveness) lease() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// close stops beating and removes the worker (after its jobs stopped).
func (l *liveness) close(ctx context.Context) {
	if l.stop == nil {
		return
	}
	l.stop()
	<-l.done
	if err := l.reg.Leave(ctx, l.me.ID); err != nil {
		l.log.Warn("could not remove this worker from the registry", "err", err)
	}
}

// gone decides whether the worker that runs a job has stopped.
func (l *liveness) gone(id string, attemptedAt *time.Time, workers map[string]Worker, now time.Time) bool {
	if id == l.me.ID {
		return false
	}
	w, ok := workers[id]
	if !ok {
		// Never registered, or left while this job still ran.
		return attemptedAt == nil || now.Sub(*attemptedAt) > staleAfter
	}
	if w.Host == l.me.Host && (w.PID == l.me.PID || !processAlive(w.PID)) {
		return true // an earlier run of this process, or a process that exited
	}
	return now.Sub(w.BeatAt) > staleAfter
}

// processAlive reports whether a process with this id exists on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// rescue queues again the running jobs whose worker is gone and returns
// how many it rescued.
func (l *liveness) rescue(ctx context.Context) (int, error) {
	res, err := l.q.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(1000))
	if err != nil {
		return 0, err
	}
	if len(res.Jobs) == 0 {
		return 0, nil
	}
	list, err := l.reg.Workers(ctx)
	if err != nil {
		return 0, err
	}
	workers := make(map[string]Worker, len(list))
	for _, w := range list {
		workers[w.ID] = w
	}
	now := time.Now()
	n := 0
	for _, job := range res.Jobs {
		if len(job.AttemptedBy) == 0 {
			continue
		}
		if by := job.AttemptedBy[len(job.AttemptedBy)-1]; by == l.me.ID {
			if !l.lost(job.ID, job.AttemptedAt, now) {
				continue
			}
		} else if !l.gone(by, job.AttemptedAt, workers, now) {
			continue
		}
		ok, err := l.rescueJob(ctx, job)
		if err != nil {
			return n, fmt.Errorf("rescuing job %d: %w", job.ID, err)
		}
		if ok {
			n++
		}
	}
	if err := l.reg.ForgetWorkers(ctx, now.Add(-24*time.Hour)); err != nil {
		l.log.Warn("could not forget old workers", "err", err)
	}
	return n, nil
}

// rescueJob cancels a job of a gone worker and, for an ingestion, queues it
// again and points its version at the new job, all in one transaction (a
// search indexing job is queued again as it was).
func (l *liveness) rescueJob(ctx context.Context, job *rivertype.JobRow) (bool, error) {
	rescued := false
	err := l.reg.RescueTx(ctx, func(tx *sql.Tx, claim func(int64) (bool, error)) error {
		rescued = false
		ok, err := claim(job.ID)
		if err != nil || !ok {
			return err
		}
		if _, err := l.q.client.JobCancelTx(ctx, tx, job.ID); err != nil {
			return err
		}
		rescued = true
		if job.Kind == (SearchArgs{}).Kind() {
			var args SearchArgs
			if err := unmarshalArgs(job.EncodedArgs, &args); err != nil {
				return err
			}
			_, err := l.q.client.InsertTx(ctx, tx, args, nil)
			return err
		}
		if job.Kind != (IngestArgs{}).Kind() {
			return nil // periodic work is queued again by its schedule
		}
		var args IngestArgs
		if err := unmarshalArgs(job.EncodedArgs, &args); err != nil {
			return err
		}
		args.Rescues++
		ins, err := l.q.client.InsertTx(ctx, tx, args, nil)
		if err != nil {
			return err
		}
		return l.reg.MoveJobTx(ctx, tx, args.VersionID, job.ID, ins.Job.ID)
	})
	if err == nil && rescued {
		if by := job.AttemptedBy[len(job.AttemptedBy)-1]; by == l.me.ID {
			l.log.Warn("rescued a job this process was not working (its start or end was lost while the database was unreachable)", "job", job.ID, "kind", job.Kind)
		} else {
			l.log.Warn("rescued a job whose worker stopped", "job", job.ID, "kind", job.Kind, "worker", by)
		}
	}
	return rescued, err
}
