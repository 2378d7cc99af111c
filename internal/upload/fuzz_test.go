package upload

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"mime/multipart"
	"net/http"
	"slices"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
)

// fuzzLimits are small so that each run is fast.
var fuzzLimits = Limits{MaxRequestBytes: 4 << 20, MaxFiles: 20, MaxFileBytes: 2 << 20, MaxTotalBytes: 4 << 20, MaxCompressionRatio: 100}

var fuzzCodes = map[string]int{
	apperror.CodeRequestTooLarge:   http.StatusRequestEntityTooLarge,
	apperror.CodeNotZip:            http.StatusBadRequest,
	apperror.CodeCorruptZip:        http.StatusUnprocessableEntity,
	apperror.CodeEmptyPackage:      http.StatusUnprocessableEntity,
	apperror.CodeNoSource:          http.StatusUnprocessableEntity,
	apperror.CodeUnknownExtensions: http.StatusUnprocessableEntity,
	apperror.CodeDuplicateName:     http.StatusUnprocessableEntity,
	apperror.CodeTooManyFiles:      http.StatusUnprocessableEntity,
	apperror.CodeTooLarge:          http.StatusRequestEntityTooLarge,
	apperror.CodeFileTooLarge:      http.StatusRequestEntityTooLarge,
	apperror.CodeZipBomb:           http.StatusUnprocessableEntity,
	apperror.CodeUnsafePath:        http.StatusUnprocessableEntity,
}

func FuzzReadZip(f *testing.F) {
	// Synthetic seeds, valid and hostile.
	good := buildZip(f, zent{name: "pkg/post.SRC", data: src}, zent{name: "pkg/sub/post.LIB", data: lib, store: true}, zent{name: "pkg/"})
	f.Add(good)
	f.Add(buildZip(f, zent{name: "Fr\x84se.SRC", data: src, nonUTF8: true}, zent{name: "__MACOSX/._x", data: lib}))
	f.Add(buildZip(f, zent{name: "post.SRC", data: src}, zent{name: "l.LIB", mode: fs.ModeSymlink | 0o777, data: []byte("/etc/passwd")}))
	f.Add(buildZip(f, zent{name: "../x.SRC", data: src}, zent{name: "X.src", data: src}))
	f.Add(buildZip(f, zent{name: "post.SRC", raw: true, rawMethod: zip.Deflate, data: deflate(f, text(3000)), usize: 10}))
	f.Add(buildZip(f, zent{name: "post.SRC", data: make([]byte, 3<<20)}))
	f.Add(buildZip(f))
	overlap := buildZip(f, zent{name: "a.SRC", data: src, store: true}, zent{name: "b.LIB", data: src, store: true})
	if i := bytes.LastIndex(overlap, centralDirSig); i >= 0 {
		binary.LittleEndian.PutUint32(overlap[i+42:], 0)
	}
	f.Add(overlap)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x05\x06"))

	// Real packages, if the shared corpus is there.
	if pkgs, dir := corpusPackages(f); len(pkgs) == 0 {
		f.Logf("WARNING: no shared corpus at %s: fuzzing with synthetic seeds only", dir)
	} else {
		for _, pkg := range sortedKeys(pkgs) {
			f.Add(zipPackage(f, pkg, pkgs[pkg]))
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := ReadZip(data, fuzzLimits)
		if err != nil {
			var ae *apperror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not an *apperror.Error: %T %v", err, err)
			}
			if want, ok := fuzzCodes[ae.Code]; !ok || ae.Status != want {
				t.Fatalf("unexpected code/status %d %s: %v", ae.Status, ae.Code, ae)
			}
			if ae.Message == "" || ae.Detail == "" || len(ae.Detail) > 16<<10 {
				t.Fatalf("bad message/detail (%d bytes): %v", len(ae.Detail), ae)
			}
			if files != nil {
				t.Fatal("files returned with an error")
			}
			return
		}
		if len(files) == 0 || len(files) > fuzzLimits.MaxFiles {
			t.Fatalf("%d files", len(files))
		}
		var total int64
		hasSRC := false
		seen := map[string]bool{}
		for i, fl := range files {
			checkFile(t, fl)
			if name, why := flatten(fl.Name); why != "" || name != fl.Name {
				t.Fatalf("unsafe name %q: %s", fl.Name, why)
			}
			if !slices.Contains(KnownExtensions, fl.Ext) {
				t.Fatalf("extension %q", fl.Ext)
			}
			hasSRC = hasSRC || fl.Ext == "SRC"
			if seen[foldName(fl.Name)] {
				t.Fatalf("duplicate %q", fl.Name)
			}
			seen[foldName(fl.Name)] = true
			if i > 0 && foldName(files[i-1].Name) > foldName(fl.Name) {
				t.Fatalf("not sorted")
			}
			if fl.Size > fuzzLimits.MaxFileBytes {
				t.Fatalf("%s: %d bytes", fl.Name, fl.Size)
			}
			total += fl.Size
		}
		if !hasSRC || total > fuzzLimits.MaxTotalBytes || total > fuzzLimits.ratioCap(uint64(len(data))) {
			t.Fatalf("hasSRC %v total %d for %d input bytes", hasSRC, total, len(data))
		}
	})
}

// FuzzReadMultipart feeds arbitrary bodies to the multipart path.
func FuzzReadMultipart(f *testing.F) {
	z := buildZip(f, zent{name: "post.SRC", data: src})
	f.Add(form(f, fieldPart("name", "x"), filePart("files", "p.zip", z)))
	f.Add(form(f, filePart("files", "a.SRC", src), filePart("files", "b/B.lib", lib), filePart("files", ".DS_Store", nil)))
	f.Add(form(f, filePart("files", "", nil), rawPart(`form-data; name="files"; filename*=UTF-8''Fr%C3%A4se.SRC`, src)))
	f.Add(form(f, filePart("files", "a.SRC", src), filePart("files", "p.zip", z)))
	f.Add([]byte("--" + boundary + "\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		up, err := ReadMultipart(multipart.NewReader(bytes.NewReader(body), boundary), fuzzLimits)
		if err != nil {
			var ae *apperror.Error
			if !errors.As(err, &ae) || ae.Message == "" || ae.Detail == "" || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		if len(up.Files) == 0 || up.Fields == nil || len(up.Fields) > fuzzLimits.normalized().MaxFields {
			t.Fatalf("bad upload: %d files, %d fields", len(up.Files), len(up.Fields))
		}
		for _, fl := range up.Files {
			checkFile(t, fl)
		}
	})
}
