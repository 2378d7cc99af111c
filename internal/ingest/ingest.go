// Package ingest is the background pipeline that turns an accepted upload
// into a ready package: validating → storing → parsing → ready, or error
// with a friendly message and a technical detail.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/registry"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/transient"
)

// Pipeline processes ingestion jobs.
type Pipeline struct {
	Repo  catalog.Repository
	Blobs blob.Store
	Index index.Writer
	// Registry picks stock libraries for the ones a package does not ship
	// (nil: no registry).
	Registry Chooser
	Log      *slog.Logger
	// Limits bound what one file may cost; a file over them ends the
	// version in error with a message saying which limit.
	Limits analysis.Limits
	// Search indexes ready versions for search (IndexSearch, a job of its
	// own); nil leaves search out.
	Search *search.Indexer
}

// Chooser is the part of the library registry ingestion asks.
type Chooser interface {
	Choose(ctx context.Context, packageID string, names []string) ([]registry.Variant, error)
}

var (
	ingestResults = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "veripost_ingest_attempts_total",
		Help: "Ingestion job attempts by result: ready, retry (transient failure) or error (gave up).",
	}, []string{"result"})
	ingestDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "veripost_ingest_duration_seconds",
		Help:    "Time one ingestion attempt takes, from validating to ready.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
	searchIndexDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "veripost_search_index_duration_seconds",
		Help:    "Time indexing a ready version for search takes (its own job, after ready).",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
)

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }
func (e permanentError) Unwrap() error { return e.error }

// stageError carries the friendly message to record if the job gives up.
type stageError struct {
	message string
	err     error
}

func (e *stageError) Error() string { return e.message + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// Process implements jobs.Processor.
func (p *Pipeline) Process(ctx context.Context, versionID string, lastAttempt bool) error {
	log := p.logger().With("version", versionID)
	ver, err := p.Repo.GetVersion(ctx, versionID)
	if errors.Is(err, catalog.ErrNotFound) {
		// The package was deleted after the upload: nothing to do.
		log.Info("version no longer exists; skipping ingestion")
		return nil
	}
	if err != nil {
		return err
	}
	start := time.Now()
	err = p.run(ctx, ver)
	ingestDuration.Observe(time.Since(start).Seconds())
	if err == nil {
		ingestResults.WithLabelValues("ready").Inc()
		log.Info("version ingested", "package", ver.PackageID, "number", ver.Number, "took", time.Since(start))
		return nil
	}
	var perm permanentError
	final := lastAttempt || errors.As(err, &perm)
	if final {
		ingestResults.WithLabelValues("error").Inc()
		msg := "Ingestion failed."
		var se *stageError
		if errors.As(err, &se) {
			msg = se.message
		}
		log.Error("ingestion failed", "err", err)
		detail := err.Error()
		if transient.Unreachable(err) {
			// The driver's text names hosts and databases: it stays in the log.
			detail = "the database or file store did not answer in any attempt; the worker log has the cause"
		}
		if serr := p.Repo.SetVersionStatus(context.WithoutCancel(ctx), ver.ID, catalog.StatusError, msg, detail); serr != nil {
			return errors.Join(err, serr)
		}
	} else {
		ingestResults.WithLabelValues("retry").Inc()
		log.Warn("ingestion attempt failed; will retry", "err", err)
	}
	return err
}

// GiveUp implements jobs.GiveUpper: the version ends in error with message.
func (p *Pipeline) GiveUp(ctx context.Context, versionID, message string) error {
	ingestResults.WithLabelValues("error").Inc()
	err := p.Repo.SetVersionStatus(ctx, versionID, catalog.StatusError, message, "the ingestion was taken over from stopped workers too often")
	if errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrStatusConflict) {
		return nil
	}
	return err
}

