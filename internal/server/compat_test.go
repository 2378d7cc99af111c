package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// The contract of the original VeriPost API (issue 15), written from its
// description: every route over real HTTP on both stacks, with a real
// corpus package. Shapes are checked on the raw JSON (field names and JSON
// types), and each route's data against its /api/v1 counterpart.

// JSON types as the contract names them.
const (
	jString  = "string"
	jNumber  = "number"
	jInt     = "integer"
	jBool    = "boolean"
	jArray   = "array"
	jObject  = "object"
	jNullStr = "string|null"
)

var (
	compatPackageFields = map[string]string{
		"id": jString, "name": jString, "machine_type": jNullStr, "controller_type": jNullStr, "platform": jString,
		"status": jString, "error_message": jNullStr, "file_count": jInt, "section_count": jInt,
		"created_at": jString, "updated_at": jString, "files": jArray,
	}
	compatFileFields   = map[string]string{"id": jString, "filename": jString, "file_extension": jString, "size_bytes": jInt}
	compatStatusFields = map[string]string{
		"package_id": jString, "status": jString, "error_message": jNullStr, "error_detail": jNullStr,
		"file_count": jInt, "section_count": jInt,
	}
	compatZipUploadFields = map[string]string{"package_id": jString, "job_id": jInt, "status": jString}
	compatErrorFields     = map[string]string{"message": jString, "detail": jString, "code": jString}
)

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return jString
	case bool:
		return jBool
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return jInt
		}
		return jNumber
	case []any:
		return jArray
	case map[string]any:
		return jObject
	}
	return fmt.Sprintf("%T", v)
}

// decodeObject decodes a JSON object keeping numbers exact.
func decodeObject(t *testing.T, what string, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: the answer is not a JSON object: %v: %.300s", what, err, body)
	}
	return m
}

