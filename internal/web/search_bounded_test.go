package web_test

import (
	"fmt"
	"testing"

	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestSearchPageBoundedCount: when a search stops counting after its best
// lines, the results page says its counts are lower bounds; when it
// counts everything, it does not.
func TestSearchPageBoundedCount(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	app := servertest.Start(t, cfg, func(a *server.App) { a.Search.MaxHits, a.Search.CacheBytes = 1, -1 })
	// More packages than a page shows (20), each with several lines.
	for i := 1; i <= 22; i++ {
		src := fmt.Sprintf(":SYSTEM=MILL\r\n:SECTION=CALC_SPINDLE\r\n:C:SPINDLE_DIR=%d\r\n:C:SPINDLE_DIR=%d\r\n", i, 100+i)
		res := app.Upload([]servertest.NamedFile{{Name: "P.SRC", Data: []byte(src)}}, map[string]string{"name": fmt.Sprintf("Post %02d", i)})
		app.WaitSearchable(res.PackageID)
	}
	_, _, raw := app.Get("/search?q=SPINDLE_DIR")
	body := string(raw)
	mustContain(t, body, "data-search-bounded", "at least", "the counts (and facet counts) are lower bounds")
	mustNotContain(t, body, "44 hits")
	// One package's lines are few: counted in full, said plainly.
	_, _, raw = app.Get("/search?q=SPINDLE_DIR&package=Post+07")
	mustContain(t, string(raw), "1 package, 1 file, 2 hits")
	mustNotContain(t, string(raw), "data-search-bounded", "lower bounds")
}
