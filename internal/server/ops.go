package server

import (
	"context"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/backup"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/fsck"
	"github.com/veripost/veripost/internal/store"
)

// Fsck returns the consistency checker for this app's database and object
// store (quick: sizes only, no hashing of every blob).
func (a *App) Fsck(quick bool) *fsck.Checker {
	grace := a.Collector.Grace
	if grace <= 0 {
		grace = catalog.DefaultGrace
	}
	return &fsck.Checker{DB: a.DB, Blobs: a.Blobs, Jobs: a.Queue, ParserVersion: analysis.ParserVersion, Quick: quick, Grace: grace}
}

// FsckRepairer does fsck's safe repairs with this app's queue and collector.
func (a *App) FsckRepairer() fsck.Repairer { return fsckRepairer{a} }

type fsckRepairer struct{ a *App }

func (r fsckRepairer) Requeue(ctx context.Context, ids []string) (int, error) {
	return r.a.Queue.EnqueueReindex(ctx, ids)
}

func (r fsckRepairer) Collect(ctx context.Context) (catalog.CollectReport, error) {
	return r.a.Collector.Collect(ctx)
}

func (r fsckRepairer) RemoveUnusedSearchEntries(ctx context.Context, u fsck.SearchLeftovers) error {
	return r.a.DB.RemoveUnusedSearchEntries(ctx, u)
}

// Snapshotter makes snapshots of this (embedded) deployment while it runs.
func (a *App) Snapshotter() *backup.Snapshotter {
	return &backup.Snapshotter{DB: a.DB, Inspect: store.Snapshots{}, Leases: a.DB, Blobs: a.Blobs, Version: a.version}
}
