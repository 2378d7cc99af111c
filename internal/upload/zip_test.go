package upload

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
)

var (
	src = []byte("; post main source\r\nLINE 1\r\n")
	lib = []byte("; library\nSOMETHING\n")
)

// text returns n bytes of varied, text-like data that compresses like a post file.
func text(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "N%d G01 X%d.%03d Y%d ; line %d\r\n", i*10, i*7%997, i*13%1000, i*31%503, i)
	}
	return b.Bytes()[:n]
}

// patchCentral applies fn to the i-th central-directory header of z.
func patchCentral(t *testing.T, z []byte, i int, fn func(h []byte)) []byte {
	t.Helper()
	z = bytes.Clone(z)
	off := 0
	for n := 0; ; n++ {
		k := bytes.Index(z[off:], centralDirSig)
		if k < 0 {
			t.Fatalf("central header %d not found", i)
		}
		off += k
		if n == i {
			fn(z[off:])
			return z
		}
		off += 4
	}
}

func TestReadZipOK(t *testing.T) {
	tests := []struct {
		name    string
		zip     []byte
		want    []string // file names, sorted
		wantExt []string
	}{
		{"flat", buildZip(t, zent{name: "post.SRC", data: src}, zent{name: "post.LIB", data: lib}),
			[]string{"post.LIB", "post.SRC"}, []string{"LIB", "SRC"}},
		{"extensions are case-insensitive", buildZip(t,
			zent{name: "a.src", data: src}, zent{name: "b.Lib", data: lib}, zent{name: "c.kin", data: lib},
			zent{name: "d.pinf", data: lib}, zent{name: "e.Cnf", data: lib}, zent{name: "f.lng", data: lib},
			zent{name: "g.atr", data: lib}, zent{name: "h.ctl", data: []byte{0, 1, 2, 0x1a}}),
			[]string{"a.src", "b.Lib", "c.kin", "d.pinf", "e.Cnf", "f.lng", "g.atr", "h.ctl"},
			[]string{"SRC", "LIB", "KIN", "PINF", "CNF", "LNG", "ATR", "CTL"}},
		{"nested folders are flattened, folders and clutter skipped", buildZip(t,
			zent{name: "pkg/"}, zent{name: "pkg/sub/"},
			zent{name: "pkg/post.SRC", data: src}, zent{name: "pkg/sub/deep/x.LIB", data: lib},
			zent{name: "__MACOSX/pkg/._post.SRC", data: []byte("\x00\x05\x16\x07junk")},
			zent{name: "__MACOSX/"},
			zent{name: "pkg/.DS_Store", data: []byte("junk")}, zent{name: "pkg/Thumbs.db", data: []byte("junk")},
			zent{name: "desktop.ini", data: []byte("junk")}, zent{name: "pkg/Icon\r", data: nil},
			zent{name: "pkg/._x.LIB", data: []byte("appledouble")},
			zent{name: "win\\dir\\", data: nil}),
			[]string{"post.SRC", "x.LIB"}, []string{"SRC", "LIB"}},
		{"backslash paths are flattened", buildZip(t, zent{name: `pkg\sub\post.SRC`, data: src}),
			[]string{"post.SRC"}, []string{"SRC"}},
		{"zip-slip is flattened (never used as a path)", buildZip(t, zent{name: "../../x.SRC", data: src}, zent{name: `..\..\y.LIB`, data: lib}),
			[]string{"x.SRC", "y.LIB"}, []string{"SRC", "LIB"}},
		{"absolute paths are flattened", buildZip(t, zent{name: "/etc/x.SRC", data: src}, zent{name: `C:\Posts\y.LIB`, data: lib}),
			[]string{"x.SRC", "y.LIB"}, []string{"SRC", "LIB"}},
		{"stored entries", buildZip(t, zent{name: "post.SRC", data: src, store: true}),
			[]string{"post.SRC"}, []string{"SRC"}},
		{"empty file", buildZip(t, zent{name: "post.SRC", data: src}, zent{name: "empty.LIB"}),
			[]string{"empty.LIB", "post.SRC"}, []string{"LIB", "SRC"}},
		{"names with spaces and UTF-8", buildZip(t, zent{name: "Tormach PCNC1100 Series 3.SRC", data: src}, zent{name: "Fräse Ø.LIB", data: lib}),
			[]string{"Fräse Ø.LIB", "Tormach PCNC1100 Series 3.SRC"}, []string{"LIB", "SRC"}},
		{"non-UTF-8 names are code page 437", buildZip(t, zent{name: "Fr\x84se.SRC", data: src, nonUTF8: true}),
			[]string{"Fräse.SRC"}, []string{"SRC"}},
		{"sorted ignoring case", buildZip(t, zent{name: "b.LIB", data: lib}, zent{name: "A.SRC", data: src}, zent{name: "C.lib", data: lib}),
			[]string{"A.SRC", "b.LIB", "C.lib"}, []string{"SRC", "LIB", "LIB"}},
		{"highly compressible but small entry is fine", buildZip(t, zent{name: "post.SRC", data: src}, zent{name: "blank.LIB", data: make([]byte, RatioGraceBytes)}),
			[]string{"blank.LIB", "post.SRC"}, []string{"LIB", "SRC"}},
		{"data-descriptor-free raw entry", buildZip(t, rawDeflated(t, "post.SRC", src)),
			[]string{"post.SRC"}, []string{"SRC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := ReadZip(tt.zip, DefaultLimits())
			if err != nil {
				t.Fatalf("ReadZip: %v", err)
			}
			if got := names(files); !slices.Equal(got, tt.want) {
				t.Fatalf("names %q, want %q", got, tt.want)
			}
			for i, f := range files {
				checkFile(t, f)
				if f.Ext != tt.wantExt[i] {
					t.Errorf("%s: ext %s, want %s", f.Name, f.Ext, tt.wantExt[i])
				}
			}
		})
	}
}

