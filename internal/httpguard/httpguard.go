// Package httpguard protects VeriPost's HTTP edge from hostile or broken
// clients: NUL characters in addresses and JSON (PostgreSQL cannot store
// them and SQLite would keep them), request bodies that stop arriving,
// content sniffing, and Range headers that ask for nothing or for the same
// bytes thousands of times. It is used by the server's middleware chain
// and by the API's download handlers.
package httpguard

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/veripost/veripost/internal/apperror"
)

// ErrorWriter writes an error in the API's {message, detail, code} shape.
type ErrorWriter func(w http.ResponseWriter, err error)

// ErrNUL is the 400 for a NUL character in a request.
func ErrNUL(where string) error {
	return apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
		"The request contains a NUL character (code 0), which VeriPost does not accept in names, parameters or text. Remove it and try again.",
		"NUL character in "+where)
}

// RejectNUL answers 400 to a request whose path or query holds a NUL
// character (sent as %00), before any handler or database sees it.
func RejectNUL(write ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.IndexByte(r.URL.Path, 0) >= 0 {
				write(w, ErrNUL("the address"))
				return
			}
			// A NUL can only arrive in a query as %00 (or raw).
			if raw := r.URL.RawQuery; strings.Contains(raw, "%00") || strings.IndexByte(raw, 0) >= 0 {
				if q, _ := url.ParseQuery(raw); queryHasNUL(q) {
					write(w, ErrNUL("the query parameters"))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func queryHasNUL(q url.Values) bool {
	for k, vs := range q {
		if strings.IndexByte(k, 0) >= 0 {
			return true
		}
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				return true
			}
		}
	}
	return false
}

// JSONHasNUL reports whether a JSON document holds a NUL character in a
// string: the escape \u0000 (not itself escaped) or a raw zero byte.
func JSONHasNUL(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if i+1 < len(data) && data[i+1] == 'u' && i+5 < len(data) && string(data[i+2:i+6]) == "0000" {
			return true
		}
		i++ // skip the escaped character (a backslash escapes the next one)
	}
	return false
}

// ErrBodyStalled is returned by a request body that sent nothing for
// longer than the body timeout.
var ErrBodyStalled = errors.New("the request body stopped arriving")

// BodyTimeout bounds the pause between two pieces of a request body: each
// read of the body must receive data within d, or the read fails with
// ErrBodyStalled (which is also a net.Error timeout) and the connection is
// closed after the answer. A slow but steady upload is never cut off; a
// client that sends headers and a few bytes and then stalls does not hold
// a connection and a goroutine for long. d <= 0 turns it off.
func BodyTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				rc := http.NewResponseController(w)
				// The first deadline also bounds the server's own read of
				// a body the handler never touched (an answer such as 401
				// written first): net/http drains it before answering.
				// Each read sets a new one; net/http clears it when it
				// reads on its own after the body ends.
				_ = rc.SetReadDeadline(time.Now().Add(d))
				r.Body = &stallReader{body: r.Body, rc: rc, d: d}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type stallReader struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	rc *http.ResponseController
	d  time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	// Where the connection does not support deadlines (tests through a
	// recorder), the body is read without one.
	_ = s.rc.SetReadDeadline(time.Now().Add(s.d))
	n, err := s.body.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return n, stalled{fmt.Errorf("%w: nothing arrived for %s", ErrBodyStalled, s.d)}
	}
	return n, err
}

func (s *stallReader) Close() error { return s.body.Close() }

// stalled is ErrBodyStalled as a net.Error timeout.
type stalled struct{ error }

func (stalled) Timeout() bool   { return true }
func (stalled) Temporary() bool { return false }
func (e stalled) Unwrap() error { return e.error }

// NoSniff tells browsers to trust the Content-Type of every answer (JSON
// is never run as a script or shown as HTML).
func NoSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// CanonicalIDs writes the ids in a request's path in the form they are
// stored in: a UUID segment in upper or mixed case (copied from another
// tool, or typed) is lower-cased before routing, so it finds its package
// on every database (PostgreSQL compares UUIDs by value, SQLite by text).
// Only the dashed 8-4-4-4-12 form is touched: UPG names have no dashes,
// so no other segment can take that shape.
func CanonicalIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := lowerUUIDs(r.URL.Path); ok {
			r.URL.Path = p
			if raw, ok := lowerUUIDs(r.URL.RawPath); ok {
				r.URL.RawPath = raw
			}
		}
		next.ServeHTTP(w, r)
	})
}

// lowerUUIDs lower-cases the path segments that are UUIDs with an upper
// case letter, reporting whether there was one.
func lowerUUIDs(path string) (string, bool) {
	segs := strings.Split(path, "/")
	changed := false
	for i, s := range segs {
		if len(s) == 36 && s != strings.ToLower(s) && uuid.Validate(s) == nil { // the dashed form only
			segs[i], changed = strings.ToLower(s), true
		}
	}
	if !changed {
		return path, false
	}
	return strings.Join(segs, "/"), true
}
