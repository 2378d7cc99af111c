package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/copilot"
	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/loader"
)

// The copilot's routes sit beside the explain routes: each GET …/explain
// has a POST …/ask that streams the LLM copilot's answer about the same
// subject as server-sent events. Asking costs tokens, so it is a POST (the
// browser's cross-origin protection applies) and anonymous readers cannot
// ask.

func (h *handlers) registerCopilot(api huma.API) {
	tags := []string{"copilot"}
	stream := func(op huma.Operation) huma.Operation {
		op.Tags = tags
		op.Errors = []int{400, 401, 404, 422, 429, 502, 503, 504}
		op.Description = strings.TrimSpace(op.Description + "\n\n" + askStreamDoc)
		op.Responses = map[string]*huma.Response{"200": {
			Description: "the answer as server-sent events: context, then text, citation and usage events, then done or error",
			Content:     map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}},
		}}
		return op
	}
	huma.Register(api, stream(huma.Operation{
		OperationID: "ask-package", Method: http.MethodPost, Path: Prefix + "/packages/{id}/ask",
		Summary:     "Ask the LLM copilot about a package: explain it (no question), or answer a free question (\"where is the tool change output?\") with citations",
		Description: "The context is the package overview, the machine metadata and the sections that match the question's words (or the post's own key sections).",
	}), h.askPackage)
	huma.Register(api, stream(huma.Operation{
		OperationID: "ask-section", Method: http.MethodPost, Path: Prefix + "/packages/{id}/files/{file_id}/sections/{name}/ask",
		Summary:     "Ask the LLM copilot to explain a section",
		Description: "The context is the section, its callers, the sections it calls, the definitions of the names it uses, their catalogue meanings, the machine metadata and the offline explanation.",
	}), h.askSection)
	huma.Register(api, stream(huma.Operation{
		OperationID: "ask-lines", Method: http.MethodPost, Path: Prefix + "/packages/{id}/files/{file_id}/ask",
		Summary: "Ask the LLM copilot to explain a range of lines",
	}), h.askLines)
	huma.Register(api, stream(huma.Operation{
		OperationID: "ask-attribute", Method: http.MethodPost, Path: Prefix + "/packages/{id}/attributes/{name}/ask",
		Summary: "Ask the LLM copilot to explain an attribute, constant or variable",
	}), h.askAttribute)
	huma.Register(api, huma.Operation{
		OperationID: "usage-copilot", Method: http.MethodGet, Path: Prefix + "/copilot/usage",
		Summary: "The copilot's provider calls this month: tokens, cost, failures, against the monthly budget, and the latest calls with who asked about what (administrators)",
		Tags:    tags,
	}, h.copilotUsage)
	if h.Compare == nil {
		return
	}
	huma.Register(api, huma.Operation{
		OperationID: "explain-change", Method: http.MethodGet, Path: Prefix + "/compare/explain",
		Summary: "Explain in plain words what side B changes relative to side A and what to check on the machine; every sentence cites lines of A, B or both",
		Description: "The sides are given as for " + Prefix + "/compare (a/b = PACKAGE[@VERSION], a_sha/b_sha, a_file/b_file). " +
			"Citations carry side a or b and the stored file id of that side.",
		Tags: []string{"compare", "explain"}, Errors: []int{400, 404, 409, 422, 503},
	}, h.explainChange)
	huma.Register(api, stream(huma.Operation{
		OperationID: "ask-change", Method: http.MethodPost, Path: Prefix + "/compare/ask",
		Summary:     "Ask the LLM copilot what a version changed and why it might matter on the machine",
		Description: "The context is the offline explanation of the change and the changed lines of both sides (A/FILE and B/FILE).",
	}), h.askChange)
}

