package search

import (
	"encoding/binary"
	"hash/fnv"
	"strings"
	"unicode/utf8"
)

// Near-duplicates are found with MinHash: a signature of SignatureSize
// minimum hashes over a file's set of normalised lines estimates the
// Jaccard similarity of two line sets as the share of equal positions. A
// package version's signature is the element-wise minimum of its files'
// (the signature of the union of their lines), so "this upload is 97 % the
// same as package X v3" compares every line of the two posts.
const SignatureSize = 128

// Bands and rows of the locality-sensitive hashing that finds candidate
// near-duplicates without comparing every pair: two signatures that agree
// on all rows of any band are candidates. With 32 bands of 4 rows, pairs
// above ~0.6 similarity are almost always candidates.
const (
	Bands   = 32
	BandRow = SignatureSize / Bands
)

// emptySlot marks a signature position no line set a value in.
const emptySlot = ^uint32(0)

var minhashSeeds = func() [SignatureSize]uint64 {
	var s [SignatureSize]uint64
	x := uint64(0x9e3779b97f4a7c15)
	for i := range s {
		x = splitmix(x)
		s[i] = x
	}
	return s
}()

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// normLine is a line as compared for near-duplicates: blanks collapsed,
// upper case (UPG is case-insensitive).
func normLine(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// normLineHash is the 64-bit FNV-1a of normLine(s), without building it
// when s is ASCII (nearly every line).
func normLineHash(s string) uint64 {
	h := uint64(fnvOffset)
	started, blank := false, false // blank: one is written before the next word
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			h := fnv.New64a()
			h.Write([]byte(normLine(s)))
			return h.Sum64()
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			blank = started
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if blank {
			h = (h ^ ' ') * fnvPrime
			blank = false
		}
		started = true
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// MinHash is the signature of a set of lines.
func MinHash(lines []Line) []uint32 {
	sig := make([]uint32, SignatureSize)
	for i := range sig {
		sig[i] = emptySlot
	}
	// A signature is of the set of lines: a line that occurs again (ENDIF,
	// a blank template line) changes nothing and is not hashed again.
	seen := make(map[uint64]struct{}, len(lines))
	for _, l := range lines {
		x := normLineHash(l.Text)
		if _, ok := seen[x]; ok {
			continue
		}
		seen[x] = struct{}{}
		for i, seed := range minhashSeeds {
			if v := uint32(splitmix(x^seed) >> 32); v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

// UnionSignature is the signature of the union of the sets signed by sigs.
func UnionSignature(sigs [][]uint32) []uint32 {
	out := make([]uint32, SignatureSize)
	for i := range out {
		out[i] = emptySlot
	}
	for _, s := range sigs {
		if len(s) != SignatureSize {
			continue
		}
		for i, v := range s {
			out[i] = min(out[i], v)
		}
	}
	return out
}

// Jaccard estimates the similarity of the two sets behind a and b, from 0
// to 1. Two empty sets are not alike (0).
func Jaccard(a, b []uint32) float64 {
	if len(a) != SignatureSize || len(b) != SignatureSize {
		return 0
	}
	same, used := 0, 0
	for i := range a {
		if a[i] == emptySlot && b[i] == emptySlot {
			continue
		}
		used++
		if a[i] == b[i] {
			same++
		}
	}
	if used == 0 {
		return 0
	}
	return float64(same) / float64(used)
}

// BandHashes are the LSH keys of a signature, one per band (the band index
// is part of the hash, so equal rows in different bands do not collide).
// An empty signature has none.
func BandHashes(sig []uint32) []int64 {
	if len(sig) != SignatureSize {
		return nil
	}
	empty := true
	for _, v := range sig {
		if v != emptySlot {
			empty = false
			break
		}
	}
	if empty {
		return nil
	}
	out := make([]int64, Bands)
	var buf [4 + 4*BandRow]byte
	for b := 0; b < Bands; b++ {
		binary.LittleEndian.PutUint32(buf[:4], uint32(b))
		for r := 0; r < BandRow; r++ {
			binary.LittleEndian.PutUint32(buf[4+4*r:], sig[b*BandRow+r])
		}
		h := fnv.New64a()
		h.Write(buf[:])
		out[b] = int64(h.Sum64())
	}
	return out
}

// EncodeSignature and DecodeSignature store a signature as bytes.
func EncodeSignature(sig []uint32) []byte {
	out := make([]byte, 4*len(sig))
	for i, v := range sig {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// DecodeSignature is the inverse of EncodeSignature.
func DecodeSignature(b []byte) []uint32 {
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}
