package oidc

import (
	"errors"
	"reflect"
	"testing"

	"golang.org/x/oauth2"
)

func TestClaims(t *testing.T) {
	claims := map[string]any{
		"groups":       []any{"a", "b", 3},
		"realm_access": map[string]any{"roles": []any{"cam-admin"}},
		"email":        "x@example.com",
	}
	cases := []struct {
		path string
		want []string
	}{
		{"groups", []string{"a", "b"}},
		{"realm_access.roles", []string{"cam-admin"}},
		{"email", []string{"x@example.com"}},
		{"missing", nil},
		{"email.deeper", nil},
	}
	for _, c := range cases {
		if got := stringList(claimPath(claims, c.path)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
	}
}

func TestRedactOAuth(t *testing.T) {
	err := redactOAuth(&oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "Invalid code: abc123SECRET"}, "abc123SECRET")
	if err.Error() != "the provider refused: invalid_grant: Invalid code: [redacted]" {
		t.Errorf("got %q", err)
	}
	if err := redactOAuth(errors.New("posting code zq9secret failed"), "zq9secret"); err.Error() != "posting code [redacted] failed" {
		t.Errorf("plain error: %q", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted an empty configuration")
	}
}
