// Package registry is VeriPost's stock library registry: administrators
// register variants of the vendor's stock libraries (MILL.LIB, LATHE.LIB,
// MASTER.ATR …, each by its SHA-256) under a label such as "CAMWorks 2024
// SP2" and choose the default variant per file name. A package whose
// :LIBRARY= points outside itself and that does not ship the file is then
// resolved against the default (or the variant its package chose), as if it
// shipped it. The SQL store implements Store; ingestion asks Choose.
package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/upg"
)

// Variant is one registered content of a library file name.
type Variant struct {
	Name         string    `json:"name"` // file name as registered, e.g. MILL.LIB
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	Label        string    `json:"label"`
	Default      bool      `json:"default"`
	RegisteredBy string    `json:"registered_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Choice is a package's own pick for a library name: a registered variant,
// or none (SHA256 empty: do not use the registry for this name).
type Choice struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Store keeps the registry.
type Store interface {
	// RegisterVariant adds a variant or relabels one already registered.
	RegisterVariant(ctx context.Context, v Variant) error
	// Variants lists the registered variants of a name ("" for every name),
	// by name, default first.
	Variants(ctx context.Context, name string) ([]Variant, error)
	// SetDefault makes a registered variant the default of its name
	// (catalog.ErrNotFound when it is not registered).
	SetDefault(ctx context.Context, name, sha string) error
	// SetChoice records a package's pick for a name; clear removes it (the
	// package follows the default again).
	SetChoice(ctx context.Context, packageID string, c Choice, clear bool) error
	// Choices lists a package's picks.
	Choices(ctx context.Context, packageID string) ([]Choice, error)
	// ContentSize says whether VeriPost holds this content (a file of some
	// version) and its size.
	ContentSize(ctx context.Context, sha string) (int64, bool, error)
	// MarkStale marks the ready versions that need a library of this name
	// (of one package, or of all when packageID is "") for re-analysis and
	// returns their ids.
	MarkStale(ctx context.Context, name, packageID string) ([]string, error)
}

// Requeuer queues versions for analysis again (even while a job for one
// is running: it may have read the old choice).
type Requeuer interface {
	EnqueueAnalysis(ctx context.Context, versionIDs []string) (int, error)
}

// Service is the registry's operations.
type Service struct {
	Store Store
	Queue Requeuer
	// Blobs and Leases store a library uploaded for the registry (the same
	// lease protocol as package uploads, so the collector keeps it).
	Blobs  catalog.BlobStore
	Leases catalog.BlobLeases
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// NameKey is the comparison form of a library file name.
func NameKey(name string) string { return strings.ToUpper(upg.BaseName(strings.TrimSpace(name))) }

// Register registers a content VeriPost already holds (a file of an
// uploaded package, or a library uploaded for the registry) under a name
// and label.
func (s *Service) Register(ctx context.Context, name, sha, label, by string) (Variant, error) {
	name = upg.BaseName(strings.TrimSpace(name))
	sha = strings.ToLower(strings.TrimSpace(sha))
	label = strings.TrimSpace(label)
	if err := s.validate(Variant{Name: name, SHA256: sha, Label: label}); err != nil {
		return Variant{}, err
	}
	size, ok, err := s.Store.ContentSize(ctx, sha)
	if err != nil {
		return Variant{}, unavailable(err)
	}
	if !ok {
		return Variant{}, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
			"VeriPost holds no file with this SHA-256. Upload the library (veripost library register FILE) or a package that ships it first.",
			"content %s", sha)
	}
	v := Variant{Name: name, SHA256: sha, Size: size, Label: label, RegisteredBy: by, CreatedAt: time.Now().UTC()}
	if err := s.Store.RegisterVariant(ctx, v); err != nil {
		return Variant{}, unavailable(err)
	}
	vs, err := s.Store.Variants(ctx, name)
	if err != nil {
		return Variant{}, unavailable(err)
	}
	for _, x := range vs {
		if x.SHA256 == sha {
			return x, nil
		}
	}
	return v, nil
}

// RegisterUpload stores a library's bytes (one VeriPost does not hold yet,
// or does) and registers them under name and label.
func (s *Service) RegisterUpload(ctx context.Context, name string, data []byte, label, by string) (Variant, error) {
	if len(data) == 0 {
		return Variant{}, invalid("The library file is empty.", "no content")
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return Variant{}, invalid("This is not a text library (it holds NUL bytes); register the .LIB or .ATR source.", name)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := s.validate(Variant{Name: upg.BaseName(strings.TrimSpace(name)), SHA256: sha, Label: strings.TrimSpace(label)}); err != nil {
		return Variant{}, err
	}
	if _, ok, err := s.Store.ContentSize(ctx, sha); err != nil {
		return Variant{}, unavailable(err)
	} else if !ok {
		lease := uuid.NewString()
		if err := s.Leases.Lease(ctx, lease, []string{sha}, time.Now().Add(time.Hour)); err != nil {
			return Variant{}, unavailable(err)
		}
		defer func() { _ = s.Leases.Release(context.WithoutCancel(ctx), lease) }()
		if err := s.Blobs.Put(ctx, sha, int64(len(data)), bytes.NewReader(data)); err != nil {
			return Variant{}, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
				"The file store is not reachable, so the library was not registered. Try again in a minute.", err.Error())
		}
		v := Variant{Name: upg.BaseName(strings.TrimSpace(name)), SHA256: sha, Size: int64(len(data)), Label: strings.TrimSpace(label), RegisteredBy: by}
		if err := s.Store.RegisterVariant(ctx, v); err != nil {
			return Variant{}, unavailable(err)
		}
	}
	return s.Register(ctx, name, sha, label, by)
}

func (s *Service) validate(v Variant) error {
	switch k := upg.KindOf(v.Name); {
	case v.Name == "" || len(v.Name) > 255:
		return invalid("Name the library file, for example MILL.LIB.", "name is empty or too long")
	case k != upg.KindLIB && k != upg.KindATR && k != upg.KindInclude:
		return invalid("Only libraries (.LIB), attribute files (.ATR) and include files can be registered.", "name "+v.Name)
	case !shaRE.MatchString(v.SHA256):
		return invalid("A library content is named by its SHA-256: 64 hexadecimal digits.", "sha256 "+v.SHA256)
	case v.Label == "" || len(v.Label) > 200:
		return invalid("Give the variant a label of up to 200 characters, such as “CAMWorks 2024 SP2”.", "label")
	}
	return nil
}

// SetDefault makes a variant the default of its name and queues every
// version that needs a library of that name for re-analysis; it returns how
// many were queued.
func (s *Service) SetDefault(ctx context.Context, name, sha string) (int, error) {
	name, sha = upg.BaseName(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(sha))
	if err := s.Store.SetDefault(ctx, name, sha); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return 0, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				"That variant is not registered under this name. List them with GET /api/v1/registry or veripost library list.",
				"%s %s", name, sha)
		}
		return 0, unavailable(err)
	}
	return s.requeue(ctx, name, "")
}

// SetChoice records (or, with clear, removes) a package's own pick for a
// name and re-analyses that package's versions that need it.
func (s *Service) SetChoice(ctx context.Context, packageID string, c Choice, clear bool) (int, error) {
	c.Name, c.SHA256 = upg.BaseName(strings.TrimSpace(c.Name)), strings.ToLower(strings.TrimSpace(c.SHA256))
	if c.Name == "" {
		return 0, invalid("Name the library file, for example MILL.LIB.", "name")
	}
	if !clear && c.SHA256 != "" {
		vs, err := s.Store.Variants(ctx, c.Name)
		if err != nil {
			return 0, unavailable(err)
		}
		found := false
		for _, v := range vs {
			found = found || v.SHA256 == c.SHA256
		}
		if !found {
			return 0, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				"That variant is not registered under this name; register it first.", "%s %s", c.Name, c.SHA256)
		}
	}
	if err := s.Store.SetChoice(ctx, packageID, c, clear); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return 0, catalog.NotFound("package", packageID)
		}
		return 0, unavailable(err)
	}
	return s.requeue(ctx, c.Name, packageID)
}

func (s *Service) requeue(ctx context.Context, name, packageID string) (int, error) {
	ids, err := s.Store.MarkStale(ctx, name, packageID)
	if err != nil {
		return 0, unavailable(err)
	}
	if len(ids) == 0 || s.Queue == nil {
		return len(ids), nil
	}
	if _, err := s.Queue.EnqueueAnalysis(ctx, ids); err != nil {
		return 0, unavailable(err)
	}
	return len(ids), nil
}

// Choose returns, for each unshipped library name, the registry variant a
// package resolves it to: the package's own pick, else the default. Names
// with neither (or a pick of "none") are absent.
func (s *Service) Choose(ctx context.Context, packageID string, names []string) ([]Variant, error) {
	if len(names) == 0 {
		return nil, nil
	}
	choices, err := s.Store.Choices(ctx, packageID)
	if err != nil {
		return nil, err
	}
	picked := map[string]string{}
	for _, c := range choices {
		picked[NameKey(c.Name)] = c.SHA256
	}
	var out []Variant
	for _, n := range names {
		vs, err := s.Store.Variants(ctx, n)
		if err != nil {
			return nil, err
		}
		want, own := picked[NameKey(n)]
		if own && want == "" {
			continue
		}
		for _, v := range vs {
			if (own && v.SHA256 == want) || (!own && v.Default) {
				v.Name = upg.BaseName(n) // as the package spells it
				out = append(out, v)
				break
			}
		}
	}
	return out, nil
}

func invalid(msg, detail string) error {
	return apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, msg, detail)
}

func unavailable(err error) error {
	if _, ok := apperror.As(err); ok {
		return err
	}
	return apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
		"The database is not reachable, so the registry was not changed. Try again in a minute.", fmt.Sprint(err))
}
