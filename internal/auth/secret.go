package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix starts every API token, so secret scanners and people can
// recognise one.
const TokenPrefix = "vpt_"

// tokenDisplayLen is how much of a token is kept to show it in lists.
const tokenDisplayLen = len(TokenPrefix) + 8

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// randomBytes returns n bytes from the system's secure generator (which
// never fails on supported platforms).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newAPIToken returns a new token: the prefix and 32 random bytes in
// lower-case base32 (no characters that break double-click selection).
func newAPIToken() string {
	return TokenPrefix + strings.ToLower(b32.EncodeToString(randomBytes(32)))
}

// newSessionID returns a new session id (32 random bytes).
func newSessionID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// newSetupCode returns a first-run setup code (20 random bytes).
func newSetupCode() string { return strings.ToLower(b32.EncodeToString(randomBytes(20))) }

// HashSecret is how tokens, session ids, setup codes and OIDC states are
// stored and looked up. They are 160 bits or more of randomness, so a fast
// hash is enough: unlike passwords they cannot be guessed from a list.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// LooksLikeToken reports whether s has the shape of an API token.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && len(s) > tokenDisplayLen && len(s) <= 200
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
