package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	oaistream "github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/veripost/veripost/internal/apperror"
)

// Error is a copilot failure: the user-facing error (message, detail, code,
// HTTP status) and, for rate limits, how long the provider asked to wait.
// apperror.As finds the *apperror.Error inside it.
type Error struct {
	App *apperror.Error
	// RetryAfter is the provider's Retry-After (0 when it gave none).
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string   { return e.App.Error() }
func (e *Error) Unwrap() []error { return []error{e.App, e.cause} }

// Code is the stable error code (apperror.CodeLLM…).
func (e *Error) Code() string { return e.App.Code }

// MarshalJSON gives the API's error shape plus retry_after_seconds.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		*apperror.Error
		RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	}{e.App, int(math.Ceil(e.RetryAfter.Seconds()))})
}

// The user-facing messages all end the same way: the offline explanation
// does not depend on the provider, so the page stays useful.
const offlineStays = "The offline explanation does not need it and stays available."

func newError(status int, code, message string, cause error) *Error {
	detail := ""
	if cause != nil {
		detail = cause.Error()
	}
	return &Error{App: apperror.New(status, code, message, detail), cause: cause}
}

func errDisabled() *Error {
	return newError(http.StatusServiceUnavailable, apperror.CodeLLMDisabled,
		"The AI copilot is not configured on this server. An administrator can turn it on with VERIPOST_LLM_PROVIDER, VERIPOST_LLM_MODEL and VERIPOST_LLM_API_KEY. "+offlineStays, nil)
}

func errCanceled(cause error) *Error {
	return newError(499, apperror.CodeClientClosed, "The question was cancelled.", cause)
}

// Causes set on the stream's context by the watchdog, told apart from the
// caller cancelling.
var (
	errIdle  = errors.New("the provider sent nothing within the idle timeout")
	errTotal = errors.New("the answer took longer than the timeout")
)

// classify turns whatever a provider call or stream ended with into an
// *Error. callerCtx is the caller's context, runCtx the stream's (whose
// cause says whether a timeout fired); midStream tells a broken stream from
// a failed request.
func classify(callerCtx, runCtx context.Context, err error, midStream bool) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if callerCtx.Err() != nil {
		return errCanceled(context.Cause(callerCtx))
	}
	if cause := context.Cause(runCtx); errors.Is(cause, errIdle) || errors.Is(cause, errTotal) {
		return newError(http.StatusGatewayTimeout, apperror.CodeLLMTimeout,
			"The AI provider took too long to answer. Try again, or ask a narrower question. "+offlineStays,
			timeoutDetail(cause, err))
	}
	if ae, ok := errors.AsType[*anthropic.Error](err); ok {
		return fromStatus(ae.StatusCode, string(ae.Type()), headerOf(ae.Response), err)
	}
	if oe, ok := errors.AsType[*openai.Error](err); ok {
		return fromStatus(oe.StatusCode, oe.Type+" "+oe.Code, headerOf(oe.Response), err)
	}
	if se, ok := errors.AsType[*oaistream.StreamError](err); ok {
		return fromStatus(http.StatusOK, streamErrorType(se.Event.Data), nil, err)
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, errMalformed) {
		return badReply(err)
	}
	if midStream || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(http.StatusBadGateway, apperror.CodeLLMBadReply,
			"The AI provider's answer broke off. Try again. "+offlineStays, err)
	}
	// Refused connections, DNS failures, resets before any reply.
	return unreachable(err)
}

func timeoutDetail(cause, err error) error {
	if err == nil || errors.Is(err, cause) || err.Error() == cause.Error() {
		return cause
	}
	return fmt.Errorf("%w (the request ended with: %v)", cause, err)
}

func badReply(err error) *Error {
	return newError(http.StatusBadGateway, apperror.CodeLLMBadReply,
		"The AI provider sent a reply VeriPost cannot read. Try again; if it keeps happening, the provider address or model may be wrong (VERIPOST_LLM_BASE_URL, VERIPOST_LLM_MODEL). "+offlineStays, err)
}

