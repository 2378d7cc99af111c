// Package importer plans and runs the bulk import of post packages from a
// folder tree (a file share) into VeriPost: which files make which
// package, which files are skipped and why, then the uploads, idempotent
// by content so that the import can run again (after an interruption, or
// when the share changed) and only adds what is new.
//
// Planning rules:
//   - a folder with one .SRC is a package of that .SRC and the folder's
//     other UPG files;
//   - a folder with several .SRC makes one package per .SRC: files named
//     like one of them (A.LIB, A.PINF beside A.SRC) go to that one only,
//     the others are shared by all of the folder's packages;
//   - UPG files in folders without a .SRC are loose libraries: a package
//     gets one when its sources name it in :LIBRARY= or :INCLUDE= (by
//     file name, as VeriPost resolves them), the nearest one when several
//     folders have a file of that name;
//   - a package whose files are exactly those of another is a duplicate
//     and is skipped;
//   - operating-system clutter, hidden files, other file types, archives,
//     files over the size limit and files that cannot be read are skipped
//     with the reason.
//
// A package is named after its folder and .SRC (Haas/VF2/VF2), which is
// how a later run finds it again.
package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/upg/resolve"
	"github.com/veripost/veripost/internal/upload"
)

// File is a file of a planned package.
type File struct {
	Name   string `json:"name"` // the name it is uploaded under
	Path   string `json:"path"` // slash-separated, relative to the import root
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Via says why a file from another folder is in the package.
	Via string `json:"via,omitempty"`
}

// Package is a planned package.
type Package struct {
	Name   string `json:"name"`
	Source string `json:"source"` // the .SRC's path
	Files  []File `json:"files"`
	// Notes are things worth knowing that did not stop the package (a
	// library that was ambiguous or not found).
	Notes []string `json:"notes,omitempty"`
}

// ContentKey names the package's files and contents (catalog.ContentKey).
func (p Package) ContentKey() string {
	nf := make([]catalog.NewFile, len(p.Files))
	for i, f := range p.Files {
		nf[i] = catalog.NewFile{Filename: f.Name, SHA256: f.SHA256}
	}
	return catalog.ContentKey(nf)
}

// Skipped is a file (or folder) that is not imported, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Plan is what an import will do.
type Plan struct {
	Packages []Package `json:"packages"`
	Skipped  []Skipped `json:"skipped"`
}

// Options tune planning.
type Options struct {
	// MaxFileBytes skips larger files (the server would refuse them).
	MaxFileBytes int64
}

type found struct {
	File
	dir  string
	data []byte
}

