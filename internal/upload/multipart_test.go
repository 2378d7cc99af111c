package upload

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
)

// mpart is one part of a test form.
type mpart struct {
	header textproto.MIMEHeader
	body   []byte
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func filePart(field, filename string, data []byte) mpart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(field), quoteEscaper.Replace(filename)))
	h.Set("Content-Type", "application/octet-stream")
	return mpart{h, data}
}

func fieldPart(name, value string) mpart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, quoteEscaper.Replace(name)))
	return mpart{h, []byte(value)}
}

func rawPart(contentDisposition string, data []byte) mpart {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", contentDisposition)
	return mpart{h, data}
}

const boundary = "veripost-test-boundary-7MA4YWxkTrZu0gW"

// form encodes parts as a multipart/form-data body.
func form(t testing.TB, parts ...mpart) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		pw, err := w.CreatePart(p.header)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.body)
	}
	w.Close()
	return buf.Bytes()
}

func formBody(t testing.TB, parts ...mpart) (io.Reader, string) {
	return bytes.NewReader(form(t, parts...)), boundary
}

func mpReader(t testing.TB, parts ...mpart) *multipart.Reader {
	return multipart.NewReader(formBody(t, parts...))
}

func TestReadMultipartOK(t *testing.T) {
	z := buildZip(t, zent{name: "pkg/post.SRC", data: src}, zent{name: "pkg/sub/post.LIB", data: lib})
	tests := []struct {
		name    string
		parts   []mpart
		want    []string
		fromZip bool
		zipName string
		fields  map[string]string
	}{
		{"one zip and fields", []mpart{fieldPart("name", "Tormach 1100"), filePart("files", "post.zip", z), fieldPart("package_id", "42"), fieldPart("note", "first\r\nupload ✓")},
			[]string{"post.LIB", "post.SRC"}, true, "post.zip", map[string]string{"name": "Tormach 1100", "package_id": "42", "note": "first\r\nupload ✓"}},
		{"zip extension is case-insensitive", []mpart{filePart("files", "POST.Zip", z)}, []string{"post.LIB", "post.SRC"}, true, "POST.Zip", map[string]string{}},
		{"zip with an empty file input and clutter", []mpart{filePart("files", "", nil), filePart("files", "post.zip", z), filePart("files", ".DS_Store", []byte("x"))},
			[]string{"post.LIB", "post.SRC"}, true, "post.zip", map[string]string{}},
		{"loose files", []mpart{filePart("files", "b.LIB", lib), filePart("files", "a.src", src), fieldPart("name", "x")},
			[]string{"a.src", "b.LIB"}, false, "", map[string]string{"name": "x"}},
		{"loose files in any field", []mpart{filePart("file", "a.SRC", src), filePart("upload[]", "b.ctl", []byte{0, 1, 0x1a})},
			[]string{"a.SRC", "b.ctl"}, false, "", map[string]string{}},
		{"browser folder upload: paths flattened, clutter skipped", []mpart{filePart("files", "post/sub/a.SRC", src), filePart("files", "post/.DS_Store", []byte("x")), filePart("files", "post/Thumbs.db", []byte("x"))},
			[]string{"a.SRC"}, false, "", map[string]string{}},
		{"UTF-8 file name", []mpart{filePart("files", "Fräse Ø.SRC", src)}, []string{"Fräse Ø.SRC"}, false, "", map[string]string{}},
		{"RFC 2231 file name", []mpart{rawPart(`form-data; name="files"; filename*=UTF-8''Fr%C3%A4se.SRC`, src)}, []string{"Fräse.SRC"}, false, "", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, err := ReadMultipart(mpReader(t, tt.parts...), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(up.Files); !slices.Equal(got, tt.want) {
				t.Fatalf("names %q, want %q", got, tt.want)
			}
			for _, f := range up.Files {
				checkFile(t, f)
			}
			if up.FromZip != tt.fromZip || up.ZipName != tt.zipName {
				t.Errorf("FromZip %v ZipName %q, want %v %q", up.FromZip, up.ZipName, tt.fromZip, tt.zipName)
			}
			if !maps.Equal(up.Fields, tt.fields) {
				t.Errorf("fields %q, want %q", up.Fields, tt.fields)
			}
		})
	}
}