// hasShape checks that obj has every field of want with its JSON type
// (extra fields are fine, missing ones are not).
func hasShape(t *testing.T, what string, obj map[string]any, want map[string]string) {
	t.Helper()
	for name, typ := range want {
		v, ok := obj[name]
		if !ok {
			t.Errorf("%s: field %q is missing (have %v)", what, name, keys(obj))
			continue
		}
		got := jsonType(v)
		if got != typ && !(typ == jNullStr && (got == jString || got == "null")) && !(typ == jNumber && got == jInt) {
			t.Errorf("%s: field %q is %s (%v), want %s", what, name, got, v, typ)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// packageShape checks a package object and each of its files.
func packageShape(t *testing.T, what string, p map[string]any) {
	t.Helper()
	hasShape(t, what, p, compatPackageFields)
	files, _ := p["files"].([]any)
	for i, f := range files {
		fo, ok := f.(map[string]any)
		if !ok {
			t.Errorf("%s: files[%d] is %s, want an object", what, i, jsonType(f))
			continue
		}
		hasShape(t, fmt.Sprintf("%s: files[%d]", what, i), fo, compatFileFields)
	}
}

// errorAnswer checks an error answer's status, shape and code and returns it.
func errorAnswer(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	e := decodeObject(t, what, body)
	hasShape(t, what, e, compatErrorFields)
	if status != wantStatus || e["code"] != wantCode || e["message"] == "" {
		t.Errorf("%s: %d %s, want %d %s", what, status, body, wantStatus, wantCode)
	}
	return e
}

// request sends one request with the app's admin token (or c).
func request(t *testing.T, c *http.Client, method, url, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// postFiles sends files in form field field (as the original clients do:
// "file") with optional form fields, with the app's admin token.
func postFiles(t *testing.T, app *servertest.App, path, field string, files []servertest.NamedFile, fields map[string]string) (int, http.Header, []byte) {
	t.Helper()
	ct, body := form(t, field, files, fields)
	return request(t, app.Client, http.MethodPost, app.URL+path, ct, body)
}

// form builds a multipart form with files in field and the given fields.
func form(t *testing.T, field string, files []servertest.NamedFile, fields map[string]string) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(field, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func getOK(t *testing.T, app *servertest.App, path string) []byte {
	t.Helper()
	status, _, body := request(t, app.Client, http.MethodGet, app.URL+path, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, status, body)
	}
	return body
}

// sameAsNative checks that a package in the original shape carries the
// same data as the /api/v1 package.
func sameAsNative(t *testing.T, what string, got api.CompatPackage, want catalog.Package) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	type view struct {
		ID, Name, Machine, Controller, Platform, Status, ErrorMessage string
		Files, Sections, Latest                                       int
		Created, Updated                                              time.Time
	}
	g := view{got.ID, got.Name, str(got.MachineType), str(got.ControllerType), got.Platform, string(got.Status), str(got.ErrorMessage),
		got.FileCount, got.SectionCount, got.LatestVersion, got.CreatedAt, got.UpdatedAt}
	w := view{want.ID, want.Name, want.MachineType, want.ControllerType, want.Platform, string(want.Status), want.ErrorMessage,
		want.FileCount, want.SectionCount, want.LatestVersion, want.CreatedAt, want.UpdatedAt}
	if !g.Created.Equal(w.Created) || !g.Updated.Equal(w.Updated) {
		t.Errorf("%s: times %v %v, want %v %v", what, g.Created, g.Updated, w.Created, w.Updated)
	}
	g.Created, g.Updated, w.Created, w.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	if len(got.Files) != len(want.Files) {
		t.Fatalf("%s: %d files, want %d", what, len(got.Files), len(want.Files))
	}
	for i, f := range want.Files {
		gf := got.Files[i]
		if gf.ID != f.ID || gf.Filename != f.Filename || gf.FileExtension != "."+f.Extension || gf.SizeBytes != f.Size || gf.SHA256 != f.SHA256 {
			t.Errorf("%s: file %d is %+v, want %+v", what, i, gf, f)
		}
	}
}

func corpusPackage(t *testing.T, name string) testenv.CorpusPackage {
	t.Helper()
	pkgs := testenv.CorpusPackages(t)
	for _, p := range pkgs {
		if p.Name == name {
			return p
		}
	}
	t.Skipf("corpus package %s is missing", name)
	return testenv.CorpusPackage{}
}

func TestCompatContract(t *testing.T) {
	corpus := corpusPackage(t, "tormach-pcnc1100")
	files := servertest.CorpusFiles(corpus)
	var srcFile servertest.NamedFile
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".SRC") {
			srcFile = f
		}
	}
	original := map[string][]byte{}
	for _, f := range files {
		original[f.Name] = f.Data
	}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))

		t.Run("GET /health", func(t *testing.T) {
			// Public, like /healthz: no credentials.
			status, hdr, body := request(t, app.Anonymous, http.MethodGet, app.URL+"/health", "", nil)
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s %s", status, hdr.Get("Content-Type"), body)
			}
			h := decodeObject(t, "health", body)
			hasShape(t, "health", h, map[string]string{"status": jString, "service": jString})
			if h["status"] != "healthy" || h["service"] != "veripost" {
				t.Errorf("health: %s", body)
			}
			_, _, native := request(t, app.Anonymous, http.MethodGet, app.URL+"/healthz", "", nil)
			if n := decodeObject(t, "healthz", native); n["version"] != h["version"] {
				t.Errorf("health says version %v, /healthz %v", h["version"], n["version"])
			}
		})

		// The zip upload, next to the same ZIP through POST /api/v1/packages.
		zipFile := servertest.NamedFile{Name: "Tormach 1100.zip", Data: servertest.Zip(t, "post", files)}
		status, hdr, body := postFiles(t, app, "/api/v1/packages/upload", "file", []servertest.NamedFile{zipFile}, nil)
		if status != http.StatusAccepted {
			t.Fatalf("POST /api/v1/packages/upload: %d %s", status, body)
		}
		zipAnswer := decodeObject(t, "zip upload", body)
		hasShape(t, "zip upload", zipAnswer, compatZipUploadFields)
		zipID, _ := zipAnswer["package_id"].(string)
		if zipAnswer["status"] != "pending" || hdr.Get("Location") != "/api/v1/packages/"+zipID+"/status" {
			t.Errorf("zip upload: %s, Location %q", body, hdr.Get("Location"))
		}
		nativeStatus, nativeBody := app.PostUpload([]servertest.NamedFile{zipFile}, map[string]string{"platform": " SOLIDWORKS CAM "})
		if nativeStatus != http.StatusAccepted {
			t.Fatalf("POST /api/v1/packages: %d %s", nativeStatus, nativeBody)
		}
		native := decodeObject(t, "native upload", nativeBody)
		var nativePkg catalog.Package
		if app.GetJSON("/api/v1/packages/"+native["package_id"].(string), &nativePkg); nativePkg.Platform != "SOLIDWORKS CAM" || nativePkg.Name != "Tormach PCNC1100 Series 3" {
			t.Errorf("POST /api/v1/packages with a platform: %q named %q", nativePkg.Platform, nativePkg.Name)
		}
		for k, v := range native {
			if k != "package_id" && k != "version_id" && k != "job_id" && k != "status_url" && !reflect.DeepEqual(zipAnswer[k], v) {
				t.Errorf("zip upload answers %s=%v, POST /api/v1/packages %v", k, zipAnswer[k], v)
			}
			if jsonType(zipAnswer[k]) != jsonType(v) {
				t.Errorf("zip upload's %s is %s, POST /api/v1/packages's %s", k, jsonType(zipAnswer[k]), jsonType(v))
			}
		}

		// The single-file upload: named after the file, platform from the query.
		status, hdr, body = postFiles(t, app, "/api/v1/posts/upload?platform=solidworks", "file", []servertest.NamedFile{srcFile}, nil)
		if status != http.StatusCreated {
			t.Fatalf("POST /api/v1/posts/upload: %d %s", status, body)
		}
		created := decodeObject(t, "posts/upload", body)
		packageShape(t, "posts/upload", created)
		var single api.CompatPackage
		json.Unmarshal(body, &single)
		if single.Name != strings.TrimSuffix(srcFile.Name, ".SRC") || single.Platform != "solidworks" || !uploadStatus(single.Status) ||
			len(single.Files) != 1 || single.Files[0].Filename != srcFile.Name || single.Files[0].FileExtension != ".SRC" ||
			single.Files[0].SizeBytes != int64(len(srcFile.Data)) || hdr.Get("Location") != "/api/v1/posts/"+single.ID {
			t.Errorf("posts/upload: %s (Location %q)", body, hdr.Get("Location"))
		}
		// The default platform.
		lathe := corpusPackage(t, "lathe-tutorial")
		var latheSRC servertest.NamedFile
		for _, f := range servertest.CorpusFiles(lathe) {
			if strings.HasSuffix(f.Name, ".SRC") {
				latheSRC = f
			}
		}
		status, _, body = postFiles(t, app, "/api/v1/posts/upload", "file", []servertest.NamedFile{latheSRC}, nil)
		var plain api.CompatPackage
		if json.Unmarshal(body, &plain); status != http.StatusCreated || plain.Platform != "camworks" || plain.Name != "T2AXIS-TUTORIAL" {
			t.Errorf("posts/upload without platform: %d %s", status, body)
		}

		// Every package ingests; the status route has the original's fields.
		for _, id := range []string{zipID, decodeObject(t, "native", nativeBody)["package_id"].(string), single.ID, plain.ID} {
			app.WaitReady(id)
		}
		st := decodeObject(t, "status", getOK(t, app, "/api/v1/packages/"+zipID+"/status"))
		hasShape(t, "status", st, compatStatusFields)
		if st["package_id"] != zipID || st["status"] != "ready" || st["error_message"] != nil || st["error_detail"] != nil ||
			st["file_count"] != json.Number(fmt.Sprint(len(files))) {
			t.Errorf("status: %v", st)
		}
		if n, _ := st["section_count"].(json.Number).Int64(); n == 0 {
			t.Errorf("status: no sections counted: %v", st)
		}

		t.Run("GET /api/v1/posts/", func(t *testing.T) {
			body := getOK(t, app, "/api/v1/posts/")
			if noSlash := getOK(t, app, "/api/v1/posts"); !bytes.Equal(noSlash, body) {
				t.Errorf("/api/v1/posts and /api/v1/posts/ differ:\n%s\n%s", noSlash, body)
			}
			list := decodeObject(t, "posts", body)
			hasShape(t, "posts", list, map[string]string{"packages": jArray, "count": jInt})
			items, _ := list["packages"].([]any)
			if list["count"] != json.Number("4") || len(items) != 4 {
				t.Fatalf("posts: count %v, %d packages, want 4", list["count"], len(items))
			}
			if _, ok := list["next_cursor"]; ok {
				t.Errorf("posts: next_cursor on the only page: %v", list["next_cursor"])
			}
			for i, p := range items {
				packageShape(t, fmt.Sprintf("posts: packages[%d]", i), p.(map[string]any))
			}
			var posts api.CompatPackageList
			json.Unmarshal(body, &posts)
			var nativeList catalog.Page[catalog.Package]
			app.GetJSON("/api/v1/packages", &nativeList)
			if len(nativeList.Items) != len(posts.Packages) {
				t.Fatalf("posts has %d packages, /api/v1/packages %d", len(posts.Packages), len(nativeList.Items))
			}
			for i := range nativeList.Items {
				sameAsNative(t, fmt.Sprintf("posts[%d]", i), posts.Packages[i], nativeList.Items[i])
			}
			// Newest first: the last upload leads.
			if posts.Packages[0].ID != plain.ID || posts.Packages[3].ID != zipID {
				t.Errorf("posts are not newest first: %s … %s", posts.Packages[0].Name, posts.Packages[3].Name)
			}
			for i := 1; i < len(posts.Packages); i++ {
				if posts.Packages[i].CreatedAt.After(posts.Packages[i-1].CreatedAt) {
					t.Errorf("posts[%d] is newer than posts[%d]", i, i-1)
				}
			}
			// Paging: count is this answer's size; next_cursor walks on.
			var walked []string
			cursor := ""
			for pages := 0; ; pages++ {
				var page api.CompatPackageList
				app.GetJSON("/api/v1/posts/?limit=3&cursor="+cursor, &page)
				if page.Count != len(page.Packages) || page.Count > 3 {
					t.Fatalf("page %d: count %d with %d packages", pages, page.Count, len(page.Packages))
				}
				for _, p := range page.Packages {
					walked = append(walked, p.ID)
				}
				if cursor = page.NextCursor; cursor == "" || pages > 3 {
					break
				}
			}
			var all []string
			for _, p := range posts.Packages {
				all = append(all, p.ID)
			}
			if !slices.Equal(walked, all) {
				t.Errorf("paging walked %v, want %v", walked, all)
			}
			status, _, body = request(t, app.Client, http.MethodGet, app.URL+"/api/v1/posts/?cursor=garbage", "", nil)
			errorAnswer(t, "bad cursor", status, body, 400, "BAD_REQUEST")
			status, _, body = request(t, app.Client, http.MethodGet, app.URL+"/api/v1/posts/?limit=0", "", nil)
			errorAnswer(t, "limit 0", status, body, 422, "VALIDATION_FAILED")
		})

		t.Run("GET /api/v1/posts/{package_id}", func(t *testing.T) {
			for _, id := range []string{zipID, single.ID} {
				body := getOK(t, app, "/api/v1/posts/"+id)
				packageShape(t, "post", decodeObject(t, "post", body))
				var got api.CompatPackage
				json.Unmarshal(body, &got)
				var want catalog.Package
				app.GetJSON("/api/v1/packages/"+id, &want)
				sameAsNative(t, "post "+id, got, want)
				if id == zipID && (got.Name != "Tormach 1100" || got.Platform != "camworks" || got.Status != catalog.StatusReady) {
					t.Errorf("the zip upload is %q (%s, %s), want the ZIP's name on camworks, ready", got.Name, got.Platform, got.Status)
				}
			}
			for _, id := range []string{"7f0c6d3e-1111-4222-8333-944445555666", "not-a-uuid"} {
				status, _, body := request(t, app.Client, http.MethodGet, app.URL+"/api/v1/posts/"+id, "", nil)
				errorAnswer(t, "absent post "+id, status, body, 404, "NOT_FOUND")
			}
		})

		t.Run("download", func(t *testing.T) {
			var pkg api.CompatPackage
			json.Unmarshal(getOK(t, app, "/api/v1/posts/"+zipID), &pkg)
			if len(pkg.Files) != len(files) {
				t.Fatalf("%d files, want %d", len(pkg.Files), len(files))
			}
			for _, f := range pkg.Files {
				url := fmt.Sprintf("/api/v1/packages/%s/files/%s/download", zipID, f.ID)
				if f.DownloadURL != url {
					t.Errorf("%s: download_url %q, want %q", f.Filename, f.DownloadURL, url)
				}
				status, hdr, got := request(t, app.Client, http.MethodGet, app.URL+url, "", nil)
				if status != 200 || !bytes.Equal(got, original[f.Filename]) || int64(len(got)) != f.SizeBytes {
					t.Errorf("%s: %d, %d bytes, byte-exact %v", f.Filename, status, len(got), bytes.Equal(got, original[f.Filename]))
				}
				_, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition"))
				if err != nil || params["filename"] != f.Filename {
					t.Errorf("%s: Content-Disposition %q", f.Filename, hdr.Get("Content-Disposition"))
				}
			}
			status, _, body := request(t, app.Client, http.MethodGet, app.URL+"/api/v1/packages/"+zipID+"/files/7f0c6d3e-1111-4222-8333-944445555666/download", "", nil)
			errorAnswer(t, "absent file", status, body, 404, "NOT_FOUND")
		})

		t.Run("POST /api/v1/parsing/analyze", func(t *testing.T) {
			status, _, got := postFiles(t, app, "/api/v1/parsing/analyze", "file", []servertest.NamedFile{srcFile}, nil)
			if status != 200 {
				t.Fatalf("%d %.300s", status, got)
			}
			_, _, want := postFiles(t, app, "/api/v1/parse", "files", []servertest.NamedFile{srcFile}, nil)
			var g, w any
			json.Unmarshal(got, &g)
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("parsing/analyze differs from /api/v1/parse:\n%.500s\n%.500s", got, want)
			}
			res := decodeObject(t, "analyze", got)
			if fs, _ := res["files"].([]any); len(fs) != 1 {
				t.Errorf("analyze: files %v", res["files"])
			}
			if _, ok := res["summary"].(map[string]any); !ok {
				t.Errorf("analyze: no summary in %.300s", got)
			}
			status, _, body := postFiles(t, app, "/api/v1/parsing/analyze", "file", nil, map[string]string{"x": "y"})
			errorAnswer(t, "analyze nothing", status, body, 400, "NO_FILES")
		})

		t.Run("errors", func(t *testing.T) {
			lib := servertest.NamedFile{Name: "P.LIB", Data: []byte("* a library\r\n")}
			src := servertest.NamedFile{Name: "P.SRC", Data: []byte(":SYSTEM=MILL\r\n")}
			corrupt := servertest.NamedFile{Name: "c.zip", Data: servertest.Zip(t, "", []servertest.NamedFile{src, lib})}
			corrupt.Data[30+len(src.Name)+2] ^= 0xff
			cases := []struct {
				name, path, field string
				files             []servertest.NamedFile
				status            int
				code, detail      string
			}{
				{"zip route, a .SRC", "/api/v1/packages/upload", "file", []servertest.NamedFile{srcFile}, 400, "INVALID_FILE_TYPE", ""},
				{"zip route, a .txt", "/api/v1/packages/upload", "file", []servertest.NamedFile{{Name: "readme.txt", Data: []byte("x")}}, 400, "INVALID_FILE_TYPE", ""},
				{"zip route, no SRC inside", "/api/v1/packages/upload", "file", []servertest.NamedFile{{Name: "p.zip", Data: servertest.Zip(t, "", []servertest.NamedFile{lib})}}, 422, "INVALID_ZIP_CONTENTS", "NO_SRC_FILE"},
				{"zip route, not a zip", "/api/v1/packages/upload", "file", []servertest.NamedFile{{Name: "p.zip", Data: []byte("not a zip at all")}}, 422, "INVALID_ZIP_CONTENTS", "NOT_A_ZIP"},
				{"zip route, corrupt", "/api/v1/packages/upload", "file", []servertest.NamedFile{corrupt}, 422, "INVALID_ZIP_CONTENTS", "CORRUPT_ZIP"},
				{"zip route, empty zip", "/api/v1/packages/upload", "file", []servertest.NamedFile{{Name: "e.zip", Data: servertest.Zip(t, "", nil)}}, 422, "INVALID_ZIP_CONTENTS", "EMPTY_PACKAGE"},
				{"zip route, stray file inside", "/api/v1/packages/upload", "file", []servertest.NamedFile{{Name: "p.zip", Data: servertest.Zip(t, "", []servertest.NamedFile{src, {Name: "notes.txt", Data: []byte("x")}})}}, 422, "INVALID_ZIP_CONTENTS", "UNKNOWN_EXTENSIONS"},
				{"zip route, no file", "/api/v1/packages/upload", "file", nil, 400, "NO_FILES", ""},
				{"single route, two files", "/api/v1/posts/upload", "file", []servertest.NamedFile{src, lib}, 400, "BAD_REQUEST", "2 files"},
				{"single route, a library alone", "/api/v1/posts/upload", "file", []servertest.NamedFile{lib}, 422, "NO_SRC_FILE", ""},
				{"single route, not a post file", "/api/v1/posts/upload", "file", []servertest.NamedFile{{Name: "setup.exe", Data: []byte("MZ")}}, 400, "UNSUPPORTED_FILE_TYPE", ""},
				{"single route, no file", "/api/v1/posts/upload", "file", nil, 400, "NO_FILES", ""},
			}
			for _, c := range cases {
				status, _, body := postFiles(t, app, c.path, c.field, c.files, map[string]string{"note": "x"})
				e := errorAnswer(t, c.name, status, body, c.status, c.code)
				if !strings.Contains(fmt.Sprint(e["detail"]), c.detail) {
					t.Errorf("%s: detail %q does not give %q", c.name, e["detail"], c.detail)
				}
			}
			status, _, body := request(t, app.Client, http.MethodGet, app.URL+"/api/v1/packages/7f0c6d3e-1111-4222-8333-944445555666/status", "", nil)
			errorAnswer(t, "status of an absent package", status, body, 404, "NOT_FOUND")
			// Not a form at all; a platform name beyond the limit.
			status, _, body = request(t, app.Client, http.MethodPost, app.URL+"/api/v1/posts/upload", "application/json", []byte(`{}`))
			errorAnswer(t, "JSON to posts/upload", status, body, 400, "BAD_REQUEST")
			status, _, body = postFiles(t, app, "/api/v1/posts/upload?platform="+strings.Repeat("p", 101), "file", []servertest.NamedFile{src}, nil)
			errorAnswer(t, "long platform", status, body, 422, "VALIDATION_FAILED")
			// The same authentication: no credentials, no answer.
			for _, r := range [][2]string{{"GET", "/api/v1/posts/"}, {"GET", "/api/v1/posts"}, {"GET", "/api/v1/posts/" + zipID},
				{"POST", "/api/v1/posts/upload"}, {"POST", "/api/v1/packages/upload"}, {"POST", "/api/v1/parsing/analyze"}} {
				status, _, body := request(t, app.Anonymous, r[0], app.URL+r[1], "", nil)
				errorAnswer(t, "anonymous "+r[0]+" "+r[1], status, body, 401, "UNAUTHENTICATED")
			}
			// Nothing was recorded by the refused uploads.
			var page api.CompatPackageList
			app.GetJSON("/api/v1/posts/", &page)
			if page.Count != 4 {
				t.Errorf("%d packages after the refused uploads, want 4", page.Count)
			}
		})
	})
}