func (p *Pipeline) run(ctx context.Context, ver catalog.Version) error {
	set := func(s catalog.Status) error { return p.Repo.SetVersionStatus(ctx, ver.ID, s, "", "") }

	if err := set(catalog.StatusValidating); err != nil {
		return err
	}
	files, err := p.Repo.VersionFiles(ctx, ver.ID)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return permanentError{&stageError{"This version has no files.", errors.New("version has no file rows")}}
	}

	if err := set(catalog.StatusStoring); err != nil {
		return err
	}
	// Contents analysed before (a shared MILL.LIB, a re-upload) are not
	// read or parsed again: their blob is checked to be there, and their
	// stored analysis is used.
	keys := make([]index.ContentKey, len(files))
	for i, f := range files {
		keys[i] = index.ContentKey{SHA256: f.SHA256, Reader: analysis.ReaderOf(f.Filename)}
	}
	stored, err := p.Index.StoredAnalyses(ctx, keys)
	if err != nil {
		return err
	}
	// The files are checked or read at once: on S3 each is a round trip.
	// A version accepted moments ago skips the check: the upload found or
	// stored and verified each blob before it was accepted, and its file
	// rows keep the collector away since. Later runs (a retry after a
	// while, a re-index) check again.
	confirmed := justAccepted(ver, time.Now())
	data := make([][]byte, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, f := range files {
		g.Go(func() error {
			if stored[keys[i]] != nil {
				if confirmed {
					return nil
				}
				return p.check(gctx, f)
			}
			var err error
			if data[i], err = p.read(gctx, f); err != nil {
				return err
			}
			if err := p.Limits.CheckSize(f.Filename, data[i]); err != nil {
				return limitError(err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	if err := set(catalog.StatusParsing); err != nil {
		return err
	}
	// UPG errors in the files are findings, stored as diagnostics; the
	// version still ends ready. Only a failure to store them is an error.
	va := index.VersionAnalysis{VersionID: ver.ID, Status: catalog.StatusReady}
	named := make([]analysis.Named, len(files))
	for i, f := range files {
		a := stored[keys[i]]
		if a == nil {
			a = analysis.AnalyzeFile(f.Filename, data[i])
			if err := p.Limits.CheckFindings(f.Filename, a); err != nil {
				return limitError(err)
			}
		}
		named[i] = analysis.Named{Name: f.Filename, File: a}
		va.Files = append(va.Files, index.AnalysedFile{FileID: f.ID, Name: f.Filename, File: a, Stored: stored[keys[i]] != nil})
	}
	if err := p.addRegistry(ctx, ver, &va, &named); err != nil {
		return err
	}
	fileSet := analysis.FileSetKey(named)
	va.Result, err = p.Index.StoredResult(ctx, fileSet)
	va.ResultStored = err == nil
	if errors.Is(err, catalog.ErrNotFound) {
		va.Result, err = index.ResultOf(fileSet, analysis.Resolve(named)), nil
	}
	if err != nil {
		return err
	}
	if err := p.Index.SaveAnalysis(ctx, va); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return nil // deleted while being analysed
		}
		return &stageError{"Storing the analysed package failed because of a server problem. VeriPost retried and gave up; try again later.", err}
	}
	return nil
}

// limitError ends the version in error: analysing again cannot help.
func limitError(err error) error {
	var le *analysis.LimitError
	if errors.As(err, &le) {
		return permanentError{&stageError{le.Message(), err}}
	}
	return permanentError{&stageError{"A file is over this server's analysis limits.", err}}
}

// addRegistry adds the registry's stock libraries for the libraries the
// package declares but does not ship, and records those names as the
// version's needs.
func (p *Pipeline) addRegistry(ctx context.Context, ver catalog.Version, va *index.VersionAnalysis, named *[]analysis.Named) error {
	needs := analysis.UnshippedLibraries(*named)
	for _, n := range needs {
		va.Needs = append(va.Needs, registry.NameKey(n))
	}
	if p.Registry == nil || len(needs) == 0 {
		return nil
	}
	vs, err := p.Registry.Choose(ctx, ver.PackageID, needs)
	if err != nil {
		return err
	}
	for _, v := range vs {
		key := index.ContentKey{SHA256: v.SHA256, Reader: analysis.ReaderOf(v.Name)}
		stored, err := p.Index.StoredAnalyses(ctx, []index.ContentKey{key})
		if err != nil {
			return err
		}
		a := stored[key]
		known := a != nil
		if a == nil {
			data, err := p.read(ctx, catalog.File{Filename: v.Name, BlobKey: v.SHA256, SHA256: v.SHA256, Size: v.Size})
			if err != nil {
				return err
			}
			if err := p.Limits.CheckSize(v.Name, data); err != nil {
				return limitError(err)
			}
			a = analysis.AnalyzeFile(v.Name, data)
			if err := p.Limits.CheckFindings(v.Name, a); err != nil {
				return limitError(err)
			}
		}
		*named = append(*named, analysis.Named{Name: v.Name, File: a, Registry: v.Label})
		va.Registry = append(va.Registry, index.AnalysedFile{Name: v.Name, File: a, Stored: known})
	}
	return nil
}

// blobsConfirmedFor is how long after its upload a version's blobs are
// taken as confirmed by the upload itself.
const blobsConfirmedFor = time.Minute

// justAccepted reports whether ver was uploaded less than blobsConfirmedFor
// before now (by either clock: a worker's may be behind the API's).
func justAccepted(ver catalog.Version, now time.Time) bool {
	d := now.Sub(ver.UploadedAt)
	return !ver.UploadedAt.IsZero() && d > -blobsConfirmedFor && d < blobsConfirmedFor
}

// check confirms that a file whose content was analysed before is still
// stored with its recorded size (its hash was verified when it was stored).
func (p *Pipeline) check(ctx context.Context, f catalog.File) error {
	info, err := p.Blobs.Stat(ctx, f.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		return permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s is missing. Upload the package again.", f.Filename), err}}
	}
	if err != nil {
		return &stageError{"The file store could not be read. VeriPost retried and gave up; try uploading again later.", err}
	}
	if info.Size != f.Size {
		return permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s does not match what was uploaded. Upload the package again.", f.Filename),
			fmt.Errorf("stored %d bytes, expected %d", info.Size, f.Size)}}
	}
	return nil
}

// IndexSearch indexes a ready version for search (issue 14). It is the
// work of its own job, queued when the version became ready, so search
// indexing adds nothing to upload → ready and never holds up the next
// ingestion. Contents already indexed (a shared MILL.LIB) are not read or
// built again. A version deleted meanwhile is left alone.
func (p *Pipeline) IndexSearch(ctx context.Context, versionID string) error {
	if p.Search == nil {
		return nil
	}
	files, err := p.Repo.VersionFiles(ctx, versionID)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && len(files) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	sf := make([]search.File, len(files))
	for i, f := range files {
		sf[i] = search.File{SHA256: f.SHA256, Filename: f.Filename,
			Load: func(ctx context.Context) ([]byte, error) { return p.read(ctx, f) }}
	}
	start := time.Now()
	err = p.Search.IndexVersion(ctx, analysis.ParserVersion, versionID, sf)
	var perm permanentError
	if errors.As(err, &perm) {
		// A stored copy went missing: the version's own status says so at
		// its next analysis; retrying cannot help.
		p.logger().Error("indexing for search failed", "version", versionID, "err", err)
		return nil
	}
	if err != nil {
		p.logger().Warn("indexing for search failed; the job will try again", "version", versionID, "err", err)
		return fmt.Errorf("indexing version %s for search: %w", versionID, err)
	}
	searchIndexDuration.Observe(time.Since(start).Seconds())
	return nil
}

// read fetches a file's bytes and checks them against the recorded hash.
func (p *Pipeline) read(ctx context.Context, f catalog.File) ([]byte, error) {
	data, err := blob.ReadAll(ctx, p.Blobs, f.BlobKey, f.Size)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil, permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s is missing. Upload the package again.", f.Filename), err}}
	case errors.Is(err, blob.ErrStoredMismatch):
		return nil, permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s does not match what was uploaded. Upload the package again.", f.Filename), err}}
	case err != nil:
		return nil, &stageError{"The file store could not be read. VeriPost retried and gave up; try uploading again later.", err}
	}
	return data, nil
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
