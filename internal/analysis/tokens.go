package analysis

import (
	"encoding/binary"

	"github.com/veripost/veripost/internal/upg"
)

// PackTokens stores a token stream compactly: per token its kind (one
// byte) and its length (uvarint). Tokens cover the file in order, so
// offsets follow from the lengths.
func PackTokens(toks []upg.Token) []byte {
	out := make([]byte, 0, len(toks)*2)
	for _, t := range toks {
		out = append(out, byte(t.Kind))
		out = binary.AppendUvarint(out, uint64(t.End-t.Offset))
	}
	return out
}

// PackedToken is one token of a packed stream.
type PackedToken struct {
	Kind        upg.TokenKind
	Offset, End int
}

// Tokens unpacks a stream made by PackTokens; it stops at the first
// malformed entry (stored data is trusted, but never read out of range).
func Tokens(packed []byte) []PackedToken {
	out := make([]PackedToken, 0, len(packed)/2)
	off := 0
	for i := 0; i < len(packed); {
		kind := upg.TokenKind(packed[i])
		n, w := binary.Uvarint(packed[i+1:])
		if w <= 0 {
			break
		}
		i += 1 + w
		out = append(out, PackedToken{Kind: kind, Offset: off, End: off + int(n)})
		off += int(n)
	}
	return out
}
