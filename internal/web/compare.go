package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/diff"
)

// The compare page: /compare?a=PKG@N&b=PKG@M (or a_sha/b_sha, a_file/
// b_file; base=pkg:ID or base=sha:SHA:FILE with b for customisations),
// ignore options ws/case/comments, context, view=unified|split.

type cmpItem struct {
	Status  string // for the style: added, removed, changed …
	Label   string // the status in words
	Title   string
	Details []string
	ALabel  string
	AHref   string
	BLabel  string
	BHref   string
	Hunk    string // anchor of the line diff that shows it
	Variant string // compare URL of a library's two variants
}

type cmpGroup struct {
	Key, Title string
	Items      []cmpItem
	Open       bool
}

// Long lists of definitions and references start folded; the language
// items above them are what a reviewer reads first.
const foldSymbolsOver = 20

// Files added or removed whole start folded past this many lines.
const foldWholeFileOver = 300

type cmpCell struct {
	N    int
	Href string
	Op   string
	HTML template.HTML
}

type cmpRow struct {
	Op   string
	A, B cmpCell
	HTML template.HTML
}

type cmpSplitRow struct {
	L, R *cmpCell
}

type cmpHunk struct {
	Anchor, Header string
	Rows           []cmpRow
	Split          []cmpSplitRow
}

type cmpFile struct {
	Anchor    string
	Status    string
	Title     string
	Kind      string
	Notes     []string
	Added     int
	Removed   int
	Collapsed bool
	Binary    bool
	TooLarge  bool
	AHref     string
	BHref     string
	Hunks     []cmpHunk
}

type cmpSide struct {
	compare.Side
	Href string
}

type compareData struct {
	A, B                                   cmpSide
	R                                      *diff.Result
	Custom                                 bool
	View                                   string
	Opt                                    diff.Options
	Groups                                 []cmpGroup
	Files                                  []cmpFile
	Changed                                int
	Unchanged                              int
	UnifiedURL, SplitURL, SwapURL, MoreURL string
	ExplainURL                             string      // the plain-words explanation of the change
	Hidden                                 [][2]string // the side parameters, kept by the options form
}

// compareQuery is the page's parameters.
type compareQuery struct {
	a, b          compare.Ref
	opt           diff.Options
	view          string
	custom        bool
	contextParam  string
	ws, cs, comms bool
}

func (u *UI) parseCompare(r *http.Request) (compareQuery, error) {
	q := r.URL.Query()
	var cq compareQuery
	side := func(which string) (compare.Ref, error) {
		if sha := strings.TrimSpace(q.Get(which + "_sha")); sha != "" {
			return compare.Ref{SHA256: sha, File: strings.TrimSpace(q.Get(which + "_file"))}, nil
		}
		ref, err := compare.ParseRef(q.Get(which))
		ref.File = strings.TrimSpace(q.Get(which + "_file"))
		return ref, err
	}
	var err error
	if base := q.Get("base"); base != "" {
		cq.custom = true
		switch kind, rest, _ := strings.Cut(base, ":"); kind {
		case "pkg":
			cq.a = compare.Ref{Package: rest}
		case "sha":
			sha, file, _ := strings.Cut(rest, ":")
			cq.a = compare.Ref{SHA256: sha}
			cq.b.File = file
		default:
			return cq, fmt.Errorf("base %q is neither pkg:ID nor sha:SHA:FILE", base)
		}
		file := cq.b.File
		if cq.b, err = side("b"); err != nil {
			return cq, err
		}
		if file != "" {
			cq.b.File = file
		}
	} else {
		if cq.a, err = side("a"); err != nil {
			return cq, err
		}
		if cq.b, err = side("b"); err != nil {
			return cq, err
		}
	}
	cq.custom = cq.custom || q.Get("mode") == "custom"
	cq.opt.IgnoreWhitespace = q.Get("ws") == "1"
	cq.opt.IgnoreCase = q.Get("case") == "1"
	cq.opt.IgnoreComments = q.Get("comments") == "1"
	cq.opt.Context = diff.DefaultContext
	if c := q.Get("context"); c != "" {
		if n, err := strconv.Atoi(c); err == nil {
			cq.opt.Context = min(max(n, 0), 100000)
			cq.contextParam = c
		}
	}
	if cq.opt.Context == 0 {
		cq.opt.Context = -1
	}
	cq.view = "unified"
	if q.Get("view") == "split" {
		cq.view = "split"
	}
	return cq, nil
}

