package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/config"
)

// Provider names, as in VERIPOST_LLM_PROVIDER.
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
)

// maxAnswerBytes bounds the text kept from one answer, whatever a
// (possibly misbehaving) server streams; far above any max-token setting.
const maxAnswerBytes = 1 << 20

// Options configure a Copilot. FromConfig fills them from VERIPOST_LLM_*.
type Options struct {
	Provider string // ProviderAnthropic or ProviderOpenAI
	BaseURL  string // empty: the provider's public API
	Model    string
	APIKey   string // empty: no credential is sent

	Timeout         time.Duration // whole answer (default 2m)
	IdleTimeout     time.Duration // wait for the reply, and silence inside the stream (default 30s)
	MaxOutputTokens int           // default 1500
	ContextTokens   int           // the budget integrators pass to Pack (default 16000)
	MonthlyTokens   int64         // 0: no cap
	PriceInput      float64       // USD per million input tokens; 0 = unknown
	PriceOutput     float64       // USD per million output tokens; 0 = unknown

	// Store caches answers, records usage and counts the month's tokens.
	// Leave it nil (untyped) to run without: no cache, no budget, no
	// records (the CLI without a database).
	Store Store
	Log   *slog.Logger
	// HTTPClient sends the provider requests; nil uses a default client.
	// It must not have a Timeout: answers stream, and the timeouts above
	// apply instead.
	HTTPClient *http.Client
}

// Copilot asks a configured provider grounded questions. A nil *Copilot is
// valid and means "off": Stream and Ask return LLM_DISABLED.
type Copilot struct {
	opt  Options
	prov provider
	log  *slog.Logger
	now  func() time.Time
}

// provider is one wire format.
type provider interface {
	// open sends the request and returns once the provider accepted it
	// (status and headers read). Errors here are request errors: refused
	// connection, HTTP 429/5xx …
	open(ctx context.Context, p *prompt, maxTokens int) (reader, error)
	// markers reports whether citations come as [L12-L14] markers in the
	// text (true) or as document citations (false).
	markers() bool
}

// reader yields an accepted stream's content, one chunk at a time.
type reader interface {
	// next returns the next chunk; false at the end (err says why).
	next() (chunk, bool)
	err() error
	close()
}

// chunk is what the common loop needs from a provider's events.
type chunk struct {
	text  string
	cites []Citation // unverified
	// usage, when set, is the provider's count so far; usageFinal marks
	// the count for the whole answer.
	usage      *Usage
	usageFinal bool
	// done marks the provider's own end of the answer, with its reason.
	done bool
	stop string
}

// New builds a Copilot.
func New(o Options) (*Copilot, error) {
	if o.Model == "" {
		return nil, errors.New("llm: no model named (VERIPOST_LLM_MODEL)")
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("llm: VERIPOST_LLM_BASE_URL %q is not an http(s) URL", o.BaseURL)
		}
	}
	o.Timeout = cmpOr(o.Timeout, 2*time.Minute)
	o.IdleTimeout = cmpOr(o.IdleTimeout, 30*time.Second)
	o.MaxOutputTokens = cmpOr(o.MaxOutputTokens, 1500)
	o.ContextTokens = cmpOr(o.ContextTokens, 16000)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	c := &Copilot{opt: o, log: o.Log, now: time.Now}
	switch o.Provider {
	case ProviderAnthropic:
		c.prov = newAnthropic(o)
	case ProviderOpenAI:
		c.prov = newOpenAI(o)
	default:
		return nil, fmt.Errorf("llm: unknown provider %q (use %s or %s)", o.Provider, ProviderAnthropic, ProviderOpenAI)
	}
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// FromConfig builds the Copilot the VERIPOST_LLM_* settings describe, or
// returns nil (off) when VERIPOST_LLM_PROVIDER is empty. st may be nil.
// The server, the worker and `veripost explain --llm` all call this.
func FromConfig(cfg config.Config, st Store, log *slog.Logger) (*Copilot, error) {
	if cfg.LLMProvider == "" {
		return nil, nil
	}
	return New(Options{
		Provider: cfg.LLMProvider, BaseURL: cfg.LLMBaseURL, Model: cfg.LLMModel, APIKey: cfg.LLMAPIKey,
		Timeout: cfg.LLMTimeout, IdleTimeout: cfg.LLMIdleTimeout,
		MaxOutputTokens: cfg.LLMMaxOutput, ContextTokens: cfg.LLMContextLimit,
		MonthlyTokens: cfg.LLMMonthlyTokens, PriceInput: cfg.LLMPriceInput, PriceOutput: cfg.LLMPriceOutput,
		Store: st, Log: log,
	})
}