// unavailable is a provider that answered with a failure (status 0: an
// error event inside the stream).
func unavailable(status int, err error) *Error {
	msg := "The AI provider is not answering right now. Try again later. " + offlineStays
	if status != 0 {
		msg = fmt.Sprintf("The AI provider is not answering right now (HTTP %d). Try again later. %s", status, offlineStays)
	}
	return newError(http.StatusServiceUnavailable, apperror.CodeLLMUnavailable, msg, err)
}

// unreachable is a provider that could not be connected to at all.
func unreachable(err error) *Error {
	return newError(http.StatusServiceUnavailable, apperror.CodeLLMUnavailable,
		"The AI provider cannot be reached. Try again later; if it keeps happening, an administrator should check VERIPOST_LLM_BASE_URL. "+offlineStays, err)
}

// errMalformed marks a stream whose events are valid JSON but out of order
// or incomplete.
var errMalformed = errors.New("malformed stream")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// fromStatus maps a provider's HTTP status (or, for an error inside a 200
// stream, its error type) to an *Error.
func fromStatus(status int, errType string, h http.Header, err error) *Error {
	t := strings.ToLower(errType)
	switch {
	case status == http.StatusTooManyRequests || strings.Contains(t, "rate_limit"):
		wait := retryAfter(h)
		msg := "The AI provider is limiting how often VeriPost may ask. Try again in a minute. " + offlineStays
		if wait > 0 {
			msg = fmt.Sprintf("The AI provider is limiting how often VeriPost may ask. Try again in %s. %s", humanWait(wait), offlineStays)
		}
		e := newError(http.StatusTooManyRequests, apperror.CodeLLMRateLimited, msg, err)
		e.RetryAfter = wait
		return e
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		strings.Contains(t, "authentication") || strings.Contains(t, "permission"):
		return newError(http.StatusBadGateway, apperror.CodeLLMRejected,
			"The AI provider refused VeriPost's credentials. An administrator should check VERIPOST_LLM_API_KEY. "+offlineStays, err)
	case status == http.StatusNotFound || strings.Contains(t, "not_found"):
		return newError(http.StatusBadGateway, apperror.CodeLLMRejected,
			"The AI provider does not know this model or address. An administrator should check VERIPOST_LLM_MODEL and VERIPOST_LLM_BASE_URL. "+offlineStays, err)
	case status == http.StatusRequestTimeout || status >= 500 ||
		strings.Contains(t, "overloaded") || strings.Contains(t, "api_error") || strings.Contains(t, "server_error"):
		if status < 500 {
			status = 0
		}
		return unavailable(status, err)
	case status >= 400 || strings.Contains(t, "invalid_request"):
		return newError(http.StatusBadGateway, apperror.CodeLLMRejected,
			"The AI provider refused the question, often because it sends more context than the model accepts. Try a smaller selection, or ask an administrator to lower VERIPOST_LLM_CONTEXT_TOKENS. "+offlineStays, err)
	}
	return badReply(err)
}

func headerOf(r *http.Response) http.Header {
	if r == nil {
		return nil
	}
	return r.Header
}

// retryAfter reads Retry-After-Ms, then Retry-After (seconds or an HTTP
// date).
func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

func humanWait(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	switch {
	case s <= 1:
		return "1 second"
	case s < 120:
		return fmt.Sprintf("%d seconds", s)
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}

// streamErrorType reads the error type (or code) of an OpenAI-style error
// event: {"error": {"type": …, "code": …, "message": …}}.
func streamErrorType(data []byte) string {
	var v struct {
		Error struct {
			Type string          `json:"type"`
			Code json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	return v.Error.Type + " " + strings.Trim(string(v.Error.Code), `"`)
}

// Disabled is the error of a question asked while no provider is
// configured (what a nil *Copilot answers), for callers that check before
// they build the question.
func Disabled() *Error { return errDisabled() }
