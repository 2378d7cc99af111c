// Package backup copies a VeriPost deployment to a folder and back.
//
// A snapshot (the embedded deployment) is the SQLite database copied with
// VACUUM INTO while the server runs, plus every original the copy
// references, under DEST/blobs in the object store's own layout, plus a
// manifest with counts and the database's SHA-256. The originals are
// leased before the database is copied, so the collector cannot remove one
// the copy references while it is being copied, and every copied original
// is verified against its SHA-256 on the way.
//
// An export (any deployment, the scaled one's backup of the originals)
// writes the metadata as JSON lines (packages, their versions and files)
// and the originals the same way; PostgreSQL itself is backed up with
// pg_dump (see the README).
//
// Restore puts a snapshot back into an empty data folder and object store
// and checks that every original the database references arrived intact.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
)

// Kinds of backup.
const (
	KindSnapshot = "snapshot"
	KindExport   = "export"
)

// File names inside a backup folder.
const (
	ManifestFile = "manifest.json"
	DatabaseFile = "veripost.db"
	ExportFile   = "packages.jsonl"
	BlobsDir     = "blobs"
)

// Manifest describes a backup folder.
type Manifest struct {
	Format          string    `json:"format"` // always "veripost-backup"
	FormatVersion   int       `json:"format_version"`
	Kind            string    `json:"kind"`
	CreatedAt       time.Time `json:"created_at"`
	VeriPostVersion string    `json:"veripost_version"`
	Database        string    `json:"database,omitempty"`
	DatabaseSHA256  string    `json:"database_sha256,omitempty"`
	Packages        int       `json:"packages"`
	Versions        int       `json:"versions"`
	Files           int       `json:"files"`
	Contents        int       `json:"contents"`
	Bytes           int64     `json:"bytes"`
}

const format = "veripost-backup"

// Counts are what a database holds.
type Counts struct{ Packages, Versions, Files int }

// Database is what a snapshot needs from the metadata database.
type Database interface {
	// SnapshotTo writes a consistent copy of the database to path.
	SnapshotTo(ctx context.Context, path string) error
	// ReferencedContents: contents files reference or leases hold.
	ReferencedContents(ctx context.Context) (map[string]bool, error)
}

// Inspector reads a copied database file (not the live one).
type Inspector interface {
	// Contents lists the distinct contents the copy's files reference.
	Contents(ctx context.Context, path string) ([]string, error)
	Counts(ctx context.Context, path string) (Counts, error)
}

// Snapshotter makes snapshots.
type Snapshotter struct {
	DB      Database
	Inspect Inspector
	Leases  catalog.BlobLeases
	Blobs   blob.Store
	// Version is VeriPost's version, recorded in the manifest.
	Version string
	// Progress is told how many originals were copied of how many.
	Progress func(done, total int)
}

// Snapshot writes a snapshot into dest, which must not exist or be empty.
func (s *Snapshotter) Snapshot(ctx context.Context, dest string) (Manifest, error) {
	m := Manifest{Format: format, FormatVersion: 1, Kind: KindSnapshot, CreatedAt: time.Now().UTC(), VeriPostVersion: s.Version, Database: DatabaseFile}
	if err := emptyDir(dest); err != nil {
		return m, err
	}
	// Lease what is referenced now: the copy references these or contents
	// uploaded since (leased by their uploads, then young for the
	// collector), so none can be collected before it is copied.
	refs, err := s.DB.ReferencedContents(ctx)
	if err != nil {
		return m, err
	}
	lease := "backup-" + uuid.NewString()
	shas := make([]string, 0, len(refs))
	for sha := range refs {
		shas = append(shas, sha)
	}
	if len(shas) > 0 {
		if err := s.Leases.Lease(ctx, lease, shas, time.Now().Add(24*time.Hour)); err != nil {
			return m, fmt.Errorf("protecting the originals from the collector: %w", err)
		}
		defer s.Leases.Release(context.WithoutCancel(ctx), lease)
	}
	dbPath := filepath.Join(dest, DatabaseFile)
	if err := s.DB.SnapshotTo(ctx, dbPath); err != nil {
		return m, fmt.Errorf("copying the database: %w", err)
	}
	if m.DatabaseSHA256, err = fileSHA256(dbPath); err != nil {
		return m, err
	}
	counts, err := s.Inspect.Counts(ctx, dbPath)
	if err != nil {
		return m, err
	}
	m.Packages, m.Versions, m.Files = counts.Packages, counts.Versions, counts.Files
	contents, err := s.Inspect.Contents(ctx, dbPath)
	if err != nil {
		return m, err
	}
	if m.Bytes, err = copyBlobs(ctx, s.Blobs, filepath.Join(dest, BlobsDir), contents, s.Progress); err != nil {
		return m, err
	}
	m.Contents = len(contents)
	return m, writeManifest(dest, m)
}

