package catalog

import (
	"context"
	"slices"
	"time"
)

// Sort keys of BrowseQuery.
const (
	BrowseSortUploaded   = "uploaded" // the latest version's upload time (the default)
	BrowseSortName       = "name"
	BrowseSortMachine    = "machine"
	BrowseSortController = "controller"
	BrowseSortPlatform   = "platform"
	BrowseSortStatus     = "status"
	BrowseSortFiles      = "files"
	// BrowseSortDiagnostics orders by the latest version's error count,
	// then its warning count.
	BrowseSortDiagnostics = "diagnostics"
)

// BrowseQuery selects, orders and pages packages for people browsing them
// (the web UI). Zero values mean "no filter".
type BrowseQuery struct {
	// Search matches a substring of the package name, case-insensitively.
	Search string
	// Status filters on the latest version's ingestion status.
	Status Status
	// Machine and Controller filter on the exact value; a pointer to ""
	// selects packages where the field is not set.
	Machine    *string
	Controller *string
	// Sort is one of the BrowseSort* keys (default BrowseSortUploaded);
	// Desc reverses it. Ties are broken by id so pages never overlap.
	Sort string
	Desc bool
	// Limit (1…200, default 25) and Offset page the result.
	Limit  int
	Offset int
}

// BrowseRow is one package of a browse result. Package.Files is not loaded.
type BrowseRow struct {
	Package
	// VersionID is the latest version's id (for per-version facts such as
	// diagnostics); UploadedAt is when it was uploaded.
	VersionID  string
	UploadedAt time.Time
}

// BrowseResult is one page of packages and how many match in all.
type BrowseResult struct {
	Rows  []BrowseRow
	Total int
}

// Facet is one distinct value of a field and how many packages have it.
type Facet struct {
	Value string
	Count int
}

// BrowseFacets are the values the browse filters can choose from.
type BrowseFacets struct {
	Machines    []Facet
	Controllers []Facet
	Statuses    []Facet
}

// BrowseSorts lists the sort keys, the default first.
var BrowseSorts = []string{BrowseSortUploaded, BrowseSortName, BrowseSortMachine, BrowseSortController,
	BrowseSortPlatform, BrowseSortStatus, BrowseSortFiles, BrowseSortDiagnostics}

// ValidBrowseSort reports whether key is a sort key BrowsePackages accepts.
func ValidBrowseSort(key string) bool { return slices.Contains(BrowseSorts, key) }

// Browser lists packages for people browsing them: filtered, sorted and
// paged, with the values the filters can take. The API and the web UI
// both use it.
type Browser interface {
	BrowsePackages(ctx context.Context, q BrowseQuery) (BrowseResult, error)
	BrowseFacets(ctx context.Context) (BrowseFacets, error)
}

// UnsetFilter is the filter value that selects packages whose machine or
// controller is not set.
const UnsetFilter = "-"

// FilterValue turns a machine/controller filter parameter into the query's
// form: nil for no filter, "" for UnsetFilter.
func FilterValue(v string) *string {
	switch v {
	case "":
		return nil
	case UnsetFilter:
		empty := ""
		return &empty
	}
	return &v
}