// CompareHref is the compare page of two references.
func CompareHref(a, b compare.Ref) string {
	v := url.Values{}
	a.SetParams(v, "a")
	b.SetParams(v, "b")
	return "/compare?" + v.Encode()
}

func (u *UI) comparePage(w http.ResponseWriter, r *http.Request) {
	if u.Compare == nil {
		u.notFound(w, r, "Comparing is not available on this server.", "")
		return
	}
	q := r.URL.Query()
	if q.Get("a") == "" && q.Get("a_sha") == "" && q.Get("base") == "" {
		u.renderError(w, r, http.StatusBadRequest, "Choose what to compare",
			"Open a comparison from a package’s versions table (“Compare”), from a package’s “Compare with…” box, or from a library’s variants.", "")
		return
	}
	cq, err := u.parseCompare(r)
	if err != nil {
		u.renderError(w, r, http.StatusBadRequest, "That comparison cannot be made", err.Error(), "")
		return
	}
	c, err := u.Compare.Compare(r.Context(), cq.a, cq.b, cq.opt)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := u.compareView(c, cq)
	title := "Compare " + c.A.Label + " with " + c.B.Label
	if cq.custom {
		title = "Customisations of " + c.B.Label
	}
	p := u.newPage(r, title, "packages", d)
	p.Wide = true
	u.render(w, r, http.StatusOK, "compare", p)
}

// pageURL is this page with some parameters changed.
func pageURL(cq compareQuery, c *compare.Comparison, change func(v url.Values)) string {
	v := url.Values{}
	c.A.Ref().SetParams(v, "a")
	c.B.Ref().SetParams(v, "b")
	if cq.custom {
		v.Set("mode", "custom")
	}
	if cq.opt.IgnoreWhitespace {
		v.Set("ws", "1")
	}
	if cq.opt.IgnoreCase {
		v.Set("case", "1")
	}
	if cq.opt.IgnoreComments {
		v.Set("comments", "1")
	}
	if cq.contextParam != "" {
		v.Set("context", cq.contextParam)
	}
	if cq.view == "split" {
		v.Set("view", "split")
	}
	if change != nil {
		change(v)
	}
	return "/compare?" + v.Encode()
}

func sideHref(s compare.Side) string {
	switch {
	case s.Kind == "content":
		return libHref(s.File, s.SHA256)
	case s.Latest:
		return "/packages/" + s.PackageID
	}
	return fmt.Sprintf("/packages/%s?version=%d", s.PackageID, s.Version)
}

