package corpusgen

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Limits of Load: a corpus is a handful of real packages, so anything much
// larger is a wrong directory rather than a corpus.
const (
	maxLoadFileBytes    = 64 << 20
	maxLoadPackageFiles = 1000
)

// Load reads a corpus directory: one sub-folder per package, its regular
// files flattened (files in nested folders are taken by their base name).
// README.md files are left out, as testenv does. Packages are sorted by
// name and their files by name. Symbolic links and other non-regular files
// are skipped; two files with the same name (ignoring case) in one package
// are an error, as are files over 64 MiB.
func Load(dir string) ([]Package, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("corpusgen: read corpus directory: %w", err)
	}
	var pkgs []Package
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p, err := loadPackage(filepath.Join(dir, e.Name()), e.Name())
		if err != nil {
			return nil, err
		}
		if len(p.Files) > 0 {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("corpusgen: %s holds no package folders with files; give the corpus directory (one sub-folder per package)", dir)
	}
	return pkgs, nil
}

func loadPackage(root, name string) (Package, error) {
	p := Package{Name: name}
	seen := map[string]string{} // upper-case name → path
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.EqualFold(d.Name(), "README.md") {
			return nil
		}
		if prev, dup := seen[strings.ToUpper(d.Name())]; dup {
			return fmt.Errorf("corpusgen: package %s holds two files named %s (%s and %s); a package is flattened, so names must be unique", name, d.Name(), prev, path)
		}
		seen[strings.ToUpper(d.Name())] = path
		if len(p.Files) >= maxLoadPackageFiles {
			return fmt.Errorf("corpusgen: package %s has more than %d files; is %s really a corpus directory?", name, maxLoadPackageFiles, filepath.Dir(root))
		}
		data, err := readLimited(path)
		if err != nil {
			return err
		}
		p.Files = append(p.Files, File{Name: d.Name(), Data: data})
		return nil
	})
	if err != nil {
		return Package{}, err
	}
	sortFiles(p.Files)
	return p, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpusgen: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLoadFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("corpusgen: read %s: %w", path, err)
	}
	if len(data) > maxLoadFileBytes {
		return nil, fmt.Errorf("corpusgen: %s is larger than %d MiB; post package files are far smaller", path, maxLoadFileBytes>>20)
	}
	return data, nil
}