func TestReadMultipartErrors(t *testing.T) {
	z := buildZip(t, zent{name: "post.SRC", data: src})
	small := Limits{MaxFiles: 2, MaxFileBytes: 1000, MaxTotalBytes: 1500, MaxFields: 2, MaxFieldBytes: 10}
	truncated := form(t, filePart("files", "a.SRC", src))
	truncated = truncated[:len(truncated)-10]
	tests := []struct {
		name   string
		body   []byte
		lim    Limits
		status int
		code   string
		detail string
	}{
		{"zip and loose files", form(t, filePart("files", "p.zip", z), filePart("files", "a.SRC", src)), Limits{}, 400, apperror.CodeBadRequest, `ZIP "p.zip" sent together with "a.SRC"`},
		{"loose files and zip", form(t, filePart("files", "a.SRC", src), filePart("files", "p.zip", z)), Limits{}, 400, apperror.CodeBadRequest, `ZIP "p.zip" sent together with "a.SRC"`},
		{"zip and an unsupported file", form(t, filePart("files", "p.zip", z), filePart("files", "readme.txt", src)), Limits{}, 400, apperror.CodeBadRequest, "together with"},
		{"two zips", form(t, filePart("files", "p.zip", z), filePart("files", "q.zip", z)), Limits{}, 400, apperror.CodeBadRequest, `second ZIP "q.zip"`},
		{"no files", form(t, fieldPart("name", "x")), Limits{}, 400, apperror.CodeNoFiles, "no (non-empty"},
		{"empty body", form(t), Limits{}, 400, apperror.CodeNoFiles, "0 parts"},
		{"only an empty file input", form(t, filePart("files", "", nil)), Limits{}, 400, apperror.CodeNoFiles, "1 parts"},
		{"file without a name", form(t, filePart("files", "", src)), Limits{}, 400, apperror.CodeBadRequest, "empty filename"},
		{"zip that is not a zip", form(t, filePart("files", "post.zip", []byte("%PDF-1.4"))), Limits{}, 400, apperror.CodeNotZip, "no ZIP signature"},
		{"corrupt zip", form(t, filePart("files", "post.zip", z[:len(z)-5])), Limits{}, 422, apperror.CodeCorruptZip, "directory"},
		{"unsupported loose files listed", form(t, filePart("files", "a.SRC", src), filePart("files", "setup.exe", []byte("MZ")), filePart("files", "manual.pdf", nil), filePart("files", "README", nil)),
			Limits{}, 400, apperror.CodeUnsupportedType, `"setup.exe", "manual.pdf", "README"`},
		{"loose without SRC", form(t, filePart("files", "a.LIB", lib)), Limits{}, 422, apperror.CodeNoSource, `"a.LIB"`},
		{"loose duplicates", form(t, filePart("files", "a.SRC", src), filePart("files", "dir/A.src", src)), Limits{}, 422, apperror.CodeDuplicateName, `"a.SRC" and "dir/A.src"`},
		{"loose unsafe name", form(t, filePart("files", "a.SRC", src), filePart("files", "aux.LIB", lib)), Limits{}, 422, apperror.CodeUnsafePath, "device"},
		{"loose too many", form(t, filePart("files", "a.SRC", src), filePart("files", "b.LIB", lib), filePart("files", "c.LIB", lib)), small, 422, apperror.CodeTooManyFiles, "more than 2 files"},
		{"loose file too large", form(t, filePart("files", "a.SRC", text(1001))), small, 413, apperror.CodeFileTooLarge, "larger than 1000"},
		{"loose total too large", form(t, filePart("files", "a.SRC", text(900)), filePart("files", "b.LIB", text(900))), small, 413, apperror.CodeTooLarge, "more than 1500"},
		{"request too large (zip)", form(t, filePart("files", "p.zip", z)), Limits{MaxRequestBytes: 100}, 413, apperror.CodeRequestTooLarge, "exceed 100"},
		{"request too large (loose)", form(t, filePart("files", "a.SRC", text(600)), filePart("files", "b.LIB", text(600))), Limits{MaxRequestBytes: 1000}, 413, apperror.CodeRequestTooLarge, "exceed 1000"},
		{"request too large (fields)", form(t, fieldPart("a", "123456"), fieldPart("b", "123456")), Limits{MaxRequestBytes: 10}, 413, apperror.CodeRequestTooLarge, "exceed 10"},
		{"field too long", form(t, fieldPart("note", "12345678901"), filePart("files", "a.SRC", src)), small, 400, apperror.CodeBadRequest, `"note" is longer than 10`},
		{"too many fields", form(t, fieldPart("a", "1"), fieldPart("b", "2"), fieldPart("c", "3")), small, 400, apperror.CodeBadRequest, "more than 2"},
		{"duplicate field", form(t, fieldPart("name", "1"), fieldPart("name", "2")), Limits{}, 400, apperror.CodeBadRequest, `duplicate field "name"`},
		{"field not UTF-8", form(t, fieldPart("name", "\xff\xfe")), Limits{}, 400, apperror.CodeBadRequest, "invalid UTF-8"},
		{"too many parts", form(t, slices.Repeat([]mpart{filePart("files", ".DS_Store", nil)}, 300)...), Limits{MaxFiles: 1, MaxFields: 1}, 422, apperror.CodeTooManyFiles, "more than 261 parts"},
		{"field name too long", form(t, fieldPart(strings.Repeat("n", 300), "1")), Limits{}, 400, apperror.CodeBadRequest, "300 bytes"},
		{"part without a name", form(t, rawPart("form-data", []byte("x"))), Limits{}, 400, apperror.CodeBadRequest, "neither a file"},
		{"not form-data", form(t, rawPart(`attachment; filename="a.SRC"`, src)), Limits{}, 400, apperror.CodeBadRequest, "not form-data"},
		{"bad Content-Disposition", form(t, rawPart(`form-data; name="files"; filename="a.SRC`, src)), Limits{}, 400, apperror.CodeBadRequest, "Content-Disposition"},
		{"truncated body", truncated, Limits{}, 400, apperror.CodeBadRequest, "EOF"},
		{"garbage body", []byte("this is not multipart at all"), Limits{}, 400, apperror.CodeBadRequest, "multipart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadMultipart(multipart.NewReader(bytes.NewReader(tt.body), boundary), tt.lim)
			ae := wantErr(t, err, tt.status, tt.code)
			if !strings.Contains(ae.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", ae.Detail, tt.detail)
			}
			t.Logf("%s\n  message: %s\n  detail:  %s", ae.Code, ae.Message, ae.Detail)
		})
	}
}