const askStreamDoc = "The answer streams as server-sent events. `context` comes first (what was sent and what was left out to stay within " +
	"VERIPOST_LLM_CONTEXT_TOKENS); then `text` (the next piece of the answer), `citation` (a citation verified against the stored lines, " +
	"standing at the end of the text so far, with `href` into the source view) and `usage` events; the stream ends with one `done` " +
	"(the whole answer, dropped_citations, usage and cost, cached) or one `error` ({message, detail, code}). Close the connection to cancel. " +
	"Failures before the answer starts (copilot off: 503 LLM_DISABLED; budget used up: 429 LLM_BUDGET_EXHAUSTED; provider rate limit: " +
	"429 LLM_RATE_LIMITED with Retry-After; provider down: 503 LLM_UNAVAILABLE) are plain JSON errors. The same question about the same " +
	"lines is answered from the cache at no cost."

type askBody struct {
	Question string `json:"question,omitempty" maxLength:"2000" doc:"a free question about the package (ask-package only); empty: explain the subject"`
}

type askPackageInput struct {
	ID      string `path:"id"`
	Version int    `query:"version" minimum:"0" doc:"version number (default: the latest)"`
	Body    *askBody
}

// The ask inputs repeat the explain inputs' fields: huma reads parameters
// of named fields only.
type askSectionInput struct {
	ID     string `path:"id"`
	FileID string `path:"file_id"`
	Name   string `path:"name" maxLength:"200" doc:"section name as written (a case-insensitive match is used when there is no exact one)"`
	Body   *askBody
}

type askLinesInput struct {
	ID     string `path:"id"`
	FileID string `path:"file_id"`
	From   int    `query:"from" required:"true" minimum:"1" doc:"first line (1-based)"`
	To     int    `query:"to" minimum:"0" doc:"last line (inclusive; default: from)"`
	Body   *askBody
}

type askAttributeInput struct {
	ID      string `path:"id"`
	Name    string `path:"name" maxLength:"200" doc:"attribute, constant or variable name; blanks and underscores are the same"`
	Version int    `query:"version" minimum:"0" doc:"version number (default: the latest)"`
	Body    *askBody
}

type askChangeInput struct {
	A     string `query:"a" doc:"side A: PACKAGE[@VERSION], a package id or exact name"`
	ASHA  string `query:"a_sha" doc:"side A: the SHA-256 of a stored file, instead of a"`
	AFile string `query:"a_file" doc:"only this file of package side A"`
	B     string `query:"b" doc:"side B: PACKAGE[@VERSION]"`
	BSHA  string `query:"b_sha" doc:"side B: the SHA-256 of a stored file, instead of b"`
	BFile string `query:"b_file" doc:"only this file of package side B"`
	Body  *askBody
}

// compareSides are the side parameters of a comparison.
type compareSides struct {
	A     string `query:"a" doc:"side A: PACKAGE[@VERSION], a package id or exact name"`
	ASHA  string `query:"a_sha" doc:"side A: the SHA-256 of a stored file, instead of a"`
	AFile string `query:"a_file" doc:"only this file of package side A"`
	B     string `query:"b" doc:"side B: PACKAGE[@VERSION]"`
	BSHA  string `query:"b_sha" doc:"side B: the SHA-256 of a stored file, instead of b"`
	BFile string `query:"b_file" doc:"only this file of package side B"`
}

func (s compareSides) refs() (a, b compare.Ref, err error) {
	if a, err = sideRef("a", s.A, s.ASHA, s.AFile); err != nil {
		return
	}
	b, err = sideRef("b", s.B, s.BSHA, s.BFile)
	return
}

func (b *askBody) question() string {
	if b == nil {
		return ""
	}
	return strings.TrimSpace(b.Question)
}

// noQuestion refuses a free question where the subject is fixed.
func noQuestion(b *askBody) error {
	if b.question() == "" {
		return nil
	}
	return apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
		"Free questions are asked about a package (POST "+Prefix+"/packages/{id}/ask); this address explains its subject.", "question given")
}

