package loader_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/loader"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/storedfile"
)

// stack is a real SQLite store and a real file blob store with one
// uploaded version.
type stack struct {
	db      *store.DB
	blobs   blob.Store
	blobDir string
	ver     catalog.Version
}

const src = ":SYSTEM=MILL\n:LIBRARY=.\\OWN.LIB\n:SECTION=START_OF_TAPE\n:T:%<EOL>\n"
const lib = ":SECTION=CALC_START_OF_TAPE\n:C: CALL(START_OF_TAPE)\n"

func newStack(t *testing.T) *stack {
	t.Helper()
	cfg := servertest.SQLite.Config(t)
	app := servertest.Start(t, cfg)
	up := app.Upload([]servertest.NamedFile{{Name: "DEMO.SRC", Data: []byte(src)}, {Name: "OWN.LIB", Data: []byte(lib)}}, nil)
	app.WaitReady(up.PackageID)
	ver, err := app.DB.LatestVersion(context.Background(), up.PackageID)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{db: app.DB, blobs: app.Blobs, blobDir: filepath.Join(cfg.DataDir, "blobs"), ver: ver}
}

func TestLoadAnalysesAndCaches(t *testing.T) {
	s := newStack(t)
	l := loader.New(s.db, s.blobs)
	ctx := context.Background()
	v, err := l.Load(ctx, s.ver)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Files) != 2 || v.FileID("DEMO.SRC") == "" || v.FileID("NOPE") != "" {
		t.Fatalf("files %+v", v.Files)
	}
	e, err := v.Package.Section("", "START_OF_TAPE")
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Part(explain.PartWhen); s == nil || !strings.Contains(s.Sentences[len(s.Sentences)-1].Text, "`CALC_START_OF_TAPE` (OWN.LIB) calls it") {
		t.Errorf("the stored library was not analysed with the source: %+v", e.Part(explain.PartWhen))
	}
	again, err := l.Load(ctx, s.ver)
	if err != nil || again != v {
		t.Errorf("second load: %p %v, want the cached %p", again, err, v)
	}
}

func TestReadChecksTheStoredBytes(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	files, err := s.db.VersionFiles(ctx, s.ver.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := files[0]
	data, err := storedfile.Read(ctx, s.blobs, f)
	if err != nil || int64(len(data)) != f.Size {
		t.Fatalf("Read: %d bytes, %v", len(data), err)
	}
	// A changed copy on disk is refused.
	path := filepath.Join(s.blobDir, filepath.FromSlash(blob.ObjectPath(f.BlobKey)))
	if err := os.WriteFile(path, []byte(strings.Repeat("x", int(f.Size))), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = storedfile.Read(ctx, s.blobs, f)
	if e, ok := apperror.As(err); !ok || e.Status != http.StatusInternalServerError || !strings.Contains(e.Message, "does not match") {
		t.Errorf("changed copy: %v", err)
	}
	if _, err := loader.New(s.db, s.blobs).Load(ctx, s.ver); err == nil {
		t.Error("a version with a changed file was analysed")
	}
	// A missing copy is a 404 that says what to do.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = storedfile.Read(ctx, s.blobs, f)
	if e, ok := apperror.As(err); !ok || e.Status != http.StatusNotFound || !strings.Contains(e.Message, "Upload the package again") {
		t.Errorf("missing copy: %v", err)
	}
}

func TestProblem(t *testing.T) {
	p := explain.Analyze([]explain.Input{{Name: "DEMO.SRC", Data: []byte(src)}})
	_, err := p.Section("", "START_OF_TAP")
	e, ok := apperror.As(loader.Problem(err))
	if !ok || e.Status != http.StatusNotFound || !strings.Contains(e.Message, "Did you mean START_OF_TAPE?") {
		t.Errorf("not found: %v", loader.Problem(err))
	}
	_, err = p.Lines("DEMO.SRC", 9, 3)
	if e, ok := apperror.As(loader.Problem(err)); !ok || e.Status != http.StatusUnprocessableEntity || e.Code != apperror.CodeValidation {
		t.Errorf("bad range: %v", loader.Problem(err))
	}
	other := errors.New("boom")
	if loader.Problem(other) != other {
		t.Error("other errors must pass through")
	}
}
