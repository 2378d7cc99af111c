package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/catalog"

	"github.com/veripost/veripost/internal/upload"
)

// stages are the ingestion statuses in the order a version goes through
// them (error replaces whichever stage failed).
var stages = []catalog.Status{
	catalog.StatusPending, catalog.StatusValidating, catalog.StatusStoring, catalog.StatusParsing, catalog.StatusReady,
}

var statusLabels = map[catalog.Status]string{
	catalog.StatusPending:    "Pending",
	catalog.StatusValidating: "Validating",
	catalog.StatusStoring:    "Storing",
	catalog.StatusParsing:    "Parsing",
	catalog.StatusReady:      "Ready",
	catalog.StatusError:      "Error",
}

func statusLabel(s catalog.Status) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

// timeTag renders a timestamp in UTC; app.js rewrites it in the reader's
// local time and adds how long ago it was.
func timeTag(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.Format(time.RFC3339), t.Format("2006-01-02 15:04:05 UTC"), t.Format("2 Jan 2006, 15:04 UTC")))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// pkgLabel names a package in plain text (a choice in a list) so that
// packages of the same name are told apart: machine, controller, latest
// version and when it last changed.
func pkgLabel(p catalog.Package) string {
	parts := []string{p.Name}
	for _, s := range []string{p.MachineType, p.ControllerType} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	last := fmt.Sprintf("v%d", p.LatestVersion)
	if !p.UpdatedAt.IsZero() {
		last += ", " + p.UpdatedAt.UTC().Format("2 Jan 2006")
	}
	return strings.Join(append(parts, last), " · ")
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// groupDigits writes 12345 as "12,345".
func groupDigits(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	default:
		return fmt.Sprint(v)
	}
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (u *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":       u.assets.url,
		"bytes":       upload.HumanBytes,
		"time":        timeTag,
		"status":      statusLabel,
		"plural":      plural,
		"orDash":      orDash,
		"digits":      groupDigits,
		"stages":      func() []catalog.Status { return stages },
		"add":         func(a, b int) int { return a + b },
		"short":       func(s string, n int) string { return s[:min(n, len(s))] },
		"upper":       strings.ToUpper,
		"lower":       strings.ToLower,
		"terminal":    func(s catalog.Status) bool { return s.Terminal() },
		"extensions":  func() []string { return u.extensions() },
		"acceptAttr":  u.acceptAttr,
		"maxUpload":   func() string { return upload.HumanBytes(u.Limits.MaxRequestBytes) },
		"maxUploadN":  func() int64 { return u.Limits.MaxRequestBytes },
		"hasIndex":    func() bool { return u.Index != nil },
		"hasCompare":  func() bool { return u.Compare != nil },
		"hasExplain":  func() bool { return u.Explain != nil },
		"hasRegistry": func() bool { return u.Registry != nil },
		"api":         func() string { return u.APIPrefix },
		"dict":        dict,
		"list":        func(v ...string) []string { return v },
		"libHref":     libHref,
		"pkgLabel":    pkgLabel,
		"extOf":       func(name string) string { return strings.ToUpper(strings.TrimPrefix(path.Ext(name), ".")) },
		// search
		"hasSearch": func() bool { return u.Search != nil },
		"highlight": highlight,
		"pct":       percent,
		"lineCount": func(start, end int) int { return end - start + 1 },
	}
}

// dict builds a map from key, value pairs, to pass several values to a
// partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// parsePages parses each page template together with the layout and the
// shared partials.
func parsePages(funcs template.FuncMap) map[string]*template.Template {
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(embedded, "templates/layout.html", "templates/partials/*.html"))
	pages := map[string]*template.Template{}
	names, err := fs.Glob(embedded, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(embedded, file))
	}
	return pages
}
