package textfile

import (
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

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
		{"a\rb\r", 2, "text", ASCII, "CR"},
		{"a\r\nb\n", 2, "text", ASCII, "mixed CRLF and LF"},
		{"a\nb\rc", 3, "text", ASCII, "mixed LF and CR"},
		{"a\r\nb\nc\rd", 4, "text", ASCII, "mixed CRLF, LF and CR"},
		{"café\n", 1, "text", UTF8, "LF"},
		{"caf\xe9\r\n", 1, "text", Windows1252, "CRLF"},
		{"MZ\x00\x01\n", 1, "binary", Binary, ""},
		// a stray NUL or a few control bytes do not make a text file binary
		{":C: A=1\x00\n:C: B=2\n", 2, "text", ASCII, "LF"},
		{"*\x18 arrows \x19\n:SECTION=X\n", 2, "text", ASCII, "LF"},
	}
	for _, c := range cases {
		f := Inspect([]byte(c.src))
		if f.Lines != c.lines || f.Kind != c.kind || f.Encoding != c.encoding || f.LineEnding != c.lineEnding {
			t.Errorf("Inspect(%q) = %+v, want %d %s %s %q", c.src, f, c.lines, c.kind, c.encoding, c.lineEnding)
		}
	}
}

func TestIsBinary(t *testing.T) {
	cases := []struct {
		src  string
		want bool
	}{
		{"", false},
		{":SECTION=A\n:T:<X>\n", false},
		{":SECTION=A\x00\n:T:<X>\n", false},                            // one NUL
		{"\x01\x02" + strings.Repeat("*text\r\n", 10), false},          // a few control bytes
		{"text\f\x1a\t\r\n", false},                                    // form feed, DOS EOF, tab are text
		{"\x00\x00\x00\x01ABC", true},                                  // mostly control bytes
		{strings.Repeat("NAME\x00\x00\x00\x00\x00\x00\x00", 50), true}, // a compiled table
	}
	for _, c := range cases {
		if got := IsBinary([]byte(c.src)); got != c.want {
			t.Errorf("IsBinary(%q) = %v, want %v", c.src, got, c.want)
		}
	}
}

// TestIsBinaryCorpus: every compiled .CTL of the corpus is binary, every
// other corpus file (sources with control bytes in comments included) is
// text.
func TestIsBinaryCorpus(t *testing.T) {
	ctl := 0
	for _, p := range testenv.CorpusPackages(t) {
		for _, f := range p.Files {
			want := strings.HasSuffix(strings.ToUpper(f.Name), ".CTL")
			if want {
				ctl++
			}
			if got := IsBinary(f.Data); got != want {
				t.Errorf("%s/%s: IsBinary = %v, want %v", p.Name, f.Name, got, want)
			}
		}
	}
	if ctl == 0 {
		t.Fatal("the corpus has no .CTL file to check")
	}
}

func TestLineReader(t *testing.T) {
	cases := []struct {
		src  string
		want []string // content|terminator of each line
	}{
		{"", nil},
		{"a", []string{"a|"}},
		{"a\n", []string{"a|\n"}},
		{"a\r\nb", []string{"a|\r\n", "b|"}},
		{"a\rb\r", []string{"a|\r", "b|\r"}},
		{"\r\r\n\n\r", []string{"|\r", "|\r\n", "|\n", "|\r"}},
		{"a\n\rb\r\n", []string{"a|\n", "|\r", "b|\r\n"}},
	}
	for _, c := range cases {
		var got []string
		r := NewLineReader([]byte(c.src))
		for {
			s, e, n, ok := r.Next()
			if !ok {
				break
			}
			got = append(got, c.src[s:e]+"|"+c.src[e:n])
		}
		if strings.Join(got, "§") != strings.Join(c.want, "§") {
			t.Errorf("lines of %q = %q, want %q", c.src, got, c.want)
		}
		if n := CountLines([]byte(c.src)); n != len(c.want) {
			t.Errorf("CountLines(%q) = %d, want %d", c.src, n, len(c.want))
		}
	}
}

// TestLineReaderLong checks Next against a byte-by-byte split on lines
// of every length around the word and search limits, with every
// terminator and stray 0x0A-like bytes (0x8A, 0x0B) in them.
func TestLineReaderLong(t *testing.T) {
	naive := func(src []byte) (lines []string) {
		start := 0
		for i := 0; i < len(src); i++ {
			switch src[i] {
			case '\n':
				lines = append(lines, string(src[start:i])+"|\n")
				start = i + 1
			case '\r':
				if i+1 < len(src) && src[i+1] == '\n' {
					lines = append(lines, string(src[start:i])+"|\r\n")
					i++
				} else {
					lines = append(lines, string(src[start:i])+"|\r")
				}
				start = i + 1
			}
		}
		if start < len(src) {
			lines = append(lines, string(src[start:])+"|")
		}
		return lines
	}
	var src []byte
	for n := 0; n < 150; n++ {
		for _, term := range []string{"\n", "\r\n", "\r", ""} {
			for i := 0; i < n; i++ {
				src = append(src, "ab\x8a\x0bcdefgh"[i%10])
			}
			src = append(src, term...)
		}
	}
	for from := 0; from < 40; from++ {
		b := src[from:]
		var got []string
		r := NewLineReader(b)
		for {
			s, e, n, ok := r.Next()
			if !ok {
				break
			}
			got = append(got, string(b[s:e])+"|"+string(b[e:n]))
		}
		if want := naive(b); !slices.Equal(got, want) {
			t.Fatalf("from %d: %d lines, want %d", from, len(got), len(want))
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
