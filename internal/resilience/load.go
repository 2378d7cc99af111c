package resilience

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Sent is one upload as the client sees it: what it sent under which
// Idempotency-Key, and what it was answered in the end.
type Sent struct {
	Key      string
	Name     string
	Files    map[string][]byte
	Attempts int
	// Accepted is true once an attempt got 202; the ids are from it.
	Accepted  bool
	PackageID string
	VersionID string
	Version   int
}

// Record is everything a load sent and read.
type Record struct {
	mu      sync.Mutex
	Sent    []*Sent
	reads   []time.Duration
	readErr int
	refused int // 503 answers (outages), retried
}

// ReadStats are the readers' latencies.
func (r *Record) ReadStats() (n int, p50, p99, worst time.Duration, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := append([]time.Duration(nil), r.reads...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return 0, 0, 0, 0, r.readErr
	}
	return len(d), d[len(d)/2], d[len(d)*99/100], d[len(d)-1], r.readErr
}

// Load runs uploaders and readers against a server.
type Load struct {
	// Base returns the server's current base URL (it may be restarted).
	Base      func() string
	Uploaders int
	// Uploads per uploader (0: until ctx ends).
	Uploads int
	Readers int
	// Shared is a library every upload carries (shared content).
	Shared []byte
	Client *http.Client
}

// Run uploads until every uploader sent its uploads or ctx ends, then
// returns what happened. An upload that fails (connection refused or
// reset, 5xx, timeout) is sent again with the same key, with backoff, for
// up to a minute after ctx ends, so that an upload interrupted by an
// outage or a crash gets its final answer.
func (l Load) Run(ctx context.Context, rec *Record) *Record {
	if l.Client == nil {
		l.Client = &http.Client{Timeout: 30 * time.Second}
	}
	rctx, stopReaders := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range l.Readers {
		readers.Add(1)
		go func() { defer readers.Done(); l.read(rctx, rec) }()
	}
	var wg sync.WaitGroup
	for u := range l.Uploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; l.Uploads == 0 || i < l.Uploads; i++ {
				if ctx.Err() != nil {
					return
				}
				s := &Sent{Key: fmt.Sprintf("res-%d-%d-%d", u, i, rand.Int64()), Files: map[string][]byte{}}
				s.Name = "resilience " + s.Key
				s.Files[fmt.Sprintf("U%d.SRC", u)] = fmt.Appendf(nil, ":SYSTEM=MILL\r\n* uploader %d upload %d %s\r\n:LIBRARY=.\\SHARED.LIB\r\n", u, i, s.Key)
				if l.Shared != nil {
					s.Files["SHARED.LIB"] = l.Shared
				}
				rec.mu.Lock()
				rec.Sent = append(rec.Sent, s)
				rec.mu.Unlock()
				l.send(ctx, rec, s)
			}
		}()
	}
	wg.Wait()
	stopReaders()
	readers.Wait()
	return rec
}

func (l Load) send(ctx context.Context, rec *Record, s *Sent) {
	giveUp := time.Now().Add(24 * time.Hour)
	delay := 100 * time.Millisecond
	for {
		if ctx.Err() != nil && giveUp.After(time.Now().Add(time.Minute)) {
			giveUp = time.Now().Add(time.Minute)
		}
		s.Attempts++
		status, body, err := l.post(s)
		if err == nil && status == http.StatusAccepted {
			var res struct {
				PackageID string `json:"package_id"`
				VersionID string `json:"version_id"`
				Version   int    `json:"version"`
			}
			if json.Unmarshal(body, &res) == nil {
				rec.mu.Lock()
				s.Accepted, s.PackageID, s.VersionID, s.Version = true, res.PackageID, res.VersionID, res.Version
				rec.mu.Unlock()
				return
			}
		}
		if err == nil && status < 500 && status != http.StatusRequestTimeout {
			return // refused for good (a bug in the load, or the server's)
		}
		if status == http.StatusServiceUnavailable {
			rec.mu.Lock()
			rec.refused++
			rec.mu.Unlock()
		}
		if time.Now().After(giveUp) {
			return
		}
		time.Sleep(delay)
		delay = min(delay*2, 2*time.Second)
	}
}

func (l Load) post(s *Sent) (int, []byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("name", s.Name)
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, _ := mw.CreateFormFile("files", n)
		_, _ = w.Write(s.Files[n])
	}
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, l.Base()+"/api/v1/packages", &body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Idempotency-Key", s.Key)
	resp, err := l.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (l Load) read(ctx context.Context, rec *Record) {
	for ctx.Err() == nil {
		start := time.Now()
		status, err := get(l.Client, l.Base()+"/api/v1/packages?limit=20")
		took := time.Since(start)
		rec.mu.Lock()
		if err == nil && status == http.StatusOK {
			rec.reads = append(rec.reads, took)
		} else if err == nil && status != http.StatusServiceUnavailable {
			rec.readErr++ // a 503 during an outage is the expected answer
		}
		rec.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
