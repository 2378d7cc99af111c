package upload

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/testenv"
)

// zent describes one entry of a test ZIP.
type zent struct {
	name    string
	data    []byte
	store   bool        // zip.Store instead of zip.Deflate
	mode    fs.FileMode // e.g. fs.ModeSymlink|0o777
	nonUTF8 bool        // write the name bytes as they are, without the UTF-8 flag

	// raw entries: data is written as the compressed bytes, and the
	// header carries exactly these values (lies included).
	raw       bool
	crc       uint32
	usize     uint64
	flags     uint16
	rawMethod uint16
}

// buildZip writes a ZIP holding entries, in order.
func buildZip(t testing.TB, entries ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.raw {
			fh := &zip.FileHeader{Name: e.name, Method: e.rawMethod, CRC32: e.crc,
				CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.usize, Flags: e.flags, NonUTF8: e.nonUTF8}
			w, err := zw.CreateRaw(fh)
			if err != nil {
				t.Fatalf("CreateRaw %q: %v", e.name, err)
			}
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, NonUTF8: e.nonUTF8}
		if e.store || strings.HasSuffix(e.name, "/") {
			fh.Method = zip.Store
		}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatalf("CreateHeader %q: %v", e.name, err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflate compresses data with raw Deflate, as a ZIP entry holds it.
func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// rawDeflated is a raw entry holding data, deflated, with honest headers.
func rawDeflated(t testing.TB, name string, data []byte) zent {
	return zent{name: name, raw: true, rawMethod: zip.Deflate, data: deflate(t, data),
		crc: crc32.ChecksumIEEE(data), usize: uint64(len(data))}
}

// wantErr asserts err is an *apperror.Error with status and code, with a
// message and a detail, and returns it.
func wantErr(t testing.TB, err error, status int, code string) *apperror.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s", status, code)
	}
	var ae *apperror.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %T %v, want *apperror.Error %s", err, err, code)
	}
	if ae.Code != code || ae.Status != status {
		t.Fatalf("got %d %s, want %d %s\n  message: %s\n  detail:  %s", ae.Status, ae.Code, status, code, ae.Message, ae.Detail)
	}
	if ae.Message == "" || ae.Detail == "" {
		t.Fatalf("%s: empty message or detail: %+v", code, ae)
	}
	return ae
}

// names returns the names of files, in order.
func names(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Name
	}
	return out
}

// checkFile asserts f is consistent: size, sha256 and ext.
func checkFile(t testing.TB, f File) {
	t.Helper()
	sum := sha256.Sum256(f.Data)
	if f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: sha256 %s, want %x", f.Name, f.SHA256, sum)
	}
	if f.Size != int64(len(f.Data)) {
		t.Errorf("%s: size %d, want %d", f.Name, f.Size, len(f.Data))
	}
	if want := strings.ToUpper(strings.TrimPrefix(filepath.Ext(f.Name), ".")); f.Ext != want {
		t.Errorf("%s: ext %q, want %q", f.Name, f.Ext, want)
	}
}

// corpusPackages returns package folder → file name → bytes.
func corpusPackages(t testing.TB) (map[string]map[string][]byte, string) {
	t.Helper()
	dir, ok := testenv.LookupCorpus(t)
	if !ok {
		return nil, dir
	}
	pkgs := map[string]map[string][]byte{}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		files := map[string][]byte{}
		fs, err := os.ReadDir(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Type().IsRegular() {
				b, err := os.ReadFile(filepath.Join(dir, de.Name(), f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				files[f.Name()] = b
			}
		}
		if len(files) > 0 {
			pkgs[de.Name()] = files
		}
	}
	return pkgs, dir
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
