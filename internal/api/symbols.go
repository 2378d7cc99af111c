package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

func (h *handlers) registerSymbolNames(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "symbol-names", Method: http.MethodGet, Path: Prefix + "/symbols",
		Summary: "The names the packages' latest versions define or use, in name order, each with its package count and its definitions and uses; paged", Tags: []string{"index"}, Errors: []int{400},
	}, h.symbolNames)
}

type symbolNamesInput struct {
	Prefix string `query:"prefix" maxLength:"200" doc:"only names starting with this (case-insensitive; spaces match underscores)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"100" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous page"`
}

type symbolNamesOutput struct {
	Body catalog.Page[index.SymbolName]
}

func (h *handlers) symbolNames(ctx context.Context, in *symbolNamesInput) (*symbolNamesOutput, error) {
	page, err := h.Index.SymbolNames(ctx, in.Prefix, in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	return &symbolNamesOutput{Body: page}, nil
}
