// Package apiclient is the one HTTP client the CLI commands use to talk to a
// running VeriPost server (search, diff against stored packages, import …).
// It knows where the server is, sends the API token, and turns the server's
// {message, detail, code} answers back into *apperror.Error values.
package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/apperror"
)

// Environment variables read by FromEnv.
const (
	// EnvServer is the server's base URL (default DefaultServer).
	EnvServer = "VERIPOST_SERVER"
	// EnvToken is an API token sent as "Authorization: Bearer …".
	EnvToken = "VERIPOST_TOKEN"
)

// DefaultServer is where `veripost serve` listens by default.
const DefaultServer = "http://127.0.0.1:8080"

// Prefix is where the JSON API lives on the server.
const Prefix = "/api/v1"

// Client calls one VeriPost server.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080 (no trailing slash needed)
	Token   string // optional API token
	HTTP    *http.Client
}

// FromEnv builds a client from VERIPOST_SERVER and VERIPOST_TOKEN; server,
// when not empty (a --server flag), wins over the environment.
func FromEnv(server string) *Client {
	if server == "" {
		server = os.Getenv(EnvServer)
	}
	if server == "" {
		server = DefaultServer
	}
	return &Client{BaseURL: strings.TrimRight(server, "/"), Token: os.Getenv(EnvToken), HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// NewRequest builds a request for path (starting with "/", e.g.
// "/api/v1/search") with the query, authenticated with the token.
func (c *Client) NewRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Do sends req and returns the response when its status is 2xx; any other
// answer is returned as an *apperror.Error (decoded from the server's error
// body when it has one). The caller closes the body.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
			fmt.Sprintf("Could not reach the VeriPost server at %s. Check that it runs, or point --server / %s at it.", c.BaseURL, EnvServer),
			err.Error())
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// GetJSON GETs path with query and decodes the JSON answer into out.
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, out any) error {
	return c.SendJSON(ctx, http.MethodGet, path, query, nil, out)
}

// SendJSON sends in (as JSON, when not nil) with method to path and decodes
// the JSON answer into out (when not nil).
func (c *Client) SendJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := c.NewRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e apperror.Error
	if err := json.Unmarshal(data, &e); err == nil && e.Code != "" {
		e.Status = resp.StatusCode
		return &e
	}
	msg := fmt.Sprintf("The server answered %s.", resp.Status)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		msg += fmt.Sprintf(" Set %s to an API token with enough scope (veripost token create).", EnvToken)
	}
	return apperror.New(resp.StatusCode, apperror.CodeUnavailable, msg, strings.TrimSpace(string(data)))
}

// IsStatus reports whether err is a server answer with this HTTP status.
func IsStatus(err error, status int) bool {
	var e *apperror.Error
	return errors.As(err, &e) && e.Status == status
}
