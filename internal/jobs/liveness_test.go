package jobs

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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

type processorFunc func(ctx context.Context, versionID string, lastAttempt bool) error

func (f processorFunc) Process(ctx context.Context, versionID string, lastAttempt bool) error {
	return f(ctx, versionID, lastAttempt)
}

type indexerFunc func(ctx context.Context, versionID string) error

func (f indexerFunc) IndexSearch(ctx context.Context, versionID string) error {
	return f(ctx, versionID)
}

// TestWorkersSayTheyWork: every kind of job tells liveness that this
// process works it while it runs, so a long one (a collector pass over a
// large store) is never taken for lost and cancelled; its context ends
// with the attempt.
func TestWorkersSayTheyWork(t *testing.T) {
	held, drop := context.WithCancel(context.Background())
	defer drop()
	q := &Queue{live: &liveness{held: held}}
	const id = 42
	var running bool
	var leaseEnds context.Context
	probe := func(ctx context.Context) error {
		q.live.mu.Lock()
		running = q.live.running[id]
		q.live.mu.Unlock()
		leaseEnds = ctx
		return nil
	}
	for _, c := range []struct {
		kind string
		work func() error
	}{
		{"ingest", func() error {
			w := &ingestWorker{q: q, p: processorFunc(func(ctx context.Context, _ string, _ bool) error { return probe(ctx) })}
			return w.Work(context.Background(), &river.Job[IngestArgs]{JobRow: &rivertype.JobRow{ID: id, Attempt: 1, MaxAttempts: 3}})
		}},
		{"search", func() error {
			w := &searchWorker{q: q, s: indexerFunc(func(ctx context.Context, _ string) error { return probe(ctx) })}
			return w.Work(context.Background(), &river.Job[SearchArgs]{JobRow: &rivertype.JobRow{ID: id}})
		}},
		{"collect", func() error {
			w := &collectWorker{q: q, collect: probe}
			return w.Work(context.Background(), &river.Job[CollectArgs]{JobRow: &rivertype.JobRow{ID: id}})
		}},
	} {
		running, leaseEnds = false, nil
		if err := c.work(); err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if !running {
			t.Errorf("%s: liveness did not know this process was working the job", c.kind)
		}
		if q.live.lost(id, nil, time.Now()) || q.live.running[id] {
			t.Errorf("%s: the job still counts as running after it ended", c.kind)
		}
		if leaseEnds == nil || leaseEnds.Err() == nil {
			t.Errorf("%s: the job's context did not end with the attempt", c.kind)
		}
	}
}
