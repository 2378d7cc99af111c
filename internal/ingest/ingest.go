// Package ingest is the background pipeline that turns an accepted upload
// into a ready package: validating → storing → parsing → ready, or error
// with a friendly message and a technical detail.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/textfile"
)

// FileContent is one file of a version with its verified bytes.
type FileContent struct {
	catalog.File
	Data []byte
}

// Pipeline processes ingestion jobs.
type Pipeline struct {
	Repo  catalog.Repository
	Blobs blob.Store
	// Index stores what the parser finds; nil records per-file facts only.
	Index index.Repository
	// ParserVersion keys stored parse results (default: ParserVersion).
	ParserVersion string
	// Search indexes ready versions for search; nil leaves search out.
	Search *search.Indexer
	Log    *slog.Logger
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
		Help:    "Time indexing a ready version for search takes (after ready).",
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
		if serr := p.Repo.SetVersionStatus(context.WithoutCancel(ctx), ver.ID, catalog.StatusError, msg, err.Error()); serr != nil {
			return errors.Join(err, serr)
		}
	} else {
		ingestResults.WithLabelValues("retry").Inc()
		log.Warn("ingestion attempt failed; will retry", "err", err)
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
	contents := make([]FileContent, 0, len(files))
	for _, f := range files {
		data, err := p.read(ctx, f)
		if err != nil {
			return err
		}
		contents = append(contents, FileContent{File: f, Data: data})
	}

	if err := set(catalog.StatusParsing); err != nil {
		return err
	}
	for _, fc := range contents {
		facts := textfile.Inspect(fc.Data)
		if err := p.Repo.SetFileFacts(ctx, fc.ID, facts.Lines, facts.Kind, facts.Encoding); err != nil {
			return err
		}
	}
	if p.Index == nil {
		return set(catalog.StatusReady)
	}
	// UPG errors in the files are findings, stored as diagnostics; the
	// version still ends ready. Only a failure to store them is an error.
	fileResults, version := Analyze(ver.ID, p.parserVersion(), contents)
	if err := p.Index.SaveVersion(ctx, fileResults, version); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return nil // deleted while being indexed
		}
		return &stageError{"Storing the parsed package failed because of a server problem. VeriPost retried and gave up; try again later.", err}
	}
	p.indexForSearch(ctx, ver.ID, contents)
	return nil
}

// indexForSearch is the one call into the search index (issue 14). It runs
// after the version is ready, so search indexing adds nothing to upload →
// ready; contents already indexed (a shared MILL.LIB) are not built again.
// A failure leaves the version out of search until `veripost reindex`
// (which lists versions without a search entry); it does not fail the
// ingestion. When the analysis result exists, pass each file's parse as
// search.File.Parsed instead of letting search parse again.
func (p *Pipeline) indexForSearch(ctx context.Context, versionID string, contents []FileContent) {
	if p.Search == nil {
		return
	}
	files := make([]search.File, len(contents))
	for i, fc := range contents {
		files[i] = search.File{SHA256: fc.SHA256, Filename: fc.Filename, Data: fc.Data}
	}
	start := time.Now()
	if err := p.Search.IndexVersion(ctx, p.parserVersion(), versionID, files); err != nil {
		p.logger().Error("indexing for search failed; run veripost reindex to retry", "version", versionID, "err", err)
		return
	}
	searchIndexDuration.Observe(time.Since(start).Seconds())
}

// read fetches a file's bytes and checks them against the recorded hash.
func (p *Pipeline) read(ctx context.Context, f catalog.File) ([]byte, error) {
	obj, err := p.Blobs.Open(ctx, f.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s is missing. Upload the package again.", f.Filename), err}}
	}
	if err != nil {
		return nil, &stageError{"The file store could not be read. VeriPost retried and gave up; try uploading again later.", err}
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, f.Size+1))
	if err != nil {
		return nil, &stageError{"The file store could not be read. VeriPost retried and gave up; try uploading again later.", err}
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, permanentError{&stageError{
			fmt.Sprintf("The stored copy of %s does not match what was uploaded. Upload the package again.", f.Filename),
			fmt.Errorf("stored %d bytes with sha256 %x, expected %d bytes with sha256 %s", len(data), sum, f.Size, f.SHA256)}}
	}
	return data, nil
}

func (p *Pipeline) parserVersion() string {
	if p.ParserVersion != "" {
		return p.ParserVersion
	}
	return ParserVersion
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