// Restore puts the snapshot in src back: the database file to dbPath
// (which must not exist) and the originals into dst (which must be
// empty), each verified. It returns the snapshot's manifest.
func Restore(ctx context.Context, src, dbPath string, dst blob.Store, inspect Inspector, progress func(done, total int)) (Manifest, error) {
	m, err := ReadManifest(src)
	if err != nil {
		return m, err
	}
	if m.Kind != KindSnapshot {
		return m, fmt.Errorf("%s is an %s, not a snapshot: restore the PostgreSQL dump with pg_restore and copy its blobs folder into the object store (see the README)", src, m.Kind)
	}
	if _, err := os.Stat(dbPath); err == nil {
		return m, fmt.Errorf("%s already exists: restore into an empty data folder (set VERIPOST_DATA_DIR to a new folder)", dbPath)
	}
	empty := true
	if err := dst.List(ctx, func(blob.Info) error { empty = false; return io.EOF }); err != nil && !errors.Is(err, io.EOF) {
		return m, fmt.Errorf("looking into the object store: %w", err)
	}
	if !empty {
		return m, errors.New("the object store already holds originals: restore into an empty one")
	}
	snap := filepath.Join(src, m.Database)
	if sum, err := fileSHA256(snap); err != nil {
		return m, err
	} else if sum != m.DatabaseSHA256 {
		return m, fmt.Errorf("%s does not match the manifest (SHA-256 %s, recorded %s): the backup is damaged", snap, sum, m.DatabaseSHA256)
	}
	contents, err := inspect.Contents(ctx, snap)
	if err != nil {
		return m, err
	}
	from, err := blob.Open(ctx, fileURL(filepath.Join(src, BlobsDir)))
	if err != nil {
		return m, err
	}
	defer from.Close()
	if _, err := copyBlobs(ctx, from, "", contents, progress, dst); err != nil {
		return m, err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return m, err
	}
	tmp := dbPath + ".restoring"
	if err := copyFile(snap, tmp); err != nil {
		return m, err
	}
	return m, os.Rename(tmp, dbPath)
}

// copyBlobs copies the originals named by contents from src into a file
// store at dir (or into to[0]); each is verified by the store's Put.
func copyBlobs(ctx context.Context, src blob.Store, dir string, contents []string, progress func(done, total int), to ...blob.Store) (int64, error) {
	var dst blob.Store
	if len(to) > 0 {
		dst = to[0]
	} else {
		var err error
		if dst, err = blob.Open(ctx, fileURL(dir)); err != nil {
			return 0, err
		}
		defer dst.Close()
	}
	var total int64
	for i, sha := range contents {
		if progress != nil {
			progress(i, len(contents))
		}
		obj, err := src.Open(ctx, sha)
		if err != nil {
			return total, fmt.Errorf("reading original %s: %w", sha, err)
		}
		err = dst.Put(ctx, sha, obj.Size(), obj)
		total += obj.Size()
		obj.Close()
		if err != nil {
			return total, fmt.Errorf("copying original %s: %w", sha, err)
		}
	}
	if progress != nil {
		progress(len(contents), len(contents))
	}
	return total, nil
}

// ReadManifest reads and checks a backup folder's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("%s is not a VeriPost backup: %w", dir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Format != format {
		return m, fmt.Errorf("%s is not a VeriPost backup manifest", filepath.Join(dir, ManifestFile))
	}
	if m.FormatVersion != 1 {
		return m, fmt.Errorf("the backup has format version %d; this VeriPost reads version 1", m.FormatVersion)
	}
	return m, nil
}

func writeManifest(dir string, m Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// The manifest is written last: a folder without one is not a backup.
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o640)
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o750)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: back up into a new folder", dir)
	}
	return nil
}

func fileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "file://" + filepath.ToSlash(abs)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
