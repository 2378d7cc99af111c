package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upload"
)

var pageSizes = []int{25, 50, 100}

const defaultPageSize = 25

// columns of the package list, in display order.
var listColumns = []struct {
	Key, Label string
	Numeric    bool
	Sortable   bool
	DefaultAsc bool
}{
	{catalog.BrowseSortName, "Name", false, true, true},
	{catalog.BrowseSortMachine, "Machine", false, true, true},
	{catalog.BrowseSortController, "Controller", false, true, true},
	{catalog.BrowseSortPlatform, "Platform", false, true, true},
	{catalog.BrowseSortStatus, "Status", false, true, true},
	{catalog.BrowseSortFiles, "Files", true, true, false},
	{catalog.BrowseSortDiagnostics, "Diagnostics", true, true, false},
	{catalog.BrowseSortUploaded, "Last upload", false, true, false},
}

type column struct {
	Key, Label string
	Numeric    bool
	URL        string // sort link; empty when the column cannot be sorted
	AriaSort   string // "ascending", "descending" or "" (not the sort column)
}

type listRow struct {
	catalog.BrowseRow
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
	Facets           catalog.BrowseFacets
	Statuses         []catalog.Status
	PageSizes        []int
	Deleted          string
	Welcome          bool // first page after setup
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
	if f.Sort != catalog.BrowseSortUploaded || !f.Desc {
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
	if !catalog.ValidBrowseSort(f.Sort) {
		f.Sort = catalog.BrowseSortUploaded
	}
	switch qv.Get("dir") {
	case "asc":
	case "desc":
		f.Desc = true
	default:
		f.Desc = f.Sort == catalog.BrowseSortUploaded || f.Sort == catalog.BrowseSortFiles
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

	q := catalog.BrowseQuery{Search: f.Search, Status: catalog.Status(f.Status), Sort: f.Sort, Desc: f.Desc,
		Limit: f.Per, Offset: (pageN - 1) * f.Per}
	q.Machine = catalog.FilterValue(f.Machine)
	q.Controller = catalog.FilterValue(f.Controller)
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
		PageSizes: pageSizes, Deleted: qv.Get("deleted"), Welcome: qv.Get("welcome") == "1",
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
	pg := u.newPage(r, "Packages", "packages", d)
	pg.Wide = true // the table uses the page's width
	u.render(w, r, http.StatusOK, "list", pg)
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
	Pkg            catalog.Package
	Versions       []catalog.Version
	Latest         catalog.Version
	Diagnostics    []index.DiagnosticRow // one page of findings (infos aggregated)
	DiagCounts     map[string]int
	DiagGroups     []index.DiagnosticGroup
	DiagFilter     index.DiagnosticFilter
	DiagFilterName string // the filtered file's name
	DiagPage       pager
	DiagHook       bool
	// MoreVersions: the table lists the newest maxListedVersions only.
	MoreVersions bool
	DiagError    bool
	TotalBytes   int64
	// Shown is the version whose files and diagnostics the page lists: the
	// latest, or an older one chosen with ?version=N (Older).
	Shown  catalog.Version
	Files  []catalog.File
	Older  bool
	LibUse map[string]*libUse // by file id: packages with exactly this library (see libUsage)
	// Similar: posts like this one, and the one it nearly duplicates.
	Similar similarPosts
	// Compare is what the page offers to compare with (nil without compare).
	Compare *compareChoices
	// Stock are the libraries the shown version names without shipping
	// them, with the registry variants the package may pick (nil without
	// a registry or when it ships them all).
	Stock *stockChoices
	// History is the package's audit trail, newest first.
	History []auth.Event
	// CanDelete: the viewer may delete this package (admins any; engineers
	// and reviewers their own).
	CanDelete bool
}

// diagnosticsPerPage is how many findings one page of the package page's
// list shows (infos count once per code and name).
const diagnosticsPerPage = 100

// pager links the pages of a list.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

// maxListedVersions bounds the package page's versions table (the API
// pages through all of them).
const maxListedVersions = 100

// versionDiagnostics lists a version's findings as the API does.
func (u *UI) versionDiagnostics(r *http.Request, versionID string, f index.DiagnosticFilter) ([]index.DiagnosticRow, error) {
	files, err := u.Index.AnalysedFiles(r.Context(), versionID)
	if err != nil {
		return nil, err
	}
	res, err := u.Index.Result(r.Context(), versionID)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return nil, err
	}
	return index.Diagnostics(files, res, f), nil
}

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
	vp, err := u.Store.ListVersions(r.Context(), id, maxListedVersions, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	vs := vp.Items
	d := packageData{Pkg: p, Versions: vs, MoreVersions: vp.NextCursor != "", DiagHook: true, DiagCounts: map[string]int{}, Files: p.Files}
	want := p.LatestVersion
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			u.notFound(w, r, "This package has no such version. The versions table on the package page lists them all.", "version "+q)
			return
		}
		want = n
	}
	if d.Latest, err = u.Store.LatestVersion(r.Context(), id); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Shown = d.Latest
	if want != p.LatestVersion {
		if d.Shown, err = u.Store.VersionByNumber(r.Context(), id, want); err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				u.notFound(w, r, fmt.Sprintf("%s has no version %d. The versions table on the package page lists them all.", p.Name, want), "")
				return
			}
			u.fail(w, r, err)
			return
		}
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
	if d.Older {
		d.TotalBytes = 0
		for _, f := range d.Files {
			d.TotalBytes += f.Size
		}
	}
	d.Compare = u.compareChoices(r, p, d.Files)
	d.Stock = u.stockChoices(r, p.ID, d.Shown)
	uploaders := make([]string, 0, len(vs))
	for _, v := range vs {
		uploaders = append(uploaders, v.UploadedBy)
	}
	d.CanDelete = auth.MayDeletePackage(auth.ActorFrom(r.Context()), uploaders)
	if u.Auth != nil {
		h, err := u.Auth.PackageHistory(r.Context(), id, 50, 0)
		if err != nil {
			u.Log.WarnContext(r.Context(), "loading the package history failed", "package", id, "err", err)
		}
		d.History = h.Items
	}
	if d.Shown.ParserVersion != "" {
		q := r.URL.Query()
		d.DiagFilter = index.DiagnosticFilter{Severity: q.Get("dsev"), Code: q.Get("dcode"), FileID: q.Get("dfile")}
		rows, err := u.versionDiagnostics(r, d.Shown.ID, d.DiagFilter)
		if err != nil {
			u.Log.WarnContext(r.Context(), "loading diagnostics failed", "package", id, "err", err)
			d.DiagError = true
		}
		for _, row := range rows {
			d.DiagCounts[row.Severity]++
			if row.FileID != "" && row.FileID == d.DiagFilter.FileID {
				d.DiagFilterName = row.Filename
			}
		}
		d.DiagGroups = index.Groups(rows)
		findings := index.Findings(rows)
		page, _ := strconv.Atoi(q.Get("dpage"))
		d.DiagPage = paginate(r.URL, "dpage", page, len(findings), diagnosticsPerPage, "#diagnostics")
		lo := (d.DiagPage.Page - 1) * diagnosticsPerPage
		d.Diagnostics = findings[lo:min(lo+diagnosticsPerPage, len(findings))]
	}
	pg := u.newPage(r, p.Name, "packages", d)
	pg.Key = p.ID
	u.render(w, r, http.StatusOK, "package", pg)
}

// paginate works out page (1-based, clamped) of total items and the links
// to its neighbours: u with the page parameter changed, plus fragment.
func paginate(u *url.URL, param string, page, total, per int, fragment string) pager {
	p := pager{Total: total, Pages: max(1, (total+per-1)/per)}
	p.Page = min(max(page, 1), p.Pages)
	link := func(n int) string {
		q := u.Query()
		if n <= 1 {
			q.Del(param)
		} else {
			q.Set(param, strconv.Itoa(n))
		}
		s := u.Path
		if e := q.Encode(); e != "" {
			s += "?" + e
		}
		return s + fragment
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p
}
