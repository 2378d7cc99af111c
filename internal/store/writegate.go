package store

import (
	"context"
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
}

// enter waits for the writer; a nil error means the caller holds it and
// must call leave.
func (g *writeGate) enter(ctx context.Context, class writeClass) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	g.waiting[class] = append(g.waiting[class], waiter{turn, g.clock()})
	g.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		select {
		case <-turn: // handed over at the same moment: pass it on
			g.mu.Unlock()
			g.leave()
			return ctx.Err()
		default:
		}
		q := g.waiting[class]
		for i, w := range q {
			if w.turn == turn {
				g.waiting[class] = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		g.mu.Unlock()
		return ctx.Err()
	}
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
