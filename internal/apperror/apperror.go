// Package apperror defines the one error shape VeriPost shows its users:
// a friendly message, a technical detail, a stable machine-readable code,
// and the HTTP status that goes with it.
package apperror

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a user-facing failure. Message is written for the person using
// VeriPost and says what to do next; Detail carries the technical cause; Code
// is stable across releases so scripts can branch on it.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Message + " (" + e.Detail + ")"
}

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

// From turns any error into an *Error. Errors that are not already
// user-facing become a 500 INTERNAL error whose detail is the error text.
func From(err error) *Error {
	if e, ok := As(err); ok {
		return e
	}
	return New(http.StatusInternalServerError, CodeInternal,
		"Something went wrong on the server. Try again; if it keeps happening, ask your administrator to check the server log.",
		err.Error())
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
