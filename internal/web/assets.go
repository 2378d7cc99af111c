package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

//go:embed static templates
var embedded embed.FS

// asset is one embedded static file with its content hash.
type asset struct {
	data  []byte
	hash  string
	ctype string
}

type assets struct {
	files map[string]asset // by name under static/
}

func loadAssets() *assets {
	a := &assets{files: map[string]asset{}}
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.files[strings.TrimPrefix(p, "static/")] = asset{data: data, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	if err != nil {
		panic("web: reading embedded assets: " + err.Error())
	}
	return a
}

// url returns the address of a static file with its content hash, so
// browsers may cache it forever and still see a new release at once.
func (a *assets) url(name string) template.URL {
	f, ok := a.files[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return template.URL("/static/" + name + "?v=" + f.hash)
}

func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	f, ok := u.assets.files[name]
	if !ok {
		u.notFound(w, r, "There is no such file.", "")
		return
	}
	u.assets.write(w, r, name, f)
}

func (a *assets) write(w http.ResponseWriter, r *http.Request, name string, f asset) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}

func (a *assets) favicon(w http.ResponseWriter, r *http.Request) {
	a.write(w, r, "favicon.svg", a.files["favicon.svg"])
}
