package catalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/apperror"
)

func TestStatusMachine(t *testing.T) {
	for _, tc := range []struct {
		from, to Status
		ok       bool
	}{
		{StatusPending, StatusValidating, true},
		{StatusValidating, StatusStoring, true},
		{StatusStoring, StatusParsing, true},
		{StatusParsing, StatusReady, true},
		{StatusParsing, StatusError, true},
		{StatusPending, StatusError, true},
		// A retry or a re-analysis starts over at validating.
		{StatusStoring, StatusValidating, true},
		{StatusReady, StatusValidating, true},
		{StatusError, StatusValidating, true},
		// No skipping stages, no going back, nothing leaves a terminal status
		// but a new attempt.
		{StatusPending, StatusReady, false},
		{StatusValidating, StatusParsing, false},
		{StatusStoring, StatusReady, false},
		{StatusReady, StatusError, false},
		{StatusError, StatusReady, false},
		{StatusReady, StatusPending, false},
		{StatusParsing, StatusStoring, false},
	} {
		if got := tc.from.CanMoveTo(tc.to); got != tc.ok {
			t.Errorf("%s → %s: %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
	for _, s := range []Status{StatusReady, StatusError} {
		if !s.Terminal() {
			t.Errorf("%s is terminal", s)
		}
	}
	if StatusPending.From() != nil {
		t.Error("nothing moves back to pending")
	}
}

func TestContentKeyIgnoresOrder(t *testing.T) {
	a := []NewFile{{Filename: "A.SRC", SHA256: "1"}, {Filename: "B.LIB", SHA256: "2"}}
	b := []NewFile{{Filename: "B.LIB", SHA256: "2"}, {Filename: "A.SRC", SHA256: "1"}}
	renamed := []NewFile{{Filename: "A.SRC", SHA256: "1"}, {Filename: "C.LIB", SHA256: "2"}}
	if ContentKey(a) != ContentKey(b) {
		t.Error("the same files in another order have another key")
	}
	if ContentKey(a) == ContentKey(renamed) {
		t.Error("a renamed file keeps the key")
	}
}

// memory implements the domain's ports in memory, so Accept's logic can be
// tested without a database or object store.
type memory struct {
	mu        sync.Mutex
	pkgs      map[string]Package
	versions  []Version
	blobs     map[string][]byte
	leases    map[string][]string
	condemned map[string]bool
	failPut   string // Put of this key fails
	failRec   bool   // RecordVersion fails
	recorded  int
}

func newMemory() *memory {
	return &memory{pkgs: map[string]Package{}, blobs: map[string][]byte{}, leases: map[string][]string{}, condemned: map[string]bool{}}
}

func (m *memory) Put(_ context.Context, key string, _ int64, r io.Reader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key == m.failPut {
		return errors.New("disk full")
	}
	b, _ := io.ReadAll(r)
	m.blobs[key] = b
	return nil
}
func (m *memory) Exists(_ context.Context, key string) (bool, error) {
	_, ok := m.blobs[key]
	return ok, nil
}
func (m *memory) Delete(_ context.Context, key string) error { delete(m.blobs, key); return nil }

func (m *memory) Lease(_ context.Context, id string, shas []string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range shas {
		if m.condemned[s] {
			return ErrCondemned
		}
	}
	m.leases[id] = shas
	return nil
}

func (m *memory) Release(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, id)
	return nil
}

func (m *memory) RecordVersion(_ context.Context, nv NewVersion) (Package, Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failRec {
		return Package{}, Version{}, errors.New("connection refused")
	}
	m.recorded++
	delete(m.leases, nv.LeaseID) // the recording transaction ends the lease
	p := m.pkgs[nv.PackageID]
	if nv.PackageID == "" {
		p = Package{ID: "p" + string(rune('0'+len(m.pkgs))), Name: nv.Name}
	}
	p.LatestVersion++
	m.pkgs[p.ID] = p
	v := Version{ID: p.ID + "v", PackageID: p.ID, Number: p.LatestVersion, ContentKey: ContentKey(nv.Files)}
	m.versions = append(m.versions, v)
	return p, v, nil
}

func (m *memory) GetPackage(_ context.Context, id string) (Package, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pkgs[id]
	if !ok {
		return p, ErrNotFound
	}
	return p, nil
}

func (m *memory) VersionByContent(_ context.Context, pkg, key string) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.versions) - 1; i >= 0; i-- {
		if v := m.versions[i]; v.PackageID == pkg && v.ContentKey == key {
			return v, nil
		}
	}
	return Version{}, ErrNotFound
}

