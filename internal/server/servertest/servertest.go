// Package servertest starts real VeriPost apps for tests: on SQLite with
// blobs on local disk, and on PostgreSQL with blobs on a real S3 server
// (started by scripts/test.sh). The same test body runs on both.
package servertest

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"

	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/testenv"
)

// Backend is one deployment shape.
type Backend struct {
	Name string
	// Config returns a configuration with a fresh database and blob store.
	Config func(t testing.TB) config.Config
}

// SQLite is the embedded deployment.
var SQLite = Backend{Name: "sqlite+disk", Config: func(t testing.TB) config.Config {
	dir := t.TempDir()
	cfg := Defaults(t)
	cfg.DataDir = dir
	return cfg
}}

// Postgres is the scaled deployment; skipped (or failed, in CI) when the
// test services are not running.
var Postgres = Backend{Name: "postgres+s3", Config: func(t testing.TB) config.Config {
	cfg := Defaults(t)
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = testenv.PostgresURL(t)
	cfg.BlobURL = testenv.S3(t).URL
	return cfg
}}

// Backends lists both deployments.
func Backends() []Backend { return []Backend{SQLite, Postgres} }

// Defaults is the configuration with every default applied, as
// `veripost serve` would see it with an empty environment.
func Defaults(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// App is a running test app with an HTTP server in front of it.
type App struct {
	*server.App
	URL string
	// Client sends the administrator's API token with every request that
	// has no Authorization header of its own; Anonymous sends nothing.
	Client    *http.Client
	Anonymous *http.Client
	// Admin is the administrator account every test app starts with
	// (unless Opts.NoAdmin), AdminPassword its password and Token an API
	// token of it with the admin scope.
	Admin         string
	AdminPassword string
	Token         string
	// PollInterval is how often WaitDone asks for the status (10 ms when
	// zero); benchmarks of upload → ready poll faster to measure finely.
	PollInterval time.Duration
	t            testing.TB
	srv          *httptest.Server
}

// AdminName is the test administrator's user name.
const AdminName = "admin"

// Opts change how Start builds the app.
type Opts struct {
	// NoAdmin starts with no account at all (first-run setup).
	NoAdmin bool
	// Log, when set, receives the application log (at LogLevel) besides
	// the test log's warnings.
	Log      io.Writer
	LogLevel slog.Level
}

// Start builds the app for cfg, runs setup (before any job can run),
// creates the administrator and their token, starts its workers
// (cfg.Workers) and an HTTP test server. Everything is stopped when the
// test ends.
func Start(t testing.TB, cfg config.Config, setup ...func(*server.App)) *App {
	t.Helper()
	return StartOpts(t, cfg, Opts{}, setup...)
}

// StartOpts is Start with options.
func StartOpts(t testing.TB, cfg config.Config, o Opts, setup ...func(*server.App)) *App {
	t.Helper()
	var h slog.Handler = slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})
	if o.Log != nil {
		h = teeHandler{h, slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: o.LogLevel})}
	}
	log := slog.New(h)
	ctx := context.Background()
	app, err := server.New(ctx, cfg, log, server.Options{Workers: -1, Version: "test"})
	if err != nil {
		t.Fatalf("starting app: %v", err)
	}
	a := &App{App: app, t: t}
	for _, f := range setup {
		f(app)
	}
	if !o.NoAdmin {
		a.Admin, a.AdminPassword = AdminName, RandomPassword()
		a.Token = a.CreateUser(a.Admin, auth.RoleAdmin, a.AdminPassword, auth.ScopeAdmin)
	}
	if err := app.StartWork(ctx); err != nil {
		app.Close()
		t.Fatalf("starting workers: %v", err)
	}
	a.srv = httptest.NewServer(app.Handler)
	a.URL = a.srv.URL
	a.Anonymous = a.srv.Client()
	a.Client = a.ClientWith(a.Token)
	t.Cleanup(a.Stop)
	return a
}

// ClientWith returns a client that sends token (when not empty) with every
// request that has no Authorization header, and keeps cookies.
func (a *App) ClientWith(token string) *http.Client {
	c := *a.srv.Client()
	c.Transport = bearer{base: c.Transport, token: token}
	return &c
}

type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// RandomPassword returns a fresh password that passes the rules.
func RandomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

