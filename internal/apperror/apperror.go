// Package apperror defines the one error shape VeriPost shows its users:
// a friendly message, a technical detail, a stable machine-readable code,
// and the HTTP status that goes with it.
package apperror

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/veripost/veripost/internal/transient"
)

// Error is a user-facing failure. Message is written for the person using
// VeriPost and says what to do next; Detail carries the technical cause; Code
// is stable across releases so scripts can branch on it.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
	// Cause is the internal failure behind a server-side error: it goes
	// to the log (Error includes it), never to the client, because a
	// driver's text can name hosts, users, databases and SQL.
	Cause error `json:"-"`
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New builds an Error; detail may be empty.
func New(status int, code, message, detail string) *Error {
	return &Error{Status: status, Code: code, Message: message, Detail: detail}
}

// Newf builds an Error whose detail is formatted.
func Newf(status int, code, message, detailFormat string, args ...any) *Error {
	return New(status, code, message, fmt.Sprintf(detailFormat, args...))
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// From turns any error into an *Error. An error that is not already
// user-facing is a server-side failure (see Server): its text stays in
// Cause, for the log.
func From(err error) *Error {
	if e, ok := As(err); ok {
		return e
	}
	return Server(err)
}

// Server is the answer to a failure that is not the client's: 503
// SERVICE_UNAVAILABLE when a service VeriPost depends on could not be
// reached (the client may try again), 500 INTERNAL otherwise. The detail
// names no host, user, database or query; the cause is kept for the log.
func Server(err error) *Error {
	if transient.Unreachable(err) {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "VeriPost cannot reach its database or file store right now, so this could not be done. Try again in a minute; if it persists, ask your administrator to check them.",
			Detail:  "a service VeriPost depends on did not answer; the server log has the cause", Cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal,
		Message: "Something went wrong on the server. Try again; if it keeps happening, ask your administrator to check the server log.",
		Detail:  "the server log has the cause", Cause: err}
}

// Unavailable is a 503 whose message says which service failed and what
// happened to the request; cause goes to the log only.
func Unavailable(message string, cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: message,
		Detail: "a service VeriPost depends on did not answer; the server log has the cause", Cause: cause}
}

// Stable error codes. Add new ones here so the list stays in one place.
const (
	CodeInternal          = "INTERNAL"
	CodeNotFound          = "NOT_FOUND"
	CodeBadRequest        = "BAD_REQUEST"
	CodeUnavailable       = "SERVICE_UNAVAILABLE"
	CodeRequestTooLarge   = "REQUEST_TOO_LARGE"
	CodeNotZip            = "NOT_A_ZIP"
	CodeUnsupportedType   = "UNSUPPORTED_FILE_TYPE"
	CodeCorruptZip        = "CORRUPT_ZIP"
	CodeEmptyPackage      = "EMPTY_PACKAGE"
	CodeNoSource          = "NO_SRC_FILE"
	CodeUnknownExtensions = "UNKNOWN_EXTENSIONS"
	CodeDuplicateName     = "DUPLICATE_FILE_NAME"
	CodeTooManyFiles      = "TOO_MANY_FILES"
	CodeTooLarge          = "PACKAGE_TOO_LARGE"
	CodeFileTooLarge      = "FILE_TOO_LARGE"
	CodeZipBomb           = "SUSPICIOUS_COMPRESSION"
	CodeUnsafePath        = "UNSAFE_PATH"
	CodeNoFiles           = "NO_FILES"
	CodeValidation        = "VALIDATION_FAILED"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodeClientClosed      = "CLIENT_CLOSED"
	CodeBinaryFile        = "BINARY_FILE"
	CodeRangeInvalid      = "RANGE_NOT_SATISFIABLE"
	CodeRequestTimeout    = "REQUEST_TIMEOUT"
	CodeIdempotencyReused = "IDEMPOTENCY_KEY_REUSED"
	CodeIngestLimit       = "INGEST_LIMIT"
	CodeBadQuery          = "BAD_QUERY"
	CodeNotIndexed        = "NOT_INDEXED"
	CodeAmbiguous         = "AMBIGUOUS"
	CodeTooLargeToCompare = "TOO_LARGE_TO_COMPARE"

	// The LLM copilot (internal/llm).
	CodeLLMDisabled        = "LLM_DISABLED"
	CodeLLMUnavailable     = "LLM_UNAVAILABLE"
	CodeLLMRateLimited     = "LLM_RATE_LIMITED"
	CodeLLMTimeout         = "LLM_TIMEOUT"
	CodeLLMBadReply        = "LLM_BAD_REPLY"
	CodeLLMRejected        = "LLM_REJECTED"
	CodeLLMBudgetExhausted = "LLM_BUDGET_EXHAUSTED"

	// Identity and access (internal/auth).
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeRateLimited     = "RATE_LIMITED"
	CodeWeakPassword    = "WEAK_PASSWORD"
	CodeConflict        = "CONFLICT"
	CodeSetupRequired   = "SETUP_REQUIRED"
	CodeCrossOrigin     = "CROSS_ORIGIN_REQUEST"
	CodeSSOFailed       = "SSO_FAILED"

	// The original API's routes (internal/api/compat.go).
	CodeInvalidFileType    = "INVALID_FILE_TYPE"
	CodeInvalidZipContents = "INVALID_ZIP_CONTENTS"
)

// GetStatus returns the HTTP status (it lets HTTP frameworks that look for
// this method, such as huma, use Error directly).
func (e *Error) GetStatus() int { return e.Status }
