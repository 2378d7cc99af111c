// Command readcost measures what one read request costs on a deployment
// kept by bench/scale (-keep), without ingestion workers (no queue
// polling): the CPU of this process (server and client) per request and,
// on PostgreSQL, the CPU of the database's backends per request (they
// share the machine's cores). On a shared machine these are fairer figures
// than latencies:
//
//	go run ./bench/scale -stack sqlite -packages 2000 -phases fill -keep k1
//	go run ./bench/readcost -stack sqlite -keep k1 -n 500 [-c 20] [-only symbol] [-cpuprofile f]
//	go run ./bench/readcost -stack sqlite -keep k1 -direct   (the store's queries alone)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veripost/veripost/bench/kept"
	"github.com/veripost/veripost/bench/machine"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/server"
)

func main() {
	stack := flag.String("stack", "sqlite", "sqlite or postgres")
	keep := flag.String("keep", "reads5", "kept deployment name")
	n := flag.Int("n", 500, "requests per endpoint")
	clients := flag.Int("c", 1, "concurrent clients")
	only := flag.String("only", "", "endpoints whose label contains this")
	prof := flag.String("cpuprofile", "", "profile file")
	gz := flag.Bool("gzip", true, "client accepts gzip")
	names := flag.String("names", "", "symbol names for -direct")
	direct := flag.Bool("direct", false, "call the store directly (no HTTP)")
	dump := flag.String("dump", "", "write each endpoint's body to this dir")
	flag.Parse()
	ctx := context.Background()
	cfg, err := kept.Config(*stack, *keep)
	check(err)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := server.New(ctx, cfg, log, server.Options{Workers: 0, Version: "bench"})
	check(err)
	defer app.Close()
	actx := auth.WithActor(ctx, auth.System("bench"))
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "readcost-" + hex.EncodeToString(suffix)
	_, err = app.Auth.CreateUser(actx, auth.NewUser{Username: name, Role: auth.RoleAdmin})
	check(err)
	tok, err := app.Auth.CreateToken(actx, auth.NewToken{Name: "bench", Scope: auth.ScopeAdmin, Owner: name})
	check(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go (&http.Server{Handler: app.Handler}).Serve(ln)
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: !*gz}}

	db := app.DB.R
	pick := func(q string) string {
		var s string
		check(db.QueryRowContext(ctx, q).Scan(&s))
		return s
	}
	common := pick(`SELECT canonical FROM symbol_names ORDER BY packages DESC, canonical LIMIT 1`)
	medium := pick(`SELECT canonical FROM symbol_names WHERE packages BETWEEN 20 AND 200 ORDER BY packages DESC, canonical LIMIT 1`)
	rare := pick(`SELECT canonical FROM symbol_names WHERE packages = 1 ORDER BY canonical LIMIT 1`)
	millSHA := pick(`SELECT sha256 FROM library_variants ORDER BY packages DESC LIMIT 1`)
	libName := pick(`SELECT name FROM library_names ORDER BY packages DESC LIMIT 1`)
	// The oldest package's first latest file: its package page and its
	// source (a file found by id within its package).
	var pkgID, fileID string
	check(db.QueryRowContext(ctx, `SELECT package_id, file_id FROM latest_files ORDER BY package_id, ord LIMIT 1`).Scan(&pkgID, &fileID))
	endpoints := []struct{ name, path string }{
		{"symbol common", "/api/v1/symbols/" + url.PathEscape(common) + "?limit=20"},
		{"symbol medium", "/api/v1/symbols/" + url.PathEscape(medium) + "?limit=20"},
		{"symbol rare", "/api/v1/symbols/" + url.PathEscape(rare) + "?limit=20"},
		{"symbols index", "/api/v1/symbols?limit=100"},
		{"symbols prefix1", "/api/v1/symbols?limit=100&prefix=" + url.QueryEscape(common[:1])},
		{"libraries", "/api/v1/libraries?limit=50"},
		{"libraries name", "/api/v1/libraries?name=" + url.QueryEscape(libName)},
		{"library packages", "/api/v1/libraries/" + millSHA + "/packages?limit=50"},
		{"package", "/api/v1/packages/" + pkgID},
		{"file source", "/api/v1/packages/" + pkgID + "/files/" + fileID + "/source"},
		{"file download", "/api/v1/packages/" + pkgID + "/files/" + fileID + "/download"},
		{"healthz", "/healthz"},
	}
	get := func(path string) (int, int, error) { // body bytes
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		m, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		return int(m), 0, err
	}
	var stop func()
	if *direct {
		if *prof != "" {
			f, err := os.Create(*prof)
			check(err)
			check(pprof.StartCPUProfile(f))
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		if *names == "" {
			*names = common + "," + medium + "," + rare
		}
		for _, name := range strings.Split(*names, ",") {
			_, err := app.DB.SymbolUsage(ctx, name, 20, "")
			check(err)
			cpu0 := machine.ProcessCPU()
			pg0 := backendCPU(ctx, app)
			t0 := time.Now()
			for range *n {
				_, err := app.DB.SymbolUsage(ctx, name, 20, "")
				check(err)
			}
			fmt.Printf("SymbolUsage(%s): %.3fms cpu, %.3fms pg, %.3fms wall\n", name, float64((machine.ProcessCPU()-cpu0).Microseconds())/1000/float64(*n), float64((backendCPU(ctx, app)-pg0).Microseconds())/1000/float64(*n), float64(time.Since(t0).Microseconds())/1000/float64(*n))
		}
		_, err := app.DB.LibraryPackages(ctx, millSHA, 50, "")
		check(err)
		cpu0 := machine.ProcessCPU()
		pg0 := backendCPU(ctx, app)
		for range *n {
			_, err := app.DB.LibraryPackages(ctx, millSHA, 50, "")
			check(err)
		}
		fmt.Printf("LibraryPackages: %.3fms cpu %.3fms pg\n", float64((machine.ProcessCPU()-cpu0).Microseconds())/1000/float64(*n), float64((backendCPU(ctx, app)-pg0).Microseconds())/1000/float64(*n))
		return
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		check(err)
		check(pprof.StartCPUProfile(f))
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	fmt.Printf("%-18s %8s %8s %8s %9s %9s\n", "endpoint", "bytes", "p50", "p99", "cpu/req", "pg/req")
	for _, e := range endpoints {
		if *only != "" && !strings.Contains(e.name, *only) {
			continue
		}
		if *dump != "" {
			req, _ := http.NewRequest(http.MethodGet, base+e.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok.Secret)
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			check(err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var v any
			check(json.Unmarshal(b, &v))
			check(os.WriteFile(filepath.Join(*dump, strings.ReplaceAll(e.name, " ", "_")+".json"), b, 0o644))
		}
		size, _, err := get(e.path)
		check(err)
		for range 30 {
			_, _, err := get(e.path)
			check(err)
		}
		pg0 := backendCPU(ctx, app)
		var left atomic.Int64
		left.Store(int64(*n))
		var mu sync.Mutex
		var lat []time.Duration
		cpu0 := machine.ProcessCPU()
		var wg sync.WaitGroup
		for range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for left.Add(-1) >= 0 {
					t0 := time.Now()
					_, _, err := get(e.path)
					check(err)
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		cpu := (machine.ProcessCPU() - cpu0) / time.Duration(*n)
		pg := (backendCPU(ctx, app) - pg0) / time.Duration(*n)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("%-18s %8d %8s %8s %8.3fms %8.3fms\n", e.name, size, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), float64(cpu.Microseconds())/1000, float64(pg.Microseconds())/1000)
	}
	if stop != nil {
		stop()
	}
}

// backendCPU sums the CPU time of the PostgreSQL backends serving this
// database (0 on SQLite).
func backendCPU(ctx context.Context, app *server.App) time.Duration {
	if app.DB.Dialect != "postgres" {
		return 0
	}
	rows, err := app.DB.R.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	check(err)
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		check(rows.Scan(&pid))
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		var ut, st int64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "readcost:", err)
		os.Exit(1)
	}
}
