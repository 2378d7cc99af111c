// Package compare loads the two sides of a comparison from storage — two
// versions of a package, two packages, two library variants by SHA-256,
// or one file of a package against a variant — and diffs them with
// internal/diff. The API and the web UI both call it.
package compare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/storedfile"
)

// Ref names one side of a comparison: a package version, or a stored
// content (a library variant) by its SHA-256.
type Ref struct {
	Package string `json:"package,omitempty"` // package id, or its exact name
	Version int    `json:"version,omitempty"` // 0 = the latest
	SHA256  string `json:"sha256,omitempty"`  // instead of Package
	// File keeps only this file of the package (case-insensitive name):
	// one library of a package against a variant.
	File string `json:"file,omitempty"`
}

// SetParams writes the reference as the query parameters of a side named
// which ("a" or "b"): which=PACKAGE[@N] or which_sha=SHA, and which_file.
// The API, the compare page and `veripost diff` all read these.
func (r Ref) SetParams(v url.Values, which string) {
	if r.SHA256 != "" {
		v.Set(which+"_sha", r.SHA256)
	} else {
		ref := r.Package
		if r.Version > 0 {
			ref += "@" + strconv.Itoa(r.Version)
		}
		v.Set(which, ref)
	}
	if r.File != "" {
		v.Set(which+"_file", r.File)
	}
}

// ParseRef reads "PACKAGE[@VERSION]" (an id or a name, then an optional
// version number).
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	var r Ref
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		n, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "v"))
		if err != nil || n < 1 {
			return r, badRef(s, "the part after @ must be a version number, such as @3")
		}
		r.Version, s = n, s[:i]
	}
	if s == "" {
		return r, badRef(s, "name a package (its id or its name)")
	}
	if len(s) > 300 {
		return r, badRef(s[:40]+"…", "the package reference is too long")
	}
	r.Package = s
	return r, nil
}

func badRef(s, why string) error {
	return apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
		"That is not a package reference: "+why+". Write PACKAGE or PACKAGE@VERSION, where PACKAGE is a package id or name.", "ref "+strconv.Quote(s))
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Finder looks packages up by name and contents by hash. *store.DB
// implements it.
type Finder interface {
	PackagesByName(ctx context.Context, name string) ([]catalog.Package, error)
	FileBySHA(ctx context.Context, sha string) (catalog.File, string, error)
}

// Blobs opens stored contents. blob.Store implements it.
type Blobs interface {
	Open(ctx context.Context, key string) (blob.Object, error)
}

// Service compares stored things.
type Service struct {
	Repo  catalog.Repository
	Blobs Blobs
	Find  Finder
	// MaxSideBytes bounds the bytes loaded for one side (DefaultMaxSideBytes when 0).
	MaxSideBytes int64
}

// DefaultMaxSideBytes is the most one side may hold.
const DefaultMaxSideBytes = 128 << 20

// SideFile is a file of a side, for links.
type SideFile struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// Side says what one side is.
type Side struct {
	Kind        string     `json:"kind"` // "package" or "content"
	Label       string     `json:"label"`
	PackageID   string     `json:"package_id,omitempty"`
	PackageName string     `json:"package_name,omitempty"`
	Version     int        `json:"version,omitempty"`
	VersionID   string     `json:"version_id,omitempty"`
	Latest      bool       `json:"latest,omitempty"`
	Note        string     `json:"note,omitempty"` // the version's change note
	SHA256      string     `json:"sha256,omitempty"`
	File        string     `json:"file,omitempty"` // the one file compared, when the side is one file
	Files       []SideFile `json:"files"`
	ref         Ref
}

// Ref returns the reference the side was loaded from, resolved (package
// id, version number).
func (s *Side) Ref() Ref { return s.ref }

// Comparison is a finished comparison: what each side is, and the diff.
type Comparison struct {
	A      Side         `json:"a"`
	B      Side         `json:"b"`
	Result *diff.Result `json:"result"`
	// da and db are the files as they were compared (for the explanation).
	da, db diff.Side
}