// mayAsk checks before any work that the caller may spend the copilot's
// tokens.
func (h *handlers) mayAsk(ctx context.Context) error {
	if !auth.ActorFrom(ctx).SignedIn() {
		return apperror.New(http.StatusUnauthorized, apperror.CodeUnauthenticated,
			"Sign in to ask the copilot: its answers cost tokens from this server's monthly budget. The offline explanation needs no sign-in.", "anonymous reader")
	}
	return nil
}

// enabled refuses once the subject is known to exist (so a wrong address
// is still a 404) when no provider is configured.
func (h *handlers) enabled() error {
	if !h.Copilot.Enabled() {
		return llm.Disabled()
	}
	return nil
}

// builder builds questions about one stored version.
func (h *handlers) builder(v *loader.Version) copilot.Builder {
	return copilot.Builder{Budget: h.Copilot.ContextTokens(), FileID: func(_, f string) string { return v.FileID(f) }}
}

func (h *handlers) askPackage(ctx context.Context, in *askPackageInput) (*huma.StreamResponse, error) {
	if err := h.mayAsk(ctx); err != nil {
		return nil, err
	}
	v, err := h.loadVersion(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	if err := h.enabled(); err != nil {
		return nil, err
	}
	b := h.builder(v)
	overview := v.Package.Overview()
	var ask *copilot.Ask
	if q := in.Body.question(); q != "" {
		if ask, err = b.Question(v.Package, overview, q); err != nil {
			return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "The question cannot be asked: "+err.Error()+".", "")
		}
	} else {
		ask = b.Package(v.Package, overview)
	}
	return h.streamAsk(ctx, ask, h.versionLabel(ctx, v), versionHref(v))
}

func (h *handlers) askSection(ctx context.Context, in *askSectionInput) (*huma.StreamResponse, error) {
	if err := h.mayAsk(ctx); err != nil {
		return nil, err
	}
	if err := noQuestion(in.Body); err != nil {
		return nil, err
	}
	v, f, err := h.loadFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Section(f.Filename, in.Name)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	if err := h.enabled(); err != nil {
		return nil, err
	}
	ask, err := h.builder(v).Section(v.Package, e, f.Filename, in.Name)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	return h.streamAsk(ctx, ask, h.versionLabel(ctx, v), versionHref(v))
}

func (h *handlers) askLines(ctx context.Context, in *askLinesInput) (*huma.StreamResponse, error) {
	if err := h.mayAsk(ctx); err != nil {
		return nil, err
	}
	if err := noQuestion(in.Body); err != nil {
		return nil, err
	}
	v, f, err := h.loadFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Lines(f.Filename, in.From, in.To)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	if err := h.enabled(); err != nil {
		return nil, err
	}
	return h.streamAsk(ctx, h.builder(v).Explanation(v.Package, e), h.versionLabel(ctx, v), versionHref(v))
}