// Enabled reports whether a provider is configured.
func (c *Copilot) Enabled() bool { return c != nil }

// Provider and Model name what answers.
func (c *Copilot) Provider() string { return c.opt.Provider }
func (c *Copilot) Model() string    { return c.opt.Model }

// ContextTokens is the context budget to pass to Pack.
func (c *Copilot) ContextTokens() int { return c.opt.ContextTokens }

// CacheKey is the key the answer to r is cached under.
func (c *Copilot) CacheKey(r Request) string {
	return CacheKey(c.opt.Provider, c.opt.Model, c.opt.MaxOutputTokens, r)
}

// EventKind tells the events of a stream apart. The values are fit for SSE
// event names.
type EventKind string

// The events of a stream, in order: any number of text, citation and usage
// events, then exactly one done or error event — unless the caller's
// context is cancelled, in which case the channel just closes.
const (
	EventText     EventKind = "text"     // Text: the next piece of the answer
	EventCitation EventKind = "citation" // Citation: verified, standing at the end of the text so far
	EventUsage    EventKind = "usage"    // Usage: the provider's token count so far
	EventDone     EventKind = "done"     // Answer: the complete answer
	EventError    EventKind = "error"    // Err: why the answer broke off (text so far stays valid)
)

// Event is one step of a streamed answer.
type Event struct {
	Kind     EventKind `json:"kind"`
	Text     string    `json:"text,omitempty"`
	Citation *Citation `json:"citation,omitempty"`
	Usage    *Usage    `json:"usage,omitempty"`
	Answer   *Answer   `json:"answer,omitempty"`
	Err      *Error    `json:"error,omitempty"`
}

// Answer is a complete answer.
type Answer struct {
	Text string `json:"text"`
	// Citations are the verified ones, in the order of their offsets.
	Citations []Citation `json:"citations"`
	// Dropped counts citations that failed verification and were removed;
	// the page should say so when it is not 0.
	Dropped int `json:"dropped_citations"`
	// Usage is what this answer cost: zero when it came from the cache.
	Usage      Usage  `json:"usage"`
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	StopReason string `json:"stop_reason"`
	// Truncated is true when the answer hit the output token limit.
	Truncated bool   `json:"truncated,omitempty"`
	CacheKey  string `json:"cache_key"`
	Cached    bool   `json:"cached,omitempty"`
}

// Complete stop reasons (cached) and the ones that mean "cut at the token
// limit".
var (
	completeStops  = []string{"end_turn", "stop_sequence", "stop"}
	truncatedStops = []string{"max_tokens", "length"}
)

