package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
)

// ExportedVersion is one version with its files, as exported.
type ExportedVersion struct {
	catalog.Version
	Files []catalog.File `json:"files"`
}

// ExportedPackage is one line of packages.jsonl.
type ExportedPackage struct {
	catalog.Package
	Versions []ExportedVersion `json:"versions"`
}

// ExportSource lists every package with every version and file.
type ExportSource interface {
	ExportPackages(ctx context.Context, fn func(ExportedPackage) error) error
}

// Export writes every package's metadata as JSON lines and every original
// its files reference into dest: a folder (which must not exist or be
// empty; originals under dest/blobs), or an object store URL such as
// s3://bucket/prefix?region=… (which must hold nothing yet; originals in
// VeriPost's own layout, so the bucket can serve as VERIPOST_BLOB_URL of a
// restored deployment, with packages.jsonl and manifest.json beside them).
func Export(ctx context.Context, dest string, src ExportSource, blobs blob.Store, version string, progress func(done, total int)) (Manifest, error) {
	m := Manifest{Format: format, FormatVersion: 1, Kind: KindExport, CreatedAt: time.Now().UTC(), VeriPostVersion: version}
	to, err := openExportTarget(ctx, dest)
	if err != nil {
		return m, err
	}
	defer to.store.Close()
	// The metadata goes to a temporary file first: a bucket object is
	// written in one piece, and the originals it names are copied after.
	tmp, err := os.CreateTemp("", "veripost-export-*.jsonl")
	if err != nil {
		return m, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	contents := map[string]bool{}
	err = src.ExportPackages(ctx, func(p ExportedPackage) error {
		m.Packages++
		for _, v := range p.Versions {
			m.Versions++
			for _, file := range v.Files {
				m.Files++
				contents[file.SHA256] = true
			}
		}
		return enc.Encode(p)
	})
	if err != nil {
		return m, fmt.Errorf("exporting the metadata: %w", err)
	}
	if err := w.Flush(); err != nil {
		return m, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return m, err
	}
	if err := to.write(ctx, ExportFile, tmp); err != nil {
		return m, err
	}
	shas := make([]string, 0, len(contents))
	for sha := range contents {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	if m.Bytes, err = copyBlobs(ctx, blobs, "", shas, progress, to.store); err != nil {
		return m, err
	}
	m.Contents = len(shas)
	// The manifest is written last: an export without one is unfinished.
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, to.write(ctx, ManifestFile, bytes.NewReader(append(data, '\n')))
}

// exportTarget is where an export goes: a store for the originals and a
// way to write the metadata files.
type exportTarget struct {
	store blob.Store
	write func(ctx context.Context, name string, r io.Reader) error
}

func openExportTarget(ctx context.Context, dest string) (exportTarget, error) {
	if !strings.Contains(dest, "://") {
		if err := emptyDir(dest); err != nil {
			return exportTarget{}, err
		}
		st, err := blob.Open(ctx, fileURL(filepath.Join(dest, BlobsDir)))
		if err != nil {
			return exportTarget{}, err
		}
		return exportTarget{store: st, write: func(_ context.Context, name string, r io.Reader) error {
			f, err := os.OpenFile(filepath.Join(dest, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, r); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}}, nil
	}
	st, err := blob.Open(ctx, dest)
	if err != nil {
		return exportTarget{}, err
	}
	side, ok := st.(blob.SideFiles)
	if !ok {
		st.Close()
		return exportTarget{}, fmt.Errorf("%s cannot hold an export's metadata", dest)
	}
	// Into an empty place only, as with a folder: an export is never mixed
	// with another one or with a live deployment's originals.
	errUsed := errors.New("used")
	err = st.List(ctx, func(blob.Info) error { return errUsed })
	if err == nil {
		if _, rerr := side.ReadSide(ctx, ManifestFile); !errors.Is(rerr, blob.ErrNotFound) {
			err = errUsed
		}
	}
	if err != nil {
		st.Close()
		if errors.Is(err, errUsed) {
			return exportTarget{}, errors.New("the object store at the export address already holds files: export into an empty bucket or a new prefix (s3://bucket/new-prefix?…)")
		}
		return exportTarget{}, err
	}
	return exportTarget{store: st, write: side.WriteSide}, nil
}
