package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
// its files reference into dest (which must not exist or be empty).
func Export(ctx context.Context, dest string, src ExportSource, blobs blob.Store, version string, progress func(done, total int)) (Manifest, error) {
	m := Manifest{Format: format, FormatVersion: 1, Kind: KindExport, CreatedAt: time.Now().UTC(), VeriPostVersion: version}
	if err := emptyDir(dest); err != nil {
		return m, err
	}
	f, err := os.OpenFile(filepath.Join(dest, ExportFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return m, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
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
	if err := f.Sync(); err != nil {
		return m, err
	}
	shas := make([]string, 0, len(contents))
	for sha := range contents {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	if m.Bytes, err = copyBlobs(ctx, blobs, filepath.Join(dest, BlobsDir), shas, progress); err != nil {
		return m, err
	}
	m.Contents = len(shas)
	return m, writeManifest(dest, m)
}
