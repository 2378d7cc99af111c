// Package fsck checks that VeriPost's database and object store agree:
// every recorded file has its blob with the recorded size and SHA-256,
// every blob is referenced by a file (or it is an orphan the collector
// will remove), every version is indexed by the current analysis version
// or on its way there, the maintained library and symbol counters match
// the packages' latest files, and the search index keeps no entry nothing
// uses. With Repair it does what is safe: it queues again the versions
// that are not indexed or are stuck without a job, removes orphans older
// than the collector's grace period and unused search entries. It never
// deletes a recorded file or a blob something references.
package fsck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
)

// FileRow is one recorded file.
type FileRow struct {
	ID, VersionID, PackageID, Filename, SHA256 string
	Size                                       int64
}

// VersionRow is one version's ingestion state.
type VersionRow struct {
	ID, PackageID string
	Number        int
	Status        catalog.Status
	ParserVersion string
	Analysed      bool // has its stored package result
	JobID         int64
	UpdatedAt     time.Time
}

// Source is what fsck reads from the database; the SQL store implements it.
type Source interface {
	EachFile(ctx context.Context, fn func(FileRow) error) error
	Versions(ctx context.Context) ([]VersionRow, error)
	// ReferencedContents: the contents a file references or a lease holds.
	ReferencedContents(ctx context.Context) (map[string]bool, error)
	// LibraryCounterDrift names the library names whose maintained
	// counters differ from a count of the latest files.
	LibraryCounterDrift(ctx context.Context) ([]string, error)
	// SymbolCounterDrift names the symbol names whose maintained counters
	// differ from a count of the latest files' symbols.
	SymbolCounterDrift(ctx context.Context) ([]string, error)
	// UnusedSearchEntries finds search index entries nothing uses.
	UnusedSearchEntries(ctx context.Context) (SearchLeftovers, error)
}

// SearchLeftovers is what the search index keeps that nothing uses.
type SearchLeftovers struct {
	Contents []string // SHA-256 of contents indexed for search that no file holds
	FileSets []int64  // file-set entries no version points at
}

// Empty reports whether nothing is unused.
func (u SearchLeftovers) Empty() bool { return len(u.Contents) == 0 && len(u.FileSets) == 0 }

// JobStates tells whether a version's job will still run.
type JobStates interface {
	// JobLive reports whether the job exists and is waiting, scheduled or
	// running (false for completed, cancelled, discarded or missing jobs).
	JobLive(ctx context.Context, id int64) (bool, error)
}

// Repairer does the safe repairs.
type Repairer interface {
	// Requeue queues the ingestion of these versions again.
	Requeue(ctx context.Context, versionIDs []string) (int, error)
	// Collect removes unreferenced blobs older than the grace period.
	Collect(ctx context.Context) (catalog.CollectReport, error)
	// RemoveUnusedSearchEntries removes search index entries nothing uses.
	RemoveUnusedSearchEntries(ctx context.Context, u SearchLeftovers) error
}

// Checker runs the checks.
type Checker struct {
	DB    Source
	Blobs blob.Store
	Jobs  JobStates
	// ParserVersion is the current analysis version.
	ParserVersion string
	// Quick checks blob sizes only, without reading every byte.
	Quick bool
	// Grace: unreferenced blobs younger than this are uploads in progress,
	// not orphans (the collector's grace period).
	Grace time.Duration
	// StuckAfter: a version in progress with no live job for longer than
	// this is stuck (default one minute).
	StuckAfter time.Duration
	// Progress, when set, is told how many contents were checked of how many.
	Progress func(done, total int)
	Now      func() time.Time
}

// Problem kinds.
const (
	MissingBlob       = "missing_blob"
	SizeMismatch      = "size_mismatch"
	HashMismatch      = "hash_mismatch"
	UnreadableBlob    = "unreadable_blob"
	Orphan            = "orphan_blob"
	NotIndexed        = "not_indexed"
	Stuck             = "stuck_version"
	CounterDrift      = "library_counter_drift"
	SymbolDrift       = "symbol_counter_drift"
	UnusedSearchEntry = "unused_search_entry"
)

// Problem is one thing that is wrong.
type Problem struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"` // a file, blob, version or library name
	Detail  string `json:"detail"`
	// What to do about it.
	Fix string `json:"fix"`
}

