package corpusgen

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upload"
)

// TestLoadMatchesTestenv: Load reads the shared corpus exactly as the test
// helper every other package uses does.
func TestLoadMatchesTestenv(t *testing.T) {
	got := realCorpus(t)
	want := testenv.CorpusPackages(t)
	if len(got) != len(want) {
		t.Fatalf("%d packages, testenv has %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || len(g.Files) != len(w.Files) {
			t.Fatalf("package %d: %s with %d files, testenv %s with %d", i, g.Name, len(g.Files), w.Name, len(w.Files))
		}
		for j, wf := range w.Files {
			if g.Files[j].Name != wf.Name || !bytes.Equal(g.Files[j].Data, wf.Data) {
				t.Errorf("%s: file %d is %s, testenv %s (or the bytes differ)", g.Name, j, g.Files[j].Name, wf.Name)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	write := func(t *testing.T, root string, files map[string]string) {
		for name, data := range files {
			p := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    map[string][]string // package → file names
		wantErr string
	}{
		{
			name: "flattened and sorted",
			files: map[string]string{
				"b/B.SRC": "x", "b/deep/er/MILL.LIB": "y", "b/README.md": "skip", "a/A.SRC": "z", "loose.txt": "not a package",
			},
			want: map[string][]string{"a": {"A.SRC"}, "b": {"B.SRC", "MILL.LIB"}},
		},
		{
			name:    "same name twice",
			files:   map[string]string{"p/X.SRC": "1", "p/sub/x.src": "2"},
			wantErr: "two files named",
		},
		{
			name:    "no packages",
			files:   map[string]string{"only.txt": "x"},
			wantErr: "no package folders",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tc.files)
			pkgs, err := Load(root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, p := range pkgs {
				for _, f := range p.Files {
					got[p.Name] = append(got[p.Name], f.Name)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if strings.Join(got[k], ",") != strings.Join(v, ",") {
					t.Errorf("package %s: %v, want %v", k, got[k], v)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing directory did not fail")
	}
}

// TestWriteZipIsAcceptedByUpload: a generated package written as a ZIP
// reads back the same through the upload rules VeriPost applies.
func TestWriteZipIsAcceptedByUpload(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			g := New(load(t), 9)
			for range 10 {
				p := g.Next()
				var a, b bytes.Buffer
				if err := p.WriteZip(&a); err != nil {
					t.Fatal(err)
				}
				if err := p.WriteZip(&b); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("%s: two ZIPs of the same package differ", p.Name)
				}
				files, err := upload.ReadZip(a.Bytes(), upload.DefaultLimits())
				if err != nil {
					t.Fatalf("%s: upload refuses the ZIP: %v", p.Name, err)
				}
				if len(files) != len(p.Files) {
					t.Fatalf("%s: upload read %d files of %d", p.Name, len(files), len(p.Files))
				}
				for _, f := range files {
					if pf := p.File(f.Name); pf == nil || !bytes.Equal(pf.Data, f.Data) {
						t.Fatalf("%s: %s differs after the round trip", p.Name, f.Name)
					}
				}
				zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
				if err != nil {
					t.Fatal(err)
				}
				for _, zf := range zr.File {
					rc, _ := zf.Open()
					data, _ := io.ReadAll(rc)
					rc.Close()
					if !bytes.Equal(data, p.File(zf.Name).Data) {
						t.Fatalf("%s: %s differs in the ZIP", p.Name, zf.Name)
					}
				}
			}
		})
	}
}