// Explain says in plain words what side B changes relative to side A
// (explain.Change), its citations carrying the stored file ids of their
// side. The API, the compare page and the copilot's "explain this change"
// all take it from here.
func (c *Comparison) Explain() *explain.Explanation {
	e := explain.Change(c.Result, explain.AnalyzeSide(c.da), explain.AnalyzeSide(c.db))
	e.SetSideFileIDs(c.FileID)
	return e
}

// FileID returns the stored file id of a file of side "a" or "b" ("" for
// another side or an unknown name).
func (c *Comparison) FileID(side, name string) string {
	s := c.Side(side)
	if s == nil {
		return ""
	}
	for _, f := range s.Files {
		if f.Name == name {
			return f.ID
		}
	}
	return ""
}

// Side returns side "a" or "b" (nil for anything else).
func (c *Comparison) Side(side string) *Side {
	switch side {
	case explain.SideA:
		return &c.A
	case explain.SideB:
		return &c.B
	}
	return nil
}

// Compare loads both sides and diffs them.
func (s *Service) Compare(ctx context.Context, a, b Ref, opt diff.Options) (*Comparison, error) {
	sa, da, err := s.Load(ctx, a)
	if err != nil {
		return nil, err
	}
	sb, db, err := s.Load(ctx, b)
	if err != nil {
		return nil, err
	}
	return &Comparison{A: sa, B: sb, Result: diff.Compare(da, db, opt), da: da, db: db}, nil
}

// Load resolves a reference and reads its files.
func (s *Service) Load(ctx context.Context, r Ref) (Side, diff.Side, error) {
	if r.SHA256 != "" {
		return s.loadContent(ctx, r)
	}
	return s.loadPackage(ctx, r)
}

func (s *Service) maxBytes() int64 {
	if s.MaxSideBytes > 0 {
		return s.MaxSideBytes
	}
	return DefaultMaxSideBytes
}

func (s *Service) loadPackage(ctx context.Context, r Ref) (Side, diff.Side, error) {
	pkg, err := s.findPackage(ctx, r.Package)
	if err != nil {
		return Side{}, diff.Side{}, err
	}
	var ver catalog.Version
	if r.Version == 0 || r.Version == pkg.LatestVersion {
		ver, err = s.Repo.LatestVersion(ctx, pkg.ID)
		if err != nil {
			return Side{}, diff.Side{}, repoErr(err, "package", pkg.ID)
		}
	} else {
		ver, err = s.Repo.VersionByNumber(ctx, pkg.ID, r.Version)
		if errors.Is(err, catalog.ErrNotFound) {
			return Side{}, diff.Side{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				fmt.Sprintf("%s has no version %d. Its versions go up to %d.", pkg.Name, r.Version, pkg.LatestVersion),
				"version %d of package %s", r.Version, pkg.ID)
		}
		if err != nil {
			return Side{}, diff.Side{}, repoErr(err, "package", pkg.ID)
		}
	}
	files, err := s.Repo.VersionFiles(ctx, ver.ID)
	if err != nil {
		return Side{}, diff.Side{}, repoErr(err, "version", ver.ID)
	}
	side := Side{Kind: "package", PackageID: pkg.ID, PackageName: pkg.Name, Version: ver.Number, VersionID: ver.ID,
		Latest: ver.Number == pkg.LatestVersion, Note: ver.Note, Files: []SideFile{},
		ref: Ref{Package: pkg.ID, Version: ver.Number, File: r.File}}
	side.Label = fmt.Sprintf("%s v%d", pkg.Name, ver.Number)
	if r.File != "" {
		var keep []catalog.File
		for _, f := range files {
			if strings.EqualFold(f.Filename, strings.TrimSpace(r.File)) {
				keep = append(keep, f)
			}
		}
		if len(keep) == 0 {
			return Side{}, diff.Side{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				fmt.Sprintf("Version %d of %s has no file called %s.", ver.Number, pkg.Name, r.File),
				"file %q of version %s", r.File, ver.ID)
		}
		files = keep
		side.File = keep[0].Filename
		side.Label += " " + keep[0].Filename
	}
	ds, err := s.read(ctx, side.Label, files)
	for _, f := range files {
		side.Files = append(side.Files, SideFile{Name: f.Filename, ID: f.ID, SHA256: f.SHA256})
	}
	return side, ds, err
}

