package httpguard

import (
	"sort"
	"strconv"
	"strings"
)

// MaxRanges is the most byte ranges one download answers with; a request
// for more (after overlapping and nearby ranges are merged) gets the whole
// file instead, which HTTP allows a server to do.
const MaxRanges = 16

// mergeGap merges ranges closer than this: each part of a multipart answer
// costs about this much in headers, so sending the bytes between is cheaper.
const mergeGap = 80

// Range is one byte range, both ends included.
type Range struct{ First, Last int64 }

// RangeDecision is what to do with a request's Range header.
type RangeDecision int

// The decisions of CheckRange.
const (
	// RangeServe: serve Header (possibly rewritten) as it is; empty means
	// the whole file.
	RangeServe RangeDecision = iota
	// RangeUnsatisfiable: no range overlaps the content: answer 416.
	RangeUnsatisfiable
)

// CheckRange looks at a Range header for content of size bytes, as
// net/http's ServeContent would, and decides what to answer:
//   - no header, another unit, or a syntax error: serve as sent (the
//     standard library answers those);
//   - ranges that cannot be satisfied (beginning after the end, or the
//     empty suffix "-0", which ServeContent would answer with an empty
//     206) are dropped; when none is left the answer is 416;
//   - overlapping and nearby ranges are merged, in order;
//   - more than MaxRanges after merging: the whole file (Header empty).
//
// header is the Range header to hand to ServeContent.
func CheckRange(raw string, size int64) (header string, d RangeDecision) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(raw), "bytes=")
	if raw == "" || !ok {
		return raw, RangeServe
	}
	var rs []Range
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			return raw, RangeServe
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var r Range
		if first == "" { // a suffix: the last n bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return raw, RangeServe
			}
			if n == 0 || size == 0 {
				continue
			}
			r = Range{max(size-n, 0), size - 1}
		} else {
			f, err := strconv.ParseInt(first, 10, 64)
			if err != nil || f < 0 {
				return raw, RangeServe
			}
			l := size - 1
			if last != "" {
				if l, err = strconv.ParseInt(last, 10, 64); err != nil || l < f {
					return raw, RangeServe
				}
			}
			if f >= size {
				continue
			}
			r = Range{f, min(l, size-1)}
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return raw, RangeUnsatisfiable
	}
	rs = mergeRanges(rs)
	if len(rs) > MaxRanges {
		return "", RangeServe
	}
	var b strings.Builder
	b.WriteString("bytes=")
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(r.First, 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatInt(r.Last, 10))
	}
	return b.String(), RangeServe
}

// mergeRanges sorts ranges and merges those that overlap or lie within
// mergeGap bytes of each other.
func mergeRanges(rs []Range) []Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].First < rs[j].First })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.First <= last.Last+mergeGap {
			last.Last = max(last.Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}
