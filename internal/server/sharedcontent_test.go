package server_test

import (
	"testing"

	"github.com/veripost/veripost/internal/server/servertest"
)

// TestContentReadTwoWays: a content already analysed as a library comes
// back in a package that also holds it under a settings file's name (read
// another way, so a second analysis of the same bytes is new). Its lock
// must be exclusive, not shared; the package becomes ready, and a third
// package holding both (now all stored) too.
func TestContentReadTwoWays(t *testing.T) {
	body := []byte("@START\r\n{nb}\r\n@END\r\n")
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		for i, files := range [][]servertest.NamedFile{
			{{Name: "A.SRC", Data: []byte("* a\r\n")}, {Name: "X.LIB", Data: body}},
			{{Name: "B.SRC", Data: []byte("* b\r\n")}, {Name: "X.LIB", Data: body}, {Name: "X.LNG", Data: body}},
			{{Name: "C.SRC", Data: []byte("* c\r\n")}, {Name: "X.LIB", Data: body}, {Name: "X.LNG", Data: body}},
		} {
			st := app.WaitReady(app.Upload(files, nil).PackageID)
			if st.Status != "ready" {
				t.Fatalf("package %d: %+v", i+1, st)
			}
		}
	})
}
