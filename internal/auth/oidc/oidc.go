// Package oidc signs people in with an OpenID Connect provider (Keycloak,
// Entra ID, Okta, Google, Zitadel …): the authorization code flow with
// PKCE, state and nonce, and a verified ID token. It implements
// auth.SSOProvider; what the claims mean for VeriPost (accounts, roles)
// is decided in internal/auth.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/veripost/veripost/internal/auth"
)

// Config is the provider's registration of VeriPost.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string // "openid" is always added
	// UsernameClaim is the claim used as the VeriPost user name
	// ("preferred_username"); e-mail and then the subject are used when
	// it is missing.
	UsernameClaim string
	// RoleClaim names the claim with groups or roles ("groups").
	RoleClaim string
	// DisplayName is shown on the sign-in button.
	DisplayName string
	// HTTPClient talks to the provider (default: 30 s timeout).
	HTTPClient *http.Client
}

// Provider is a configured OpenID Connect provider. Discovery happens at
// the first sign-in (and again after a failure), so VeriPost starts even
// while the provider is down.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("single sign-on needs VERIPOST_OIDC_ISSUER and VERIPOST_OIDC_CLIENT_ID")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = "single sign-on"
	}
	return &Provider{cfg: cfg}, nil
}

// Name implements auth.SSOProvider.
func (p *Provider) Name() string { return p.cfg.DisplayName }

func (p *Provider) discover(ctx context.Context) (*gooidc.Provider, *gooidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.verifier, nil
	}
	ctx, cancel := context.WithTimeout(gooidc.ClientContext(context.WithoutCancel(ctx), p.cfg.HTTPClient), 30*time.Second)
	defer cancel()
	// go-oidc checks that the discovery document names the configured
	// issuer exactly.
	prov, err := gooidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discovering the OpenID provider %s: %w", p.cfg.Issuer, err)
	}
	// The verifier checks signature (keys from the provider's JWKS),
	// issuer, audience (our client id) and expiry.
	p.provider = prov
	p.verifier = prov.VerifierContext(gooidc.ClientContext(context.Background(), p.cfg.HTTPClient), &gooidc.Config{ClientID: p.cfg.ClientID})
	return p.provider, p.verifier, nil
}

func (p *Provider) oauth(prov *gooidc.Provider, redirectURL string) *oauth2.Config {
	scopes := []string{gooidc.ScopeOpenID}
	for _, s := range p.cfg.Scopes {
		if s != "" && s != gooidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: redirectURL, Scopes: scopes}
}

// AuthURL implements auth.SSOProvider.
func (p *Provider) AuthURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error) {
	prov, _, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth(prov, redirectURL).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange implements auth.SSOProvider.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (auth.Identity, error) {
	prov, idv, err := p.discover(ctx)
	if err != nil {
		return auth.Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, p.cfg.HTTPClient)
	tok, err := p.oauth(prov, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return auth.Identity{}, fmt.Errorf("redeeming the authorization code: %w", redactOAuth(err, code, verifier))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return auth.Identity{}, errors.New("the provider's token answer has no id_token")
	}
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		return auth.Identity{}, fmt.Errorf("verifying the ID token: %w", err)
	}
	if idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return auth.Identity{}, errors.New("verifying the ID token: the nonce does not match this sign-in")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return auth.Identity{}, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	// Providers that keep profile and group claims out of the ID token
	// (as the OIDC spec allows) answer them at the userinfo endpoint.
	if prov.UserInfoEndpoint() != "" && (claims[p.cfg.UsernameClaim] == nil || (p.cfg.RoleClaim != "" && claims[p.cfg.RoleClaim] == nil)) {
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err == nil && ui.Subject == idt.Subject {
			extra := map[string]any{}
			if ui.Claims(&extra) == nil {
				for k, v := range extra {
					if _, have := claims[k]; !have {
						claims[k] = v
					}
				}
			}
		}
	}
	id := auth.Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	id.Username, _ = claims[p.cfg.UsernameClaim].(string)
	if id.Username == "" {
		id.Username = id.Email
	}
	if id.Username == "" {
		id.Username = id.Subject
	}
	if p.cfg.RoleClaim != "" {
		id.RoleValues = stringList(claimPath(claims, p.cfg.RoleClaim))
	}
	return id, nil
}

// claimPath reads a claim, following dots into nested objects
// ("realm_access.roles" for Keycloak realm roles).
func claimPath(claims map[string]any, path string) any {
	if v, ok := claims[path]; ok {
		return v
	}
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// stringList accepts a claim that is a string or a list of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// redactOAuth keeps the provider's error code and description but drops
// the raw response body, which could echo the request, and blanks the
// secrets of the request wherever the provider quoted them.
func redactOAuth(err error, secrets ...string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		if msg == "" && re.Response != nil {
			msg = re.Response.Status
		}
		for _, sec := range secrets {
			if sec != "" {
				msg = strings.ReplaceAll(msg, sec, "[redacted]")
			}
		}
		return errors.New("the provider refused: " + msg)
	}
	msg := err.Error()
	for _, sec := range secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "[redacted]")
		}
	}
	return errors.New(msg)
}
