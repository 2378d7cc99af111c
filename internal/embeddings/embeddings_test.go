package embeddings

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// openAIServer speaks the OpenAI /v1/embeddings wire format: it checks the
// request the way the service does and answers with one vector per input,
// in an order of its choosing (the index field says which is which).
func openAIServer(t *testing.T, dims int) (*httptest.Server, *[]string) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`))
			return
		}
		var req struct {
			Model          string   `json:"model"`
			Input          []string `json:"input"`
			EncodingFormat string   `json:"encoding_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" || req.EncodingFormat != "float" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"bad request"}}`))
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []item
		for i := len(req.Input) - 1; i >= 0; i-- { // reversed on purpose
			seen = append(seen, req.Input[i])
			v := make([]float32, dims)
			v[i%dims] = float32(len(req.Input[i]))
			data = append(data, item{"embedding", i, v})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": 3, "total_tokens": 3}})
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestEmbed(t *testing.T) {
	srv, seen := openAIServer(t, 8)
	c := New(srv.URL+"/v1", "text-embedding-3-small", "sk-test", 5*time.Second)
	vecs, err := c.Embed(context.Background(), []string{"a", "bb", "ccc"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if len(v) != 8 || v[i] != float32(i+1) {
			t.Errorf("vector %d = %v (answers are matched by index)", i, v)
		}
	}
	if len(*seen) != 3 || c.Model() != "text-embedding-3-small" {
		t.Errorf("server saw %v", *seen)
	}
	// The full endpoint works as the URL too.
	if _, err := New(srv.URL+"/v1/embeddings", "m", "sk-test", 0).Embed(context.Background(), []string{"x"}); err != nil {
		t.Errorf("full endpoint URL: %v", err)
	}
}

func TestEmbedErrors(t *testing.T) {
	srv, _ := openAIServer(t, 4)
	_, err := New(srv.URL+"/v1", "m", "wrong", 0).Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "Incorrect API key provided") || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad key: %v", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]}`))
	}))
	defer bad.Close()
	if _, err := New(bad.URL, "m", "", 0).Embed(context.Background(), []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "repeated index") {
		t.Errorf("repeated index: %v", err)
	}
	if _, err := New(bad.URL, "m", "", 0).Embed(context.Background(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "asked for 1") {
		t.Errorf("wrong count: %v", err)
	}
	if _, err := New("http://127.0.0.1:1", "m", "", time.Second).Embed(context.Background(), []string{"x"}); err == nil {
		t.Error("an unreachable service did not fail")
	}
}