// findPackage takes an id or an exact name.
func (s *Service) findPackage(ctx context.Context, ref string) (catalog.Package, error) {
	if _, err := uuid.Parse(ref); err == nil {
		p, err := s.Repo.GetPackage(ctx, ref)
		if err == nil || !errors.Is(err, catalog.ErrNotFound) || s.Find == nil {
			return p, repoErr(err, "package", ref)
		}
	}
	if s.Find == nil {
		return catalog.Package{}, catalog.NotFound("package", ref)
	}
	ps, err := s.Find.PackagesByName(ctx, ref)
	if err != nil {
		return catalog.Package{}, repoErr(err, "package", ref)
	}
	switch len(ps) {
	case 0:
		return catalog.Package{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
			fmt.Sprintf("No package is called %q and no package has that id. Check the name, or use the package id from its page.", ref),
			"package %q", ref)
	case 1:
		return ps[0], nil
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return catalog.Package{}, apperror.Newf(http.StatusConflict, apperror.CodeAmbiguous,
		fmt.Sprintf("%d packages are called %q. Name the one you mean by its id.", len(ps), ref),
		"package ids: %s", strings.Join(ids, ", "))
}

func (s *Service) loadContent(ctx context.Context, r Ref) (Side, diff.Side, error) {
	sha := strings.ToLower(strings.TrimSpace(r.SHA256))
	if !shaRE.MatchString(sha) {
		return Side{}, diff.Side{}, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
			"A library variant is named by its SHA-256: 64 hexadecimal digits, as the Libraries page shows them.", "sha256 "+strconv.Quote(r.SHA256))
	}
	if s.Find == nil {
		return Side{}, diff.Side{}, catalog.NotFound("content", sha)
	}
	f, pkgID, err := s.Find.FileBySHA(ctx, sha)
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return Side{}, diff.Side{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				"No stored file has that content. The packages that had it may have been deleted; pick a variant on the Libraries page.", "sha256 %s", sha)
		}
		return Side{}, diff.Side{}, repoErr(err, "content", sha)
	}
	side := Side{Kind: "content", Label: f.Filename + " " + sha[:12], PackageID: pkgID, SHA256: sha, File: f.Filename,
		Files: []SideFile{{Name: f.Filename, ID: f.ID, SHA256: sha}}, ref: Ref{SHA256: sha}}
	ds, err := s.read(ctx, side.Label, []catalog.File{f})
	return side, ds, err
}

// read loads the files' bytes from the object store.
func (s *Service) read(ctx context.Context, label string, files []catalog.File) (diff.Side, error) {
	out := diff.Side{Label: label, Files: make([]diff.File, 0, len(files))}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if total > s.maxBytes() {
		return out, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeTooLargeToCompare,
			fmt.Sprintf("%s holds %d MiB, more than this server compares at once (%d MiB). Compare one file of it instead.", label, total>>20, s.maxBytes()>>20),
			"%d bytes", total)
	}
	for _, f := range files {
		data, err := s.readBlob(ctx, f)
		if err != nil {
			return out, err
		}
		out.Files = append(out.Files, diff.File{Name: f.Filename, Data: data, SHA256: f.SHA256, ID: f.ID})
	}
	return out, nil
}

func (s *Service) readBlob(ctx context.Context, f catalog.File) ([]byte, error) {
	if f.Size > s.maxBytes() {
		return nil, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeTooLargeToCompare,
			f.Filename+" is too large to compare here. Download both versions and compare them locally.", "%d bytes", f.Size)
	}
	return storedfile.Read(ctx, s.Blobs, f)
}

// repoErr maps repository errors (missing → 404, else 503).
func repoErr(err error, what, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrNotFound):
		return catalog.NotFound(what, id)
	case errors.Is(err, context.Canceled):
		return err
	}
	if _, ok := apperror.As(err); ok {
		return err
	}
	return apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
		"The database is not reachable right now. Try again in a minute.", err.Error())
}
