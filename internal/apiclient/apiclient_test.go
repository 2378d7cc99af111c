package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientSendsTokenAndDecodesErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer vp_secret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"sign in","detail":"no token","code":"UNAUTHORIZED"}`))
			return
		}
		switch r.URL.Path {
		case "/api/v1/ok":
			_, _ = w.Write([]byte(`{"q":"` + r.URL.Query().Get("q") + `"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"nothing here","detail":"x","code":"NOT_FOUND"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	c := &Client{BaseURL: srv.URL + "/", Token: "vp_secret"}
	var out struct{ Q string }
	if err := c.GetJSON(ctx, Prefix+"/ok", map[string][]string{"q": {"G43.4"}}, &out); err != nil || out.Q != "G43.4" {
		t.Fatalf("GetJSON = %v, %+v", err, out)
	}
	err := c.GetJSON(ctx, Prefix+"/missing", nil, &out)
	if !IsStatus(err, http.StatusNotFound) || err.Error() != "NOT_FOUND: nothing here (x)" {
		t.Fatalf("missing: %v", err)
	}
	anon := &Client{BaseURL: srv.URL}
	if err := anon.GetJSON(ctx, Prefix+"/ok", nil, &out); !IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
	down := &Client{BaseURL: "http://127.0.0.1:1"}
	if err := down.GetJSON(ctx, Prefix+"/ok", nil, &out); !IsStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvServer, "http://example.test:9/")
	t.Setenv(EnvToken, "tok")
	c := FromEnv("")
	if c.BaseURL != "http://example.test:9" || c.Token != "tok" {
		t.Fatalf("FromEnv = %+v", c)
	}
	if c := FromEnv("http://other:1"); c.BaseURL != "http://other:1" {
		t.Fatalf("flag should win: %+v", c)
	}
}