// CreateUser creates an account (as the command line would) and returns an
// API token of it with scope (none when scope is "").
func (a *App) CreateUser(name string, role auth.Role, password string, scope auth.Scope) string {
	a.t.Helper()
	ctx := auth.WithActor(context.Background(), auth.System("servertest"))
	_, err := a.Auth.CreateUser(ctx, auth.NewUser{Username: name, Role: role, Password: password})
	if e, ok := apperror.As(err); ok && e.Code == apperror.CodeConflict && password != "" {
		// An app started again on the same database: same account, new password.
		err = a.Auth.SetPassword(ctx, name, password)
	}
	if err != nil {
		a.t.Fatalf("creating user %s: %v", name, err)
	}
	if scope == "" {
		return ""
	}
	tok, err := a.Auth.CreateToken(ctx, auth.NewToken{Name: "test token", Scope: scope, Owner: name})
	if err != nil {
		a.t.Fatalf("creating a token for %s: %v", name, err)
	}
	return tok.Secret
}

// teeHandler sends records to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if t.a.Enabled(ctx, r.Level) {
		_ = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		return t.b.Handle(ctx, r)
	}
	return nil
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// With returns the app bound to t, for subtests: its helpers then fail t
// rather than the test that started the app.
func (a *App) With(t testing.TB) *App {
	c := *a
	c.t = t
	return &c
}

