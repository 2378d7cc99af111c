package search

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/apperror"
)

// ErrNotIndexed is returned (wrapped in an *apperror.Error) when a version
// or section has no search index entry yet.
var ErrNotIndexed = errors.New("search: not indexed")

// VersionRow is a version's search index entry with its package.
type VersionRow struct {
	VersionID   string
	PackageID   string
	PackageName string
	Version     int
	Latest      bool
	Machine     string
	Controller  string
	Vector      []float32
	Signature   []uint32
}

// SimilarPackage is a post like another.
type SimilarPackage struct {
	PackageID   string  `json:"package_id"`
	PackageName string  `json:"package_name"`
	Version     int     `json:"version"`
	Latest      bool    `json:"latest"`
	Machine     string  `json:"machine"`
	Controller  string  `json:"controller"`
	Similarity  float64 `json:"similarity" doc:"cosine similarity of the structural embeddings, 0 to 1"`
	Overlap     float64 `json:"overlap" doc:"estimated share of identical lines (MinHash Jaccard), 0 to 1"`
	URL         string  `json:"url"`
}

// NearDuplicate is the stored version most like a version ("this upload
// is 97 % the same as package X v3").
type NearDuplicate struct {
	PackageID   string  `json:"package_id"`
	PackageName string  `json:"package_name"`
	Version     int     `json:"version"`
	Overlap     float64 `json:"overlap" doc:"estimated share of identical lines, 0 to 1"`
	Percent     int     `json:"percent"`
	URL         string  `json:"url"`
}

// NearDuplicateThreshold is the least line overlap reported as a near
// duplicate.
const NearDuplicateThreshold = 0.6

func notIndexed(what string) error {
	return errors.Join(apperror.New(http.StatusConflict, apperror.CodeNotIndexed,
		what+" is not indexed for search yet. Wait until its ingestion has finished, or run veripost reindex.", what), ErrNotIndexed)
}

