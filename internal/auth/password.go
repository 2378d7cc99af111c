package auth

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"github.com/veripost/veripost/internal/apperror"
)

// Password rules: long enough to resist guessing, short enough that
// hashing cannot be used to burn CPU.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// passwordParams follow the OWASP recommendation for argon2id
// (19 MiB, 2 passes, 1 lane): safe, and cheap enough that a burst of
// sign-ins cannot exhaust the server's memory.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// dummyHash is verified against when an account does not exist, so a
// wrong user name takes as long as a wrong password.
var dummyHash, _ = argon2id.CreateHash("veripost-no-such-user", passwordParams)

// HashPassword checks the password rules and returns its argon2id hash.
func HashPassword(password, username string) (string, error) {
	if err := checkPassword(password, username); err != nil {
		return "", err
	}
	return argon2id.CreateHash(password, passwordParams)
}

func checkPassword(password, username string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeWeakPassword,
			"The password is too short. Use at least 12 characters; a few unrelated words make a strong one that is easy to remember.",
			"password has %d characters; the minimum is %d", n, MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeWeakPassword,
			"The password is too long. Use at most 256 characters.", "password has %d bytes", len(password))
	case username != "" && strings.EqualFold(strings.TrimSpace(password), username):
		return apperror.New(http.StatusUnprocessableEntity, apperror.CodeWeakPassword,
			"The password must not be the user name.", "password equals the user name")
	}
	return nil
}

// verifyPassword compares password with hash in constant time. A hash of
// "" (no password: a single sign-on account) never matches, but costs the
// same time.
func verifyPassword(password, hash string) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, dummyHash)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}
