package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// testApp is a real VeriPost (SQLite + file blobs in a temp dir, ingestion
// workers running) behind an httptest server; a thin adapter over
// servertest so the page tests read naturally.
type testApp struct{ *servertest.App }

// newTestApp builds the whole application the way `veripost serve` does.
func newTestApp(t testing.TB) *testApp {
	t.Helper()
	cfg := servertest.SQLite.Config(t)
	cfg.Workers = 2
	cfg.JobMaxAttempts = 2
	return &testApp{servertest.Start(t, cfg)}
}

type upFile = servertest.NamedFile

type uploadResult = servertest.UploadResult

// upload posts files (and form fields) to the real upload API.
func (a *testApp) upload(t testing.TB, fields map[string]string, files ...upFile) uploadResult {
	t.Helper()
	return a.With(t).Upload(files, fields)
}

// waitDone waits until the package's latest version is ready or failed,
// and returns that status.
func (a *testApp) waitDone(t testing.TB, packageID string) string {
	t.Helper()
	return a.With(t).WaitDone(packageID, 60*time.Second).Status
}

// corpusFiles reads one package of the shared corpus.
func corpusFiles(t testing.TB, pkg string) []upFile {
	t.Helper()
	for _, p := range testenv.CorpusPackages(t) {
		if p.Name == pkg {
			return servertest.CorpusFiles(p)
		}
	}
	t.Fatalf("corpus package %s not found", pkg)
	return nil
}

// get fetches a page and returns status, headers and body.
func (a *testApp) get(t testing.TB, path string) (int, http.Header, string) {
	t.Helper()
	status, hdr, body := a.With(t).Get(path)
	return status, hdr, string(body)
}

func (a *testApp) patch(t testing.TB, packageID string, body map[string]string) {
	t.Helper()
	if status, msg := a.With(t).Do(http.MethodPatch, "/api/v1/packages/"+packageID, body); status != http.StatusOK {
		t.Fatalf("PATCH: HTTP %d: %s", status, msg)
	}
}

func mustContain(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page does not contain %q", w)
		}
	}
}

func mustNotContain(t testing.TB, body string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(body, b) {
			t.Errorf("page contains %q but should not", b)
		}
	}
}
