// Command scale measures VeriPost at scale, in-process, on the embedded
// stack (SQLite + disk) or the scaled one (PostgreSQL + S3):
//
//	go run ./bench/scale -stack sqlite -uploaders 50 -duration 60s -packages 10000 -readers 20
//	go run ./bench/scale -stack postgres ...   (needs the env of scripts/services.sh)
//
// Phases, each printing its figures:
//
//  1. ingest: -uploaders clients upload distinct generated packages
//     (internal/corpusgen) over HTTP for -duration; it reports packages
//     accepted and ready per second and the accepted-but-not-ready backlog,
//     sampled every second, then how long the backlog takes to drain;
//  2. fill: uploads continue until -packages packages are ready;
//  3. read: -readers concurrent clients call symbol lookup (a common, a
//     medium and a rare name) and the libraries views; p50/p95/p99 per
//     endpoint;
//  4. size: database size against the unique raw source bytes, and the
//     rows an identical re-upload adds: a first batch of -reuploads (what
//     it adds at once, dead row versions included), then, after a VACUUM
//     (PostgreSQL) or checkpoint (SQLite), a second batch, ten uploads at a
//     time each followed by a VACUUM: the lasting growth, per table and per
//     index, once the space of deleted rows and dead row versions is reused
//     as a running installation's autovacuum lets it be.
//
// Synthetic packages live in memory only.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/veripost/veripost/bench/kept"
	"github.com/veripost/veripost/bench/machine"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/corpusgen"
	"github.com/veripost/veripost/internal/jobs"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/store"
)

type options struct {
	stack       string
	uploaders   int
	duration    time.Duration
	packages    int
	readers     int
	requests    int
	corpus      string
	seed        int64
	workers     int
	profile     string
	readProfile string
	only        string
	keep        string
	phases      string
	settle      time.Duration
	reuploads   int
}

func main() {
	var o options
	flag.StringVar(&o.stack, "stack", "sqlite", "sqlite (embedded) or postgres (PostgreSQL + S3 from VERIPOST_TEST_* as scripts/services.sh exports them)")
	flag.IntVar(&o.uploaders, "uploaders", 50, "concurrent uploaders in the ingest phase")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "length of the ingest phase")
	flag.IntVar(&o.packages, "packages", 10000, "packages to have before the read phase (0: skip fill and read)")
	flag.IntVar(&o.readers, "readers", 20, "concurrent readers in the read phase")
	flag.IntVar(&o.requests, "requests", 400, "requests per endpoint in the read phase")
	flag.StringVar(&o.corpus, "corpus", "../shared/corpus", "the real corpus the packages are generated from")
	flag.Int64Var(&o.seed, "seed", 1, "generator seed")
	flag.IntVar(&o.workers, "workers", 4, "ingestion workers (VERIPOST_WORKERS)")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the ingest phase to this file (go tool pprof)")
	flag.StringVar(&o.readProfile, "readprofile", "", "write a CPU profile of the read phase (server and clients: one process) to this file")
	flag.StringVar(&o.only, "only", "", "read phase: measure only the endpoints whose label contains this")
	flag.StringVar(&o.keep, "keep", "", "keep the deployment under this name and reuse it on the next run (SQLite: a data dir in the temp dir; PostgreSQL: a database and a bucket), so the read phase can be repeated without filling again")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute, "before the read phase: VACUUM (ANALYZE) on PostgreSQL, a WAL checkpoint on SQLite, then wait up to this long for the 1-minute load to fall below 1 (0: skip)")
	flag.StringVar(&o.phases, "phases", "ingest,fill,read,size", "the phases to run, comma-separated")
	flag.IntVar(&o.reuploads, "reuploads", 100, "size phase: identical re-uploads per batch (two batches; the second, after a VACUUM, is the lasting growth)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	corpus, err := corpusgen.Load(o.corpus)
	if err != nil {
		return err
	}
	gen := corpusgen.New(corpus, o.seed)
	cfg, cleanup, err := stackConfig(ctx, o.stack, o.keep)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg.Workers = o.workers
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := server.New(ctx, cfg, log, server.Options{Workers: -1, Version: "bench"})
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.StartWork(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = app.Queue.Stop(sctx)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	token, err := adminToken(ctx, app, o.keep != "")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler}
	go srv.Serve(ln)
	defer srv.Close()
	b := &bench{app: app, url: "http://" + ln.Addr().String(), client: &http.Client{Transport: bearer{token, &http.Transport{MaxIdleConnsPerHost: 256}}}, gen: gen, profile: o.profile, readProfile: o.readProfile, only: o.only, settle: o.settle, reuploads: max(o.reuploads, 1)}
	fmt.Printf("stack %s, %d ingestion workers, %d CPUs\n", o.stack, o.workers, cpus())
	// A kept deployment goes on with the packages it does not have yet.
	acc, _, _, err := b.counts(ctx)
	if err != nil {
		return err
	}
	b.next.Store(int64(acc))

	phase := map[string]bool{}
	for _, p := range strings.Split(o.phases, ",") {
		phase[strings.TrimSpace(p)] = true
	}
	if phase["ingest"] {
		if err := b.ingest(ctx, o.uploaders, o.duration); err != nil {
			return err
		}
	}
	if o.packages > 0 {
		if phase["fill"] {
			if err := b.fill(ctx, o.uploaders, o.packages); err != nil {
				return err
			}
		}
		if phase["read"] {
			if err := b.read(ctx, o.readers, o.requests); err != nil {
				return err
			}
		}
	}
	if !phase["size"] {
		return nil
	}
	return b.size(ctx, cfg)
}