func (u *UI) compareView(c *compare.Comparison, cq compareQuery) *compareData {
	d := &compareData{A: cmpSide{c.A, sideHref(c.A)}, B: cmpSide{c.B, sideHref(c.B)}, R: c.Result, Custom: cq.custom,
		View: cq.view, Opt: cq.opt}
	d.UnifiedURL = pageURL(cq, c, func(v url.Values) { v.Del("view") })
	d.SplitURL = pageURL(cq, c, func(v url.Values) { v.Set("view", "split") })
	d.MoreURL = pageURL(cq, c, func(v url.Values) { v.Set("context", "25") })
	d.ExplainURL = "/compare/explain?" + strings.TrimPrefix(pageURL(cq, c, func(v url.Values) { v.Del("view"); v.Del("context") }), "/compare?")
	d.SwapURL = pageURL(cq, c, func(v url.Values) {
		for _, k := range []string{"a", "b", "a_sha", "b_sha", "a_file", "b_file"} {
			v.Del(k)
		}
		c.B.Ref().SetParams(v, "a")
		c.A.Ref().SetParams(v, "b")
	})
	hidden := url.Values{}
	c.A.Ref().SetParams(hidden, "a")
	c.B.Ref().SetParams(hidden, "b")
	if cq.custom {
		hidden.Set("mode", "custom")
	}
	for k, vs := range hidden {
		d.Hidden = append(d.Hidden, [2]string{k, vs[0]})
	}

	// Where each file's lines are in the source view.
	srcHref := func(side compare.Side, name string, line int) string {
		for _, f := range side.Files {
			if f.Name == name && f.ID != "" && side.PackageID != "" {
				h := "/packages/" + side.PackageID + "/files/" + f.ID
				if line > 0 {
					h += "#L" + strconv.Itoa(line)
				}
				return h
			}
		}
		return ""
	}
	fileIndex := map[string]int{} // "a:NAME" / "b:NAME" → index into Files
	for i, f := range c.Result.Files {
		if f.A != nil {
			fileIndex["a:"+f.A.Name] = i
		}
		if f.B != nil {
			fileIndex["b:"+f.B.Name] = i
		}
	}
	hunkOf := func(l *diff.Loc, side string) string {
		if l == nil {
			return ""
		}
		i, ok := fileIndex[side+":"+l.File]
		if !ok {
			return ""
		}
		for j, h := range c.Result.Files[i].Hunks {
			start, n := h.BStart, h.BLines
			if side == "a" {
				start, n = h.AStart, h.ALines
			}
			if l.Line <= start+n-1 && l.EndLine >= start {
				return fmt.Sprintf("#f%d-h%d", i, j)
			}
		}
		return fmt.Sprintf("#f%d", i)
	}
	item := func(status, title string, a, b *diff.Loc, details ...string) cmpItem {
		it := cmpItem{Status: status, Label: strings.ReplaceAll(status, "-", " "), Title: title, Details: details}
		if a != nil {
			it.ALabel, it.AHref = a.String(), srcHref(c.A, a.File, a.Line)
		}
		if b != nil {
			it.BLabel, it.BHref = b.String(), srcHref(c.B, b.File, b.Line)
		}
		if it.Hunk = hunkOf(b, "b"); it.Hunk == "" {
			it.Hunk = hunkOf(a, "a")
		}
		return it
	}
	s := c.Result.Semantic
	var g cmpGroup
	g = cmpGroup{Key: "sections", Title: "Sections"}
	for _, x := range s.Sections {
		title := x.Name
		if x.Renamed {
			title = x.OldName + " → " + x.Name
		}
		var det []string
		if x.Renamed && x.Status != diff.Renamed {
			det = append(det, "also renamed")
		}
		if x.Moved && x.Status != diff.Moved {
			det = append(det, "also moved")
		}
		if x.ParamsA != x.ParamsB {
			det = append(det, "parameters "+x.ParamsA+" → "+x.ParamsB)
		}
		if x.BodyChanged && x.Added+x.Removed+x.Changed > 0 {
			det = append(det, fmt.Sprintf("statements: %d added, %d removed, %d changed", x.Added, x.Removed, x.Changed))
		}
		g.Items = append(g.Items, item(x.Status, title, x.A, x.B, det...))
	}
	d.add(g)
	for _, bg := range []struct {
		key, title string
		items      []diff.BlockChange
	}{{"attributes", "Attributes", s.Attributes}, {"operations", "Operations", s.Operations}} {
		g = cmpGroup{Key: bg.key, Title: bg.title}
		for _, x := range bg.items {
			var det []string
			for _, v := range x.Values {
				det = append(det, v.Words())
			}
			if x.Moved && x.Status != diff.Moved {
				det = append(det, "also moved to "+x.B.File)
			}
			title := x.Name
			if x.Type != "" {
				title += " (" + strings.ToLower(x.Type) + ")"
			}
			g.Items = append(g.Items, item(x.Status, title, x.A, x.B, det...))
		}
		d.add(g)
	}
	for _, vg := range []struct {
		key, title string
		items      []diff.ValueChange
	}{{"headers", "Header commands", s.Headers}, {"defines", "Defines", s.Defines}} {
		g = cmpGroup{Key: vg.key, Title: vg.title}
		for _, v := range vg.items {
			g.Items = append(g.Items, item(v.Status, v.Words(), v.A, v.B))
		}
		d.add(g)
	}
	g = cmpGroup{Key: "libraries", Title: "Libraries"}
	for _, l := range s.Libraries {
		var det []string
		if l.PathA != l.PathB && l.PathA != "" && l.PathB != "" {
			det = append(det, "path "+l.PathA+" → "+l.PathB)
		}
		it := item(l.Status, l.Name, l.A, l.B, det...)
		it.Label = diff.LibraryWords(l.Status)
		if l.Status == diff.LibVariant {
			it.Variant = CompareHref(compare.Ref{SHA256: l.SHA256A}, compare.Ref{SHA256: l.SHA256B})
		}
		g.Items = append(g.Items, it)
	}
	d.add(g)
	g = cmpGroup{Key: "definitions", Title: "Definitions"}
	for _, x := range s.Definitions {
		g.Items = append(g.Items, item(x.Status, x.Name, x.A, x.B, x.Kind))
	}
	d.add(g)
	g = cmpGroup{Key: "references", Title: "References"}
	for _, x := range s.References {
		g.Items = append(g.Items, item(x.Status, x.Name, x.A, x.B,
			fmt.Sprintf("%s · used %d → %d times", x.Kind, x.CountA, x.CountB)))
	}
	d.add(g)

	for i, f := range c.Result.Files {
		cf := cmpFile{Anchor: fmt.Sprintf("f%d", i), Status: f.Status, Kind: strings.ToUpper(f.Kind), Notes: f.Notes,
			Added: f.Added, Removed: f.Removed, Binary: f.Binary, TooLarge: f.TooLarge}
		if f.Equivalent {
			cf.Status = "equivalent"
		}
		cf.Collapsed = f.Status == diff.StatusIdentical || f.Equivalent ||
			(f.A == nil || f.B == nil) && f.Added+f.Removed > foldWholeFileOver
		switch {
		case f.A == nil:
			cf.Title = f.B.Name
		case f.B == nil:
			cf.Title = f.A.Name
		case f.A.Name != f.B.Name:
			cf.Title = f.A.Name + " → " + f.B.Name
		default:
			cf.Title = f.B.Name
		}
		if f.A != nil && !f.Binary {
			cf.AHref = srcHref(c.A, f.A.Name, 0)
		}
		if f.B != nil && !f.Binary {
			cf.BHref = srcHref(c.B, f.B.Name, 0)
		}
		for j, h := range f.Hunks {
			cf.Hunks = append(cf.Hunks, buildHunk(fmt.Sprintf("f%d-h%d", i, j), h,
				func(n int) string { return srcHref(c.A, f.A.Name, n) },
				func(n int) string { return srcHref(c.B, f.B.Name, n) }))
		}
		if cf.Collapsed {
			d.Unchanged++
		} else {
			d.Changed++
		}
		d.Files = append(d.Files, cf)
	}
	return d
}

