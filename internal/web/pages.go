package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/upload"
)

// unsetValue is the filter value that selects packages whose machine or
// controller is not set.
const unsetValue = "-"

var pageSizes = []int{25, 50, 100}

const defaultPageSize = 25

// columns of the package list, in display order.
var listColumns = []struct {
	Key, Label string
	Numeric    bool
	Sortable   bool
	DefaultAsc bool
}{
	{store.BrowseSortName, "Name", false, true, true},
	{store.BrowseSortMachine, "Machine", false, true, true},
	{store.BrowseSortController, "Controller", false, true, true},
	{store.BrowseSortPlatform, "Platform", false, true, true},
	{store.BrowseSortStatus, "Status", false, true, true},
	{store.BrowseSortFiles, "Files", true, true, false},
	{store.BrowseSortDiagnostics, "Diagnostics", true, true, false},
	{store.BrowseSortUploaded, "Last upload", false, true, false},
}

type column struct {
	Key, Label string
	Numeric    bool
	URL        string // sort link; empty when the column cannot be sorted
	AriaSort   string // "ascending", "descending" or "" (not the sort column)
}

type listRow struct {
	store.BrowseRow
	// Analysed: the latest version was indexed, so its error and warning
	// counts are known.
	Analysed bool
}

type pageLink struct {
	N       int
	URL     string
	Current bool
	Gap     bool // an ellipsis instead of a link
}

type listFilters struct {
	Search, Status, Machine, Controller, Sort string
	Desc                                      bool
	Per                                       int
}

type listData struct {
	Rows             []listRow
	Columns          []column
	Total, From, To  int
	Page, Pages      int
	PageLinks        []pageLink
	PrevURL, NextURL string
	F                listFilters
	Filtered         bool
	ClearURL         string
	Facets           store.BrowseFacets
	Statuses         []catalog.Status
	PageSizes        []int
	Deleted          string
}