// adminToken creates the administrator a new deployment needs and returns
// an admin API token of it (the bench signs every request with it). A
// kept deployment gets one more administrator per run.
func adminToken(ctx context.Context, app *server.App, kept bool) (string, error) {
	ctx = auth.WithActor(ctx, auth.System("bench"))
	name := "bench"
	if kept {
		suffix := make([]byte, 4)
		rand.Read(suffix)
		name += "-" + hex.EncodeToString(suffix)
	}
	if _, err := app.Auth.CreateUser(ctx, auth.NewUser{Username: name, Role: auth.RoleAdmin}); err != nil {
		return "", err
	}
	tok, err := app.Auth.CreateToken(ctx, auth.NewToken{Name: "bench", Scope: auth.ScopeAdmin, Owner: name})
	return tok.Secret, err
}

// bearer sends the API token with every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

type bench struct {
	app         *server.App
	url         string
	client      *http.Client
	gen         *corpusgen.Generator
	profile     string        // CPU profile of the ingest phase
	readProfile string        // CPU profile of the read phase
	only        string        // read phase: endpoints whose label contains this
	settle      time.Duration // read phase: longest wait for a quiet machine (0: no settling)
	reuploads   int           // size phase: identical re-uploads per batch
	next        atomic.Int64
	bytes       atomic.Int64
}

// upload posts one package.
func (b *bench) upload(ctx context.Context, p corpusgen.Package) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range p.Files {
		w, err := mw.CreateFormFile("files", f.Name)
		if err != nil {
			return err
		}
		w.Write(f.Data)
	}
	mw.WriteField("name", p.Name)
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.url+"/api/v1/packages", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("upload %s: %d %s", p.Name, resp.StatusCode, msg)
	}
	b.bytes.Add(p.Size())
	return nil
}

