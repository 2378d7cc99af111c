package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// writeClass orders the transactions waiting for SQLite's only writer
// connection.
type writeClass int

const (
	// writeForeground: uploads, ingestion, accounts — what a person waits
	// for.
	writeForeground writeClass = iota
	// writeBackground: the search index. Under a burst of uploads it
	// yields the writer to foreground work and catches up when the burst
	// is over; its jobs queue meanwhile (the search backlog).
	writeBackground
	writeClasses
)

// backgroundPatience bounds how long background work yields: a waiter
// older than this goes next, so a writer that is never idle still indexes.
const backgroundPatience = 2 * time.Second

// writeGate hands SQLite's writer connection to one transaction at a
// time, foreground before background (up to backgroundPatience), each
// class first come first served. database/sql's own pool queue is FIFO, so
// without the gate a long search write would hold up every upload waiting
// behind it.
type writeGate struct {
	mu      sync.Mutex
	busy    bool
	waiting [writeClasses][]waiter
	now     func() time.Time // time.Now; tests replace it
}

type waiter struct {
	turn  chan struct{}
	since time.Time
	job   *writeJob // the waiter's transaction, which the holder may take along (nil: none)
}

// writeJob is a transaction waiting at the gate. The holder of the writer
// may run it inside its own transaction (take, group commit); done is then
// closed when it has run, with err its outcome.
type writeJob struct {
	ctx      context.Context
	fn       func(tx *sql.Tx) error
	err      error
	panicked any // what fn panicked with, raised again in the job's own goroutine
	done     chan struct{}
}

// enter waits for the writer; a nil error means the caller holds it and
// must call leave.
func (g *writeGate) enter(ctx context.Context, class writeClass) error {
	_, err := g.enterJob(ctx, class, nil)
	return err
}

// enterJob is enter for a waiter with a transaction to run: it returns
// ran = true when the holder of the writer ran job in its own transaction
// meanwhile (its outcome is in job), and otherwise holds the writer.
func (g *writeGate) enterJob(ctx context.Context, class writeClass, job *writeJob) (ran bool, err error) {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return false, nil
	}
	turn := make(chan struct{})
	g.waiting[class] = append(g.waiting[class], waiter{turn, g.clock(), job})
	g.mu.Unlock()
	var done chan struct{} // nil (never ready) without a job
	if job != nil {
		done = job.done
	}
	select {
	case <-turn:
		return false, nil
	case <-done:
		return true, nil
	case <-ctx.Done():
		g.mu.Lock()
		select {
		case <-turn: // handed over at the same moment: pass it on
			g.mu.Unlock()
			g.leave()
			return false, ctx.Err()
		default:
		}
		q := g.waiting[class]
		for i, w := range q {
			if w.turn == turn {
				g.waiting[class] = append(q[:i:i], q[i+1:]...)
				g.mu.Unlock()
				return false, ctx.Err()
			}
		}
		g.mu.Unlock()
		// Taken into the holder's transaction, which is running it (or
		// skips it, seeing ctx done): wait for the outcome.
		<-done
		return true, nil
	}
}

// take removes from the queue of class up to max of the first waiters
// with a transaction, for the holder to run in its own. The holder closes
// their done when they have run.
func (g *writeGate) take(class writeClass, max int) []*writeJob {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.waiting[class]
	n := 0
	for n < len(q) && n < max && q[n].job != nil {
		n++
	}
	jobs := make([]*writeJob, n)
	for i := range n {
		jobs[i] = q[i].job
		q[i] = waiter{}
	}
	g.waiting[class] = q[n:]
	return jobs
}

// leave hands the writer to the next waiter, if any.
func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	order := []writeClass{writeForeground, writeBackground}
	if bg := g.waiting[writeBackground]; len(bg) > 0 && g.clock().Sub(bg[0].since) > backgroundPatience {
		order = []writeClass{writeBackground, writeForeground}
	}
	for _, c := range order {
		if q := g.waiting[c]; len(q) > 0 {
			next := q[0]
			q[0] = waiter{}
			g.waiting[c] = q[1:]
			close(next.turn) // busy stays true: the writer changes hands
			return
		}
	}
	g.busy = false
}

func (g *writeGate) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}
