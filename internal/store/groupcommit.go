package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Group commit on SQLite. Every transaction writes the pages it changed to
// the write-ahead log at its commit, and consecutive transactions change
// many of the same pages: the index leaves where the next document's lines
// or the next analysis's symbols go, the symbol counters, the queue's
// rows. Under a stream of uploads most of SQLite's writing was such pages
// written again and again (about 800 pages a package, for some 60 pages of
// new data). So the transaction that gets the writer takes along the
// transactions of its class waiting behind it (writeGate.take) and runs
// them all in its own, one after the other, each inside a savepoint: one
// that fails is rolled back alone and gets its own error, and the others
// commit together, writing each shared page once. The outcome is the same
// as running them one by one (the writer is single anyway); only the
// commit is shared.
//
// Should the shared transaction fail as a whole (it cannot begin, a
// savepoint cannot be rolled back to, the commit fails), nothing of it
// stays, and each transaction that had not failed on its own runs again in
// a transaction of its own, as InTx allows (fn may run more than once).

// maxGroup bounds the transactions committed together.
const maxGroup = 16

var groupSize = promauto.NewHistogram(prometheus.HistogramOpts{
	Name:    "veripost_sqlite_group_commit_transactions",
	Help:    "Transactions committed together in one SQLite write transaction (group commit).",
	Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16},
})

// inGroupTx runs fn on SQLite's writer, in a transaction of its own or in
// the one of the transaction that holds the writer when fn's turn comes.
func (db *DB) inGroupTx(ctx context.Context, class writeClass, fn func(tx *sql.Tx) error) error {
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	ran, err := db.writer.enterJob(ctx, class, job)
	if err != nil {
		return err
	}
	if !ran {
		jobs := append([]*writeJob{job}, db.writer.take(class, maxGroup-1)...)
		db.commitGroup(jobs)
		for _, j := range jobs[1:] {
			close(j.done)
		}
		db.writer.leave()
	}
	if job.panicked != nil {
		panic(job.panicked)
	}
	return job.err
}

// commitGroup runs jobs in one transaction and sets each one's outcome.
func (db *DB) commitGroup(jobs []*writeJob) {
	groupSize.Observe(float64(len(jobs)))
	if len(jobs) == 1 {
		jobs[0].runAlone(db)
		return
	}
	ok := make([]bool, len(jobs)) // ran without an error of its own
	failed := func() bool {
		tx, err := db.SQL.BeginTx(context.WithoutCancel(jobs[0].ctx), nil)
		if err != nil {
			return true
		}
		exec := func(q string) bool {
			_, err := tx.ExecContext(context.WithoutCancel(jobs[0].ctx), q)
			return err == nil
		}
		for i, j := range jobs {
			if j.err = j.ctx.Err(); j.err != nil {
				continue
			}
			sp := "veripost_group_" + strconv.Itoa(i)
			if !exec("SAVEPOINT " + sp) {
				tx.Rollback()
				return true
			}
			j.run(tx)
			if j.err != nil && !exec("ROLLBACK TO "+sp) {
				tx.Rollback()
				return true
			}
			if !exec("RELEASE " + sp) {
				tx.Rollback()
				return true
			}
			ok[i] = j.err == nil
		}
		return tx.Commit() != nil
	}()
	if !failed {
		return
	}
	for i, j := range jobs {
		if ok[i] || (j.err == nil && j.panicked == nil) {
			j.err = nil
			j.runAlone(db)
		}
	}
}

// run calls the job's fn in tx, keeping a panic for the job's goroutine.
func (j *writeJob) run(tx *sql.Tx) {
	defer func() {
		if p := recover(); p != nil {
			j.panicked = p
			j.err = fmt.Errorf("panic: %v", p)
		}
	}()
	j.err = j.fn(tx)
}

// runAlone runs the job in a transaction of its own.
func (j *writeJob) runAlone(db *DB) {
	defer func() {
		if p := recover(); p != nil {
			j.panicked = p
		}
	}()
	j.err = db.inOwnTx(j.ctx, j.fn)
}