// Report is what a check found.
type Report struct {
	Files         int       `json:"files"`
	Contents      int       `json:"contents"`
	Blobs         int       `json:"blobs"`
	Versions      int       `json:"versions"`
	YoungOrphans  int       `json:"young_orphans"` // unreferenced but within the grace period
	InProgress    int       `json:"in_progress"`   // versions being ingested
	Problems      []Problem `json:"problems"`
	Repaired      []string  `json:"repaired,omitempty"`
	orphans       []string
	toRequeue     []string
	leftovers     SearchLeftovers
	problemsByKey map[string]int
}

// Count returns how many problems of kind there are.
func (r *Report) Count(kind string) int { return r.problemsByKey[kind] }

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p Problem) {
	if r.problemsByKey == nil {
		r.problemsByKey = map[string]int{}
	}
	r.problemsByKey[p.Kind]++
	r.Problems = append(r.Problems, p)
}

// Check runs every check.
func (c *Checker) Check(ctx context.Context) (*Report, error) {
	rep := &Report{Problems: []Problem{}}
	if err := c.checkFiles(ctx, rep); err != nil {
		return rep, err
	}
	if err := c.checkBlobs(ctx, rep); err != nil {
		return rep, err
	}
	if err := c.checkVersions(ctx, rep); err != nil {
		return rep, err
	}
	drift, err := c.DB.LibraryCounterDrift(ctx)
	if err != nil {
		return rep, fmt.Errorf("checking library counters: %w", err)
	}
	for _, name := range drift {
		rep.add(Problem{Kind: CounterDrift, Subject: name, Detail: "the library counters differ from the latest files",
			Fix: "upload a new version of a package that uses it, or report it: the counters are maintained on every upload"})
	}
	if drift, err = c.DB.SymbolCounterDrift(ctx); err != nil {
		return rep, fmt.Errorf("checking symbol counters: %w", err)
	}
	for _, name := range drift {
		rep.add(Problem{Kind: SymbolDrift, Subject: name, Detail: "the symbol name counters differ from the latest files",
			Fix: "report it: the counters are maintained on every upload and analysis"})
	}
	if rep.leftovers, err = c.DB.UnusedSearchEntries(ctx); err != nil {
		return rep, fmt.Errorf("checking the search index: %w", err)
	}
	const fix = "veripost fsck --repair removes it (it is unused, so search answers do not change)"
	for _, sha := range rep.leftovers.Contents {
		rep.add(Problem{Kind: UnusedSearchEntry, Subject: "content " + sha, Detail: "indexed for search, but no file holds it any more", Fix: fix})
	}
	for _, id := range rep.leftovers.FileSets {
		rep.add(Problem{Kind: UnusedSearchEntry, Subject: fmt.Sprintf("search file set %d", id), Detail: "no version points at this search entry", Fix: fix})
	}
	return rep, nil
}

func (c *Checker) checkFiles(ctx context.Context, rep *Report) error {
	byContent := map[string][]FileRow{}
	if err := c.DB.EachFile(ctx, func(f FileRow) error {
		rep.Files++
		byContent[f.SHA256] = append(byContent[f.SHA256], f)
		return nil
	}); err != nil {
		return fmt.Errorf("listing files: %w", err)
	}
	shas := make([]string, 0, len(byContent))
	for sha := range byContent {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	rep.Contents = len(shas)
	for i, sha := range shas {
		if c.Progress != nil {
			c.Progress(i, len(shas))
		}
		files := byContent[sha]
		kind, detail, err := c.checkContent(ctx, sha, files[0].Size)
		if err != nil {
			return err
		}
		if kind == "" {
			continue
		}
		for _, f := range files {
			rep.add(Problem{Kind: kind, Subject: fmt.Sprintf("%s (file %s of package %s)", f.Filename, f.ID, f.PackageID), Detail: detail,
				Fix: "the stored original is lost or damaged: restore it from a backup (veripost restore), or upload the package again"})
		}
	}
	if c.Progress != nil {
		c.Progress(len(shas), len(shas))
	}
	return nil
}

// checkContent checks one content's blob; kind is "" when it is fine.
func (c *Checker) checkContent(ctx context.Context, sha string, size int64) (kind, detail string, err error) {
	info, err := c.Blobs.Stat(ctx, sha)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return MissingBlob, "no blob " + sha, nil
	case err != nil:
		return "", "", fmt.Errorf("object store: %w", err)
	case info.Size != size:
		return SizeMismatch, fmt.Sprintf("blob %s has %d bytes, recorded %d", sha, info.Size, size), nil
	case c.Quick:
		return "", "", nil
	}
	obj, err := c.Blobs.Open(ctx, sha)
	if err != nil {
		return UnreadableBlob, err.Error(), nil
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return UnreadableBlob, err.Error(), nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return HashMismatch, fmt.Sprintf("blob %s holds bytes that hash to %s", sha, got), nil
	}
	return "", "", nil
}

