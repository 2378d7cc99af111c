// Package loader reads a stored version's files from the object store,
// checks them against their recorded SHA-256, and analyses them for the
// explainer. The JSON API and the web UI both load versions through it, so
// there is one way to turn a stored version into an explainable package.
//
// Versions are immutable, so an analysed version is kept in a small
// in-memory cache keyed by its id; concurrent requests for the same version
// share one load.
package loader

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/storedfile"
)

// Repo is the part of the catalogue repository the loader reads.
type Repo interface {
	VersionFiles(ctx context.Context, versionID string) ([]catalog.File, error)
}

// Blobs opens stored file bytes by content address.
type Blobs interface {
	Open(ctx context.Context, key string) (blob.Object, error)
}

// DefaultMaxBytes bounds the bytes of one version the loader analyses.
const DefaultMaxBytes = 64 << 20

// DefaultCacheSize is how many analysed versions stay in memory.
const DefaultCacheSize = 8

// Loader loads and analyses stored versions.
type Loader struct {
	repo     Repo
	blobs    Blobs
	maxBytes int64
	cache    *lru.Cache[string, *Version]
	group    singleflight.Group
}

// New returns a loader with the default limits.
func New(repo Repo, blobs Blobs) *Loader {
	c, err := lru.New[string, *Version](DefaultCacheSize)
	if err != nil {
		panic("loader: " + err.Error()) // only for a size < 1
	}
	return &Loader{repo: repo, blobs: blobs, maxBytes: DefaultMaxBytes, cache: c}
}

// Version is a stored version, read and analysed.
type Version struct {
	Version catalog.Version
	Files   []catalog.File
	Package *explain.Package
	byName  map[string]catalog.File
}

// FileID returns the id of the version's file with this name ("" when the
// version has no such file).
func (v *Version) FileID(name string) string { return v.byName[name].ID }

// File returns the version's file with this id.
func (v *Version) File(id string) (catalog.File, bool) {
	for _, f := range v.Files {
		if f.ID == id {
			return f, true
		}
	}
	return catalog.File{}, false
}

// Load returns the analysed version, from the cache when it is there.
func (l *Loader) Load(ctx context.Context, ver catalog.Version) (*Version, error) {
	if v, ok := l.cache.Get(ver.ID); ok {
		return v, nil
	}
	// The load runs detached from any one caller, so a cancelled request
	// does not fail the others waiting for the same version.
	ch := l.group.DoChan(ver.ID, func() (any, error) {
		v, err := l.load(context.WithoutCancel(ctx), ver)
		if err == nil {
			l.cache.Add(ver.ID, v)
		}
		return v, err
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Version), nil
	}
}

func (l *Loader) load(ctx context.Context, ver catalog.Version) (*Version, error) {
	files, err := l.repo.VersionFiles(ctx, ver.ID)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if total > l.maxBytes {
		return nil, apperror.New(http.StatusUnprocessableEntity, apperror.CodeTooLarge,
			fmt.Sprintf("This version holds %d bytes of files, more than the explainer reads at once (%d). Explain it with `veripost explain` on your own machine.", total, l.maxBytes),
			fmt.Sprintf("version %s: %d bytes", ver.ID, total))
	}
	v := &Version{Version: ver, Files: files, byName: map[string]catalog.File{}}
	inputs := make([]explain.Input, 0, len(files))
	for _, f := range files {
		data, err := storedfile.Read(ctx, l.blobs, f)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, explain.Input{Name: f.Filename, Data: data})
		v.byName[f.Filename] = f
	}
	v.Package = explain.Analyze(inputs)
	return v, nil
}

// Problem turns the explainer's errors into user-facing ones: a subject
// that is not in the package is a 404 that names the closest matches; a
// line range that cannot be explained is a 422. Other errors pass through.
func Problem(err error) error {
	var nf *explain.NotFoundError
	if errors.As(err, &nf) {
		msg := fmt.Sprintf("There is no %s named %q in %s.", nf.What, nf.Name, nf.In)
		if len(nf.Near) > 0 {
			msg += " Did you mean " + joinQuoted(nf.Near) + "?"
		} else {
			msg += " Check the spelling; the outline lists every section and attribute."
		}
		return apperror.New(http.StatusNotFound, apperror.CodeNotFound, msg, err.Error())
	}
	var re *explain.RangeError
	if errors.As(err, &re) {
		return apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"These lines cannot be explained: "+re.Error()+".", fmt.Sprintf("%s has %d lines; asked for %d-%d", re.File, re.Lines, re.From, re.To))
	}
	return err
}

func joinQuoted(names []string) string {
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			out += " or "
		default:
			out += ", "
		}
		out += n
	}
	return out
}

// SourceURL is the web source view's address of a citation: the file, with
// the cited range highlighted (hl) and its first line as the anchor. It is
// "" when the citation has no file id.
func SourceURL(packageID string, c explain.Cite) string {
	if c.FileID == "" {
		return ""
	}
	u := "/packages/" + url.PathEscape(packageID) + "/files/" + url.PathEscape(c.FileID)
	if c.End > c.Start {
		u += "?hl=" + strconv.Itoa(c.Start) + "-" + strconv.Itoa(c.End)
	}
	return u + "#L" + strconv.Itoa(c.Start)
}

// AskPath is the API path (below its prefix) where the LLM copilot is asked
// about the subject of e, an explanation of version number version of a
// package (its file ids set). The API's explain answers and the web UI's
// "Ask the copilot" both point there.
func AskPath(packageID string, version int, e *explain.Explanation) string {
	pkg := "/packages/" + url.PathEscape(packageID)
	vq := ""
	if version > 0 {
		vq = "?version=" + strconv.Itoa(version)
	}
	switch e.Kind {
	case explain.KindSection:
		return pkg + "/files/" + url.PathEscape(e.FileID) + "/sections/" + url.PathEscape(e.Subject) + "/ask"
	case explain.KindLines:
		return fmt.Sprintf("%s/files/%s/ask?from=%d&to=%d", pkg, url.PathEscape(e.FileID), e.Start, e.End)
	case explain.KindAttribute:
		return pkg + "/attributes/" + url.PathEscape(e.Subject) + "/ask" + vq
	}
	return pkg + "/ask" + vq
}