// The rest of Repository is not used by Accept.
func (m *memory) ListPackages(context.Context, int, string) (Page[Package], error) { panic("unused") }
func (m *memory) ListVersions(context.Context, string, int, string) (Page[Version], error) {
	panic("unused")
}
func (m *memory) VersionByNumber(context.Context, string, int) (Version, error) { panic("unused") }
func (m *memory) GetVersion(context.Context, string) (Version, error)           { panic("unused") }
func (m *memory) VersionFiles(context.Context, string) ([]File, error)          { panic("unused") }
func (m *memory) GetFile(context.Context, string, string) (File, error)         { panic("unused") }
func (m *memory) LatestVersion(context.Context, string) (Version, error)        { panic("unused") }
func (m *memory) SetVersionStatus(context.Context, string, Status, string, string) error {
	panic("unused")
}
func (m *memory) EditMetadata(context.Context, string, MetadataEdit) (Package, error) {
	panic("unused")
}
func (m *memory) SetVersionNote(context.Context, string, int, string) (Version, error) {
	panic("unused")
}
func (m *memory) DeletePackage(context.Context, string) error { return nil }
func (m *memory) Ping(context.Context) error                  { return nil }

func service(m *memory) *Service {
	return &Service{Repo: m, Recorder: m, Blobs: m, Leases: m}
}

func upload(pkg string, files ...string) Upload {
	up := Upload{PackageID: pkg}
	for i := 0; i+1 < len(files); i += 2 {
		data := []byte(files[i+1])
		up.Files = append(up.Files, UploadFile{NewFile: NewFile{Filename: files[i], SHA256: "sha-" + files[i+1], Size: int64(len(data))}, Data: data})
	}
	return up
}

func TestAcceptRecordsAndEndsTheLease(t *testing.T) {
	m := newMemory()
	s := service(m)
	acc, err := s.Accept(t.Context(), upload("", "A.SRC", "a", "M.LIB", "m"))
	if err != nil || !acc.Created || acc.Version.Number != 1 {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	if len(m.blobs) != 2 || len(m.leases) != 0 {
		t.Fatalf("blobs %d, leases left %v", len(m.blobs), m.leases)
	}
	// Identical to the latest version of that package: nothing recorded.
	again, err := s.Accept(t.Context(), upload(acc.Package.ID, "M.LIB", "m", "A.SRC", "a"))
	if err != nil || again.Created || again.IdenticalTo != 1 || m.recorded != 1 {
		t.Fatalf("identical re-upload: %+v %v (recorded %d)", again, err, m.recorded)
	}
	// A change makes version 2; going back to the first content makes
	// version 3, which says it is identical to version 1.
	v2, _ := s.Accept(t.Context(), upload(acc.Package.ID, "A.SRC", "a2", "M.LIB", "m"))
	v3, err := s.Accept(t.Context(), upload(acc.Package.ID, "A.SRC", "a", "M.LIB", "m"))
	if err != nil || v2.Version.Number != 2 || !v3.Created || v3.Version.Number != 3 || v3.IdenticalTo != 1 {
		t.Fatalf("versions: %+v / %+v %v", v2, v3, err)
	}
}

func TestAcceptFailuresRecordNothingAndReleaseTheLease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*memory)
		status int
	}{
		{"object store fails", func(m *memory) { m.failPut = "sha-b" }, http.StatusServiceUnavailable},
		{"database fails", func(m *memory) { m.failRec = true }, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			tc.break_(m)
			_, err := service(m).Accept(t.Context(), upload("", "A.SRC", "a", "B.LIB", "b"))
			e, ok := apperror.As(err)
			if !ok || e.Status != tc.status || e.Message == "" {
				t.Fatalf("err %v, want a %d with a message", err, tc.status)
			}
			if m.recorded != 0 || len(m.leases) != 0 {
				t.Fatalf("recorded %d, leases left %v", m.recorded, m.leases)
			}
		})
	}
	m := newMemory()
	_, err := service(m).Accept(t.Context(), upload("no-such-package", "A.SRC", "a"))
	if e, ok := apperror.As(err); !ok || e.Status != http.StatusNotFound {
		t.Fatalf("upload to a missing package: %v", err)
	}
	if _, err := service(m).Accept(t.Context(), Upload{}); err == nil {
		t.Fatal("an empty upload was accepted")
	}
}

func TestAcceptWaitsWhileTheCollectorDeletesTheContent(t *testing.T) {
	m := newMemory()
	m.condemned["sha-a"] = true
	go func() {
		time.Sleep(60 * time.Millisecond)
		m.mu.Lock()
		delete(m.condemned, "sha-a") // the collector finished
		m.mu.Unlock()
	}()
	acc, err := service(m).Accept(t.Context(), upload("", "A.SRC", "a"))
	if err != nil || !acc.Created || !bytes.Equal(m.blobs["sha-a"], []byte("a")) {
		t.Fatalf("accept after the collection: %+v %v", acc, err)
	}
}
