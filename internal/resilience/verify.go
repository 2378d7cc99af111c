package resilience

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/veripost/veripost/internal/fsck"
)

// Figures are the outcome of a scenario.
type Figures struct {
	Scenario  string
	Tried     int // uploads sent (with their retries counted once)
	Accepted  int // got a 202
	Ready     int
	Errored   int // ended in error, with a message
	Attempts  int // HTTP requests the uploads took, retries included
	Refused   int // 503 answers during outages (retried)
	Unacked   int // uploads that never got a 202 (the client gave up)
	Lost      int // accepted but missing, without a message, or stuck
	Corrupt   int // a file that does not download byte for byte
	Duplicate int // more than one package for one Idempotency-Key
	Orphans   int // blobs nothing references after the collector ran
	Problems  int // other fsck findings
	// InFlight uploads were accepted but not yet ingested when the
	// failure ended; Recovery is how long after that the last of them
	// ended (ready or error).
	InFlight  int
	Recovery  time.Duration
	Rescued   int // running jobs taken over from a killed process
	Reads     int
	ReadP50   time.Duration
	ReadP99   time.Duration
	ReadMax   time.Duration
	ReadFails int
	Notes     []string
}

// OK reports whether every promise held.
func (f Figures) OK() bool {
	return f.Lost == 0 && f.Corrupt == 0 && f.Duplicate == 0 && f.Orphans == 0 && f.Problems == 0 && f.ReadFails == 0
}

func (f Figures) String() string {
	return fmt.Sprintf("%-34s tried %4d  accepted %4d  ready %4d  error %3d  unacked %2d  attempts %4d  503s %4d | lost %d corrupt %d dup %d orphans %d fsck %d | in flight %3d recovered in %6s, %2d jobs rescued | reads %5d p50 %6s p99 %6s max %6s failed %d",
		f.Scenario, f.Tried, f.Accepted, f.Ready, f.Errored, f.Unacked, f.Attempts, f.Refused, f.Lost, f.Corrupt, f.Duplicate, f.Orphans, f.Problems,
		f.InFlight, f.Recovery.Round(10*time.Millisecond), f.Rescued, f.Reads, f.ReadP50.Round(time.Millisecond), f.ReadP99.Round(time.Millisecond), f.ReadMax.Round(time.Millisecond), f.ReadFails)
}

// InFlight returns the accepted uploads whose version has not ended yet
// (or cannot be asked about), as the server at base answers now.
func InFlight(env Env, base string, rec *Record) []*Sent {
	rec.mu.Lock()
	var accepted []*Sent
	for _, s := range rec.Sent {
		if s.Accepted {
			accepted = append(accepted, s)
		}
	}
	rec.mu.Unlock()
	return unfinished(env.Client(5*time.Second), base, accepted)
}