// query builds the list address for filters f on page n.
func (f listFilters) query(n int) string {
	v := url.Values{}
	if f.Search != "" {
		v.Set("q", f.Search)
	}
	if f.Status != "" {
		v.Set("status", f.Status)
	}
	if f.Machine != "" {
		v.Set("machine", f.Machine)
	}
	if f.Controller != "" {
		v.Set("controller", f.Controller)
	}
	if f.Sort != store.BrowseSortUploaded || !f.Desc {
		v.Set("sort", f.Sort)
		if f.Desc {
			v.Set("dir", "desc")
		} else {
			v.Set("dir", "asc")
		}
	}
	if f.Per != defaultPageSize {
		v.Set("per", strconv.Itoa(f.Per))
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

func validStatus(s string) bool {
	_, ok := statusLabels[catalog.Status(s)]
	return ok
}

func (u *UI) list(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	f := listFilters{
		Search:     strings.TrimSpace(qv.Get("q")),
		Status:     qv.Get("status"),
		Machine:    qv.Get("machine"),
		Controller: qv.Get("controller"),
		Sort:       qv.Get("sort"),
		Per:        defaultPageSize,
	}
	if len(f.Search) > 200 {
		f.Search = f.Search[:200]
	}
	if !validStatus(f.Status) {
		f.Status = ""
	}
	if !store.ValidBrowseSort(f.Sort) {
		f.Sort = store.BrowseSortUploaded
	}
	switch qv.Get("dir") {
	case "asc":
	case "desc":
		f.Desc = true
	default:
		f.Desc = f.Sort == store.BrowseSortUploaded || f.Sort == store.BrowseSortFiles
	}
	if n, err := strconv.Atoi(qv.Get("per")); err == nil {
		for _, s := range pageSizes {
			if n == s {
				f.Per = n
			}
		}
	}
	pageN, err := strconv.Atoi(qv.Get("page"))
	if err != nil || pageN < 1 {
		pageN = 1
	}

	q := store.BrowseQuery{Search: f.Search, Status: catalog.Status(f.Status), Sort: f.Sort, Desc: f.Desc,
		Limit: f.Per, Offset: (pageN - 1) * f.Per}
	q.Machine = filterValue(f.Machine)
	q.Controller = filterValue(f.Controller)
	res, err := u.Store.BrowsePackages(r.Context(), q)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	pages := max((res.Total+f.Per-1)/f.Per, 1)
	if pageN > pages {
		http.Redirect(w, r, f.query(pages), http.StatusSeeOther)
		return
	}
	facets, err := u.Store.BrowseFacets(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := listData{
		Columns: make([]column, 0, len(listColumns)), Total: res.Total, Page: pageN, Pages: pages, F: f,
		Filtered: f.Search != "" || f.Status != "" || f.Machine != "" || f.Controller != "",
		Facets:   facets, Statuses: append(append([]catalog.Status{}, stages...), catalog.StatusError),
		PageSizes: pageSizes, Deleted: qv.Get("deleted"),
	}
	clear := listFilters{Sort: f.Sort, Desc: f.Desc, Per: f.Per}
	d.ClearURL = clear.query(1)
	if res.Total > 0 {
		d.From, d.To = q.Offset+1, q.Offset+len(res.Rows)
	}
	for _, c := range listColumns {
		col := column{Key: c.Key, Label: c.Label, Numeric: c.Numeric}
		if c.Sortable {
			next := f
			next.Sort = c.Key
			next.Desc = !c.DefaultAsc
			if f.Sort == c.Key {
				next.Desc = !f.Desc
				col.AriaSort = "ascending"
				if f.Desc {
					col.AriaSort = "descending"
				}
			}
			col.URL = next.query(1)
		}
		d.Columns = append(d.Columns, col)
	}
	for _, row := range res.Rows {
		d.Rows = append(d.Rows, listRow{BrowseRow: row, Analysed: row.Status == catalog.StatusReady})
	}
	if pageN > 1 {
		d.PrevURL = f.query(pageN - 1)
	}
	if pageN < pages {
		d.NextURL = f.query(pageN + 1)
	}
	d.PageLinks = pageLinks(pageN, pages, f.query)
	u.render(w, r, http.StatusOK, "list", u.newPage(r, "Packages", "packages", d))
}

func filterValue(v string) *string {
	switch v {
	case "":
		return nil
	case unsetValue:
		empty := ""
		return &empty
	}
	return &v
}

// pageLinks lists the first, last and nearby pages, with gaps.
func pageLinks(cur, total int, link func(int) string) []pageLink {
	if total <= 1 {
		return nil
	}
	var out []pageLink
	last := 0
	for n := 1; n <= total; n++ {
		if n == 1 || n == total || (n >= cur-2 && n <= cur+2) {
			if last != 0 && n > last+1 {
				out = append(out, pageLink{Gap: true})
			}
			out = append(out, pageLink{N: n, URL: link(n), Current: n == cur})
			last = n
		}
	}
	return out
}

type uploadData struct {
	Package *catalog.Package // set when uploading a new version of it
}

func (u *UI) upload(w http.ResponseWriter, r *http.Request) {
	var d uploadData
	title := "Upload a package"
	if id := r.URL.Query().Get("package"); id != "" {
		p, err := u.Store.GetPackage(r.Context(), id)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Package = &p
		title = "Upload a new version of " + p.Name
	}
	u.render(w, r, http.StatusOK, "upload", u.newPage(r, title, "upload", d))
}

func (u *UI) extensions() []string { return upload.KnownExtensions }

// acceptAttr is the file input's accept list: a ZIP or the UPG files.
func (u *UI) acceptAttr() string {
	parts := []string{".zip", "application/zip"}
	for _, e := range upload.KnownExtensions {
		parts = append(parts, "."+strings.ToLower(e))
	}
	return strings.Join(parts, ",")
}

type packageData struct {
	Pkg         catalog.Package
	Versions    []catalog.Version
	Latest      catalog.Version
	Diagnostics []index.DiagnosticRow
	DiagCounts  map[string]int
	DiagShown   int // how many are listed (the rest are counted only)
	DiagHook    bool
	DiagError   bool
	TotalBytes  int64
	// Shown is the version whose files and diagnostics the page lists: the
	// latest, or an older one chosen with ?version=N (Older).
	Shown  catalog.Version
	Files  []catalog.File
	Older  bool
	LibUse map[string]*libUse // by file id: packages with exactly this library (see libUsage)
	// Similar: posts like this one, and the one it nearly duplicates.
	Similar similarPosts
}

// maxListedDiagnostics bounds the package page's list; the counts stay
// complete.
const maxListedDiagnostics = 500

func (u *UI) pkg(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	p, err := u.Store.GetPackage(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) {
		u.notFound(w, r, "There is no package with this address. It may have been deleted.", "package "+id)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	vs, err := u.Store.ListVersions(r.Context(), id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := packageData{Pkg: p, Versions: vs, DiagHook: u.Index != nil, DiagCounts: map[string]int{}, Files: p.Files}
	want := p.LatestVersion
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			u.notFound(w, r, "This package has no such version. The versions table on the package page lists them all.", "version "+q)
			return
		}
		want = n
	}
	found := false
	for _, v := range vs {
		if v.Number == p.LatestVersion {
			d.Latest = v
		}
		if v.Number == want {
			d.Shown, found = v, true
		}
	}
	if !found && want != p.LatestVersion {
		u.notFound(w, r, fmt.Sprintf("%s has no version %d. The versions table on the package page lists them all.", p.Name, want), "")
		return
	}
	if !found {
		d.Shown = d.Latest
	}
	for _, f := range p.Files {
		d.TotalBytes += f.Size
	}
	if d.Shown.Number != p.LatestVersion {
		d.Older = true
		if d.Files, err = u.Store.VersionFiles(r.Context(), d.Shown.ID); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	d.LibUse = u.libUsage(r, d.Files)
	d.Similar = u.similarPosts(r, d.Latest)
	if u.Index != nil && d.Shown.ParserVersion != "" {
		rows, err := u.Index.VersionDiagnostics(r.Context(), d.Shown.ID, "", "")
		if err != nil {
			u.Log.WarnContext(r.Context(), "loading diagnostics failed", "package", id, "err", err)
			d.DiagError = true
		}
		for _, row := range rows {
			d.DiagCounts[row.Severity]++
		}
		// Errors and warnings first; the (often many) infos after them.
		sort.SliceStable(rows, func(i, j int) bool { return severityRank(rows[i].Severity) < severityRank(rows[j].Severity) })
		d.DiagShown = min(len(rows), maxListedDiagnostics)
		d.Diagnostics = rows[:d.DiagShown]
	}
	u.render(w, r, http.StatusOK, "package", u.newPage(r, p.Name, "packages", d))
}