// countingReader counts what is read from an endless stream.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endlessPart is the start of a form whose one file part never ends.
func endlessPart(filename string) io.Reader {
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + filename + "\"\r\n\r\n"
	return io.MultiReader(strings.NewReader(head), textReader{})
}

type textReader struct{}

func (textReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "ABCDEFGH\r\n"[i%10]
	}
	return len(p), nil
}

// Limits are enforced while streaming: an endless body is cut off just
// after the limit, not read to the end.
func TestReadMultipartStreaming(t *testing.T) {
	for _, tt := range []struct {
		name, filename string
		lim            Limits
		code           string
		limit          int64
	}{
		{"zip over the request limit", "p.zip", Limits{MaxRequestBytes: 1 << 20}, apperror.CodeRequestTooLarge, 1 << 20},
		{"loose file over the file limit", "a.SRC", Limits{MaxFileBytes: 100 << 10}, apperror.CodeFileTooLarge, 100 << 10},
		{"loose file over the total limit", "a.SRC", Limits{MaxFileBytes: 1 << 20, MaxTotalBytes: 512 << 10}, apperror.CodeTooLarge, 512 << 10},
		{"unsupported file over the request limit", "a.iso", Limits{MaxRequestBytes: 1 << 20}, apperror.CodeRequestTooLarge, 1 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: endlessPart(tt.filename)}
			_, err := ReadMultipart(multipart.NewReader(cr, boundary), tt.lim)
			ae, _ := apperror.As(err)
			if ae == nil || ae.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			if cr.n > tt.limit+64<<10 {
				t.Errorf("read %d bytes for a limit of %d", cr.n, tt.limit)
			}
		})
	}

	// The HTTP handler's http.MaxBytesReader error becomes REQUEST_TOO_LARGE.
	body := http.MaxBytesReader(nil, io.NopCloser(endlessPart("p.zip")), 4096)
	_, err := ReadMultipart(multipart.NewReader(body, boundary), Limits{})
	ae := wantErr(t, err, 413, apperror.CodeRequestTooLarge)
	if !strings.Contains(ae.Detail, "4096") {
		t.Errorf("detail %q", ae.Detail)
	}
	// Also when the limit hits between parts.
	z := buildZip(t, zent{name: "post.SRC", data: src})
	full := form(t, filePart("files", "p.zip", z), fieldPart("note", strings.Repeat("x", 5000)))
	body = http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(full)), int64(len(full)-100))
	_, err = ReadMultipart(multipart.NewReader(body, boundary), Limits{})
	wantErr(t, err, 413, apperror.CodeRequestTooLarge)
}

