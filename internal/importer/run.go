package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/transient"
)

// Upload is one package upload the target performs.
type Upload struct {
	PackageID string // empty: a new package
	Name      string
	Note      string
	Files     []UploadFile
	// IdempotencyKey makes a retried upload answer with the first one's
	// result (see catalog.Upload).
	IdempotencyKey string
}

// UploadFile is a file and its bytes.
type UploadFile struct {
	Name string
	Data []byte
}

// Result is what the target answered.
type Result struct {
	PackageID string
	VersionID string
	Version   int
	Created   bool // false: identical to the package's latest version
}

// ErrAmbiguous is returned by Target.FindPackage when several packages have
// the name.
var ErrAmbiguous = errors.New("several packages have this name")

// Target is where packages are imported to: the embedded deployment's
// catalogue, or a server through its API.
type Target interface {
	// FindPackage returns the id of the package with exactly this name,
	// "" when there is none.
	FindPackage(ctx context.Context, name string) (string, error)
	Upload(ctx context.Context, u Upload) (Result, error)
}

// Outcome of one planned package.
const (
	Imported   = "imported"    // a new package
	NewVersion = "new_version" // a new version of a package imported before
	Unchanged  = "unchanged"   // identical to the package's latest version
	Failed     = "failed"
)

// Done is what happened to one planned package.
type Done struct {
	Package   string `json:"package"`
	Outcome   string `json:"outcome"`
	PackageID string `json:"package_id,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Version   int    `json:"version,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Report is the end of an import.
type Report struct {
	Imported    int `json:"imported"`
	NewVersions int `json:"new_versions"`
	Unchanged   int `json:"unchanged"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"` // files and folders, see Plan.Skipped
	// Refused says why the run stopped before the end: the target refuses
	// every upload (no token, a token that may not upload).
	Refused  string    `json:"refused,omitempty"`
	Packages []Done    `json:"packages"`
	Plan     *Plan     `json:"-"`
	Took     string    `json:"took"`
	Started  time.Time `json:"started"`
}

// RunOptions tune an import run.
type RunOptions struct {
	// Progress is told after each package.
	Progress func(done, total int, last Done)
	// Retry is the retry policy for uploads that fail because the server
	// or a service behind it is unavailable (default: 5 attempts over
	// about 15 s).
	Retry transient.Policy
}

// Run imports the planned packages, reading their files again from fsys.
// It stops early only when ctx ends; a package that fails is reported and
// the others go on. Running it again imports only what changed.
func Run(ctx context.Context, fsys fs.FS, plan Plan, t Target, opt RunOptions) Report {
	rep := Report{Plan: &plan, Skipped: len(plan.Skipped), Started: time.Now(), Packages: []Done{}}
	if opt.Retry.Attempts == 0 {
		opt.Retry = transient.Policy{Attempts: 5, Base: time.Second, Max: 8 * time.Second}
	}
	for i, p := range plan.Packages {
		if ctx.Err() != nil {
			break
		}
		d, err := importOne(ctx, fsys, p, t, opt.Retry)
		if refused(err) {
			rep.Refused = d.Error
			break
		}
		switch d.Outcome {
		case Imported:
			rep.Imported++
		case NewVersion:
			rep.NewVersions++
		case Unchanged:
			rep.Unchanged++
		default:
			rep.Failed++
		}
		rep.Packages = append(rep.Packages, d)
		if opt.Progress != nil {
			opt.Progress(i+1, len(plan.Packages), d)
		}
	}
	rep.Took = time.Since(rep.Started).Round(time.Millisecond).String()
	return rep
}

func importOne(ctx context.Context, fsys fs.FS, p Package, t Target, retry transient.Policy) (Done, error) {
	d := Done{Package: p.Name, Outcome: Failed}
	up := Upload{Name: p.Name, Note: "imported from " + p.Source}
	for _, f := range p.Files {
		data, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			d.Error = fmt.Sprintf("%s could not be read: %s", f.Path, errText(err))
			return d, err
		}
		up.Files = append(up.Files, UploadFile{Name: f.Name, Data: data})
	}
	err := transient.Do(ctx, retry, retryable, func() error {
		id, err := t.FindPackage(ctx, p.Name)
		up.PackageID = id
		return err
	})
	if err != nil {
		d.Error = message(err)
		return d, err
	}
	// The key names this upload (target package and current content), so
	// that a retry after a lost answer gets the first result, and the same
	// key is never sent for another upload.
	fresh := Package{Files: make([]File, len(p.Files))}
	for i, f := range p.Files {
		sum := sha256.Sum256(up.Files[i].Data)
		fresh.Files[i] = File{Name: f.Name, SHA256: hex.EncodeToString(sum[:])}
	}
	key := sha256.Sum256([]byte("veripost-import\x00" + p.Name + "\x00" + up.PackageID + "\x00" + fresh.ContentKey()))
	up.IdempotencyKey = "import-" + hex.EncodeToString(key[:16])
	var res Result
	err = transient.Do(ctx, retry, retryable, func() error {
		var err error
		res, err = t.Upload(ctx, up)
		return err
	})
	if err != nil {
		d.Error = message(err)
		return d, err
	}
	d.PackageID, d.VersionID, d.Version = res.PackageID, res.VersionID, res.Version
	switch {
	case !res.Created:
		d.Outcome = Unchanged
	case up.PackageID == "":
		d.Outcome = Imported
	default:
		d.Outcome = NewVersion
	}
	return d, nil
}

// refused: the target will refuse every other upload too.
func refused(err error) bool {
	e, ok := apperror.As(err)
	return ok && (e.Status == 401 || e.Status == 403)
}

// retryable: the server or what it depends on was unavailable.
func retryable(err error) bool {
	if e, ok := apperror.As(err); ok {
		return e.Status == 503 || e.Status == 502 || e.Status == 504 || e.Status == 408 || e.Status == 429
	}
	return transient.Unreachable(err)
}

func message(err error) string {
	if errors.Is(err, ErrAmbiguous) {
		return "several packages have this name, so the import cannot tell which to add a version to; rename all but one"
	}
	if e, ok := apperror.As(err); ok {
		return e.Message
	}
	return err.Error()
}
