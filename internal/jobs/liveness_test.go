package jobs

import (
	"os"
	"testing"
	"time"
)

// TestGone: which workers count as stopped, so their running jobs are
// taken over.
func TestGone(t *testing.T) {
	now := time.Now()
	host, _ := os.Hostname()
	me := Worker{ID: "me", Host: host, PID: os.Getpid()}
	l := &liveness{me: me}
	ago := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	workers := map[string]Worker{
		"fresh-elsewhere":    {ID: "fresh-elsewhere", Host: "other-host", PID: 1, BeatAt: now.Add(-3 * time.Second)},
		"stale-elsewhere":    {ID: "stale-elsewhere", Host: "other-host", PID: 1, BeatAt: now.Add(-staleAfter - time.Second)},
		"dead-here":          {ID: "dead-here", Host: host, PID: 1 << 30, BeatAt: now},
		"alive-here":         {ID: "alive-here", Host: host, PID: os.Getppid(), BeatAt: now},
		"earlier-run-of-me":  {ID: "earlier-run-of-me", Host: host, PID: os.Getpid(), BeatAt: now},
		"alive-here-but-old": {ID: "alive-here-but-old", Host: host, PID: os.Getppid(), BeatAt: now.Add(-time.Minute)},
	}
	for _, c := range []struct {
		id      string
		started *time.Time
		gone    bool
	}{
		{"me", ago(time.Hour), false},
		{"fresh-elsewhere", ago(time.Hour), false},
		{"stale-elsewhere", ago(time.Hour), true},
		{"dead-here", ago(time.Second), true},
		{"alive-here", ago(time.Hour), false},
		{"earlier-run-of-me", ago(time.Second), true},
		{"alive-here-but-old", ago(time.Hour), true},
		{"never-registered-just-started", ago(time.Second), false},
		{"never-registered-long-ago", ago(time.Minute), true},
	} {
		if got := l.gone(c.id, c.started, workers, now); got != c.gone {
			t.Errorf("%s: gone = %v, want %v", c.id, got, c.gone)
		}
	}
}

// TestFenceTimings: a worker gives up its jobs before others may take them.
func TestFenceTimings(t *testing.T) {
	if fenceAfter+beatEvery >= staleAfter {
		t.Fatalf("a worker fences itself after %s (+ one beat of %s), which must come before others rescue at %s", fenceAfter, beatEvery, staleAfter)
	}
	if staleAfter+rescueEvery > time.Minute {
		t.Fatalf("a stopped worker's jobs are taken over after up to %s, more than a minute", staleAfter+rescueEvery)
	}
}

// TestLost: a job the queue shows running for this process is taken over
// once it has not run here for lostAfter (its end or its start was lost),
// never while it runs.
func TestLost(t *testing.T) {
	l := &liveness{}
	now := time.Now()
	ago := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	done := l.working(1)
	if l.lost(1, ago(time.Hour), now) {
		t.Fatal("a running job counted as lost")
	}
	done()
	if l.lost(1, ago(time.Hour), time.Now()) {
		t.Fatal("a job that just ended counted as lost (its completion may still be recorded)")
	}
	if !l.lost(1, ago(time.Hour), time.Now().Add(lostAfter+time.Second)) {
		t.Fatal("a job that ended long ago and still shows running is not lost")
	}
	if l.lost(2, ago(time.Second), now) {
		t.Fatal("a job fetched a second ago counted as lost")
	}
	if !l.lost(2, ago(lostAfter+time.Second), now) {
		t.Fatal("a job fetched long ago that never ran here is not lost")
	}
	if l.lost(2, nil, now) {
		t.Fatal("a job without an attempt time counted as lost")
	}
}