// drain waits until every accepted version has ended (ready or failed).
func (b *bench) drain(ctx context.Context) (ready, failed int, err error) {
	for {
		acc, ready, failed, err := b.counts(ctx)
		if err != nil || ready+failed >= acc {
			return ready, failed, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// searchable counts the versions indexed for search (a job of its own that
// follows ready).
func (b *bench) searchable(ctx context.Context) (int, error) {
	var n int
	err := b.app.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_versions`).Scan(&n)
	return n, err
}

// drainSearch waits until every ready version is indexed for search.
func (b *bench) drainSearch(ctx context.Context) (int, error) {
	for {
		_, ready, _, err := b.counts(ctx)
		if err != nil {
			return 0, err
		}
		n, err := b.searchable(ctx)
		if err != nil || n >= ready {
			return n, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// counts reads how many versions are in each status.
func (b *bench) counts(ctx context.Context) (accepted, ready, failed int, err error) {
	rows, err := b.app.DB.R.QueryContext(ctx, `SELECT status, COUNT(*) FROM package_versions GROUP BY status`)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return 0, 0, 0, err
		}
		accepted += n
		switch s {
		case "ready":
			ready += n
		case "error":
			failed += n
		}
	}
	return accepted, ready, failed, rows.Err()
}

// uploaders runs n clients until stop says so.
func (b *bench) uploaders(ctx context.Context, n int, stop func() bool) (func() error, *atomic.Int64) {
	var wg sync.WaitGroup
	var firstErr atomic.Value
	var sent atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop() {
				p := b.gen.Package(int(b.next.Add(1)) - 1)
				if err := b.upload(ctx, p); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				sent.Add(1)
			}
		}()
	}
	return func() error {
		wg.Wait()
		if e, ok := firstErr.Load().(error); ok {
			return e
		}
		return nil
	}, &sent
}

func (b *bench) ingest(ctx context.Context, n int, d time.Duration) error {
	fmt.Printf("\n== ingest: %d uploaders for %s\n", n, d)
	stop, err := startProfile(b.profile)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	cpu0, w0 := machine.ProcessCPU(), machine.ProcessWritten()
	end := start.Add(d)
	wait, _ := b.uploaders(ctx, n, func() bool { return time.Now().After(end) })
	maxBacklog, maxSearch, samples := 0, 0, 0
	var sumBacklog int
	for time.Now().Before(end) {
		time.Sleep(time.Second)
		acc, ready, _, err := b.counts(ctx)
		if err != nil {
			return err
		}
		indexed, err := b.searchable(ctx)
		if err != nil {
			return err
		}
		maxBacklog = max(maxBacklog, acc-ready)
		maxSearch = max(maxSearch, ready-indexed)
		sumBacklog += acc - ready
		samples++
	}
	if err := wait(); err != nil {
		return err
	}
	acc, ready, failed, err := b.counts(ctx)
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Printf("accepted %d (%.1f/s), ready within the phase %d (%.1f/s), failed %d\n", acc, float64(acc)/el, ready, float64(ready)/el, failed)
	fmt.Printf("backlog (accepted, not ready): max %d, mean %.1f, at the end %d\n", maxBacklog, float64(sumBacklog)/float64(max(samples, 1)), acc-ready)
	indexed, err := b.searchable(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("indexed for search within the phase %d (%.1f/s); search backlog (ready, not indexed): max %d, at the end %d\n",
		indexed, float64(indexed)/el, maxSearch, ready-indexed)
	drain := time.Now()
	if ready, _, err = b.drain(ctx); err != nil {
		return err
	}
	fmt.Printf("backlog drained in %s; end to end %.1f packages/s\n", time.Since(drain).Round(time.Millisecond), float64(ready)/time.Since(start).Seconds())
	if indexed, err = b.drainSearch(ctx); err != nil {
		return err
	}
	fmt.Printf("search backlog drained %s later; end to end %.1f packages/s indexed for search\n", time.Since(drain).Round(time.Millisecond), float64(indexed)/time.Since(start).Seconds())
	// CPU per package (uploads, ingestion and search indexing, plus the
	// generator and the clients, which are in this process too) is the
	// figure a shared machine does not blur.
	cpu := machine.ProcessCPU() - cpu0
	fmt.Printf("process CPU %.1f s for %d packages: %.1f ms per package; load average at the end %s\n",
		cpu.Seconds(), indexed, float64(cpu.Milliseconds())/float64(max(indexed, 1)), machine.Load())
	fmt.Printf("written %.0f KiB per package\n", float64(machine.ProcessWritten()-w0)/1024/float64(max(indexed, 1)))
	return nil
}

func (b *bench) fill(ctx context.Context, n, total int) error {
	acc, _, _, err := b.counts(ctx)
	if err != nil || acc >= total {
		return err
	}
	fmt.Printf("\n== fill: uploading until %d packages\n", total)
	start, cpu0, w0 := time.Now(), machine.ProcessCPU(), machine.ProcessWritten()
	var left atomic.Int64
	left.Store(int64(total - acc))
	wait, _ := b.uploaders(ctx, n, func() bool { return left.Add(-1) < 0 })
	if err := wait(); err != nil {
		return err
	}
	ready, failed, err := b.drain(ctx)
	if err != nil {
		return err
	}
	if _, err := b.drainSearch(ctx); err != nil {
		return err
	}
	fmt.Printf("%d packages ready and indexed for search (%d failed) after %s (%.1f/s); process CPU %.1f ms per package\n", ready, failed,
		time.Since(start).Round(time.Second), float64(total-acc)/time.Since(start).Seconds(), float64((machine.ProcessCPU()-cpu0).Milliseconds())/float64(max(total-acc, 1)))
	fmt.Printf("written %.0f KiB per package\n", float64(machine.ProcessWritten()-w0)/1024/float64(max(total-acc, 1)))
	return nil
}

func (b *bench) read(ctx context.Context, readers, requests int) error {
	db := b.app.DB.R
	pick := func(q string) (string, error) {
		var s string
		return s, db.QueryRowContext(ctx, q).Scan(&s)
	}
	common, err := pick(`SELECT canonical FROM symbol_names ORDER BY packages DESC, canonical LIMIT 1`)
	if err != nil {
		return err
	}
	medium, err := pick(`SELECT canonical FROM symbol_names WHERE packages BETWEEN 20 AND 200 ORDER BY packages DESC, canonical LIMIT 1`)
	if err != nil {
		medium = common
	}
	rare, err := pick(`SELECT canonical FROM symbol_names WHERE packages = 1 ORDER BY canonical LIMIT 1`)
	if err != nil {
		return err
	}
	millSHA, err := pick(`SELECT sha256 FROM library_variants ORDER BY packages DESC LIMIT 1`)
	if err != nil {
		return err
	}
	libName, _ := pick(`SELECT name FROM library_names ORDER BY packages DESC LIMIT 1`)
	endpoints := []struct{ name, path string }{
		{"symbol, common (" + common + ")", "/api/v1/symbols/" + url.PathEscape(common) + "?limit=20"},
		{"symbol, medium (" + medium + ")", "/api/v1/symbols/" + url.PathEscape(medium) + "?limit=20"},
		{"symbol, rare (" + rare + ")", "/api/v1/symbols/" + url.PathEscape(rare) + "?limit=20"},
		{"GET /symbols (index, first page)", "/api/v1/symbols?limit=100"},
		{"GET /symbols?prefix=" + common[:1], "/api/v1/symbols?limit=100&prefix=" + url.QueryEscape(common[:1])},
		{"GET /symbols?prefix=" + common, "/api/v1/symbols?limit=100&prefix=" + url.QueryEscape(common)},
		{"GET /libraries", "/api/v1/libraries?limit=50"},
		{"GET /libraries?name=" + libName, "/api/v1/libraries?name=" + url.QueryEscape(libName)},
		{"GET /libraries/{sha}/packages", "/api/v1/libraries/" + millSHA + "/packages?limit=50"},
	}
	acc, _, _, _ := b.counts(ctx)
	if b.settle > 0 {
		if err := machine.Settle(ctx, b.app.DB, 1, b.settle, os.Stdout); err != nil {
			return err
		}
	}
	stop, err := startProfile(b.readProfile)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("\n== read: %d packages, 1 and %d concurrent clients, %d requests per endpoint; load average %s\n", acc, readers, requests, machine.Load())
	// cpu: this process's CPU time (server and clients) per request at N
	// clients; the fairest figure on a shared machine.
	fmt.Printf("%-46s %8s %8s %8s %8s   %8s %8s %8s %8s\n", "endpoint", "1:p50", "1:p95", "1:p99", "", "N:p50", "N:p95", "N:p99", "N:cpu")
	for _, e := range endpoints {
		if b.only != "" && !strings.Contains(e.name, b.only) {
			continue
		}
		one, err := b.measure(ctx, e.path, 1, requests/4)
		if err != nil {
			return err
		}
		// Unmeasured: a round at full concurrency first, so the clients'
		// connections and the database pool's are open (a steady load,
		// not a cold start, is what the target is about).
		if _, err := b.measure(ctx, e.path, readers, readers); err != nil {
			return err
		}
		cpu0 := machine.ProcessCPU()
		many, err := b.measure(ctx, e.path, readers, requests)
		if err != nil {
			return err
		}
		perReq := (machine.ProcessCPU() - cpu0) / time.Duration(max(len(many), 1))
		fmt.Printf("%-46s %8s %8s %8s %8s   %8s %8s %8s %7.2fms\n", e.name, ms(one, 50), ms(one, 95), ms(one, 99), "", ms(many, 50), ms(many, 95), ms(many, 99),
			float64(perReq.Microseconds())/1000)
	}
	fmt.Printf("load average at the end %s\n", machine.Load())
	return nil
}

func (b *bench) measure(ctx context.Context, path string, clients, total int) ([]time.Duration, error) {
	var mu sync.Mutex
	var out []time.Duration
	var left atomic.Int64
	left.Store(int64(total))
	var firstErr error
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				resp, err := b.client.Get(b.url + path)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("GET %s: %d", path, resp.StatusCode)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, firstErr
}

func ms(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	i := min(len(d)-1, len(d)*p/100)
	return fmt.Sprintf("%.1fms", float64(d[i].Microseconds())/1000)
}

func (b *bench) size(ctx context.Context, cfg config.Config) error {
	fmt.Printf("\n== size\n")
	var raw int64
	if err := b.app.DB.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM (SELECT sha256, MAX(size) AS size FROM files GROUP BY sha256) t`).Scan(&raw); err != nil {
		return err
	}
	dbSize := func() (int64, error) { return databaseBytes(ctx, b.app.DB, cfg) }
	before, err := dbSize()
	if err != nil {
		return err
	}
	fmt.Printf("unique raw source %.1f MiB, database %.1f MiB: %.2f× the source\n", mib(raw), mib(before), float64(before)/float64(max(raw, 1)))
	tables, err := tableBytes(ctx, b.app.DB)
	if err != nil {
		fmt.Printf("(no per-table sizes: %v)\n", err)
	}
	for _, t := range tables[:min(len(tables), 12)] {
		fmt.Printf("  %-28s %8.1f MiB  %5.1f%%\n", t.name, mib(t.bytes), 100*float64(t.bytes)/float64(max(before, 1)))
	}
	// Identical re-uploads: the same generated package again, as new
	// packages, in two batches. The first shows what an upload adds at
	// once, dead row versions and one-off allocations (new pages, free
	// space maps) included; the second, vacuumed every ten uploads, what lasts:
	// the space of deleted rows (blob leases, rewritten latest files) and
	// of dead row versions is reused, as autovacuum lets a running
	// installation reuse it.
	p := b.gen.Package(0)
	n := b.reuploads
	vacuum := func() error {
		if b.app.DB.Dialect == store.Postgres {
			_, err := b.app.DB.SQL.ExecContext(ctx, `VACUUM`)
			return err
		}
		return nil // dbSize checkpoints; SQLite reuses a deleted row's space without help
	}
	// batch re-uploads n copies, every `every` of them ingested (and, when
	// vacuumed, followed by a VACUUM) before the next ones are uploaded.
	batch := func(from, every int, vacuumed bool) error {
		for i := range n {
			p.Name = fmt.Sprintf("identical copy %d", from+i)
			if err := b.upload(ctx, p); err != nil {
				return err
			}
			if (i+1)%every != 0 && i != n-1 {
				continue
			}
			if _, _, err := b.drain(ctx); err != nil {
				return err
			}
			if _, err := b.drainSearch(ctx); err != nil {
				return err
			}
			if vacuumed {
				if err := vacuum(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := batch(0, n, false); err != nil {
		return err
	}
	after, err := dbSize()
	if err != nil {
		return err
	}
	grown, err := tableBytes(ctx, b.app.DB)
	if err != nil {
		return err
	}
	fmt.Printf("an identical re-upload adds %.1f KiB to the database at once (mean of %d); by table:\n", float64(after-before)/float64(n)/1024, n)
	queue := printGrowth(tables, grown, nil, nil, n)
	fmt.Printf("of which %.1f KiB are completed queue jobs and notifications (deleted after %s and 5m): %.1f KiB without them\n",
		float64(queue)/float64(n)/1024, jobs.CompletedRetention, float64(after-before-queue)/float64(n)/1024)

	if err := vacuum(); err != nil {
		return err
	}
	before, err = dbSize()
	if err != nil {
		return err
	}
	tables, err = tableBytes(ctx, b.app.DB)
	if err != nil {
		return err
	}
	indexes, err := indexBytes(ctx, b.app.DB)
	if err != nil {
		return err
	}
	// Ten at a time, each ten vacuumed: the dead row versions of counters
	// every upload updates (symbol_names) are reused as autovacuum would
	// let them be, rather than piling up for a whole batch.
	if err := batch(n, 10, true); err != nil {
		return err
	}
	if after, err = dbSize(); err != nil {
		return err
	}
	if grown, err = tableBytes(ctx, b.app.DB); err != nil {
		return err
	}
	grownIndexes, err := indexBytes(ctx, b.app.DB)
	if err != nil {
		return err
	}
	fmt.Printf("lasting: a second batch of %d, ten at a time with a VACUUM after each ten, adds %.2f KiB per re-upload; by table (and its indexes):\n", n, float64(after-before)/float64(n)/1024)
	queue = printGrowth(tables, grown, indexes, grownIndexes, n)
	fmt.Printf("of which %.2f KiB are completed queue jobs and notifications (deleted after %s and 5m); lasting growth %.2f KiB\n",
		float64(queue)/float64(n)/1024, jobs.CompletedRetention, float64(after-before-queue)/float64(n)/1024)
	return nil
}

// printGrowth prints each table's growth per re-upload (of n) from was to
// now, with its parts' (indexBytes) from wasParts to nowParts, and returns
// the queue's growth in bytes: completed jobs (river_job) and, on SQLite,
// notifications (river_notification, which River's cleaner deletes after
// five minutes) are not kept.
func printGrowth(was, now, wasParts, nowParts []tableSize, n int) int64 {
	old := map[string]int64{}
	for _, t := range append(was, wasParts...) {
		old[t.name] = t.bytes
	}
	var queue int64
	for _, t := range now {
		d := t.bytes - old[t.name]
		if d == 0 {
			continue
		}
		fmt.Printf("  %-28s %+8.2f KiB\n", t.name, float64(d)/float64(n)/1024)
		if t.name == "river_job" || t.name == "river_notification" {
			queue += d
		}
		for _, part := range nowParts {
			if tbl, name, _ := strings.Cut(part.name, "/"); tbl == t.name {
				if d := part.bytes - old[part.name]; d != 0 {
					fmt.Printf("      %-34s %+8.2f KiB\n", name, float64(d)/float64(n)/1024)
				}
			}
		}
	}
	return queue
}

// indexBytes lists each table's parts ("table/part": its rows, each
// index) with their sizes.
func indexBytes(ctx context.Context, db *store.DB) ([]tableSize, error) {
	q := `SELECT tbl_name || '/' || CASE WHEN dbstat.name = tbl_name THEN '(rows)' ELSE dbstat.name END, SUM(pgsize)
		FROM dbstat JOIN sqlite_master ON sqlite_master.name = dbstat.name GROUP BY dbstat.name`
	if db.Dialect == store.Postgres {
		q = `SELECT t.relname || '/(rows)', pg_table_size(t.oid) FROM pg_class t WHERE t.relkind = 'r' AND t.relnamespace = 'public'::regnamespace
			UNION ALL SELECT t.relname || '/' || i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = 'public'::regnamespace`
	}
	return sizes(ctx, db, q)
}

// sizes reads (name, bytes) rows.
func sizes(ctx context.Context, db *store.DB, q string) ([]tableSize, error) {
	rows, err := db.R.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tableSize
	for rows.Next() {
		var t tableSize
		if err := rows.Scan(&t.name, &t.bytes); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

type tableSize struct {
	name  string
	bytes int64
}

// tableBytes lists the tables with their indexes, largest first.
func tableBytes(ctx context.Context, db *store.DB) ([]tableSize, error) {
	q := `SELECT tbl_name, SUM(pgsize) FROM dbstat JOIN sqlite_master ON sqlite_master.name = dbstat.name GROUP BY tbl_name ORDER BY 2 DESC`
	if db.Dialect == store.Postgres {
		q = `SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC`
	}
	return sizes(ctx, db, q)
}

// databaseBytes is the database's size: the SQLite file after a checkpoint
// (WAL folded in), or pg_database_size.
func databaseBytes(ctx context.Context, db *store.DB, cfg config.Config) (int64, error) {
	if db.Dialect == store.Postgres {
		var n int64
		err := db.R.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	if _, err := db.SQL.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, err
	}
	var pages, size int64
	if err := db.SQL.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return 0, err
	}
	if err := db.SQL.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size); err != nil {
		return 0, err
	}
	var free int64
	_ = db.SQL.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free)
	return (pages - free) * size, nil
}

// stackConfig makes a fresh deployment: a temp data dir, or a new
// PostgreSQL database and S3 bucket on the servers scripts/services.sh runs.
// With keep, the deployment of that name is reused (made on first use) and
// left in place.
func stackConfig(ctx context.Context, stack, keep string) (config.Config, func(), error) {
	cfg, err := config.Load()
	if err != nil {
		return cfg, nil, err
	}
	var dir string
	if keep != "" {
		dir = kept.DataDir(stack, keep)
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "veripost-scale-")
	}
	if err != nil {
		return cfg, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if keep != "" {
		cleanup = func() {}
	}
	cfg.DataDir = dir
	cfg.DatabaseURL, cfg.BlobURL = "", ""
	if stack == "sqlite" {
		return cfg, cleanup, nil
	}
	if stack != "postgres" {
		return cfg, cleanup, fmt.Errorf("unknown -stack %q", stack)
	}
	base := os.Getenv("VERIPOST_TEST_DATABASE_URL")
	endpoint := os.Getenv("VERIPOST_TEST_S3_ENDPOINT")
	if base == "" || endpoint == "" {
		return cfg, cleanup, errors.New("-stack postgres needs the services of scripts/services.sh (source the env.sh it prints)")
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tag := hex.EncodeToString(suffix)
	if keep != "" {
		tag = kept.Tag(keep)
		if !validKeep.MatchString(keep) {
			return cfg, cleanup, fmt.Errorf("-keep %q: use letters, digits and _ only", keep)
		}
	}
	name := kept.Database(tag)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return cfg, cleanup, err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return cfg, cleanup, err
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			return cfg, cleanup, err
		}
	}
	if cfg.DatabaseURL, cfg.BlobURL, err = kept.ServiceURLs(tag); err != nil {
		return cfg, cleanup, err
	}
	region := os.Getenv("VERIPOST_TEST_S3_REGION")
	key, secret := os.Getenv("VERIPOST_TEST_S3_ACCESS_KEY"), os.Getenv("VERIPOST_TEST_S3_SECRET_KEY")
	client := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	bucket := kept.Bucket(tag)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil || keep == "" {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return cfg, cleanup, err
		}
	}
	if keep != "" {
		return cfg, cleanup, nil
	}
	return cfg, func() {
		cleanup()
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
			c.Close(context.Background())
		}
	}, nil
}

func cpus() int { return runtime.NumCPU() }

var validKeep = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// startProfile writes a CPU profile to path (nothing when empty) until the
// returned function is called.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
