package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestNULIsRefused: a NUL character in an address, a query parameter, a
// JSON field or an upload field answers 400 on both stacks (it was a 500
// on PostgreSQL, and SQLite stored it), and nothing is stored.
func TestNULIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		id := app.Upload([]servertest.NamedFile{{Name: "N.SRC", Data: []byte("* n\r\n")}}, nil).PackageID
		app.WaitReady(id)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/symbols/%00", nil},
			{"GET", "/api/v1/symbols/MACHINE%00NAME", nil},
			{"GET", "/api/v1/packages?search=%00", nil},
			{"GET", "/api/v1/packages?q=%00", nil},
			{"GET", "/api/v1/libraries?name=MILL%00.LIB", nil},
			{"GET", "/symbols/%00", nil},
			{"PATCH", "/api/v1/packages/" + id, map[string]string{"machine_type": "a\x00b"}},
			{"PATCH", "/api/v1/packages/" + id, map[string]string{"name": "\x00"}},
		} {
			status, body := app.Do(c.method, c.path, c.body)
			var e servertest.APIError
			if json.Unmarshal(body, &e); status != http.StatusBadRequest || e.Code != "BAD_REQUEST" || !strings.Contains(e.Message, "NUL") {
				t.Errorf("%s %s: %d %s, want 400 BAD_REQUEST about the NUL", c.method, c.path, status, body)
			}
		}
		status, body := app.PostUpload([]servertest.NamedFile{{Name: "M.SRC", Data: []byte("* m\r\n")}}, map[string]string{"name": "a\x00b"})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "NUL") {
			t.Errorf("upload named with a NUL: %d %s", status, body)
		}
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+id, &pkg)
		if pkg.MachineType != "" || pkg.Name != "N" {
			t.Errorf("a refused edit changed the package: %+v", pkg)
		}
		var page catalog.Page[catalog.Package]
		app.GetJSON("/api/v1/packages", &page)
		if len(page.Items) != 1 {
			t.Errorf("%d packages, want 1: a refused upload was stored", len(page.Items))
		}
		// The text "%00" (sent as %2500) is an ordinary search.
		if s, _, _ := app.Get("/api/v1/packages?search=%2500"); s != http.StatusOK {
			t.Errorf("searching for the text %%00: %d", s)
		}
	})
}

// TestUpperCaseIDs: an id copied in upper case finds its package on both
// stacks, in the API and the web UI (SQLite stores ids as lower-case text).
func TestUpperCaseIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		id := app.Upload([]servertest.NamedFile{{Name: "U.SRC", Data: []byte("* u\r\n")}}, nil).PackageID
		app.WaitReady(id)
		upper := strings.ToUpper(id)
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+upper, &pkg)
		if pkg.ID != id || pkg.Name != "U" {
			t.Errorf("GET /api/v1/packages/%s: %+v, want package %s", upper, pkg, id)
		}
		var st servertest.StatusBody
		app.GetJSON("/api/v1/packages/"+upper+"/status", &st)
		if st.Status != string(catalog.StatusReady) {
			t.Errorf("status by the upper-case id: %+v", st)
		}
		if status, _, body := app.Get("/packages/" + upper); status != http.StatusOK || !strings.Contains(string(body), `data-key="`+id+`"`) {
			t.Errorf("GET /packages/%s: %d, page for another key or none", upper, status)
		}
	})
}