func (c *Checker) checkBlobs(ctx context.Context, rep *Report) error {
	refs, err := c.DB.ReferencedContents(ctx)
	if err != nil {
		return fmt.Errorf("listing referenced contents: %w", err)
	}
	now := c.now()
	err = c.Blobs.List(ctx, func(b blob.Info) error {
		rep.Blobs++
		if refs[b.Key] {
			return nil
		}
		if now.Sub(b.ModTime) < c.Grace {
			rep.YoungOrphans++
			return nil
		}
		rep.orphans = append(rep.orphans, b.Key)
		rep.add(Problem{Kind: Orphan, Subject: b.Key, Detail: fmt.Sprintf("%d bytes, written %s, referenced by no file", b.Size, b.ModTime.UTC().Format(time.RFC3339)),
			Fix: "veripost fsck --repair removes it (the collector would, at its next run)"})
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing blobs: %w", err)
	}
	return nil
}

func (c *Checker) checkVersions(ctx context.Context, rep *Report) error {
	versions, err := c.DB.Versions(ctx)
	if err != nil {
		return fmt.Errorf("listing versions: %w", err)
	}
	stuckAfter := c.StuckAfter
	if stuckAfter <= 0 {
		stuckAfter = time.Minute
	}
	now := c.now()
	for _, v := range versions {
		rep.Versions++
		subject := fmt.Sprintf("version %d of package %s", v.Number, v.PackageID)
		switch {
		case v.Status == catalog.StatusError:
		case v.Status == catalog.StatusReady:
			if v.ParserVersion != c.ParserVersion || !v.Analysed {
				rep.toRequeue = append(rep.toRequeue, v.ID)
				rep.add(Problem{Kind: NotIndexed, Subject: subject,
					Detail: fmt.Sprintf("indexed by analysis version %q, current %q", v.ParserVersion, c.ParserVersion),
					Fix:    "veripost fsck --repair (or veripost reindex) queues its analysis again"})
			}
		default:
			live, err := c.Jobs.JobLive(ctx, v.JobID)
			if err != nil {
				return fmt.Errorf("looking up job %d: %w", v.JobID, err)
			}
			if live || now.Sub(v.UpdatedAt) < stuckAfter {
				rep.InProgress++
				continue
			}
			rep.toRequeue = append(rep.toRequeue, v.ID)
			rep.add(Problem{Kind: Stuck, Subject: subject,
				Detail: fmt.Sprintf("%s since %s and its job %d will not run", v.Status, v.UpdatedAt.UTC().Format(time.RFC3339), v.JobID),
				Fix:    "veripost fsck --repair queues its ingestion again"})
		}
	}
	return nil
}

// Repair does the safe repairs for what rep found and says what it did.
func (c *Checker) Repair(ctx context.Context, rep *Report, r Repairer) error {
	if len(rep.toRequeue) > 0 {
		n, err := r.Requeue(ctx, rep.toRequeue)
		if err != nil {
			return fmt.Errorf("queueing versions again: %w", err)
		}
		rep.Repaired = append(rep.Repaired, fmt.Sprintf("queued the ingestion of %d versions again", n))
	}
	if len(rep.orphans) > 0 {
		cr, err := r.Collect(ctx)
		if err != nil {
			return fmt.Errorf("removing orphan blobs: %w", err)
		}
		rep.Repaired = append(rep.Repaired, fmt.Sprintf("removed %d orphan blobs (%d could not be removed, %d are still within the grace period)", cr.Deleted, cr.Failed, cr.Young))
	}
	if !rep.leftovers.Empty() {
		if err := r.RemoveUnusedSearchEntries(ctx, rep.leftovers); err != nil {
			return fmt.Errorf("removing unused search entries: %w", err)
		}
		rep.Repaired = append(rep.Repaired, fmt.Sprintf("removed the unused search entries of %d contents and %d file sets", len(rep.leftovers.Contents), len(rep.leftovers.FileSets)))
	}
	return nil
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
