package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/registry"
)

// RegistryReader lists the stock library registry (registry.Store
// implements it).
type RegistryReader interface {
	Variants(ctx context.Context, name string) ([]registry.Variant, error)
	Choices(ctx context.Context, packageID string) ([]registry.Choice, error)
}

// stockChoices are a version's libraries that the package names but does
// not ship, for the package page's "Stock libraries" card.
type stockChoices struct {
	Libs []stockLib
}

type stockLib struct {
	Name     string // the library's file name, e.g. MILL.LIB
	Resolved string // the registry label it resolved to ("" unresolved)
	// Pick is the package's own choice: "" follows the default, "none"
	// uses no registry variant, otherwise a variant's SHA-256.
	Pick     string
	Variants []registry.Variant
}

// stockChoices lists the unshipped libraries of the shown version with
// what the registry offers for each.
func (u *UI) stockChoices(r *http.Request, packageID string, v catalog.Version) *stockChoices {
	if u.Registry == nil || v.ParserVersion == "" {
		return nil
	}
	ctx := r.Context()
	res, err := u.Index.Result(ctx, v.ID)
	if err != nil {
		return nil
	}
	picks := map[string]string{}
	cs, err := u.Registry.Choices(ctx, packageID)
	if err != nil {
		u.Log.WarnContext(ctx, "loading the package's registry picks failed", "package", packageID, "err", err)
		return nil
	}
	for _, c := range cs {
		picks[strings.ToUpper(c.Name)] = c.SHA256
		if c.SHA256 == "" {
			picks[strings.ToUpper(c.Name)] = "none"
		}
	}
	out := &stockChoices{}
	seen := map[string]bool{}
	for _, l := range res.Libraries {
		if l.How != "registry" && l.Resolved != "" {
			continue // shipped with the package
		}
		name := pathBase(l.Path)
		key := strings.ToUpper(name)
		if name == "" || seen[key] {
			continue
		}
		seen[key] = true
		vs, err := u.Registry.Variants(ctx, name)
		if err != nil {
			u.Log.WarnContext(ctx, "listing registry variants failed", "name", name, "err", err)
			return nil
		}
		sl := stockLib{Name: name, Pick: picks[key], Variants: vs}
		if l.How == "registry" {
			sl.Resolved = l.Registry
		}
		out.Libs = append(out.Libs, sl)
	}
	if len(out.Libs) == 0 {
		return nil
	}
	return out
}

type registryData struct {
	Variants []registry.Variant
	// Names are the registered names, each with the variants VeriPost
	// holds under it (the ones not registered yet can be registered).
	Held []heldName
	// The registration form, prefilled from ?name=&sha= (the Libraries
	// page's "Register" links).
	Name, SHA string
	// Queued is how many versions the last change of default queued for
	// analysis again (-1: no change just made); Registered names the
	// variant just registered.
	Queued     int
	Registered string
}

type heldName struct {
	Name     string
	Variants []index.LibraryVariant
	// Registered says which of the held contents are registered.
	Registered map[string]bool
}

// registryPage is the administrators' page of the stock library registry:
// the registered variants with their labels, the default of each name, a
// form to register a content VeriPost holds, and the progress of the
// re-analysis a new default starts. Changes go to the JSON API.
func (u *UI) registryPage(w http.ResponseWriter, r *http.Request) {
	if u.Registry == nil {
		u.notFound(w, r, "This server has no library registry.", "")
		return
	}
	ctx := r.Context()
	qv := r.URL.Query()
	d := registryData{Name: strings.TrimSpace(qv.Get("name")), SHA: strings.ToLower(strings.TrimSpace(qv.Get("sha")))}
	if len(d.Name) > 255 {
		d.Name = d.Name[:255]
	}
	if !shaRE.MatchString(d.SHA) {
		d.SHA = ""
	}
	d.Queued = -1
	if n, err := strconv.Atoi(qv.Get("queued")); err == nil && n >= 0 {
		d.Queued = n
	}
	if sha := strings.ToLower(qv.Get("registered")); shaRE.MatchString(sha) {
		d.Registered = sha
	}
	vs, err := u.Registry.Variants(ctx, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Variants = vs
	names := []string{}
	seen := map[string]int{}
	for _, v := range vs {
		key := strings.ToUpper(v.Name)
		if _, ok := seen[key]; !ok {
			seen[key] = len(names)
			names = append(names, v.Name)
		}
	}
	if d.Name != "" {
		if _, ok := seen[strings.ToUpper(pathBase(d.Name))]; !ok {
			names = append(names, pathBase(d.Name))
		}
	}
	for _, n := range names {
		vp, err := u.Index.LibraryVariants(ctx, n, 20, "")
		if err != nil {
			u.fail(w, r, err)
			return
		}
		h := heldName{Name: n, Variants: vp.Items, Registered: map[string]bool{}}
		for _, v := range vs {
			if strings.EqualFold(v.Name, n) {
				h.Registered[v.SHA256] = true
			}
		}
		d.Held = append(d.Held, h)
	}
	u.render(w, r, http.StatusOK, "registry", u.newPage(r, "Library registry", "registry", d))
}