// TestDownloadRangesAndHead: a range outside the file and the empty suffix
// "-0" answer 416 in JSON; thousands of tiny ranges cost no more than the
// file; HEAD works on downloads; JSON answers say nosniff.
func TestDownloadRangesAndHead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		data := bytes.Repeat([]byte("* fifteen kilobytes of post\r\n"), 520)[:15000]
		res := app.Upload([]servertest.NamedFile{{Name: "R.SRC", Data: data}}, nil)
		app.WaitReady(res.PackageID)
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+res.PackageID, &pkg)
		url := fmt.Sprintf("/api/v1/packages/%s/files/%s/download", pkg.ID, pkg.Files[0].ID)

		for _, rg := range []string{"bytes=20000-", "bytes=-0", "bytes=15000-15010,-0"} {
			status, hdr, body := app.Get(url, "Range", rg)
			var e servertest.APIError
			if status != http.StatusRequestedRangeNotSatisfiable || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") ||
				json.Unmarshal(body, &e) != nil || e.Code != "RANGE_NOT_SATISFIABLE" || hdr.Get("Content-Range") != "bytes */15000" {
				t.Errorf("Range %s: %d %q %q %s", rg, status, hdr.Get("Content-Type"), hdr.Get("Content-Range"), body)
			}
		}
		// A 416 the standard library decides (with If-Range) is JSON too.
		status, hdr, _ := app.Get(url, "Range", "bytes=20000-", "If-Range", `"`+pkg.Files[0].SHA256+`"`)
		if status != http.StatusRequestedRangeNotSatisfiable || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("416 with If-Range: %d %q", status, hdr.Get("Content-Type"))
		}

		tiny := make([]string, 2000)
		for i := range tiny {
			tiny[i] = fmt.Sprintf("%d-%d", i, i)
		}
		spread := make([]string, 2000)
		for i := range spread {
			spread[i] = fmt.Sprintf("%d-%d", i*7, i*7)
		}
		for name, rg := range map[string]string{"adjacent": strings.Join(tiny, ","), "spread": strings.Join(spread, ","), "same": strings.Repeat("0-0,", 1999) + "0-0"} {
			status, _, body := app.Get(url, "Range", "bytes="+rg)
			if (status != http.StatusOK && status != http.StatusPartialContent) || len(body) > len(data) {
				t.Errorf("2000 one-byte ranges (%s): %d with %d bytes, more than the %d-byte file", name, status, len(body), len(data))
			}
		}
		status, _, body := app.Get(url, "Range", "bytes=0-0,100-100")
		if status != http.StatusPartialContent || !bytes.Contains(body, data[100:101]) {
			t.Errorf("two ranges: %d %q", status, body)
		}

		for _, u := range []string{url, "/api/v1/packages/" + pkg.ID + "/download"} {
			req, _ := http.NewRequest(http.MethodHead, app.URL+u, nil)
			resp, err := app.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(got) != 0 || resp.Header.Get("Content-Disposition") == "" {
				t.Errorf("HEAD %s: %d, %d body bytes, disposition %q", u, resp.StatusCode, len(got), resp.Header.Get("Content-Disposition"))
			}
			if u == url && resp.ContentLength != int64(len(data)) {
				t.Errorf("HEAD %s: Content-Length %d, want %d", u, resp.ContentLength, len(data))
			}
		}
		for _, u := range []string{"/api/v1/packages", "/api/v1/packages/" + pkg.ID, "/api/v1/nothing", "/api/v1/packages/x/status"} {
			if _, hdr, _ := app.Get(u); hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no X-Content-Type-Options: nosniff", u)
			}
		}
	})
}

// TestServerTimeouts: a client that stalls while sending headers, one that
// sends headers and a few body bytes and then stalls, and an idle
// keep-alive connection are all closed within the configured timeouts
// (the stalled body used to be held for 90 s and more).
func TestServerTimeouts(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.ReadHeaderTimeout = 300 * time.Millisecond
	cfg.ReadBodyTimeout = 500 * time.Millisecond
	cfg.IdleTimeout = 400 * time.Millisecond
	app := servertest.Start(t, cfg)
	srv := app.HTTPServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	// closedWithin sends what, then waits for the server to close the
	// connection, and returns the answer it sent before closing.
	closedWithin := func(name, what string, limit time.Duration) string {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.WriteString(c, what); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(limit + 5*time.Second))
		got, err := io.ReadAll(c)
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the server still held the connection after %s", name, took)
		} else if took > limit {
			t.Errorf("%s: closed after %s, want within %s", name, took, limit)
		}
		return string(got)
	}

	closedWithin("stalled headers", "POST /api/v1/packages HTTP/1.1\r\nHost: x\r\nContent-Type: multi", 2*time.Second)

	body := "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"S.SRC\"\r\n\r\n* a few"
	stalledUpload := "POST /api/v1/packages HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", 100000)
	// Refused before the body is read (no token): net/http would drain
	// the stalled body before answering.
	closedWithin("stalled body, no token", stalledUpload+"\r\n"+body, 3*time.Second)
	answer := closedWithin("stalled body", stalledUpload+"Authorization: Bearer "+app.Token+"\r\n\r\n"+body, 3*time.Second)
	if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil); err == nil {
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "REQUEST_TIMEOUT") {
			t.Errorf("stalled body answered %d %s, want 408 REQUEST_TIMEOUT", resp.StatusCode, b)
		}
	}

	answer = closedWithin("idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(answer, "HTTP/1.1 200") {
		t.Errorf("healthz before going idle: %q", answer)
	}

	// A slow but steady upload (2.4 s in all, a piece every 40 ms) is not
	// cut off by the body timeout.
	data, ct := servertest.Multipart(t, []servertest.NamedFile{{Name: "SLOW.SRC", Data: bytes.Repeat([]byte("* slow\r\n"), 1000)}}, nil)
	pr, pw := io.Pipe()
	go func() {
		b := data.Bytes()
		for i := 0; i < len(b); i += 150 {
			pw.Write(b[i:min(i+150, len(b))])
			time.Sleep(40 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/v1/packages", pr)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+app.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("slow but steady upload: %d", resp.StatusCode)
	}
}
