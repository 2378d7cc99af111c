package loader_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
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
	"github.com/veripost/veripost/internal/store"
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
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "v.db"), store.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobDir := filepath.Join(dir, "blobs")
	bs, err := blob.Open(ctx, "file://"+blobDir)
	if err != nil {
		t.Fatal(err)
	}
	svc := &catalog.Service{Repo: db, Blobs: bs, Enqueue: func(context.Context, *sql.Tx, string) (int64, error) { return 0, nil }}
	up := catalog.Upload{Name: "demo"}
	for name, content := range map[string]string{"DEMO.SRC": src, "OWN.LIB": lib} {
		sum := sha256.Sum256([]byte(content))
		up.Files = append(up.Files, catalog.UploadFile{
			NewFile: catalog.NewFile{Filename: name, Extension: strings.ToUpper(filepath.Ext(name)[1:]), Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])},
			Data:    []byte(content),
		})
	}
	acc, err := svc.Accept(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{db: db, blobs: bs, blobDir: blobDir, ver: acc.Version}
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
	data, err := loader.Read(ctx, s.blobs, f)
	if err != nil || int64(len(data)) != f.Size {
		t.Fatalf("Read: %d bytes, %v", len(data), err)
	}
	// A changed copy on disk is refused.
	path := filepath.Join(s.blobDir, filepath.FromSlash(blob.ObjectPath(f.BlobKey)))
	if err := os.WriteFile(path, []byte(strings.Repeat("x", int(f.Size))), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loader.Read(ctx, s.blobs, f)
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
	_, err = loader.Read(ctx, s.blobs, f)
	if e, ok := apperror.As(err); !ok || e.Status != http.StatusNotFound || !strings.Contains(e.Message, "Upload the package again") {
		t.Errorf("missing copy: %v", err)
	}
}

func TestProblem(t *testing.T) {
	p := explain.Analyze([]explain.Input{{Name: "DEMO.SRC", Src: []byte(src)}})
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
