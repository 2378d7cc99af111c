package search

import (
	"math"
	"math/bits"
)

// Stored embeddings are int8 scalar-quantised: every component of a vector
// is a multiple of one power-of-two step (2^exp), at most 127 steps from 0.
// The step is the smallest power of two that reaches the largest component,
// so the largest one keeps 7 bits and the rest are within half a step (the
// vectors are L2-normalised, so a step is at most 1/64). A power of two
// makes the form exact and idempotent: a quantised vector's floats are
// q×2^exp exactly, and quantising them again gives the same bytes — a
// vector freshly computed (Quantize) and one read back from the database
// (DecodeVector) are equal to the bit, whichever engine stored it.
//
// The bytes are: a form byte, the exponent (int8), then either all the
// components as int8 (dense) or a bitmap of the non-zero components and
// their int8 values (sparse, for section embeddings of a few features),
// whichever is shorter.
const (
	vecDense  = 1
	vecSparse = 2
)

// quantStep returns the exponent of the smallest power-of-two step with
// which 127 steps reach maxAbs (> 0).
func quantStep(maxAbs float64) int {
	_, e := math.Frexp(maxAbs / 127) // maxAbs/127 = f × 2^e, 0.5 <= f < 1
	for math.Ldexp(127, e-1) >= maxAbs {
		e--
	}
	for math.Ldexp(127, e) < maxAbs {
		e++
	}
	return max(e, -126) // keeps q×2^exp a normal float32
}

// EncodeVector is the stored form of an embedding (see above). Vectors of
// any size are encoded (dense when not of Dims components).
func EncodeVector(v []float32) []byte {
	var maxAbs float64
	nz := 0
	for _, x := range v {
		if x != 0 {
			nz++
			maxAbs = max(maxAbs, math.Abs(float64(x)))
		}
	}
	exp := 0
	if maxAbs > 0 && !math.IsInf(maxAbs, 0) && !math.IsNaN(maxAbs) {
		exp = quantStep(maxAbs)
	}
	q := func(x float32) byte {
		if x != x { // NaN
			return 0
		}
		r := math.Round(math.Ldexp(float64(x), -exp))
		return byte(int8(min(max(r, -127), 127)))
	}
	const bitmap = Dims / 8
	if len(v) == Dims && bitmap+nz < Dims {
		out := make([]byte, 2+bitmap, 2+bitmap+nz)
		out[0], out[1] = vecSparse, byte(int8(exp))
		for i, x := range v {
			if b := q(x); b != 0 {
				out[2+i/8] |= 1 << (i % 8)
				out = append(out, b)
			}
		}
		return out
	}
	out := make([]byte, 2+len(v))
	out[0], out[1] = vecDense, byte(int8(exp))
	for i, x := range v {
		out[2+i] = q(x)
	}
	return out
}

// DecodeVector reads EncodeVector's bytes; nil when they are not in its
// form.
func DecodeVector(b []byte) []float32 {
	if len(b) < 2 {
		return nil
	}
	exp := int(int8(b[1]))
	val := func(c byte) float32 { return float32(math.Ldexp(float64(int8(c)), exp)) }
	switch b[0] {
	case vecDense:
		out := make([]float32, len(b)-2)
		for i, c := range b[2:] {
			out[i] = val(c)
		}
		return out
	case vecSparse:
		const bitmap = Dims / 8
		if len(b) < 2+bitmap {
			return nil
		}
		set, vals := b[2:2+bitmap], b[2+bitmap:]
		n := 0
		for _, c := range set {
			n += bits.OnesCount8(c)
		}
		if n != len(vals) {
			return nil
		}
		out := make([]float32, Dims)
		for i := range out {
			if set[i/8]&(1<<(i%8)) != 0 {
				out[i] = val(vals[0])
				vals = vals[1:]
			}
		}
		return out
	}
	return nil
}

// Quantize is v as it is stored: DecodeVector(EncodeVector(v)). Stored
// embeddings are computed through it, so that what is indexed fresh and
// what is read back are the same.
func Quantize(v []float32) []float32 {
	if v == nil {
		return nil
	}
	return DecodeVector(EncodeVector(v))
}
