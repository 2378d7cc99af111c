package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/maypok86/otter/v2"
)

// A commit generation names what the database holds: it changes whenever a
// transaction has committed since it was last read — in this process or
// another (a worker process, a CLI writing the same SQLite file) — and
// stays the same while none has. Reads whose answers draw on much of the
// database and are asked again and again (a common name's symbol page) are
// kept per generation: reading the generation costs one trivial statement.
//
//   - SQLite: PRAGMA data_version on a connection of its own, which never
//     writes. Its value changes when any other connection has committed.
//     It only compares with values read on the same connection, so the
//     connection is held, and replacing it starts a new generation.
//   - PostgreSQL: the current snapshot (xmin:xmax:in-progress ids). A
//     commit either ends a transaction the snapshot lists as in progress
//     or moves xmax, so an unchanged snapshot sees exactly the same rows.
//
// An answer is stored under the generation read before it was computed.
// It may reflect commits after that generation, never fewer; and any
// request after such a commit reads a later generation, so it is never
// served an answer older than what it could read itself.
type commitGenerations struct {
	mu      sync.Mutex
	pool    *sql.DB   // SQLite: the one-connection pool conn comes from
	conn    *sql.Conn // SQLite: where data_version is read
	version int64     // SQLite: data_version last read on conn
	epoch   uint64    // SQLite: bumped when data_version or conn changes
}

func (g *commitGenerations) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn != nil {
		g.conn.Close()
		g.conn = nil
	}
	if g.pool != nil {
		g.pool.Close()
	}
}

// commitGeneration returns the current commit generation.
func (db *DB) commitGeneration(ctx context.Context) (string, error) {
	if db.Dialect == Postgres {
		var snap string
		if err := db.R.QueryRowContext(ctx, `SELECT pg_current_snapshot()::text`).Scan(&snap); err != nil {
			return "", fmt.Errorf("reading the database's commit generation: %w", err)
		}
		return snap, nil
	}
	g := &db.generations
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn == nil {
		conn, err := g.pool.Conn(ctx)
		if err != nil {
			return "", fmt.Errorf("reading the database's commit generation: %w", err)
		}
		g.conn, g.version = conn, -1
	}
	var v int64
	if err := g.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		// A value read on another connection says nothing about this one's.
		g.conn.Close()
		g.conn = nil
		g.epoch++
		return "", fmt.Errorf("reading the database's commit generation: %w", err)
	}
	if v != g.version {
		g.version = v
		g.epoch++
	}
	return fmt.Sprint(g.epoch), nil
}

// generationReads keeps read answers for the current commit generation,
// bounded by (estimated) weight. A new generation starts an empty cache:
// loads still running for the old one finish into the old one, dropped
// with it.
type generationReads struct {
	mu    sync.Mutex
	gen   string
	cache *otter.Cache[string, weighed]
}

// weighed is a cached answer with its estimated size in bytes.
type weighed struct {
	value  any
	weight uint32
}

// generationReadBytes bounds the memory of one generation's answers.
const generationReadBytes = 32 << 20

func (r *generationReads) forGeneration(gen string) *otter.Cache[string, weighed] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil || r.gen != gen {
		r.gen = gen
		r.cache = otter.Must(&otter.Options[string, weighed]{
			MaximumWeight: generationReadBytes,
			Weigher:       func(key string, w weighed) uint32 { return w.weight + uint32(min(len(key), 1<<16)) },
		})
	}
	return r.cache
}

// readPerGeneration returns the answer of read for key in the current
// commit generation, computing it once however many callers ask at the
// same time. Errors are not kept. The answer is shared: callers must not
// change it.
func readPerGeneration[V any](ctx context.Context, db *DB, key string, weight func(V) int, read func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	gen, err := db.commitGeneration(ctx)
	if err != nil {
		return zero, err
	}
	w, err := db.reads.forGeneration(gen).Get(ctx, key, otter.LoaderFunc[string, weighed](func(ctx context.Context, _ string) (weighed, error) {
		v, err := read(ctx)
		if err != nil {
			return weighed{}, err
		}
		return weighed{value: v, weight: uint32(min(max(weight(v), 0), 1<<30))}, nil
	}))
	if err != nil {
		return zero, err
	}
	return w.value.(V), nil
}