// The same size limits as /api/v1: a body over VERIPOST_MAX_REQUEST_BYTES
// is refused with 413 REQUEST_TOO_LARGE on the original upload routes.
func TestCompatUploadLimits(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.MaxRequestBytes = 4096
	app := servertest.Start(t, cfg)
	big := servertest.NamedFile{Name: "BIG.SRC", Data: bytes.Repeat([]byte("* padding\r\n"), 1000)}
	bigZip := servertest.NamedFile{Name: "big.zip", Data: servertest.Zip(t, "", []servertest.NamedFile{big})}
	bigZip.Data = append(bigZip.Data, bytes.Repeat([]byte{0}, 8192)...)
	for _, c := range []struct {
		path string
		file servertest.NamedFile
	}{{"/api/v1/posts/upload", big}, {"/api/v1/packages/upload", bigZip}, {"/api/v1/parsing/analyze", big}} {
		status, _, body := postFiles(t, app, c.path, "file", []servertest.NamedFile{c.file}, nil)
		errorAnswer(t, c.path, status, body, 413, "REQUEST_TOO_LARGE")
	}
}

// Every route of the original API is in the OpenAPI document under the
// compatibility tag, with an access rule.
func TestCompatRoutesDocumented(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	want := map[string]bool{
		"GET /health": true, "GET /api/v1/posts/": true, "GET /api/v1/posts": true, "GET /api/v1/posts/{package_id}": true,
		"POST /api/v1/posts/upload": true, "POST /api/v1/packages/upload": true, "POST /api/v1/parsing/analyze": true,
		"GET /api/v1/packages/{id}/status": true, "GET /api/v1/packages/{id}/files/{file_id}/download": true,
	}
	for _, op := range server.Operations(app.API.OpenAPI()) {
		key := op.Method + " " + op.Path
		tagged := slices.Contains(op.Tags, api.CompatTag)
		if want[key] != tagged {
			t.Errorf("%s (%s): tagged %v, want %v", key, op.OperationID, tagged, want[key])
		}
		if _, ok := server.APIRules[op.OperationID]; tagged && !ok {
			t.Errorf("%s has no access rule", op.OperationID)
		}
		delete(want, key)
	}
	for key := range want {
		t.Errorf("%s is not in the OpenAPI document", key)
	}
	// The README's section on the original API lists every route.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "### The original API")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, op := range server.Operations(app.API.OpenAPI()) {
		if p := strings.ReplaceAll(op.Path, "{id}", "{package_id}"); slices.Contains(op.Tags, api.CompatTag) && !strings.Contains(section, op.Method+" "+p) {
			t.Errorf("README's section on the original API does not list %s %s", op.Method, p)
		}
	}
	// The document the clients read says so too.
	body := getOK(t, app, "/api/v1/openapi.json")
	if !bytes.Contains(body, []byte(`"/api/v1/posts/upload"`)) || !bytes.Contains(body, []byte(`"name":"compatibility"`)) {
		t.Errorf("openapi.json lacks the compatibility routes or tag")
	}
}