func (d *compareData) add(g cmpGroup) {
	g.Open = len(g.Items) <= foldSymbolsOver || g.Key != "definitions" && g.Key != "references"
	if len(g.Items) > 0 {
		d.Groups = append(d.Groups, g)
	}
}

// markedHTML escapes a line and wraps its changed parts in <mark>.
func markedHTML(text string, marks [][2]int) template.HTML {
	var b strings.Builder
	pos := 0
	for _, m := range marks {
		from, to := min(max(m[0], pos), len(text)), min(m[1], len(text))
		if from >= to {
			continue
		}
		b.WriteString(template.HTMLEscapeString(text[pos:from]))
		b.WriteString("<mark>")
		b.WriteString(template.HTMLEscapeString(text[from:to]))
		b.WriteString("</mark>")
		pos = to
	}
	b.WriteString(template.HTMLEscapeString(text[pos:]))
	return template.HTML(b.String())
}

// buildHunk prepares a hunk for the unified and the side-by-side views.
func buildHunk(anchor string, h diff.Hunk, aHref, bHref func(int) string) cmpHunk {
	out := cmpHunk{Anchor: anchor, Header: fmt.Sprintf("@@ −%d,%d +%d,%d @@", h.AStart, h.ALines, h.BStart, h.BLines)}
	if h.Section != "" {
		out.Header += " :SECTION=" + h.Section
	}
	var dels, ins []*cmpCell
	flush := func() {
		for i := 0; i < max(len(dels), len(ins)); i++ {
			row := cmpSplitRow{}
			if i < len(dels) {
				row.L = dels[i]
			}
			if i < len(ins) {
				row.R = ins[i]
			}
			out.Split = append(out.Split, row)
		}
		dels, ins = nil, nil
	}
	for _, l := range h.Lines {
		html := markedHTML(l.Text, l.Marks)
		row := cmpRow{Op: l.Op, HTML: html}
		if l.A > 0 {
			row.A = cmpCell{N: l.A, Href: aHref(l.A)}
		}
		if l.B > 0 {
			row.B = cmpCell{N: l.B, Href: bHref(l.B)}
		}
		out.Rows = append(out.Rows, row)
		switch l.Op {
		case diff.OpDelete:
			dels = append(dels, &cmpCell{N: l.A, Href: row.A.Href, Op: l.Op, HTML: html})
		case diff.OpInsert:
			ins = append(ins, &cmpCell{N: l.B, Href: row.B.Href, Op: l.Op, HTML: html})
		default:
			flush()
			out.Split = append(out.Split, cmpSplitRow{
				L: &cmpCell{N: l.A, Href: row.A.Href, Op: l.Op, HTML: html},
				R: &cmpCell{N: l.B, Href: row.B.Href, Op: l.Op, HTML: html}})
		}
	}
	flush()
	return out
}

