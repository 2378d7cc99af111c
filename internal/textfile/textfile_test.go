package textfile

import "testing"

func TestInspect(t *testing.T) {
	cases := []struct {
		src                        string
		lines                      int
		kind, encoding, lineEnding string
	}{
		{"", 0, "text", ASCII, ""},
		{"abc", 1, "text", ASCII, ""},
		{"a\r\nb\r\n", 2, "text", ASCII, "CRLF"},
		{"a\nb", 2, "text", ASCII, "LF"},
		{"a\r\nb\n", 2, "text", ASCII, "mixed CRLF and LF"},
		{"café\n", 1, "text", UTF8, "LF"},
		{"caf\xe9\r\n", 1, "text", Windows1252, "CRLF"},
		{"MZ\x00\x01\n", 1, "binary", Binary, ""},
	}
	for _, c := range cases {
		f := Inspect([]byte(c.src))
		if f.Lines != c.lines || f.Kind != c.kind || f.Encoding != c.encoding || f.LineEnding != c.lineEnding {
			t.Errorf("Inspect(%q) = %+v, want %d %s %s %q", c.src, f, c.lines, c.kind, c.encoding, c.lineEnding)
		}
	}
}

func TestDecode(t *testing.T) {
	cases := []struct{ in, encoding, want string }{
		{"caf\xe9 \x80", Windows1252, "café €"},
		{"café", UTF8, "café"},
		{"bad \xff", UTF8, "bad \uFFFD"},
	}
	for _, c := range cases {
		if got := Decode([]byte(c.in), c.encoding); got != c.want {
			t.Errorf("Decode(%q, %s) = %q, want %q", c.in, c.encoding, got, c.want)
		}
	}
}
