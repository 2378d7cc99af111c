package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server/servertest"
)

// dropAfterCommit is a proxy that forwards one request to the server and,
// as soon as the server starts answering (so the upload is committed),
// drops the client's connection without passing the answer on.
func dropAfterCommit(t *testing.T, server string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", server)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				buf := make([]byte, 1)
				s.Read(buf) // the first byte of the answer: the work is done
				c.(*net.TCPConn).SetLinger(0)
			}()
		}
	}()
	return ln.Addr().String()
}

func uploadWithKey(t *testing.T, app *servertest.App, base, key string, files []servertest.NamedFile) (*http.Response, servertest.UploadResult, error) {
	t.Helper()
	body, ct := servertest.Multipart(t, files, map[string]string{"note": "keyed"})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/packages", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Idempotency-Key", key)
	resp, err := app.Client.Do(req)
	var res servertest.UploadResult
	if err != nil {
		return nil, res, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &res)
	if resp.StatusCode != http.StatusAccepted {
		t.Logf("answer: %s", b)
	}
	return resp, res, nil
}

// TestIdempotencyKey: an upload whose connection dropped after the server
// committed it, retried with the same Idempotency-Key, answers with the
// first version and creates nothing; so do ten copies sent at once; the
// same key for other files is refused.
func TestIdempotencyKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		files := []servertest.NamedFile{{Name: "K.SRC", Data: []byte("* keyed\r\n")}, {Name: "K.LIB", Data: []byte("* lib\r\n")}}
		proxy := dropAfterCommit(t, strings.TrimPrefix(app.URL, "http://"))
		if _, _, err := uploadWithKey(t, app, "http://"+proxy, "key-1", files); err == nil {
			t.Fatal("the proxy did not drop the connection")
		}
		resp, res, err := uploadWithKey(t, app, app.URL, "key-1", files)
		if err != nil || resp.StatusCode != http.StatusAccepted || resp.Header.Get("Idempotent-Replayed") != "true" || res.Version != 1 {
			t.Fatalf("retry after the dropped connection: %v %+v %+v", err, resp, res)
		}
		var page catalog.Page[catalog.Package]
		app.GetJSON("/api/v1/packages", &page)
		if len(page.Items) != 1 || page.Items[0].ID != res.PackageID {
			t.Fatalf("after the retry: %d packages, want the first attempt's one", len(page.Items))
		}
		app.WaitReady(res.PackageID)

		// Ten at once with one key: one version, the same answer for all.
		other := []servertest.NamedFile{{Name: "C.SRC", Data: []byte("* concurrent\r\n")}}
		var wg sync.WaitGroup
		answers := make([]servertest.UploadResult, 10)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, res, err := uploadWithKey(t, app, app.URL, "key-2", other)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					t.Errorf("concurrent keyed upload: %v %v", err, resp)
				}
				answers[i] = res
			}()
		}
		wg.Wait()
		for _, a := range answers {
			if a.VersionID != answers[0].VersionID || a.VersionID == "" {
				t.Fatalf("concurrent uploads with one key got different versions: %+v", answers)
			}
		}
		app.GetJSON("/api/v1/packages", &page)
		if len(page.Items) != 2 {
			t.Fatalf("%d packages after ten uploads with one key, want 2 in all", len(page.Items))
		}

		// The same key for different files is a client bug.
		changed := []servertest.NamedFile{{Name: "K.SRC", Data: []byte("* changed\r\n")}}
		resp, _, err = uploadWithKey(t, app, app.URL, "key-1", changed)
		if err != nil || resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("same key, other files: %v %+v", err, resp)
		}
		// A key that is not one is refused before anything is stored.
		resp, _, err = uploadWithKey(t, app, app.URL, strings.Repeat("k", 300), changed)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("over-long key: %v %+v", err, resp)
		}
		// Without a key, the same upload is simply accepted again.
		if s, body := app.PostUpload(other, nil); s != http.StatusAccepted || !bytes.Contains(body, []byte(`"version":1`)) {
			t.Fatalf("unkeyed upload: %d %s", s, body)
		}
	})
}