// ReadZipMultipart takes one .zip and refuses any other file by its name,
// before reading it (an endless part is not read to the end).
func TestReadZipMultipart(t *testing.T) {
	z := buildZip(t, zent{name: "pkg/post.SRC", data: src}, zent{name: "pkg/post.LIB", data: lib})
	up, err := ReadZipMultipart(mpReader(t, filePart("file", "Post.ZIP", z), filePart("file", ".DS_Store", []byte("x")), fieldPart("name", "n")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(up.Files); !up.FromZip || up.ZipName != "Post.ZIP" || !slices.Equal(got, []string{"post.LIB", "post.SRC"}) || up.Fields["name"] != "n" {
		t.Fatalf("got %q from zip %v %q, fields %q", got, up.FromZip, up.ZipName, up.Fields)
	}
	tests := []struct {
		name   string
		body   io.Reader
		status int
		code   string
		detail string
	}{
		{"a loose source", bytes.NewReader(form(t, filePart("file", "post.SRC", src))), 400, apperror.CodeInvalidFileType, `"post.SRC" does not end in .zip`},
		{"a zip and then a loose file", bytes.NewReader(form(t, filePart("file", "p.zip", z), filePart("file", "a.LIB", lib))), 400, apperror.CodeInvalidFileType, `"a.LIB"`},
		{"an unsafe name", bytes.NewReader(form(t, filePart("file", "con.zip\u202e", z))), 400, apperror.CodeInvalidFileType, "invisible"},
		{"an endless non-zip", endlessPart("post.SRC"), 400, apperror.CodeInvalidFileType, "post.SRC"},
		{"a zip that is not one", bytes.NewReader(form(t, filePart("file", "p.zip", []byte("PK no")))), 400, apperror.CodeNotZip, "signature"},
		{"nothing", bytes.NewReader(form(t, fieldPart("name", "x"))), 400, apperror.CodeNoFiles, "no (non-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: tt.body}
			_, err := ReadZipMultipart(multipart.NewReader(cr, boundary), Limits{})
			ae := wantErr(t, err, tt.status, tt.code)
			if !strings.Contains(ae.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", ae.Detail, tt.detail)
			}
			if cr.n > 1<<20 {
				t.Errorf("read %d bytes before refusing", cr.n)
			}
		})
	}
}