// Stop shuts the app down (idempotent).
func (a *App) Stop() {
	if a.srv == nil {
		return
	}
	a.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Queue.Stop(ctx); err != nil {
		a.t.Logf("stopping workers: %v", err)
	}
	a.App.Close()
	a.srv = nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// NamedFile is a file to upload.
type NamedFile struct {
	Name string
	Data []byte
}

// Multipart builds a multipart body with files under "files" and fields.
func Multipart(t testing.TB, files []NamedFile, fields map[string]string) (body *bytes.Buffer, contentType string) {
	t.Helper()
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("files", f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return body, mw.FormDataContentType()
}

// Zip packs files into a ZIP, each under folder (may be empty).
func Zip(t testing.TB, folder string, files []NamedFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(filepath.ToSlash(filepath.Join(folder, f.Name)))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// UploadResult mirrors the API's 202 body.
type UploadResult struct {
	PackageID   string `json:"package_id"`
	VersionID   string `json:"version_id"`
	Version     int    `json:"version"`
	JobID       int64  `json:"job_id"`
	Status      string `json:"status"`
	Created     bool   `json:"created"`
	IdenticalTo int    `json:"identical_to"`
}

// APIError mirrors the API's error body.
type APIError struct {
	Message string `json:"message"`
	Detail  string `json:"detail"`
	Code    string `json:"code"`
}

// PostUpload sends an upload and returns the status code and raw body.
func (a *App) PostUpload(files []NamedFile, fields map[string]string) (int, []byte) {
	a.t.Helper()
	body, ct := Multipart(a.t, files, fields)
	resp, err := a.Client.Post(a.URL+"/api/v1/packages", ct, body)
	if err != nil {
		a.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Upload sends an upload that must be accepted.
func (a *App) Upload(files []NamedFile, fields map[string]string) UploadResult {
	a.t.Helper()
	status, b := a.PostUpload(files, fields)
	if status != http.StatusAccepted {
		a.t.Fatalf("upload: status %d, body %s", status, b)
	}
	var res UploadResult
	if err := json.Unmarshal(b, &res); err != nil {
		a.t.Fatalf("upload answer %s: %v", b, err)
	}
	return res
}

// StatusBody mirrors GET /status.
type StatusBody struct {
	Status       string `json:"status"`
	Version      int    `json:"version"`
	Done         bool   `json:"done"`
	ErrorMessage string `json:"error_message"`
	ErrorDetail  string `json:"error_detail"`
	FileCount    int    `json:"file_count"`
	SectionCount int    `json:"section_count"`
	ErrorCount   int    `json:"error_count"`
	WarningCount int    `json:"warning_count"`
	// SearchIndexed: the version can be found by search (indexed after ready).
	SearchIndexed bool `json:"search_indexed"`
}

// WaitDone polls the package status until ingestion ends and returns it.
func (a *App) WaitDone(packageID string, timeout time.Duration) StatusBody {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	var st StatusBody
	for time.Now().Before(deadline) {
		a.GetJSON("/api/v1/packages/"+packageID+"/status", &st)
		if st.Done {
			return st
		}
		time.Sleep(cmp.Or(a.PollInterval, 10*time.Millisecond))
	}
	a.t.Fatalf("package %s still %q after %s", packageID, st.Status, timeout)
	return st
}

// WaitReady waits for ready and fails on error.
func (a *App) WaitReady(packageID string) StatusBody {
	a.t.Helper()
	st := a.WaitDone(packageID, 2*time.Minute)
	if st.Status != string(catalog.StatusReady) {
		a.t.Fatalf("package %s ended %q: %s (%s)", packageID, st.Status, st.ErrorMessage, st.ErrorDetail)
	}
	return st
}

// WaitSearchable waits until the package's latest version is ready and
// indexed for search (which happens just after ready) and returns its
// status.
func (a *App) WaitSearchable(packageID string) StatusBody {
	a.t.Helper()
	st := a.WaitReady(packageID)
	for deadline := time.Now().Add(2 * time.Minute); !st.SearchIndexed; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			a.t.Fatalf("package %s is ready but not indexed for search after 2 minutes", packageID)
		}
		a.GetJSON("/api/v1/packages/"+packageID+"/status", &st)
	}
	return st
}

// WaitVersionReady waits until version number of a package is ready (WaitReady
// only follows the latest version; an older one may still be analysed).
func (a *App) WaitVersionReady(packageID string, number int) {
	a.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var v struct {
		Status string `json:"status"`
	}
	for time.Now().Before(deadline) {
		a.GetJSON(fmt.Sprintf("/api/v1/packages/%s/versions/%d", packageID, number), &v)
		switch catalog.Status(v.Status) {
		case catalog.StatusReady:
			return
		case catalog.StatusError:
			a.t.Fatalf("package %s version %d ended in error", packageID, number)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.t.Fatalf("package %s version %d still %q", packageID, number, v.Status)
}

// Get fetches path and returns status, headers and body.
func (a *App) Get(path string, header ...string) (int, http.Header, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// GetJSON fetches path, requires 200 and decodes the body into v.
func (a *App) GetJSON(path string, v any) {
	a.t.Helper()
	status, _, b := a.Get(path)
	if status != http.StatusOK {
		a.t.Fatalf("GET %s: status %d: %s", path, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		a.t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

// Do sends a request with an optional JSON body.
func (a *App) Do(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// CorpusFiles returns a corpus package's files as NamedFiles.
func CorpusFiles(p testenv.CorpusPackage) []NamedFile {
	out := make([]NamedFile, 0, len(p.Files))
	for _, f := range p.Files {
		out = append(out, NamedFile{Name: f.Name, Data: f.Data})
	}
	return out
}

// BlobCount counts the blobs in the app's object store (either kind).
func (a *App) BlobCount() int {
	a.t.Helper()
	n := 0
	if err := a.Blobs.List(context.Background(), func(blob.Info) error { n++; return nil }); err != nil {
		a.t.Fatalf("listing blobs: %v", err)
	}
	return n
}

// AddSearchable stores a package and indexes it for search directly,
// without the ingestion pipeline's parse index: fast enough to fill a
// database with thousands of packages for search benchmarks. Start the app
// with no workers (cfg.Workers = 0) so that the queued ingestion jobs stay
// queued. It returns the package id.
func (a *App) AddSearchable(ctx context.Context, name string, files []NamedFile) (string, error) {
	up := catalog.Upload{Name: name}
	sf := make([]search.File, 0, len(files))
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		sha := hex.EncodeToString(sum[:])
		up.Files = append(up.Files, catalog.UploadFile{Data: f.Data, NewFile: catalog.NewFile{
			Filename: f.Name, Extension: strings.ToUpper(strings.TrimPrefix(filepath.Ext(f.Name), ".")), Size: int64(len(f.Data)), SHA256: sha}})
		sf = append(sf, search.File{SHA256: sha, Filename: f.Name, Data: f.Data})
	}
	acc, err := a.Service.Accept(ctx, up)
	if err != nil {
		return "", err
	}
	// The status machine's moves, without the analysis.
	for _, st := range []catalog.Status{catalog.StatusValidating, catalog.StatusStoring, catalog.StatusParsing, catalog.StatusReady} {
		if err := a.DB.SetVersionStatus(ctx, acc.Version.ID, st, "", ""); err != nil {
			return "", err
		}
	}
	if err := a.Pipeline.Search.IndexVersion(ctx, analysis.ParserVersion, acc.Version.ID, sf); err != nil {
		return "", err
	}
	return acc.Package.ID, nil
}

// Collect runs the blob collector once with no grace period (every
// unreferenced blob goes) and returns its report.
func (a *App) Collect() catalog.CollectReport {
	a.t.Helper()
	c := *a.Collector
	c.Grace = time.Nanosecond
	rep, err := c.Collect(context.Background())
	if err != nil {
		a.t.Fatalf("collecting blobs: %v", err)
	}
	return rep
}