func (h *handlers) askAttribute(ctx context.Context, in *askAttributeInput) (*huma.StreamResponse, error) {
	if err := h.mayAsk(ctx); err != nil {
		return nil, err
	}
	if err := noQuestion(in.Body); err != nil {
		return nil, err
	}
	v, err := h.loadVersion(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Attribute(in.Name)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	if err := h.enabled(); err != nil {
		return nil, err
	}
	return h.streamAsk(ctx, h.builder(v).Explanation(v.Package, e), h.versionLabel(ctx, v), versionHref(v))
}

// versionLabel names a version for the usage records: "Demo mill v2".
func (h *handlers) versionLabel(ctx context.Context, v *loader.Version) string {
	name := v.Version.PackageID
	if p, err := h.Repo.GetPackage(ctx, v.Version.PackageID); err == nil && p.Name != "" {
		name = p.Name
	}
	return name + " v" + strconv.Itoa(v.Version.Number)
}

// ChangeBody is the explanation of a change.
type ChangeBody struct {
	A           compare.Side         `json:"a"`
	B           compare.Side         `json:"b"`
	Explanation *explain.Explanation `json:"explanation"`
	Markdown    string               `json:"markdown" doc:"the explanation as Markdown; citations link into the web source view of their side"`
	Copilot     explain.Copilot      `json:"copilot"`
}

type changeOutput struct{ Body ChangeBody }

// comparison loads both sides with the default diff options.
func (h *handlers) comparison(ctx context.Context, s compareSides) (*compare.Comparison, error) {
	a, b, err := s.refs()
	if err != nil {
		return nil, err
	}
	c, err := h.Compare.Compare(ctx, a, b, diff.Options{Context: diff.DefaultContext})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return c, nil
}

func (h *handlers) explainChange(ctx context.Context, in *compareSides) (*changeOutput, error) {
	c, err := h.comparison(ctx, *in)
	if err != nil {
		return nil, err
	}
	e := c.Explain()
	md := explain.Markdown(e, func(ci explain.Cite) string { return ChangeHref(c, ci) })
	ask := Prefix + "/compare/ask?" + compareParams(c)
	return &changeOutput{Body: ChangeBody{A: c.A, B: c.B, Explanation: e, Markdown: md, Copilot: copilot.Slot(h.Copilot, ask)}}, nil
}

func (h *handlers) askChange(ctx context.Context, in *askChangeInput) (*huma.StreamResponse, error) {
	if err := h.mayAsk(ctx); err != nil {
		return nil, err
	}
	if err := noQuestion(in.Body); err != nil {
		return nil, err
	}
	c, err := h.comparison(ctx, compareSides{A: in.A, ASHA: in.ASHA, AFile: in.AFile, B: in.B, BSHA: in.BSHA, BFile: in.BFile})
	if err != nil {
		return nil, err
	}
	if err := h.enabled(); err != nil {
		return nil, err
	}
	b := copilot.Builder{Budget: h.Copilot.ContextTokens(), FileID: c.FileID}
	ask := b.Change(c.Result, c.Explain())
	return h.streamAsk(ctx, ask, c.A.Label+" → "+c.B.Label, func(cit llm.Citation) string {
		side, name := copilot.SideOf(cit.File)
		return ChangeHref(c, explain.Cite{File: name, Start: cit.StartLine, End: cit.EndLine, FileID: cit.SourceID, Side: side})
	})
}

// compareParams are the side parameters of a comparison, resolved.
func compareParams(c *compare.Comparison) string {
	v := url.Values{}
	c.A.Ref().SetParams(v, "a")
	c.B.Ref().SetParams(v, "b")
	return v.Encode()
}

// ChangeHref is the source view of a citation of a change: the file of its
// side's package.
func ChangeHref(c *compare.Comparison, ci explain.Cite) string {
	s := c.Side(ci.Side)
	if s == nil {
		return ""
	}
	return loader.SourceURL(s.PackageID, ci)
}

// versionHref links a citation of a question about one version.
func versionHref(v *loader.Version) func(llm.Citation) string {
	return func(c llm.Citation) string {
		return loader.SourceURL(v.Version.PackageID, explain.Cite{File: c.File, Start: c.StartLine, End: c.EndLine, FileID: c.SourceID})
	}
}

// AskContext is the first event of an answer: what the copilot was given.
type AskContext struct {
	Kind    string   `json:"kind"`
	Subject string   `json:"subject"`
	Sources []string `json:"sources" doc:"the source lines sent, as FILE lines A-B"`
	Notes   []string `json:"notes" doc:"the notes sent (catalogue meanings, machine metadata, offline explanation)"`
	LeftOut string   `json:"left_out,omitempty" doc:"what was left out to stay within the context budget"`
	Tokens  int      `json:"tokens" doc:"estimated tokens of context"`
	Budget  int      `json:"budget"`
	// Provider and Model answer.
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// AskCitation is a verified citation with its place in the source view.
type AskCitation struct {
	llm.Citation
	Href string `json:"href,omitempty"`
}

// AskEvent is one server-sent event of an answer (its data).
type AskEvent struct {
	Kind     llm.EventKind `json:"kind"`
	Text     string        `json:"text,omitempty"`
	Citation *AskCitation  `json:"citation,omitempty"`
	Usage    *llm.Usage    `json:"usage,omitempty"`
	Answer   *llm.Answer   `json:"answer,omitempty"`
	Err      *llm.Error    `json:"error,omitempty"`
}

// streamAsk sends the question and, once the provider has accepted it,
// streams the answer. Failures before that are plain JSON errors.
func (h *handlers) streamAsk(ctx context.Context, ask *copilot.Ask, label string, href func(llm.Citation) string) (*huma.StreamResponse, error) {
	actor := auth.ActorFrom(ctx)
	ask.Request.User = actor.Name()
	if ask.Request.Subject != "" {
		ask.Request.Subject += " · " + label
	}
	ch, err := h.Copilot.Stream(ctx, ask.Request)
	if le, ok := err.(*llm.Error); ok {
		// The provider's trouble, not this server's: a warning, and the
		// user-facing error as it is (with Retry-After for a rate limit).
		h.Log.WarnContext(ctx, "the copilot could not answer", "code", le.Code(), "err", err)
		if le.RetryAfter > 0 {
			return nil, huma.ErrorWithHeaders(le.App, http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(le.RetryAfter.Seconds())))}})
		}
		return nil, le.App
	}
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	info := AskContext{Kind: ask.Request.Kind, Subject: ask.Request.Subject, Sources: []string{}, Notes: []string{},
		LeftOut: ask.Packed.Summary(), Tokens: ask.Packed.Tokens, Budget: ask.Packed.Budget,
		Provider: h.Copilot.Provider(), Model: h.Copilot.Model()}
	for _, s := range ask.Request.Sources {
		info.Sources = append(info.Sources, fmt.Sprintf("%s lines %d-%d", s.File, s.FirstLine, s.LastLine()))
	}
	for _, n := range ask.Request.Notes {
		info.Notes = append(info.Notes, n.Title)
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "text/event-stream; charset=utf-8")
		hc.SetHeader("Cache-Control", "no-store")
		hc.SetHeader("X-Accel-Buffering", "no") // proxies must not hold the stream back
		hc.SetStatus(http.StatusOK)
		w := hc.BodyWriter()
		flusher, _ := w.(http.Flusher)
		send := func(name string, v any) bool {
			data, err := json.Marshal(v)
			if err != nil {
				h.Log.ErrorContext(ctx, "encoding a copilot event failed", "err", err)
				return false
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
				return false
			}
			if flusher != nil {
				flusher.Flush()
			}
			return true
		}
		if !send("context", info) {
			drain(ch)
			return
		}
		for ev := range ch {
			out := AskEvent{Kind: ev.Kind, Text: ev.Text, Usage: ev.Usage, Answer: ev.Answer, Err: ev.Err}
			if ev.Citation != nil {
				out.Citation = &AskCitation{Citation: *ev.Citation, Href: href(*ev.Citation)}
			}
			if !send(string(ev.Kind), out) {
				// The client has gone: its request context is cancelled,
				// which stops the provider call; take what is left.
				drain(ch)
				return
			}
		}
	}}, nil
}

// drain empties a stream whose reader has gone (the context is cancelled,
// so the producer ends soon).
func drain(ch <-chan llm.Event) {
	for range ch {
	}
}

type usageInput struct {
	Recent int `query:"recent" minimum:"0" maximum:"500" default:"50" doc:"how many of the latest calls to list"`
}

type usageOutput struct{ Body llm.UsageReport }

func (h *handlers) copilotUsage(ctx context.Context, in *usageInput) (*usageOutput, error) {
	if h.Usage == nil {
		return nil, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable, "This server keeps no copilot usage records.", "")
	}
	r, err := h.Copilot.Report(ctx, h.Usage, in.Recent)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &usageOutput{Body: r}, nil
}