// unfinished asks, sixteen at a time (a long run has thousands), which of
// the uploads' versions have not ended.
func unfinished(c *http.Client, base string, sent []*Sent) []*Sent {
	var mu sync.Mutex
	var out []*Sent
	var g errgroup.Group
	g.SetLimit(16)
	for _, s := range sent {
		g.Go(func() error {
			var v struct {
				Status string `json:"status"`
			}
			if err := getJSON(c, fmt.Sprintf("%s/api/v1/packages/%s/versions/%d", base, s.PackageID, s.Version), &v); err != nil || (v.Status != "ready" && v.Status != "error") {
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// Recovered waits until every upload in inflight has ended and returns how
// long after since that was (or wait, when some never end).
func Recovered(env Env, base string, inflight []*Sent, since time.Time, wait time.Duration) time.Duration {
	c := env.Client(5 * time.Second)
	left := inflight
	deadline := time.Now().Add(wait)
	for len(left) > 0 && time.Now().Before(deadline) {
		if left = unfinished(c, base, left); len(left) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(since)
}

// Verify checks the promises after a scenario, against the server at
// base: every accepted upload ends ready or in error with a message (it
// waits up to wait for that), every stored file downloads byte for byte,
// no key made two packages, and after the collector ran (leases and grace
// period treated as over) no blob is an orphan and fsck finds nothing
// else. inflight and recovery are the figures of Recovered.
func Verify(ctx context.Context, name, base string, rec *Record, env Env, inflight int, recovery time.Duration, wait time.Duration) (Figures, error) {
	f := Figures{Scenario: name, InFlight: inflight, Recovery: recovery}
	c := env.Client(30 * time.Second)
	rec.mu.Lock()
	sent := append([]*Sent(nil), rec.Sent...)
	f.Refused = rec.refused
	rec.mu.Unlock()
	f.Reads, f.ReadP50, f.ReadP99, f.ReadMax, f.ReadFails = rec.ReadStats()
	for _, s := range sent {
		f.Tried++
		f.Attempts += s.Attempts
		if s.Accepted {
			f.Accepted++
		} else {
			f.Unacked++
		}
	}
	// Every accepted version ends.
	deadline := time.Now().Add(wait)
	pending := map[*Sent]bool{}
	for _, s := range sent {
		if s.Accepted {
			pending[s] = true
		}
	}
	for len(pending) > 0 && time.Now().Before(deadline) {
		for s := range pending {
			var v struct {
				Status       string `json:"status"`
				ErrorMessage string `json:"error_message"`
			}
			if err := getJSON(c, fmt.Sprintf("%s/api/v1/packages/%s/versions/%d", base, s.PackageID, s.Version), &v); err != nil {
				continue
			}
			switch v.Status {
			case "ready":
				f.Ready++
				delete(pending, s)
			case "error":
				f.Errored++
				if v.ErrorMessage == "" {
					f.Lost++
					f.Notes = append(f.Notes, "version "+s.VersionID+" ended in error without a message")
				}
				delete(pending, s)
			}
		}
		if len(pending) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for s := range pending {
		f.Lost++
		f.Notes = append(f.Notes, "version "+s.VersionID+" never ended (stuck)")
	}
	// Byte for byte, and one package per key.
	for _, s := range sent {
		var page struct {
			Items []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Files []struct {
					ID       string `json:"id"`
					Filename string `json:"filename"`
				} `json:"files"`
			} `json:"items"`
		}
		if err := getJSON(c, base+"/api/v1/packages?limit=50&search="+url.QueryEscape(s.Name), &page); err != nil {
			return f, err
		}
		n := 0
		for _, p := range page.Items {
			if p.Name != s.Name {
				continue
			}
			n++
			for _, file := range p.Files {
				want, ok := s.Files[file.Filename]
				got, err := download(c, base+"/api/v1/packages/"+p.ID+"/files/"+file.ID+"/download")
				if !ok || err != nil || !bytes.Equal(got, want) {
					f.Corrupt++
					f.Notes = append(f.Notes, fmt.Sprintf("%s of %s does not download as sent (%v)", file.Filename, p.ID, err))
				}
			}
		}
		switch {
		case n > 1:
			f.Duplicate += n - 1
			f.Notes = append(f.Notes, fmt.Sprintf("key %s made %d packages", s.Key, n))
		case n == 0 && s.Accepted:
			f.Lost++
			f.Notes = append(f.Notes, "accepted upload "+s.Key+" has no package")
		}
	}
	// The collector, then fsck, in this process on the same stores.
	orphans, problems, notes, err := collectAndCheck(ctx, env)
	if err != nil {
		return f, err
	}
	f.Orphans, f.Problems = orphans, problems
	f.Notes = append(f.Notes, notes...)
	return f, nil
}

// collectAndCheck runs the collector with every lease and grace period
// over (nothing uploads now), then fsck.
func collectAndCheck(ctx context.Context, env Env) (orphans, problems int, notes []string, err error) {
	app, err := env.open(ctx)
	if err != nil {
		return 0, 0, nil, err
	}
	defer app.Close()
	later := func() time.Time { return time.Now().Add(3 * time.Hour) }
	col := *app.Collector
	col.Now, col.Grace = later, time.Nanosecond
	if _, err := col.Collect(ctx); err != nil {
		return 0, 0, nil, fmt.Errorf("collector: %w", err)
	}
	checker := app.Fsck(false)
	checker.Now, checker.Grace = later, time.Nanosecond
	rep, err := checker.Check(ctx)
	if err != nil {
		return 0, 0, nil, err
	}
	for _, p := range rep.Problems {
		if p.Kind == fsck.Orphan {
			orphans++
		} else {
			problems++
		}
		notes = append(notes, p.Kind+": "+p.Subject+": "+p.Detail)
	}
	return orphans, problems, notes, nil
}

func getJSON(c *http.Client, u string, v any) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, v)
}

func download(c *http.Client, u string) ([]byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}