// SimilarPackages lists the posts most like the given version, by the
// cosine similarity of their embeddings: other packages' latest versions,
// or every version of other packages with allVersions.
func (s *Searcher) SimilarPackages(ctx context.Context, versionID string, limit int, allVersions bool) ([]SimilarPackage, error) {
	limit = min(max(limit, 1), maxLimit)
	target, err := s.Index.VersionIndex(ctx, versionID)
	if errors.Is(err, ErrNotIndexed) {
		return nil, notIndexed("This package")
	}
	if err != nil {
		return nil, err
	}
	out := []SimilarPackage{}
	for k := limit*4 + 16; ; k *= 4 {
		cands, err := s.Index.NearestVersions(ctx, target.Vector, k)
		if err != nil {
			return nil, err
		}
		out = out[:0]
		for _, c := range cands {
			if c.PackageID == target.PackageID || (!allVersions && !c.Latest) {
				continue
			}
			out = append(out, SimilarPackage{
				PackageID: c.PackageID, PackageName: c.PackageName, Version: c.Version, Latest: c.Latest,
				Machine: c.Machine, Controller: c.Controller, URL: "/packages/" + c.PackageID,
				Similarity: roundScore(math.Max(0, Cosine(target.Vector, c.Vector))), Overlap: roundScore(Jaccard(target.Signature, c.Signature)),
			})
		}
		if len(out) >= limit || len(cands) < k {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Similarity != b.Similarity {
			return a.Similarity > b.Similarity
		}
		if a.Overlap != b.Overlap {
			return a.Overlap > b.Overlap
		}
		if an, bn := strings.ToLower(a.PackageName), strings.ToLower(b.PackageName); an != bn {
			return an < bn
		}
		return a.Version > b.Version
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// NearDuplicateOf returns the other version sharing the most lines with
// versionID, if it shares at least NearDuplicateThreshold of them; nil when
// there is none or the version is not indexed yet.
func (s *Searcher) NearDuplicateOf(ctx context.Context, versionID string) (*NearDuplicate, error) {
	target, err := s.Index.VersionIndex(ctx, versionID)
	if errors.Is(err, ErrNotIndexed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cands, err := s.Index.VersionsSharingBands(ctx, BandHashes(target.Signature), versionID)
	if err != nil {
		return nil, err
	}
	var best *NearDuplicate
	for _, c := range cands {
		j := Jaccard(target.Signature, c.Signature)
		if j < NearDuplicateThreshold {
			continue
		}
		nd := &NearDuplicate{PackageID: c.PackageID, PackageName: c.PackageName, Version: c.Version,
			Overlap: roundScore(j), Percent: int(math.Floor(j*100 + 1e-9)), URL: "/packages/" + c.PackageID + "?version=" + strconv.Itoa(c.Version)}
		if best == nil || nd.Overlap > best.Overlap ||
			nd.Overlap == best.Overlap && (strings.ToLower(nd.PackageName) < strings.ToLower(best.PackageName) ||
				strings.EqualFold(nd.PackageName, best.PackageName) && nd.Version > best.Version) {
			best = nd
		}
	}
	return best, nil
}

// SimilarSections is the answer to "sections like this one".
type SimilarSections struct {
	Section  SectionInfo      `json:"section"`
	Sections []SimilarSection `json:"sections"`
}

// SectionInfo describes a section.
type SectionInfo struct {
	ID string `json:"id"`
	SectionRef
}

// SimilarSection is a section like the one asked about. Identical copies
// of it (the same bytes in several files) are one entry with every place.
type SimilarSection struct {
	SectionInfo
	Similarity float64        `json:"similarity" doc:"cosine similarity of the structural embeddings, 0 to 1"`
	Identical  bool           `json:"identical" doc:"the same bytes as the section asked about"`
	Places     []SectionPlace `json:"places" doc:"where it is (latest versions), up to 10"`
	PlaceCount int            `json:"place_count"`
}

// SectionPlace is a file holding a section.
type SectionPlace struct {
	PackageID   string `json:"package_id"`
	PackageName string `json:"package_name"`
	Version     int    `json:"version"`
	FileID      string `json:"file_id"`
	Filename    string `json:"filename"`
	Line        int    `json:"line"`
	URL         string `json:"url"`
}

const maxPlaces = 10

// maxSectionCandidates bounds the sections one round of SimilarSectionsOf
// reads (identical sections in many files expand one vector to many).
const maxSectionCandidates = 2000

// SimilarSectionsOf lists the sections most like the section with this id
// (see SectionID), in the packages' latest versions.
func (s *Searcher) SimilarSectionsOf(ctx context.Context, id string, limit int) (*SimilarSections, error) {
	limit = min(max(limit, 1), maxLimit)
	sha, ord, ok := ParseSectionID(id)
	if !ok {
		return nil, apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			"There is no section with this id. Section ids come from search results and the source view.", "section "+id)
	}
	target, err := s.Index.Section(ctx, s.indexVersion(), sha, ord)
	if errors.Is(err, ErrNotIndexed) {
		return nil, apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			"There is no such section in the search index. It may belong to content that was deleted or not indexed yet.", "section "+id)
	}
	if err != nil {
		return nil, err
	}
	res := &SimilarSections{Section: SectionInfo{ID: id, SectionRef: target.SectionRef}, Sections: []SimilarSection{}}
	type entry struct {
		SimilarSection
		docs map[int64]int // document → line of the section in it
	}
	for k := limit*4 + 16; ; k *= 4 {
		cands, err := s.Index.NearestSections(ctx, s.indexVersion(), target.Vector, k, maxSectionCandidates)
		if err != nil {
			return nil, err
		}
		byHash := map[string]*entry{}
		var docIDs []int64
		for _, c := range cands {
			if c.SHA256 == sha && c.Ord == ord {
				continue
			}
			e := byHash[c.Hash]
			if e == nil {
				e = &entry{SimilarSection: SimilarSection{
					SectionInfo: SectionInfo{ID: SectionID(c.SHA256, c.Ord), SectionRef: c.SectionRef},
					Similarity:  roundScore(math.Max(0, Cosine(target.Vector, c.Vector))), Identical: c.Hash == target.Hash,
				}, docs: map[int64]int{}}
				byHash[c.Hash] = e
			} else if c.SHA256 < e.ID[:64] {
				e.SectionInfo = SectionInfo{ID: SectionID(c.SHA256, c.Ord), SectionRef: c.SectionRef}
			}
			e.docs[c.DocID] = c.StartLine
			docIDs = append(docIDs, c.DocID)
		}
		files, err := s.Index.ContentFiles(ctx, docIDs, false)
		if err != nil {
			return nil, err
		}
		byDoc := map[int64][]FileRow{}
		for _, f := range files {
			byDoc[f.DocID] = append(byDoc[f.DocID], f)
		}
		var list []SimilarSection
		for _, e := range byHash {
			var places []SectionPlace
			for doc, line := range e.docs {
				for _, f := range byDoc[doc] {
					places = append(places, SectionPlace{PackageID: f.PackageID, PackageName: f.PackageName, Version: f.Version,
						FileID: f.FileID, Filename: f.Filename, Line: line, URL: FileURL(f.PackageID, f.FileID, line)})
				}
			}
			if len(places) == 0 {
				continue // in no package's latest version
			}
			sort.Slice(places, func(i, j int) bool {
				a, b := places[i], places[j]
				if an, bn := strings.ToLower(a.PackageName), strings.ToLower(b.PackageName); an != bn {
					return an < bn
				}
				if a.Filename != b.Filename {
					return a.Filename < b.Filename
				}
				return a.Line < b.Line
			})
			e.PlaceCount = len(places)
			e.Places = places[:min(len(places), maxPlaces)]
			list = append(list, e.SimilarSection)
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Similarity != b.Similarity {
				return a.Similarity > b.Similarity
			}
			return a.ID < b.ID
		})
		res.Sections = list
		if len(list) >= limit || len(cands) < k {
			break
		}
	}
	if len(res.Sections) > limit {
		res.Sections = res.Sections[:limit]
	}
	return res, nil
}

// VersionSearch is what the status of an upload says about search: whether
// the version is indexed yet, and the stored version it nearly duplicates.
func (s *Searcher) VersionSearch(ctx context.Context, versionID string) (indexed bool, nd *NearDuplicate, err error) {
	if _, err := s.Index.VersionIndex(ctx, versionID); errors.Is(err, ErrNotIndexed) {
		return false, nil, nil
	} else if err != nil {
		return false, nil, err
	}
	nd, err = s.NearDuplicateOf(ctx, versionID)
	return err == nil, nd, err
}
