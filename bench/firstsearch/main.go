// Command firstsearch measures what a search costs right after the
// database changed, on a deployment kept by bench/scale (-keep): every
// upload, edit or deletion starts a new index generation, and the first
// search of a generation reads again what the store keeps per generation
// (the packages' latest files, and on SQLite the per-document caches).
// Each query runs after a change (a package's updated_at is touched), then
// again in the same generation; the answer cache is off, so the second
// run is the cost of a search that is not the first after a change.
//
//	go run ./bench/scale -stack sqlite -packages 10000 -phases fill -keep k1
//	go run ./bench/firstsearch -stack sqlite -keep k1 [-rounds 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/veripost/veripost/bench/kept"
	"github.com/veripost/veripost/bench/machine"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server"
)

func main() {
	stack := flag.String("stack", "sqlite", "sqlite or postgres (PostgreSQL + S3 from VERIPOST_TEST_* as scripts/services.sh exports them)")
	keep := flag.String("keep", "", "the deployment kept by bench/scale -keep")
	rounds := flag.Int("rounds", 3, "changes per query")
	flag.Parse()
	if *keep == "" {
		fmt.Fprintln(os.Stderr, "firstsearch: -keep is required (fill a deployment with bench/scale -keep NAME -phases fill first)")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := kept.Config(*stack, *keep)
	check(err)
	app, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), server.Options{Workers: 0, Version: "bench"})
	check(err)
	defer app.Close()
	app.Search.CacheBytes = -1
	var pkg string
	check(app.DB.R.QueryRowContext(ctx, `SELECT id FROM packages ORDER BY created_at LIMIT 1`).Scan(&pkg))
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("%-24s %5s   %-28s %-28s\n", "query", "round", "after a change: wall (CPU)", "again: wall (CPU)")
	for _, r := range []search.Request{{Query: "SPINDLE_DIR"}, {Query: "G84"}, {Query: "tool change position", Mode: search.ModeHybrid}} {
		for round := range *rounds {
			_, err := app.DB.SQL.ExecContext(ctx, `UPDATE packages SET updated_at = $1 WHERE id = $2`, time.Now().UTC(), pkg)
			check(err)
			c0, t0 := machine.ProcessCPU(), time.Now()
			_, err = app.Search.Search(ctx, r)
			check(err)
			c1, t1 := machine.ProcessCPU(), time.Now()
			_, err = app.Search.Search(ctx, r)
			check(err)
			fmt.Printf("%-24s %5d   %8.1f ms (%6.1f ms)%7s %8.1f ms (%6.1f ms)\n", r.Query, round,
				ms(t1.Sub(t0)), ms(c1-c0), "", ms(time.Since(t1)), ms(machine.ProcessCPU()-c1))
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "firstsearch:", err)
		os.Exit(1)
	}
}
