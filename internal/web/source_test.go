package web

import (
	"fmt"
	"strings"
	"testing"
)

func TestRenderSourceLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   string
		lines int
	}{
		{"empty", "", 1},
		{"one line, no newline", "abc", 1},
		{"one line", "abc\n", 1},
		{"crlf", "a\r\nb\r\n", 2},
		{"blank lines", "\n\n\n", 3},
		{"no final newline", "a\nb", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			html, n := renderSource([]byte(tc.src), false, nil, nil)
			if n != tc.lines {
				t.Errorf("lines = %d, want %d", n, tc.lines)
			}
			if got := strings.Count(string(html), `<div id="L`); got != tc.lines {
				t.Errorf("%d line elements, want %d", got, tc.lines)
			}
			if strings.Contains(string(html), "\r") {
				t.Error("a CR was rendered")
			}
		})
	}
}

func TestRenderSourceSpans(t *testing.T) {
	src := []byte("ab <x>\ncd\nef")
	// A span across the first line end, one inside line 2, one on line 3.
	spans := []span{{class: "comment", off: 3, end: 8}, {class: "name", off: 8, end: 9, sym: "D"}, {class: "number", off: 10, end: 12}}
	html, n := renderSource(src, false, spans, nil)
	got := string(html)
	if n != 3 {
		t.Fatalf("lines = %d", n)
	}
	for _, want := range []string{
		`<div id="L1" data-n="1">ab <span class=cm>&lt;x&gt;</span></div>`,
		`<div id="L2" data-n="2"><span class=cm>c</span><a class=nm href="/symbols/D" tabindex=-1>d</a></div>`,
		`<div id="L3" data-n="3"><span class=nb>ef</span></div>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

func TestRenderSourceChunksAndEncoding(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 450; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	html, n := renderSource([]byte(b.String()), false, nil, nil)
	if n != 450 {
		t.Fatalf("lines = %d", n)
	}
	if c := strings.Count(string(html), `<div class="chunk">`); c != 3 {
		t.Errorf("%d chunks, want 3", c)
	}
	if strings.Count(string(html), "<div") != strings.Count(string(html), "</div>") {
		t.Error("unbalanced divs")
	}
	html, _ = renderSource([]byte("caf\xe9 \x80\x1a\t"), true, nil, nil)
	if !strings.Contains(string(html), "café €") || !strings.Contains(string(html), "␚") || !strings.Contains(string(html), "\t") {
		t.Errorf("windows-1252 / control bytes rendered as %q", html)
	}
}

func TestPageLinks(t *testing.T) {
	link := func(n int) string { return fmt.Sprint(n) }
	if got := pageLinks(1, 1, link); got != nil {
		t.Errorf("one page: %v", got)
	}
	var parts []string
	for _, l := range pageLinks(6, 12, link) {
		switch {
		case l.Gap:
			parts = append(parts, "…")
		case l.Current:
			parts = append(parts, "["+l.URL+"]")
		default:
			parts = append(parts, l.URL)
		}
	}
	if got, want := strings.Join(parts, " "), "1 … 4 5 [6] 7 8 … 12"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}
}