// ---------------------------------------------------------------- package page

// compareChoices are what the package page offers to compare with.
type compareChoices struct {
	Packages []catalog.Package
	Variants []variantChoice
}

type variantChoice struct {
	Name, SHA, Label string
}

// maxComparePackages bounds the "compare with…" list.
const maxComparePackages = 300

// compareChoices lists the other packages and, for each library file of
// the shown version, the other variants of that library in use.
func (u *UI) compareChoices(r *http.Request, p catalog.Package, files []catalog.File) *compareChoices {
	if u.Compare == nil {
		return nil
	}
	cc := &compareChoices{}
	res, err := u.Store.BrowsePackages(r.Context(), catalog.BrowseQuery{Sort: catalog.BrowseSortName, Limit: maxComparePackages})
	if err != nil {
		u.Log.WarnContext(r.Context(), "listing packages to compare with failed", "err", err)
	}
	for _, row := range res.Rows {
		if row.ID != p.ID {
			cc.Packages = append(cc.Packages, row.Package)
		}
	}
	for _, f := range files {
		if !strings.EqualFold(f.Extension, "LIB") {
			continue
		}
		vp, err := u.Index.LibraryVariants(r.Context(), f.Filename, libraryVariantsShown, "")
		if err != nil {
			continue
		}
		for i, v := range vp.Items {
			if v.SHA256 == f.SHA256 {
				continue
			}
			cc.Variants = append(cc.Variants, variantChoice{Name: f.Filename, SHA: v.SHA256,
				Label: fmt.Sprintf("%s variant #%d (%s…, %s)", f.Filename, i+1, v.SHA256[:10], plural(v.Packages, "package", "packages"))})
		}
	}
	return cc
}
