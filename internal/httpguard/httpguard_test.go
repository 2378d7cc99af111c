package httpguard

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/apperror"
)

func TestCheckRange(t *testing.T) {
	many := "bytes=" + strings.Repeat("0-0,", 1999) + "0-0"
	spread := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = strconv.Itoa(i*200) + "-" + strconv.Itoa(i*200)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	cases := []struct {
		name, in string
		size     int64
		out      string
		d        RangeDecision
	}{
		{"none", "", 100, "", RangeServe},
		{"other unit", "items=1-2", 100, "items=1-2", RangeServe},
		{"one range untouched", "bytes=10-19", 100, "bytes=10-19", RangeServe},
		{"open end", "bytes=90-", 100, "bytes=90-99", RangeServe},
		{"end past size clamps", "bytes=90-500", 100, "bytes=90-99", RangeServe},
		{"suffix", "bytes=-10", 100, "bytes=90-99", RangeServe},
		{"suffix longer than file", "bytes=-500", 100, "bytes=0-99", RangeServe},
		{"empty suffix is unsatisfiable", "bytes=-0", 100, "bytes=-0", RangeUnsatisfiable},
		{"start past the end", "bytes=100-", 100, "bytes=100-", RangeUnsatisfiable},
		{"empty file", "bytes=0-0", 0, "bytes=0-0", RangeUnsatisfiable},
		{"unsatisfiable parts dropped", "bytes=-0,5-9,200-300", 100, "bytes=5-9", RangeServe},
		{"overlaps merged", "bytes=0-10,5-20,15-30", 1000, "bytes=0-30", RangeServe},
		{"near ranges merged", "bytes=0-0,50-50", 1000, "bytes=0-50", RangeServe},
		{"far ranges kept apart and sorted", "bytes=500-510,0-9", 1000, "bytes=0-9,500-510", RangeServe},
		{"2000 tiny identical ranges become one", many, 15000, "bytes=0-0", RangeServe},
		{"too many distinct ranges: whole file", spread(MaxRanges + 1), 100000, "", RangeServe},
		{"as many as allowed", spread(MaxRanges), 100000, spread(MaxRanges), RangeServe},
		{"syntax error left to the standard library", "bytes=abc", 100, "bytes=abc", RangeServe},
		{"reversed left to the standard library", "bytes=9-5", 100, "bytes=9-5", RangeServe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, d := CheckRange(c.in, c.size)
			if out != c.out || d != c.d {
				t.Fatalf("CheckRange(%.60q, %d) = %.60q, %v; want %.60q, %v", c.in, c.size, out, d, c.out, c.d)
			}
		})
	}
}

func TestJSONHasNUL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{`{"a":"b"}`, false},
		{`{"a":"a\u0000b"}`, true},
		{`{"a\u0000":1}`, true},
		{`{"a":"\\u0000"}`, false}, // an escaped backslash, then the text u0000
		{`{"a":"\\\u0000"}`, true},
		{`{"a":"\u00001"}`, true},
		{`{"a":"\u0001"}`, false},
		{"{\"a\":\"\x00\"}", true},
		{`{"a":"x\"\u0000"}`, true},
	} {
		if got := JSONHasNUL([]byte(c.in)); got != c.want {
			t.Errorf("JSONHasNUL(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRejectNUL(t *testing.T) {
	var written error
	h := RejectNUL(func(w http.ResponseWriter, err error) {
		written = err
		w.WriteHeader(apperror.From(err).Status)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, c := range []struct {
		target string
		status int
	}{
		{"/api/v1/symbols/%00", 400},
		{"/api/v1/symbols/a%00b", 400},
		{"/api/v1/packages?q=%00", 400},
		{"/api/v1/packages?%00=x", 400},
		{"/api/v1/packages?q=%2500", 200}, // the text "%00"
		{"/api/v1/packages?q=ok", 200},
	} {
		written = nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.target, nil))
		if rec.Code != c.status || (c.status == 400) != (written != nil) {
			t.Errorf("%s: %d (%v), want %d", c.target, rec.Code, written, c.status)
		}
	}
}

func TestCanonicalIDs(t *testing.T) {
	const id = "0b3e8c52-7f1d-4c2a-9e6b-5d4f3a2b1c0e"
	upper := strings.ToUpper(id)
	cases := []struct{ name, path, raw, want, wantRaw string }{
		{"lower case stays", "/api/v1/packages/" + id, "", "/api/v1/packages/" + id, ""},
		{"upper case id", "/api/v1/packages/" + upper + "/status", "", "/api/v1/packages/" + id + "/status", ""},
		{"mixed case, page", "/packages/" + id[:9] + strings.ToUpper(id[9:]), "", "/packages/" + id, ""},
		{"raw path too", "/api/v1/packages/" + upper + "/files/A/B.SRC", "/api/v1/packages/" + upper + "/files/A%2FB.SRC",
			"/api/v1/packages/" + id + "/files/A/B.SRC", "/api/v1/packages/" + id + "/files/A%2FB.SRC"},
		{"names are not ids", "/api/v1/symbols/SPINDLE_DIR", "", "/api/v1/symbols/SPINDLE_DIR", ""},
		{"a hex hash is not an id", "/api/v1/libraries/ABCDEF0123456789ABCDEF0123456789", "", "/api/v1/libraries/ABCDEF0123456789ABCDEF0123456789", ""},
		{"wrong dash places", "/x/0B3E8C527-F1D-4C2A-9E6B-5D4F3A2B1C0E", "", "/x/0B3E8C527-F1D-4C2A-9E6B-5D4F3A2B1C0E", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotPath, gotRaw string
			h := CanonicalIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath, gotRaw = r.URL.Path, r.URL.RawPath
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path, r.URL.RawPath = c.path, c.raw
			h.ServeHTTP(httptest.NewRecorder(), r)
			if gotPath != c.want || gotRaw != c.wantRaw {
				t.Errorf("path %q raw %q → %q %q, want %q %q", c.path, c.raw, gotPath, gotRaw, c.want, c.wantRaw)
			}
		})
	}
}
