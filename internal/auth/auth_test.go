package auth

import (
	"context"
	"testing"
)

func TestActorLevels(t *testing.T) {
	cases := []struct {
		name  string
		a     Actor
		level Level
	}{
		{"anonymous", Actor{Kind: ActorAnonymous}, LevelPublic},
		{"viewer session", Actor{Kind: ActorUser, Role: RoleViewer}, LevelRead},
		{"engineer session", Actor{Kind: ActorUser, Role: RoleEngineer}, LevelWrite},
		{"reviewer session", Actor{Kind: ActorUser, Role: RoleReviewer}, LevelWrite},
		{"admin session", Actor{Kind: ActorUser, Role: RoleAdmin}, LevelAdmin},
		{"admin's read token", Actor{Kind: ActorToken, Role: RoleAdmin, Scope: ScopeRead}, LevelRead},
		{"viewer's admin-scoped token", Actor{Kind: ActorToken, Role: RoleViewer, Scope: ScopeAdmin}, LevelRead},
		{"engineer's write token", Actor{Kind: ActorToken, Role: RoleEngineer, Scope: ScopeWrite}, LevelWrite},
		{"unknown role", Actor{Kind: ActorUser, Role: "boss"}, LevelPublic},
		{"cli", System("cli"), LevelAdmin},
	}
	for _, c := range cases {
		if got := c.a.Level(); got != c.level {
			t.Errorf("%s: level %v, want %v", c.name, got, c.level)
		}
		for l := LevelSignedIn; l <= LevelAdmin; l++ {
			want := c.a.Kind != ActorAnonymous && c.level >= l
			if got := c.a.Allowed(l); got != want {
				t.Errorf("%s allowed %v = %v, want %v", c.name, l, got, want)
			}
		}
		if !c.a.Allowed(LevelPublic) {
			t.Errorf("%s is refused a public route", c.name)
		}
	}
	if a := ActorFrom(context.Background()); a.Kind != ActorAnonymous {
		t.Errorf("no actor in context = %+v", a)
	}
}

func TestMayDeletePackage(t *testing.T) {
	eng := Actor{Kind: ActorUser, Username: "erin", Role: RoleEngineer}
	cases := []struct {
		a         Actor
		uploaders []string
		want      bool
	}{
		{eng, []string{"erin", "erin"}, true},
		{eng, []string{"erin", "sam"}, false},
		{eng, []string{""}, false},
		{Actor{Kind: ActorToken, Username: "erin", Role: RoleEngineer, Scope: ScopeRead}, []string{"erin"}, false},
		{Actor{Kind: ActorUser, Username: "vera", Role: RoleViewer}, []string{"vera"}, false},
		{Actor{Kind: ActorUser, Username: "root", Role: RoleAdmin}, []string{"sam"}, true},
	}
	for i, c := range cases {
		if got := MayDeletePackage(c.a, c.uploaders); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}

func TestRoleMapping(t *testing.T) {
	m, err := ParseRoleMap("cam-admins=admin, cam-eng=engineer,review=reviewer, staff=viewer, a=b=viewer")
	if err != nil {
		t.Fatal(err)
	}
	if m["a=b"] != RoleViewer {
		t.Errorf("a value with '=' maps to %q", m["a=b"])
	}
	for _, bad := range []string{"x", "=admin", "x=boss"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("ParseRoleMap(%q) accepted", bad)
		}
	}
	s := &Service{Cfg: Config{SSO: SSOConfig{RoleMap: m}}}
	cases := []struct {
		values []string
		want   Role
		ok     bool
	}{
		{[]string{"staff", "cam-eng"}, RoleEngineer, true},
		{[]string{"cam-eng", "review"}, RoleReviewer, true},
		{[]string{"staff", "cam-admins"}, RoleAdmin, true},
		{[]string{"marketing"}, "", false},
		{nil, "", false},
	}
	for _, c := range cases {
		got, ok := s.mapRole(c.values)
		if got != c.want || ok != c.ok {
			t.Errorf("mapRole(%v) = %q %v, want %q %v", c.values, got, ok, c.want, c.ok)
		}
	}
	s.Cfg.SSO.DefaultRole = RoleViewer
	if got, ok := s.mapRole([]string{"marketing"}); got != RoleViewer || !ok {
		t.Errorf("default role: %q %v", got, ok)
	}
}

func TestSafeReturnAndNames(t *testing.T) {
	for in, want := range map[string]string{
		"/packages/1?x=2": "/packages/1?x=2", "": "/", "//evil.example/": "/", "/\\evil": "/",
		"https://evil.example": "/", "javascript:alert(1)": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := SafeReturn(in); got != want {
			t.Errorf("SafeReturn(%q) = %q, want %q", in, got, want)
		}
	}
	for name, ok := range map[string]bool{"alice": true, "a.b-c_d@example.com": true, "Ünal": true, "": false,
		"with space": false, "semi;colon": false, string(make([]byte, 65)): false} {
		if _, err := CleanUsername(name); (err == nil) != ok {
			t.Errorf("CleanUsername(%q): %v", name, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := newAPIToken(), newAPIToken()
	if a == b || !LooksLikeToken(a) || len(a) != len(TokenPrefix)+52 {
		t.Errorf("tokens %q %q", a, b)
	}
	if LooksLikeToken("vpt_") || LooksLikeToken("ghp_abcdefghijklmnop") {
		t.Error("LooksLikeToken accepts non-tokens")
	}
	if HashSecret(a) == a || len(HashSecret(a)) != 64 {
		t.Error("HashSecret")
	}
	h, err := HashPassword("correct horse battery", "alice")
	if err != nil || !verifyPassword("correct horse battery", h) || verifyPassword("correct horse batterY", h) {
		t.Fatalf("password round trip: %v", err)
	}
	if verifyPassword("anything at all", "") {
		t.Error("an empty hash matched")
	}
	for _, bad := range []string{"short", "alice-alice-alice"[:5], string(make([]byte, MaxPasswordLen+1))} {
		if _, err := HashPassword(bad, "alice"); err == nil {
			t.Errorf("HashPassword accepted %d bytes", len(bad))
		}
	}
	if _, err := HashPassword("AliceAliceAlice", "alicealicealice"); err == nil {
		t.Error("a password equal to the user name was accepted")
	}
}