// Old clients send no token. The original routes are under the same
// authentication as /api/v1 (the issue asks for it): without credentials
// they answer 401 UNAUTHENTICATED (TestCompatContract), except /health;
// with VERIPOST_ANONYMOUS_READ the reading routes answer anonymously and
// uploads and parsing still need a token of the right scope. A bad token
// is refused even where anonymous reading is allowed.
func TestCompatAccess(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.AnonymousRead = true
	app := servertest.Start(t, cfg)
	src := servertest.NamedFile{Name: "OPEN.SRC", Data: []byte(":SYSTEM=MILL\r\n")}
	res := app.Upload([]servertest.NamedFile{src}, nil)
	app.WaitReady(res.PackageID)
	var pkg api.CompatPackage
	app.GetJSON("/api/v1/posts/"+res.PackageID, &pkg)
	if len(pkg.Files) != 1 {
		t.Fatalf("the package has %d files", len(pkg.Files))
	}
	viewer := app.ClientWith(app.CreateUser("vera", auth.RoleViewer, servertest.RandomPassword(), auth.ScopeRead))
	engineer := app.ClientWith(app.CreateUser("ed", auth.RoleEngineer, servertest.RandomPassword(), auth.ScopeWrite))
	badToken := app.ClientWith("vpt_not-a-token")
	// An upper-case extension is a .zip too (as on Windows).
	zip := servertest.NamedFile{Name: "Old Client.ZIP", Data: servertest.Zip(t, "", []servertest.NamedFile{src})}
	type call struct {
		method, path string
		file         *servertest.NamedFile
	}
	reads := []call{
		{"GET", "/api/v1/posts/", nil}, {"GET", "/api/v1/posts", nil}, {"GET", "/api/v1/posts/" + res.PackageID, nil},
		{"GET", "/api/v1/packages/" + res.PackageID + "/status", nil},
		{"GET", "/api/v1/packages/" + res.PackageID + "/files/" + pkg.Files[0].ID + "/download", nil},
	}
	upload, zipUpload, analyze := call{"POST", "/api/v1/posts/upload", &src}, call{"POST", "/api/v1/packages/upload", &zip}, call{"POST", "/api/v1/parsing/analyze", &src}
	send := func(c *http.Client, k call) (int, []byte) {
		if k.file == nil {
			status, _, body := request(t, c, k.method, app.URL+k.path, "", nil)
			return status, body
		}
		ct, body := form(t, "file", []servertest.NamedFile{*k.file}, nil)
		status, _, b := request(t, c, k.method, app.URL+k.path, ct, body)
		return status, b
	}
	cases := []struct {
		who    string
		client *http.Client
		calls  []call
		status int
		code   string
	}{
		{"anonymous", app.Anonymous, []call{{"GET", "/health", nil}}, 200, ""},
		{"anonymous", app.Anonymous, reads, 200, ""},
		{"anonymous", app.Anonymous, []call{upload, zipUpload, analyze}, 401, "UNAUTHENTICATED"},
		{"a bad token", badToken, reads, 401, "UNAUTHENTICATED"},
		{"a bad token", badToken, []call{{"GET", "/health", nil}}, 200, ""},
		{"a viewer", viewer, append(reads, analyze), 200, ""},
		{"a viewer", viewer, []call{upload, zipUpload}, 403, "FORBIDDEN"},
		{"an engineer", engineer, []call{upload}, 201, ""},
		{"an engineer", engineer, []call{zipUpload}, 202, ""},
	}
	for _, c := range cases {
		for _, k := range c.calls {
			status, body := send(c.client, k)
			what := c.who + ": " + k.method + " " + k.path
			if c.code != "" {
				errorAnswer(t, what, status, body, c.status, c.code)
			} else if status != c.status {
				t.Errorf("%s: %d %.300s, want %d", what, status, body, c.status)
			}
		}
	}
	// The engineer's uploads are theirs in the audit trail, like any upload.
	var list api.CompatPackageList
	app.GetJSON("/api/v1/posts/", &list)
	if list.Count != 3 {
		t.Fatalf("%d packages, want 3", list.Count)
	}
	if list.Packages[0].Name != "Old Client" || list.Packages[1].Name != "OPEN" {
		t.Errorf("the uploads are named %q and %q, want the ZIP's and the file's names", list.Packages[0].Name, list.Packages[1].Name)
	}
	for _, p := range list.Packages[:2] {
		var hist auth.AuditPage
		app.GetJSON("/api/v1/packages/"+p.ID+"/history", &hist)
		if len(hist.Items) != 1 || hist.Items[0].Action != auth.ActionPackageUpload || hist.Items[0].ActorName != "ed" {
			t.Errorf("%s: history %+v", p.Name, hist.Items)
		}
	}
}

// uploadStatus: what an upload may answer with. The worker can move the
// version on between the commit and the answer being read back, so any
// ingestion stage (or ready) is right; error or an unknown status is not.
func uploadStatus(s catalog.Status) bool {
	switch s {
	case catalog.StatusPending, catalog.StatusValidating, catalog.StatusStoring, catalog.StatusParsing, catalog.StatusReady:
		return true
	}
	return false
}