func TestReadZipContent(t *testing.T) {
	files, err := ReadZip(buildZip(t, zent{name: "d/post.SRC", data: src}, zent{name: "post.LIB", data: lib, store: true}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[0].Data, lib) || !bytes.Equal(files[1].Data, src) {
		t.Fatalf("content changed: %q %q", files[0].Data, files[1].Data)
	}
	for _, f := range files {
		checkFile(t, f)
	}
}

func TestReadZipErrors(t *testing.T) {
	okSRC := zent{name: "post.SRC", data: src}
	small := Limits{MaxFiles: 3, MaxFileBytes: 1000, MaxTotalBytes: 2500}
	good := buildZip(t, okSRC, zent{name: "post.LIB", data: lib})

	badCRC := buildZip(t, zent{name: "post.SRC", data: []byte("hello, stored world"), store: true})
	badCRC = bytes.Replace(badCRC, []byte("hello, stored world"), []byte("hello, stored World"), 1)

	twoEntries := buildZip(t, zent{name: "a.SRC", data: src, store: true}, zent{name: "b.LIB", data: src, store: true})
	overlapping := patchCentral(t, twoEntries, 1, func(h []byte) { binary.LittleEndian.PutUint32(h[42:], 0) })
	pastEnd := patchCentral(t, good, 0, func(h []byte) { binary.LittleEndian.PutUint32(h[20:], 1<<30) })
	badLocal := patchCentral(t, good, 1, func(h []byte) { binary.LittleEndian.PutUint32(h[42:], 3) })

	manyEntries := make([]zent, 0, 300)
	for i := range 300 {
		manyEntries = append(manyEntries, zent{name: fmt.Sprintf("d%d/", i)})
	}

	tests := []struct {
		name   string
		zip    []byte
		lim    Limits
		status int
		code   string
		detail []string // substrings the detail must contain
	}{
		{"not a zip", []byte("this is plain text, not a zip"), Limits{}, 400, apperror.CodeNotZip, []string{"no ZIP signature"}},
		{"empty bytes", nil, Limits{}, 400, apperror.CodeNotZip, nil},
		{"pdf renamed to zip", []byte("%PDF-1.7\n..."), Limits{}, 400, apperror.CodeNotZip, []string{"25 50 44 46"}},
		{"zip larger than the request limit", good, Limits{MaxRequestBytes: 100}, 413, apperror.CodeRequestTooLarge, []string{"limit 100"}},

		{"truncated", good[:len(good)/2], Limits{}, 422, apperror.CodeCorruptZip, []string{"directory"}},
		{"garbage after signature", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0xff}, 200)...), Limits{}, 422, apperror.CodeCorruptZip, nil},
		{"bad CRC", badCRC, Limits{}, 422, apperror.CodeCorruptZip, []string{"CRC-32"}},
		{"broken deflate stream", buildZip(t, zent{name: "post.SRC", raw: true, rawMethod: zip.Deflate, data: []byte{0xff, 0xff, 0xff, 0xff}, crc: 1, usize: 10}),
			Limits{}, 422, apperror.CodeCorruptZip, []string{"damaged"}},
		{"declared size smaller than data", buildZip(t, zent{name: "post.SRC", raw: true, rawMethod: zip.Deflate, data: deflate(t, src), crc: crc32.ChecksumIEEE(src), usize: 5}),
			Limits{}, 422, apperror.CodeCorruptZip, []string{"more data than the 5 bytes"}},
		{"declared size larger than data", buildZip(t, zent{name: "post.SRC", raw: true, rawMethod: zip.Deflate, data: deflate(t, src), crc: crc32.ChecksumIEEE(src), usize: 500}),
			Limits{}, 422, apperror.CodeCorruptZip, []string{"before the 500 bytes"}},
		{"encrypted entry", buildZip(t, zent{name: "post.SRC", raw: true, rawMethod: zip.Deflate, data: deflate(t, src), crc: crc32.ChecksumIEEE(src), usize: uint64(len(src)), flags: 1}),
			Limits{}, 422, apperror.CodeCorruptZip, []string{"encrypted"}},
		{"unsupported method (LZMA)", buildZip(t, zent{name: "post.SRC", raw: true, rawMethod: 14, data: []byte("xx"), crc: 1, usize: 10}),
			Limits{}, 422, apperror.CodeCorruptZip, []string{"method 14"}},
		{"data past end of archive", pastEnd, Limits{}, 422, apperror.CodeCorruptZip, []string{"past the end"}},
		{"bad local header offset", badLocal, Limits{}, 422, apperror.CodeCorruptZip, []string{"local header"}},

		{"empty zip", buildZip(t), Limits{}, 422, apperror.CodeEmptyPackage, []string{"0 entries"}},
		{"only folders and clutter", buildZip(t, zent{name: "pkg/"}, zent{name: "__MACOSX/._post.SRC", data: src}, zent{name: "pkg/.DS_Store", data: lib}, zent{name: "Thumbs.db", data: lib}),
			Limits{}, 422, apperror.CodeEmptyPackage, []string{"4 entries"}},

		{"no SRC", buildZip(t, zent{name: "pkg/a.LIB", data: lib}, zent{name: "a.LNG", data: lib}), Limits{}, 422, apperror.CodeNoSource, []string{`"a.LIB"`, `"a.LNG"`}},
		{"unknown extensions, all listed", buildZip(t, okSRC, zent{name: "docs/readme.txt", data: lib}, zent{name: "tool.exe", data: lib}, zent{name: "Makefile", data: lib}, zent{name: "inner.zip", data: good}),
			Limits{}, 422, apperror.CodeUnknownExtensions, []string{`"docs/readme.txt"`, `"tool.exe"`, `"Makefile"`, `"inner.zip"`}},
		{"duplicate names ignoring case and folders", buildZip(t, zent{name: "a/Post.SRC", data: src}, zent{name: "b/post.src", data: src}),
			Limits{}, 422, apperror.CodeDuplicateName, []string{`"a/Post.SRC" and "b/post.src"`}},
		{"duplicate identical paths", buildZip(t, okSRC, okSRC), Limits{}, 422, apperror.CodeDuplicateName, []string{`"post.SRC" and "post.SRC"`}},

		{"symlink", buildZip(t, okSRC, zent{name: "link.LIB", data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}),
			Limits{}, 422, apperror.CodeUnsafePath, []string{`"link.LIB" is a symbolic link`}},
		{"named pipe", buildZip(t, okSRC, zent{name: "fifo.LIB", mode: fs.ModeNamedPipe | 0o644}),
			Limits{}, 422, apperror.CodeUnsafePath, []string{"named pipe"}},
		{"NUL in name", buildZip(t, okSRC, zent{name: "x\x00.LIB", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"U+0000"}},
		{"control char in a folder name", buildZip(t, okSRC, zent{name: "a\x1b[31m/x.LIB", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"U+001B"}},
		{"right-to-left override", buildZip(t, okSRC, zent{name: "x\u202eBIL.exe", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"U+202E"}},
		{"base name ..", buildZip(t, okSRC, zent{name: "a/..", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{`is ".."`}},
		{"base name .", buildZip(t, okSRC, zent{name: `a\.`, data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{`is "."`}},
		{"empty name", buildZip(t, okSRC, zent{name: "", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"empty"}},
		{"Windows device name", buildZip(t, okSRC, zent{name: "pkg/con.LIB", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"device"}},
		{"Windows-reserved character", buildZip(t, okSRC, zent{name: "C:x.LIB", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"not allowed on Windows"}},
		{"trailing dot", buildZip(t, okSRC, zent{name: "x.LIB.", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"ends with a dot"}},
		{"name too long", buildZip(t, okSRC, zent{name: strings.Repeat("a", 300) + ".LIB", data: lib}), Limits{}, 422, apperror.CodeUnsafePath, []string{"304 bytes"}},

		{"too many files", buildZip(t, okSRC, zent{name: "a.LIB", data: lib}, zent{name: "b.LIB", data: lib}, zent{name: "c.LIB", data: lib}),
			small, 422, apperror.CodeTooManyFiles, []string{"4 files in the ZIP, limit 3"}},
		{"too many raw entries (folders count before parsing)", buildZip(t, append(manyEntries, okSRC)...),
			Limits{MaxFiles: 1}, 422, apperror.CodeTooManyFiles, []string{"up to 301 entries", "limit 260"}},
		{"file too large (declared)", buildZip(t, okSRC, zent{name: "big.LIB", data: text(1001)}), small, 413, apperror.CodeFileTooLarge, []string{"declares 1001 bytes", "limit 1000"}},
		{"package too large (declared)", buildZip(t, okSRC, zent{name: "a.LIB", data: text(900)}, zent{name: "b.LIB", data: text(900)}, zent{name: "c.LIB", data: text(900)}),
			Limits{MaxFileBytes: 1000, MaxTotalBytes: 2500}, 413, apperror.CodeTooLarge, []string{"limit 2500"}},
		{"compression ratio over the limit", buildZip(t, okSRC, zent{name: "zeros.LIB", data: make([]byte, 2<<20)}), Limits{}, 422, apperror.CodeZipBomb, []string{"zeros.LIB", "limit 100:1"}},
		{"lower ratio limit", buildZip(t, okSRC, zent{name: "t.LIB", data: text(3 << 20)}), Limits{MaxCompressionRatio: 2}, 422, apperror.CodeZipBomb, []string{"t.LIB"}},
		{"overlapping entries", overlapping, Limits{}, 422, apperror.CodeZipBomb, []string{"share compressed data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadZip(tt.zip, tt.lim)
			ae := wantErr(t, err, tt.status, tt.code)
			for _, s := range tt.detail {
				if !strings.Contains(ae.Detail, s) {
					t.Errorf("detail %q does not contain %q", ae.Detail, s)
				}
			}
			t.Logf("%s\n  message: %s\n  detail:  %s", ae.Code, ae.Message, ae.Detail)
		})
	}
}

// The limits are enforced while decompressing, whatever the headers say.
func TestReadCapped(t *testing.T) {
	infinite := io.MultiReader(bytes.NewReader(nil), zeroReader{})
	b, over, err := readCapped(infinite, 1000, 1<<30)
	if err != nil || !over || len(b) != 1001 {
		t.Fatalf("got %d bytes, over=%v, err=%v; want 1001, true, nil", len(b), over, err)
	}
	if cap(b) > 4096 {
		t.Errorf("hint beyond the limit was trusted: cap %d", cap(b))
	}
	b, over, err = readCapped(strings.NewReader("12345"), 5, 5)
	if err != nil || over || string(b) != "12345" || cap(b) != 6 {
		t.Fatalf("exact: %q over=%v err=%v cap=%d", b, over, err, cap(b))
	}
	_, _, err = readCapped(io.MultiReader(strings.NewReader("12"), errReader{}), 5, 0)
	if err == nil {
		t.Fatal("read error lost")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestReadLoose(t *testing.T) {
	tests := []struct {
		name, in, wantName, wantExt string
		status                      int
		code                        string
	}{
		{"upper", "post.SRC", "post.SRC", "SRC", 0, ""},
		{"lower", "post.src", "post.src", "SRC", 0, ""},
		{"mixed", "Post.Pinf", "Post.Pinf", "PINF", 0, ""},
		{"path is flattened", `C:\Users\me\post.ctl`, "post.ctl", "CTL", 0, ""},
		{"exe", "setup.exe", "", "", 400, apperror.CodeUnsupportedType},
		{"pdf", "manual.PDF", "", "", 400, apperror.CodeUnsupportedType},
		{"no extension", "README", "", "", 400, apperror.CodeUnsupportedType},
		{"zip is not a loose file", "post.zip", "", "", 400, apperror.CodeUnsupportedType},
		{"control character", "po\tst.SRC", "", "", 422, apperror.CodeUnsafePath},
		{"dot dot", "../..", "", "", 422, apperror.CodeUnsafePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadLoose(tt.in, src)
			if tt.code != "" {
				wantErr(t, err, tt.status, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Name != tt.wantName || f.Ext != tt.wantExt || !bytes.Equal(f.Data, src) {
				t.Fatalf("got %q %q", f.Name, f.Ext)
			}
			checkFile(t, f)
		})
	}
}

func TestReadLooseFiles(t *testing.T) {
	n := func(name string, data []byte) Named { return Named{Name: name, Data: data} }
	small := Limits{MaxFiles: 2, MaxFileBytes: 100, MaxTotalBytes: 150}
	tests := []struct {
		name   string
		in     []Named
		lim    Limits
		want   []string
		status int
		code   string
		detail string
	}{
		{"ok, sorted, clutter skipped", []Named{n("z.LIB", lib), n("dir/A.src", src), n("dir/.DS_Store", nil), n("__MACOSX/._A.src", nil)}, Limits{}, []string{"A.src", "z.LIB"}, 0, "", ""},
		{"unsupported listed", []Named{n("a.SRC", src), n("b.exe", nil), n("c.pdf", nil), n("noext", nil)}, Limits{}, nil, 400, apperror.CodeUnsupportedType, `"b.exe", "c.pdf", "noext"`},
		{"unsafe", []Named{n("a.SRC", src), n("nul.LIB", nil)}, Limits{}, nil, 422, apperror.CodeUnsafePath, "device"},
		{"no SRC", []Named{n("a.LIB", lib)}, Limits{}, nil, 422, apperror.CodeNoSource, `"a.LIB"`},
		{"duplicate", []Named{n("a.SRC", src), n("x/A.src", src)}, Limits{}, nil, 422, apperror.CodeDuplicateName, `"a.SRC" and "x/A.src"`},
		{"nothing", []Named{n(".DS_Store", nil)}, Limits{}, nil, 400, apperror.CodeNoFiles, "skipped"},
		{"too many", []Named{n("a.SRC", src), n("b.LIB", lib), n("c.LIB", lib)}, small, nil, 422, apperror.CodeTooManyFiles, "3 files uploaded, limit 2"},
		{"file too large", []Named{n("a.SRC", text(101))}, small, nil, 413, apperror.CodeFileTooLarge, "101 bytes"},
		{"total too large", []Named{n("a.SRC", text(80)), n("b.LIB", text(80))}, small, nil, 413, apperror.CodeTooLarge, "limit 150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := ReadLooseFiles(tt.in, tt.lim)
			if tt.code != "" {
				ae := wantErr(t, err, tt.status, tt.code)
				if !strings.Contains(ae.Detail, tt.detail) {
					t.Errorf("detail %q does not contain %q", ae.Detail, tt.detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(files); !slices.Equal(got, tt.want) {
				t.Fatalf("names %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	d := DefaultLimits()
	if d.MaxRequestBytes != 64<<20 || d.MaxFiles != 500 || d.MaxFileBytes != 32<<20 || d.MaxTotalBytes != 256<<20 || d.MaxCompressionRatio != 100 {
		t.Fatalf("defaults changed: %+v", d)
	}
	if got := (Limits{}).normalized(); got != d {
		t.Fatalf("zero limits normalize to %+v", got)
	}
}
