package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/store"
)

// tieSource is a package file that uses TIE_NAME uses times, defining it
// first when define is set; n keeps every content distinct.
func tieSource(n, uses int, define bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*FANUCM\r\n:SYSTEM=MILL\r\n* tie package %d\r\n", n)
	if define {
		b.WriteString(":ATTRNAME=TIE NAME\r\n:ATTRTYPE=POST\r\n:ATTRVTYPE=INTEGER\r\n:ATTRDEFAULT=1\r\n:ATTREND\r\n")
	}
	b.WriteString(":SECTION=START_OF_TAPE\r\n")
	for range uses {
		b.WriteString(":T:G<TIE_NAME><EOL>\r\n")
	}
	return []byte(b.String())
}

type tiePackage struct {
	id         string
	defs, uses int
	created    time.Time
}

// TestSymbolPagingOverTies: a name's packages are paged definers first,
// then newest first with ties (same creation time) broken by id, each
// package exactly once with its counts, on the exact pages and on the
// walked ones of a common name; a cursor of one kind is refused by the
// other; the counts stay exact across deletions and a new latest version.
func TestSymbolPagingOverTies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		var pkgs []*tiePackage
		for i := range 7 {
			define := i%3 == 0
			files := []servertest.NamedFile{{Name: "P.SRC", Data: tieSource(i, i+1, define)}}
			p := &tiePackage{uses: i + 1}
			if i == 1 { // two files: the package's counts add up
				files = append(files, servertest.NamedFile{Name: "Q.LIB", Data: tieSource(100+i, 2, true)})
				p.uses += 2
				p.defs++
			}
			if define {
				p.defs++
			}
			p.id = app.Upload(files, map[string]string{"name": fmt.Sprintf("Tie %d", i)}).PackageID
			app.WaitReady(p.id)
			pkgs = append(pkgs, p)
		}
		// Five packages created at the same microsecond.
		tie := time.Now().UTC().Truncate(time.Microsecond)
		for i, p := range pkgs {
			p.created = tie.Add(time.Duration(i-3) * time.Hour)
			if i >= 1 && i <= 5 {
				p.created = tie
			}
			// latest_files keeps the time in microseconds on SQLite (migration 00133).
			var latest any = p.created
			if app.DB.Dialect == store.SQLite {
				latest = p.created.UnixMicro()
			}
			if _, err := app.DB.SQL.Exec(`UPDATE packages SET created_at = $1 WHERE id = $2`, p.created, p.id); err != nil {
				t.Fatal(err)
			}
			if _, err := app.DB.SQL.Exec(`UPDATE latest_files SET package_created_at = $1 WHERE package_id = $2`, latest, p.id); err != nil {
				t.Fatal(err)
			}
		}
		newestFirst := func(ps []*tiePackage) {
			sort.SliceStable(ps, func(i, j int) bool {
				if !ps[i].created.Equal(ps[j].created) {
					return ps[i].created.After(ps[j].created)
				}
				return ps[i].id > ps[j].id
			})
		}
		want := append([]*tiePackage(nil), pkgs...)
		newestFirst(want)
		sort.SliceStable(want, func(i, j int) bool { return want[i].defs > 0 && want[j].defs == 0 })

		// walk pages through the name two packages at a time and checks the
		// order, the counts and the total.
		walk := func(want []*tiePackage, total int) []string {
			t.Helper()
			var cursors []string
			var got []string
			cursor := ""
			for range 10 {
				var page api.SymbolBody
				app.GetJSON("/api/v1/symbols/tie_name?limit=2&cursor="+url.QueryEscape(cursor), &page)
				if page.Total != total || !page.TotalExact {
					t.Fatalf("total %d (exact %v), want %d", page.Total, page.TotalExact, total)
				}
				for _, sp := range page.Packages {
					got = append(got, sp.PackageID)
					for _, p := range want {
						if p.id == sp.PackageID && (sp.Definitions != p.defs || sp.References != p.uses || len(sp.Occurrences) != min(20, p.defs+p.uses)) {
							t.Errorf("package %s: %d defs %d uses %d listed, want %d %d", p.id, sp.Definitions, sp.References, len(sp.Occurrences), p.defs, p.uses)
						}
					}
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
				cursors = append(cursors, cursor)
			}
			var ids []string
			for _, p := range want {
				ids = append(ids, p.id)
			}
			if !reflect.DeepEqual(got, ids) {
				t.Fatalf("pages list\n%v\nwant\n%v", got, ids)
			}
			return cursors
		}
		exactCursors := walk(want, len(pkgs))
		checkSymbolCounters(t, app, true)

		// A common name is walked newest first: make the count say so (the
		// pages list what the latest files have, whatever the count says).
		inflate := func(by int) {
			t.Helper()
			q := `UPDATE symbol_names SET packages = packages + $1 WHERE canonical = 'TIE_NAME'`
			if _, err := app.DB.SQL.Exec(q, by); err != nil {
				t.Fatal(err)
			}
		}
		inflate(1000)
		// fsck sees the count differ from the latest files.
		if drift, err := app.DB.SymbolCounterDrift(t.Context()); err != nil || !reflect.DeepEqual(drift, []string{"TIE_NAME"}) {
			t.Fatalf("counter drift %v (%v), want TIE_NAME", drift, err)
		}
		newest := append([]*tiePackage(nil), pkgs...)
		newestFirst(newest)
		walkCursors := walk(newest, len(pkgs)+1000)
		if status, _, _ := app.Get("/api/v1/symbols/tie_name?limit=2&cursor=" + url.QueryEscape(exactCursors[0])); status != http.StatusBadRequest {
			t.Errorf("an exact page's cursor on a walked name: HTTP %d, want 400", status)
		}
		walk(newest, len(pkgs)+1000)
		inflate(-1000)
		if status, _, _ := app.Get("/api/v1/symbols/tie_name?limit=2&cursor=" + url.QueryEscape(walkCursors[0])); status != http.StatusBadRequest {
			t.Errorf("a walked page's cursor on an exact name: HTTP %d, want 400", status)
		}
		for _, c := range []string{"%%%", "bm90LWEtY3Vyc29y"} {
			if status, _, _ := app.Get("/api/v1/symbols/tie_name?cursor=" + url.QueryEscape(c)); status != http.StatusBadRequest {
				t.Errorf("cursor %q: HTTP %d, want 400", c, status)
			}
		}
		var none api.SymbolBody
		app.GetJSON("/api/v1/symbols/no_such_name?cursor="+url.QueryEscape(exactCursors[0]), &none)
		if none.Total != 0 || len(none.Packages) != 0 || none.NextCursor != "" {
			t.Errorf("a name no package has: %+v", none)
		}

		// Deleting a package and replacing a package's latest version keep
		// every count exact.
		app.Do(http.MethodDelete, "/api/v1/packages/"+pkgs[3].id, nil)
		if app.Upload([]servertest.NamedFile{{Name: "P.SRC", Data: tieSource(200, 9, false)}}, map[string]string{"package_id": pkgs[0].id}).PackageID != pkgs[0].id {
			t.Fatal("the new version went to another package")
		}
		app.WaitVersionReady(pkgs[0].id, 2)
		pkgs[0].defs, pkgs[0].uses = 0, 9
		left := []*tiePackage{}
		for _, p := range pkgs {
			if p != pkgs[3] {
				left = append(left, p)
			}
		}
		newestFirst(left)
		sort.SliceStable(left, func(i, j int) bool { return left[i].defs > 0 && left[j].defs == 0 })
		walk(left, len(left))
		checkSymbolCounters(t, app, true)
		var names catalog.Page[index.SymbolName]
		app.GetJSON("/api/v1/symbols?prefix=TIE&limit=5", &names)
		if len(names.Items) != 1 || names.Items[0].Packages != len(left) {
			t.Errorf("the name's counts: %+v, want one name in %d packages", names.Items, len(left))
		}
		walk(left, len(left))
		checkSymbolCounters(t, app, true)
		for _, p := range left {
			app.Do(http.MethodDelete, "/api/v1/packages/"+p.id, nil)
		}
		walk(nil, 0)
		checkSymbolCounters(t, app, false)
	})
}
