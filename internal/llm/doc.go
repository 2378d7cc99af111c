// Package llm is the optional LLM copilot: it asks a configured provider a
// question about post-processor source and streams back an answer whose
// every citation has been checked against the lines that were sent. It is
// provider-neutral: the Anthropic Messages API, or any OpenAI-compatible
// chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama). The offline explainer
// (internal/explain) never depends on it; this package only adds prose on
// top, and every failure says that the offline explanation stays.
//
// # Turning it on
//
// FromConfig builds a *Copilot from the VERIPOST_LLM_* settings
// (internal/config), or returns nil when VERIPOST_LLM_PROVIDER is empty. A
// nil *Copilot is valid: Enabled reports false and Stream returns an
// LLM_DISABLED error, so callers need no separate "is it on" branch.
//
//	cp, err := llm.FromConfig(cfg, db, log) // db: *store.DB, or nil for no cache/budget/records
//
// The server passes its *store.DB (which implements Store); the CLI may
// pass nil (untyped nil, not a nil *store.DB).
//
// # Building a request
//
// A Request carries the question and its grounding. Sources are citable:
// stretches of stored files as numbered lines (file name, first line
// number, the lines). Notes are context the model may use but cannot cite
// (catalogue meanings, machine metadata, the offline explanation). Build
// them as ranked Pieces — most important first — and let Pack keep what
// fits the context budget and report what it left out:
//
//	pieces := []llm.Piece{
//		{Title: "section TOOL_CHANGE", Source: &section, Cut: true}, // may be cut at a line
//		{Title: "callers of TOOL_CHANGE", Source: &callers},
//		{Title: "meaning of TOOL_NUMBER", Note: &llm.Note{Title: "TOOL_NUMBER", Text: meaning}},
//		{Title: "offline explanation", Note: &llm.Note{Title: "Offline explanation", Text: offline}},
//	}
//	packed := llm.Pack(pieces, cp.ContextTokens())
//	req := llm.Request{Kind: "section", Question: "Explain what TOOL_CHANGE does on the machine."}
//	packed.Fill(&req)        // sources, notes, and the "left out" list the model is told about
//	note := packed.Summary() // "Left out to stay within the … budget: …" for the page ("" if all fit)
//
// Token counts are estimated with EstimateTokens: bytes/4, rounded up,
// for every budget in this package.
//
// # Streaming
//
// Stream returns once the provider has accepted the request; failures up
// to that point (disabled, invalid request, budget exhausted, rate limit,
// provider down, timeout) come back as the error, so an HTTP handler can
// answer with a plain status before it starts server-sent events. Then the
// channel carries, in order:
//
//   - EventText: the next piece of the answer (Event.Text);
//   - EventCitation: a verified citation (Event.Citation) that stands at the
//     end of the text streamed so far (Citation.Offset is that byte offset);
//     link it to Citation.SourceID / File, lines StartLine-EndLine;
//   - EventUsage: the provider's token count so far;
//   - finally one EventDone (Event.Answer: the whole text, citations,
//     Dropped count, usage and cost, Cached, Truncated) or one EventError
//     (Event.Err, an *Error: message for the user, code, RetryAfter).
//
// Cancel the context to stop (the user closed the page or pressed Stop):
// the provider connection closes, the usage so far is recorded, and the
// channel closes without a final event. A consumer that stops reading must
// cancel. The Kind values are suitable SSE event names and Event, Answer
// and *Error marshal to JSON as the API would send them.
//
//	ch, err := cp.Stream(ctx, req)
//	if err != nil { return err } // *llm.Error; apperror.As finds the user-facing error
//	for ev := range ch { writeSSE(w, string(ev.Kind), ev) }
//
// Ask is the same without streaming (it drains the channel), for the CLI.
//
// # Grounding and verification
//
// With Anthropic, each source is a document of custom content: one text
// block per line ("L12: text"), citations enabled; a returned citation
// names a block range, which maps one-to-one to a line range, and quotes
// the cited text. With OpenAI-compatible endpoints the lines go inline and
// the model must cite with markers such as [MILL.LIB:L12-L14] (or [L12]
// when all sources are one file); the markers are taken out of the text as
// it streams, even when split across deltas. Every citation passes Verify
// before it is shown: the lines must exist in the cited source and a quoted
// text must be on those lines. Citations that fail are dropped and counted
// in Answer.Dropped — show that count ("2 citations could not be verified
// and were removed").
//
// # Cache, usage and budget
//
// Answers are cached in the Store under CacheKey: the content hashes of the
// sources (with file names and first lines), the notes, the question, the
// instructions, the model and PromptVersion. The same question about the
// same lines is replayed from the cache at no cost (Answer.Cached, zero
// Usage), also from another package version that has the same content.
// Only complete answers are cached. Every provider call — finished, failed
// or cancelled — leaves a UsageRecord (tokens in and out, estimated when
// the provider reported none; cost from VERIPOST_LLM_PRICE_*; outcome;
// dropped citations; timings). Before a call, the month's tokens plus this
// question's estimated input and maximum output must fit
// VERIPOST_LLM_MONTHLY_TOKENS, or Stream refuses with LLM_BUDGET_EXHAUSTED
// and sends nothing. BudgetStatus gives the month's figures for admins;
// store.DB.RecentLLMUsage and SummarizeLLMUsage list and total the records.
//
// # Failures
//
// All errors are *Error values carrying an apperror code from the one
// list: LLM_DISABLED, LLM_BUDGET_EXHAUSTED, LLM_RATE_LIMITED (with
// RetryAfter from Retry-After / Retry-After-Ms), LLM_UNAVAILABLE (refused
// connection, 5xx, overloaded), LLM_TIMEOUT (VERIPOST_LLM_IDLE_TIMEOUT of
// silence, or VERIPOST_LLM_TIMEOUT for the whole answer), LLM_BAD_REPLY
// (malformed or cut-off stream), LLM_REJECTED (credentials, unknown model,
// request refused), and CLIENT_CLOSED for a cancelled question. Requests
// are never retried behind the user's back: the message says when to try
// again instead.
package llm
