package catalog

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// StoredBlob is one object of the blob store, as the collector sees it.
type StoredBlob struct {
	Key     string
	ModTime time.Time
}

// BlobSweeper is the blob store as the collector uses it.
type BlobSweeper interface {
	// ListBlobs calls fn for every stored blob.
	ListBlobs(ctx context.Context, fn func(StoredBlob) error) error
	Delete(ctx context.Context, key string) error
}

// ContentReferences is what the collector asks the database.
type ContentReferences interface {
	// ReferencedContents returns the contents that some file references or a
	// live lease holds.
	ReferencedContents(ctx context.Context) (map[string]bool, error)
	// Condemn marks sha as being collected, in one step with checking that
	// no file references it and no live lease holds it; false when one does
	// (then nothing is marked). While marked, uploads of sha wait.
	Condemn(ctx context.Context, sha string) (bool, error)
	// Absolve removes the mark once the blob is gone (or its deletion failed).
	Absolve(ctx context.Context, sha string) error
	// ExpireLeases removes leases that ended before now (uploads that never
	// finished), so their blobs can be collected.
	ExpireLeases(ctx context.Context, now time.Time) (int, error)
}

// Collector removes blobs nothing references: mark (the contents files
// reference or leases hold) and sweep (every stored blob outside that set
// and older than the grace period). An upload writing the same content at
// that moment is safe: it leased the content before writing it, and a
// content is condemned (in one database step with the reference check)
// before its blob is deleted, so an upload either holds a lease the
// collector sees or waits until the deletion is over and writes again.
type Collector struct {
	Blobs BlobSweeper
	Refs  ContentReferences
	// Grace spares blobs younger than this (default 15 minutes).
	Grace time.Duration
	Log   *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// DefaultGrace is the collector's grace period unless told otherwise.
const DefaultGrace = 15 * time.Minute

// CollectReport says what a collection did.
type CollectReport struct {
	Blobs         int `json:"blobs"`          // stored blobs looked at
	Referenced    int `json:"referenced"`     // still used
	Young         int `json:"young"`          // unreferenced but within the grace period
	Deleted       int `json:"deleted"`        // removed
	Failed        int `json:"failed"`         // could not be removed (retried next time)
	ExpiredLeases int `json:"expired_leases"` // leases of uploads that never finished
}

// Collect runs one mark-and-sweep pass.
func (c *Collector) Collect(ctx context.Context) (CollectReport, error) {
	var rep CollectReport
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	grace := c.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	n, err := c.Refs.ExpireLeases(ctx, now())
	if err != nil {
		return rep, err
	}
	rep.ExpiredLeases = n
	// Listing first and marking after means a blob written after the mark
	// was taken is younger than the grace period, or leased: never deleted.
	var candidates []string
	start := now()
	err = c.Blobs.ListBlobs(ctx, func(b StoredBlob) error {
		rep.Blobs++
		if start.Sub(b.ModTime) < grace {
			rep.Young++
			return nil
		}
		candidates = append(candidates, b.Key)
		return nil
	})
	if err != nil {
		return rep, err
	}
	refs, err := c.Refs.ReferencedContents(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, key := range candidates {
		if refs[key] {
			rep.Referenced++
			continue
		}
		ok, err := c.Refs.Condemn(ctx, key)
		if err != nil {
			return rep, err
		}
		if !ok {
			rep.Referenced++ // referenced or leased since the mark
			continue
		}
		derr := c.Blobs.Delete(ctx, key)
		if aerr := c.Refs.Absolve(context.WithoutCancel(ctx), key); aerr != nil {
			errs = append(errs, aerr)
		}
		if derr != nil {
			rep.Failed++
			errs = append(errs, derr)
			continue
		}
		rep.Deleted++
	}
	if rep.Deleted > 0 || rep.Failed > 0 {
		log.Info("blob collection", "blobs", rep.Blobs, "deleted", rep.Deleted, "failed", rep.Failed, "young", rep.Young)
	}
	return rep, errors.Join(errs...)
}
