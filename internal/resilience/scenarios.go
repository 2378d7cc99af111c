package resilience

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Size is how big a scenario runs.
type Size struct {
	Uploaders int
	Readers   int
	// Before is how long the load runs before the failure; During how
	// long the failure lasts (outages); After how long the load goes on.
	Before, During, After time.Duration
}

var shared = []byte("* a library every upload of the resilience load carries\r\n:SECTION=SHARED\r\n")

// startLoad runs a load in the background until stop is called; rec
// gives the record so far.
func startLoad(env Env, base func() string, s Size) (stop func() *Record, rec func() *Record) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Record, 1)
	r := &Record{}
	go func() {
		done <- Load{Base: base, Uploaders: s.Uploaders, Readers: s.Readers, Shared: shared, Client: env.Client(30 * time.Second)}.Run(ctx, r)
	}()
	return func() *Record { cancel(); return <-done }, func() *Record { return r }
}

// KillServe kills `veripost serve` (which works the jobs itself) with
// SIGKILL in the middle of concurrent uploads, starts it again on the same
// address, and checks the promises.
func KillServe(ctx context.Context, name string, env Env, s Size) (Figures, error) {
	addr, err := FreeAddr()
	if err != nil {
		return Figures{}, err
	}
	p, err := env.Start(ctx, "serve", addr, 4)
	if err != nil {
		return Figures{}, err
	}
	stop, rec := startLoad(env, func() string { return "http://" + addr }, s)
	time.Sleep(s.Before)
	p.Kill()
	killed := time.Now()
	if p, err = env.Start(ctx, "serve", addr, 4); err != nil {
		stop()
		return Figures{}, fmt.Errorf("restarting after the kill: %w", err)
	}
	defer p.Stop()
	// What the killed process left (measured from the kill, restart included).
	inflight := InFlight(env, p.URL(), rec())
	recovery := Recovered(env, p.URL(), inflight, killed, 3*time.Minute)
	time.Sleep(s.After)
	return Verify(ctx, name, p.URL(), stop(), env, len(inflight), recovery, 3*time.Minute)
}

// KillWorker runs an API-only `serve` and two `worker` processes, kills
// one worker with SIGKILL during concurrent uploads, and checks that the
// other finishes everything.
func KillWorker(ctx context.Context, name string, env Env, s Size) (Figures, error) {
	api, err := env.Start(ctx, "serve", "", 0)
	if err != nil {
		return Figures{}, err
	}
	defer api.Stop()
	victim, err := env.Start(ctx, "worker", "", 4)
	if err != nil {
		return Figures{}, err
	}
	survivor, err := env.Start(ctx, "worker", "", 4)
	if err != nil {
		victim.Kill()
		return Figures{}, err
	}
	defer survivor.Stop()
	stop, rec := startLoad(env, func() string { return api.URL() }, s)
	time.Sleep(s.Before)
	victim.Kill()
	killed := time.Now()
	inflight := InFlight(env, api.URL(), rec())
	recovery := Recovered(env, api.URL(), inflight, killed, 3*time.Minute)
	time.Sleep(s.After)
	return Verify(ctx, name, api.URL(), stop(), env, len(inflight), recovery, 3*time.Minute)
}

// Outage cuts the service at target (host:port, the database's or the
// object store's) off for s.During in the middle of the load, through a
// proxy the deployment is pointed at by rewrite, then restores it.
func Outage(ctx context.Context, name string, env Env, target string, rewrite func(env *Env, proxy string), s Size) (Figures, error) {
	proxy, err := NewProxy(target)
	if err != nil {
		return Figures{}, err
	}
	defer proxy.Close()
	rewrite(&env, proxy.Addr())
	p, err := env.Start(ctx, "serve", "", 4)
	if err != nil {
		return Figures{}, err
	}
	defer p.Stop()
	stop, rec := startLoad(env, func() string { return p.URL() }, s)
	time.Sleep(s.Before)
	proxy.Cut()
	time.Sleep(s.During)
	proxy.Restore()
	restored := time.Now()
	inflight := InFlight(env, p.URL(), rec())
	recovery := Recovered(env, p.URL(), inflight, restored, 3*time.Minute)
	time.Sleep(s.After)
	return Verify(ctx, name, p.URL(), stop(), env, len(inflight), recovery, 3*time.Minute)
}

// Steady runs the load against one `serve` with nothing failing.
func Steady(ctx context.Context, name string, env Env, s Size) (Figures, error) {
	p, err := env.Start(ctx, "serve", "", 4)
	if err != nil {
		return Figures{}, err
	}
	defer p.Stop()
	stop, _ := startLoad(env, func() string { return p.URL() }, s)
	time.Sleep(s.Before + s.After)
	r := stop()
	stopped := time.Now()
	inflight := InFlight(env, p.URL(), r)
	recovery := Recovered(env, p.URL(), inflight, stopped, 3*time.Minute)
	return Verify(ctx, name, p.URL(), r, env, len(inflight), recovery, 3*time.Minute)
}

// HostOf returns the host:port of a database or S3 endpoint URL.
func HostOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}

// WithHost replaces a URL's host:port.
func WithHost(raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Host = host
	return u.String()
}