// MakePlan walks fsys from its root and plans the import.
func MakePlan(fsys fs.FS, opt Options) (Plan, error) {
	var plan Plan
	skip := func(p, why string) { plan.Skipped = append(plan.Skipped, Skipped{Path: p, Reason: why}) }
	byDir := map[string][]*found{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			skip(p, "cannot be read: "+errText(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		base := path.Base(p)
		if p != "." && strings.HasPrefix(base, ".") {
			if d.IsDir() {
				skip(p+"/", "hidden folder")
				return fs.SkipDir
			}
			if !upload.IsJunk(p) {
				skip(p, "hidden file")
			}
			return nil
		}
		if d.IsDir() {
			if upload.IsJunk(p + "/x") {
				return fs.SkipDir // __MACOSX
			}
			return nil
		}
		switch {
		case upload.IsJunk(p):
			return nil // clutter, silently
		case strings.EqualFold(path.Ext(p), ".zip"):
			skip(p, "archives are not unpacked: unpack it into the folder, or upload it in the web UI")
			return nil
		case !upload.IsKnownExtension(base):
			skip(p, "not a UPG file ("+describeExt(base)+")")
			return nil
		}
		info, err := fs.Stat(fsys, p) // follows a link
		if err != nil {
			skip(p, "cannot be read: "+errText(err))
			return nil
		}
		if !info.Mode().IsRegular() {
			skip(p, "not a regular file")
			return nil
		}
		if opt.MaxFileBytes > 0 && info.Size() > opt.MaxFileBytes {
			skip(p, fmt.Sprintf("larger than the %s a file may have", upload.HumanBytes(opt.MaxFileBytes)))
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			skip(p, "cannot be read: "+errText(err))
			return nil
		}
		sum := sha256.Sum256(data)
		dir := path.Dir(p)
		byDir[dir] = append(byDir[dir], &found{File: File{Name: base, Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, dir: dir, data: data})
		return nil
	})
	if err != nil {
		return plan, err
	}

	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	loose := map[string][]*found{} // by name key
	used := map[string]bool{}      // loose files attached somewhere
	type draft struct {
		pkg   Package
		dir   string
		files []*found
	}
	var drafts []*draft
	for _, dir := range dirs {
		files := byDir[dir]
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		var srcs []*found
		for _, f := range files {
			if isSource(f.Name) {
				srcs = append(srcs, f)
			}
		}
		if len(srcs) == 0 {
			for _, f := range files {
				k := analysis.NameKey(f.Name)
				loose[k] = append(loose[k], f)
			}
			continue
		}
		stems := map[string]bool{}
		for _, s := range srcs {
			stems[stemKey(s.Name)] = true
		}
		for _, s := range srcs {
			d := &draft{dir: dir, pkg: Package{Name: path.Join(dir, strings.TrimSuffix(s.Name, path.Ext(s.Name))), Source: s.Path}}
			for _, f := range files {
				if isSource(f.Name) && f != s {
					continue
				}
				if st := stemKey(f.Name); f != s && st != stemKey(s.Name) && stems[st] {
					continue // named after another .SRC of the folder
				}
				d.files = append(d.files, f)
			}
			drafts = append(drafts, d)
		}
	}

	for _, d := range drafts {
		// Names must differ without regard to case inside a package.
		seen := map[string]string{}
		var kept []*found
		for _, f := range d.files {
			k := analysis.NameKey(f.Name)
			if first, dup := seen[k]; dup {
				skip(f.Path, fmt.Sprintf("same name as %s in package %s (names are compared without case)", first, d.pkg.Name))
				continue
			}
			seen[k] = f.Path
			kept = append(kept, f)
		}
		// Attach loose libraries the sources name, following what the
		// attached ones name in turn.
		for i := 0; i < len(kept); i++ {
			f := kept[i]
			if !isSourceText(f.Name) {
				continue
			}
			for _, ref := range includes(f.Name, f.data) {
				k := analysis.NameKey(ref)
				if _, have := seen[k]; have {
					continue
				}
				cands := loose[k]
				if len(cands) == 0 {
					continue // the server reports a missing library
				}
				best, ambiguous := nearest(d.dir, cands)
				if ambiguous {
					d.pkg.Notes = append(d.pkg.Notes, fmt.Sprintf("%s is named by %s, but several folders have a different %s at the same distance; none was attached", ref, f.Name, path.Base(ref)))
					seen[k] = ""
					continue
				}
				seen[k] = best.Path
				used[best.Path] = true
				b := *best
				b.Via = fmt.Sprintf("named by %s", f.Name)
				kept = append(kept, &b)
			}
		}
		for _, f := range kept {
			d.pkg.Files = append(d.pkg.Files, f.File)
		}
		sort.Slice(d.pkg.Files, func(i, j int) bool { return d.pkg.Files[i].Name < d.pkg.Files[j].Name })
	}

	byContent := map[string]string{}
	for _, d := range drafts {
		key := d.pkg.ContentKey()
		if first, dup := byContent[key]; dup {
			skip(d.pkg.Source, "a duplicate: same files as "+first)
			continue
		}
		byContent[key] = d.pkg.Source
		plan.Packages = append(plan.Packages, d.pkg)
	}
	for _, dir := range dirs {
		for _, f := range byDir[dir] {
			if !used[f.Path] && loose[analysis.NameKey(f.Name)] != nil && !hasSource(byDir[dir]) {
				skip(f.Path, "a library in a folder without a .SRC that no package names")
			}
		}
	}
	sort.Slice(plan.Skipped, func(i, j int) bool { return plan.Skipped[i].Path < plan.Skipped[j].Path })
	return plan, nil
}

func hasSource(files []*found) bool {
	for _, f := range files {
		if isSource(f.Name) {
			return true
		}
	}
	return false
}

// nearest picks the loose file closest to dir (sharing the longest folder
// prefix, then the shallowest); ambiguous when two different contents tie.
func nearest(dir string, cands []*found) (*found, bool) {
	score := func(f *found) (int, int) {
		a, b := strings.Split(dir, "/"), strings.Split(f.dir, "/")
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return n, -len(b)
	}
	var best *found
	ambiguous := false
	var bs, bd int
	for _, c := range cands {
		s, d := score(c)
		switch {
		case best == nil || s > bs || (s == bs && d > bd):
			best, bs, bd, ambiguous = c, s, d, false
		case s == bs && d == bd && c.SHA256 != best.SHA256:
			ambiguous = true
		}
	}
	return best, ambiguous
}

// includes returns the paths a source file names in :LIBRARY= and :INCLUDE=.
func includes(name string, data []byte) []string {
	facts, _ := resolve.Extract(name, data)
	if facts == nil {
		return nil
	}
	out := make([]string, 0, len(facts.Includes))
	for _, in := range facts.Includes {
		out = append(out, in.Path)
	}
	return out
}

func isSource(name string) bool { return strings.EqualFold(path.Ext(name), ".src") }

// isSourceText: files whose text may name libraries.
func isSourceText(name string) bool {
	switch strings.ToUpper(strings.TrimPrefix(path.Ext(name), ".")) {
	case "SRC", "LIB", "ATR":
		return true
	}
	return false
}

func stemKey(name string) string { return strings.ToUpper(strings.TrimSuffix(name, path.Ext(name))) }

func describeExt(name string) string {
	if e := path.Ext(name); e != "" {
		return strings.ToLower(e)
	}
	return "no extension"
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