// Stream asks req and returns the answer as a stream of events.
//
// Errors before anything is sent come back directly, as *Error (or a
// BAD_REQUEST *apperror.Error for an invalid request): LLM_DISABLED,
// LLM_BUDGET_EXHAUSTED, and every failure of the request itself
// (LLM_RATE_LIMITED with RetryAfter, LLM_UNAVAILABLE, LLM_REJECTED,
// LLM_TIMEOUT). Stream returns once the provider has accepted the request,
// so an HTTP handler can still answer with a plain error status.
//
// A cached answer is replayed at once without calling the provider.
//
// After that, the channel carries text, citation and usage events and
// ends with one done or error event, then closes. Cancel ctx to stop: the
// provider connection is closed, usage so far is recorded and the channel
// closes without a final event. A reader that stops reading must cancel
// ctx.
func (c *Copilot) Stream(ctx context.Context, req Request) (<-chan Event, error) {
	if c == nil {
		return nil, errDisabled()
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	key := c.CacheKey(req)
	if c.opt.Store != nil {
		a, ok, err := c.opt.Store.GetLLMAnswer(ctx, key)
		switch {
		case err != nil:
			c.log.Warn("reading the LLM answer cache failed; asking the provider", "err", err)
		case ok:
			return replay(req, a), nil
		}
	}
	p := buildPrompt(req, c.prov.markers())
	if err := c.checkBudget(ctx, p); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	w := startWatchdog(cancel, c.opt.Timeout, c.opt.IdleTimeout)
	started := time.Now()
	rd, err := c.prov.open(runCtx, p, c.opt.MaxOutputTokens)
	if err != nil {
		w.stop()
		e := classify(ctx, runCtx, err, false)
		cancel(nil)
		c.record(ctx, req, key, UsageRecord{Outcome: outcomeOf(e), Duration: time.Since(started)})
		return nil, e
	}
	w.kick()
	ch := make(chan Event, 32)
	go c.pump(ctx, runCtx, cancel, w, rd, p, key, started, ch)
	return ch, nil
}

// Ask is Stream for callers that want the whole answer at once (the CLI).
func (c *Copilot) Ask(ctx context.Context, req Request) (Answer, error) {
	ch, err := c.Stream(ctx, req)
	if err != nil {
		return Answer{}, err
	}
	for ev := range ch {
		switch ev.Kind {
		case EventDone:
			return *ev.Answer, nil
		case EventError:
			return Answer{}, ev.Err
		}
	}
	return Answer{}, errCanceled(context.Cause(ctx))
}

func outcomeOf(e *Error) string {
	if e.App.Code == apperror.CodeClientClosed {
		return OutcomeCanceled
	}
	return e.App.Code
}

// pump reads the provider's stream, verifies citations, forwards events,
// and at the end caches the answer and records its usage.
func (c *Copilot) pump(ctx, runCtx context.Context, cancel context.CancelCauseFunc, w *watchdog,
	rd reader, p *prompt, key string, started time.Time, ch chan<- Event) {
	defer close(ch)
	defer cancel(nil)
	defer w.stop()
	defer rd.close()

	// While the consumer is slow to take an event the provider is not being
	// read, so its silence must not count against the idle timeout.
	send := func(ev Event) bool {
		w.pause()
		defer w.kick()
		select {
		case ch <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ans := Answer{Provider: c.opt.Provider, Model: c.opt.Model, CacheKey: key}
	var (
		text       strings.Builder
		usage      Usage
		usageFinal bool
		firstText  time.Duration
		finished   bool
		streamErr  error
	)
read:
	for {
		ck, ok := rd.next()
		if !ok {
			streamErr = rd.err()
			break
		}
		w.kick()
		if ck.text != "" {
			if text.Len()+len(ck.text) > maxAnswerBytes {
				streamErr = malformed("the answer exceeds %d bytes", maxAnswerBytes)
				break
			}
			if firstText == 0 {
				firstText = time.Since(started)
			}
			text.WriteString(ck.text)
			if !send(Event{Kind: EventText, Text: ck.text}) {
				break
			}
		}
		for _, raw := range ck.cites {
			cit, ok := Verify(p.req.Sources, raw)
			if !ok {
				ans.Dropped++
				c.log.Debug("dropped an unverifiable citation", "file", raw.File, "source", raw.Source,
					"start", raw.StartLine, "end", raw.EndLine, "quote", raw.Quote)
				continue
			}
			cit.Offset = text.Len()
			ans.Citations = append(ans.Citations, cit)
			if !send(Event{Kind: EventCitation, Citation: &cit}) {
				break read
			}
		}
		if ck.usage != nil {
			usage.InputTokens = max(usage.InputTokens, ck.usage.InputTokens)
			usage.OutputTokens = max(usage.OutputTokens, ck.usage.OutputTokens)
			usageFinal = usageFinal || ck.usageFinal
			u := c.priced(usage)
			if !send(Event{Kind: EventUsage, Usage: &u}) {
				break
			}
		}
		if ck.done {
			finished, ans.StopReason = true, ck.stop
		}
	}
	if streamErr == nil && ctx.Err() == nil && !finished {
		streamErr = malformed("the stream ended before the provider finished the answer")
	}

	// Count what the provider will bill even when the stream broke.
	if usage.InputTokens == 0 {
		usage.InputTokens, usage.Estimated = int64(p.inputTokens), true
	}
	if !usageFinal {
		usage.OutputTokens = max(usage.OutputTokens, int64(EstimateTokens(text.String())))
		usage.Estimated = true
	}
	ans.Usage = c.priced(usage)
	ans.Text = text.String()
	rec := UsageRecord{Usage: ans.Usage, DroppedCitations: ans.Dropped, Duration: time.Since(started), FirstText: firstText}

	if streamErr != nil || ctx.Err() != nil {
		e := classify(ctx, runCtx, streamErr, true)
		rec.Outcome = outcomeOf(e)
		c.record(ctx, p.req, key, rec)
		if rec.Outcome != OutcomeCanceled {
			send(Event{Kind: EventError, Err: e})
		}
		return
	}
	ans.Truncated = slices.Contains(truncatedStops, ans.StopReason)
	if c.opt.Store != nil && slices.Contains(completeStops, ans.StopReason) {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := c.opt.Store.PutLLMAnswer(sctx, key, ans); err != nil {
			c.log.Warn("caching an LLM answer failed", "err", err)
		}
		scancel()
	}
	rec.Outcome = OutcomeOK
	c.record(ctx, p.req, key, rec)
	send(Event{Kind: EventDone, Answer: &ans})
}

// priced fills in the cost from the configured prices.
func (c *Copilot) priced(u Usage) Usage {
	u.CostUSD = (float64(u.InputTokens)*c.opt.PriceInput + float64(u.OutputTokens)*c.opt.PriceOutput) / 1e6
	return u
}

func (c *Copilot) record(ctx context.Context, req Request, key string, r UsageRecord) {
	if c.opt.Store == nil {
		return
	}
	r.At = c.now().UTC()
	r.Provider, r.Model, r.Kind, r.CacheKey = c.opt.Provider, c.opt.Model, req.Kind, key
	r.Subject, r.User = req.Subject, req.User
	// Record even when the caller has gone: the provider bills regardless.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.opt.Store.RecordLLMUsage(ctx, r); err != nil {
		c.log.Warn("recording LLM usage failed", "err", err)
	}
}

// BudgetStatus returns the tokens used this calendar month (UTC) and the
// cap (0: none), for the admins' view.
func (c *Copilot) BudgetStatus(ctx context.Context) (used, limit int64, err error) {
	if c == nil || c.opt.Store == nil {
		return 0, 0, nil
	}
	used, err = c.opt.Store.LLMTokensSince(ctx, monthStart(c.now()))
	return used, c.opt.MonthlyTokens, err
}

// checkBudget refuses a question that could take the month past the cap:
// tokens used so far, plus the estimated input, plus the most the answer
// may use. Concurrent questions are counted once they finish, so the cap
// can be passed by what is in flight at the same time.
func (c *Copilot) checkBudget(ctx context.Context, p *prompt) error {
	if c.opt.MonthlyTokens <= 0 || c.opt.Store == nil {
		return nil
	}
	now := c.now()
	used, err := c.opt.Store.LLMTokensSince(ctx, monthStart(now))
	if err != nil {
		return fmt.Errorf("reading this month's LLM token use: %w", err)
	}
	need := int64(p.inputTokens + c.opt.MaxOutputTokens)
	limit := c.opt.MonthlyTokens
	if used+need <= limit {
		return nil
	}
	renews := monthStart(now).AddDate(0, 1, 0).Format("2 January 2006")
	left := max(0, limit-used)
	msg := fmt.Sprintf("This month's AI token budget (%d tokens) is used up. It renews on %s (UTC); an administrator can raise VERIPOST_LLM_MONTHLY_TOKENS. %s",
		limit, renews, offlineStays)
	if left > 0 {
		msg = fmt.Sprintf("This question could use about %d tokens, but only %d of this month's %d are left. Ask about a smaller selection, or wait until %s (UTC). %s",
			need, left, limit, renews, offlineStays)
	}
	return newError(http.StatusTooManyRequests, apperror.CodeLLMBudgetExhausted, msg,
		fmt.Errorf("used %d of %d tokens since %s; this question needs up to %d", used, limit, monthStart(now).Format(time.DateOnly), need))
}

// replay turns a cached answer into a finished stream. Its citations are
// verified again against the sources of this request (same content, but
// maybe other file IDs) and re-attached at their offsets.
func replay(req Request, a Answer) <-chan Event {
	text := a.Text
	var evs []Event
	var kept []Citation
	dropped, prev := a.Dropped, 0
	for _, c := range a.Citations {
		v, ok := Verify(req.Sources, c)
		if !ok || c.Offset < prev || c.Offset > len(text) {
			dropped++
			continue
		}
		if c.Offset > prev {
			evs = append(evs, Event{Kind: EventText, Text: text[prev:c.Offset]})
			prev = c.Offset
		}
		kept = append(kept, v)
		evs = append(evs, Event{Kind: EventCitation, Citation: &v})
	}
	if prev < len(text) {
		evs = append(evs, Event{Kind: EventText, Text: text[prev:]})
	}
	a.Citations, a.Dropped, a.Cached, a.Usage = kept, dropped, true, Usage{}
	evs = append(evs, Event{Kind: EventDone, Answer: &a})
	ch := make(chan Event, len(evs))
	for _, ev := range evs {
		ch <- ev
	}
	close(ch)
	return ch
}

// watchdog cancels the stream's context when the provider is silent for
// the idle timeout, or the whole answer passes the timeout.
type watchdog struct {
	idle          time.Duration
	idleT, totalT *time.Timer
}

func startWatchdog(cancel context.CancelCauseFunc, total, idle time.Duration) *watchdog {
	return &watchdog{
		idle:   idle,
		idleT:  time.AfterFunc(idle, func() { cancel(errIdle) }),
		totalT: time.AfterFunc(total, func() { cancel(errTotal) }),
	}
}

func (w *watchdog) kick() { w.idleT.Reset(w.idle) }

func (w *watchdog) pause() { w.idleT.Stop() }

func (w *watchdog) stop() {
	w.idleT.Stop()
	w.totalT.Stop()
}
