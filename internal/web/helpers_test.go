package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/testenv"
)

// testApp is a real VeriPost (SQLite + file blobs in a temp dir, ingestion
// workers running) behind an httptest server.
type testApp struct {
	App *server.App
	Srv *httptest.Server
	URL string
}

// newTestApp builds the whole application the way `veripost serve` does.
func newTestApp(t testing.TB) *testApp {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL, cfg.BlobURL = "", ""
	cfg.AutoMigrate = true
	cfg.Workers = 2
	cfg.JobMaxAttempts = 2
	cfg.ShutdownTimeout = 10 * time.Second
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.New(ctx, cfg, log, server.Options{Workers: 2, Version: "test"})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	if err := app.Queue.Start(ctx); err != nil {
		cancel()
		app.Close()
		t.Fatalf("starting workers: %v", err)
	}
	srv := httptest.NewServer(app.Handler)
	t.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = app.Queue.Stop(stopCtx)
		cancel()
		app.Close()
	})
	return &testApp{App: app, Srv: srv, URL: srv.URL}
}

type upFile struct {
	Name string
	Data []byte
}

type uploadResult struct {
	PackageID string `json:"package_id"`
	VersionID string `json:"version_id"`
	Version   int    `json:"version"`
	StatusURL string `json:"status_url"`
}

// upload posts files (and form fields) to the real upload API.
func (a *testApp) upload(t testing.TB, fields map[string]string, files ...upFile) uploadResult {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("files", f.Name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.Data)
	}
	_ = mw.Close()
	res, err := http.Post(a.URL+"/api/v1/packages", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: HTTP %d: %s", res.StatusCode, data)
	}
	var out uploadResult
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("upload answer: %v: %s", err, data)
	}
	return out
}

// waitDone polls the status API until the package's latest version is
// ready or failed, and returns that status.
func (a *testApp) waitDone(t testing.TB, packageID string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(a.URL + "/api/v1/packages/" + packageID + "/status")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Status string `json:"status"`
			Done   bool   `json:"done"`
		}
		_ = json.NewDecoder(res.Body).Decode(&s)
		res.Body.Close()
		if s.Done {
			return s.Status
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("package %s did not finish ingestion in time", packageID)
	return ""
}

// corpusFiles reads one package of the shared corpus.
func corpusFiles(t testing.TB, pkg string) []upFile {
	t.Helper()
	dir := filepath.Join(testenv.CorpusDir(t), pkg)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("corpus package %s: %v", pkg, err)
	}
	var out []upFile
	for _, e := range entries {
		if e.IsDir() || strings.EqualFold(e.Name(), "README.md") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, upFile{Name: e.Name(), Data: data})
	}
	return out
}

// get fetches a page and returns status, headers and body.
func (a *testApp) get(t testing.TB, path string) (int, http.Header, string) {
	t.Helper()
	return fetch(t, http.MethodGet, a.URL+path)
}

func fetch(t testing.TB, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(data)
}

func (a *testApp) patch(t testing.TB, packageID string, body map[string]string) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPatch, a.URL+"/api/v1/packages/"+packageID, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(res.Body)
		t.Fatalf("PATCH: HTTP %d: %s", res.StatusCode, msg)
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
