package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/registry"
)

// The stock library registry: list variants, register one (from a content
// VeriPost holds or from the file's bytes), choose the default per name,
// and let a package pick its own.
func (h *handlers) registerRegistry(api huma.API) {
	if h.Registry == nil {
		return
	}
	tags := []string{"registry"}
	huma.Register(api, huma.Operation{
		OperationID: "registry-list", Method: http.MethodGet, Path: Prefix + "/registry",
		Summary: "Registered stock library variants (MILL.LIB, LATHE.LIB, MASTER.ATR …) with their labels; the default of each name first", Tags: tags,
	}, h.registryList)
	huma.Register(api, huma.Operation{
		OperationID: "registry-register", Method: http.MethodPost, Path: Prefix + "/admin/registry",
		Summary: "Register a stock library variant: a content VeriPost holds (sha256) or the file's bytes (content), with a label", Tags: []string{"admin", "registry"},
		Errors: []int{404, 413, 422}, DefaultStatus: http.StatusCreated,
	}, h.registryRegister)
	huma.Register(api, huma.Operation{
		OperationID: "registry-default", Method: http.MethodPut, Path: Prefix + "/admin/registry/{name}/default",
		Summary: "Make a registered variant the default of its name; the versions that need it are analysed again (progress: GET /admin/reindex)", Tags: []string{"admin", "registry"},
		Errors: []int{404, 422},
	}, h.registryDefault)
	huma.Register(api, huma.Operation{
		OperationID: "package-registry-choices", Method: http.MethodGet, Path: Prefix + "/packages/{id}/registry",
		Summary: "A package's own picks of registry variants (names it does not list follow the default)", Tags: tags, Errors: []int{404},
	}, h.packageChoices)
	huma.Register(api, huma.Operation{
		OperationID: "package-registry-choose", Method: http.MethodPut, Path: Prefix + "/packages/{id}/registry/{name}",
		Summary: "Override the registry variant a package resolves a library name to (or none, or back to the default); its versions are analysed again", Tags: tags,
		Errors: []int{404, 422},
	}, h.packageChoose)
}

type registryListInput struct {
	Name string `query:"name" maxLength:"255" doc:"only this library file name (e.g. MILL.LIB)"`
}

type registryListOutput struct {
	Body struct {
		Items []registry.Variant `json:"items"`
	}
}

func (h *handlers) registryList(ctx context.Context, in *registryListInput) (*registryListOutput, error) {
	vs, err := h.Registry.Store.Variants(ctx, in.Name)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &registryListOutput{}
	out.Body.Items = vs
	return out, nil
}

type registryRegisterInput struct {
	Body struct {
		Name    string `json:"name" maxLength:"255" doc:"library file name, e.g. MILL.LIB"`
		Label   string `json:"label" maxLength:"200" doc:"what the variant is, e.g. CAMWorks 2024 SP2"`
		SHA256  string `json:"sha256,omitempty" doc:"a content VeriPost already holds (a file of an uploaded package)"`
		Content []byte `json:"content,omitempty" doc:"the file's bytes (base64), when VeriPost does not hold it yet"`
	}
}

type variantOutput struct{ Body registry.Variant }

func (h *handlers) registryRegister(ctx context.Context, in *registryRegisterInput) (*variantOutput, error) {
	b := in.Body
	var v registry.Variant
	var err error
	by := auth.ActorFrom(ctx).Username
	switch {
	case len(b.Content) > 0:
		if int64(len(b.Content)) > h.Limits.MaxFileBytes && h.Limits.MaxFileBytes > 0 {
			return nil, huma.Error413RequestEntityTooLarge("the library is larger than the largest file this server accepts")
		}
		v, err = h.Registry.RegisterUpload(ctx, b.Name, b.Content, b.Label, by)
	default:
		v, err = h.Registry.Register(ctx, b.Name, b.SHA256, b.Label, by)
	}
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	h.audit(ctx, auth.ActionSettings, "registered "+v.Name+" “"+v.Label+"” in the library registry", "",
		map[string]any{"name": v.Name, "sha256": v.SHA256, "label": v.Label})
	return &variantOutput{Body: v}, nil
}

type registryDefaultInput struct {
	Name string `path:"name" maxLength:"255"`
	Body struct {
		SHA256 string `json:"sha256" doc:"a registered variant of this name"`
	}
}

type queuedOutput struct {
	Body struct {
		Queued int `json:"queued" doc:"versions queued for analysis again"`
	}
}

func (h *handlers) registryDefault(ctx context.Context, in *registryDefaultInput) (*queuedOutput, error) {
	n, err := h.Registry.SetDefault(ctx, in.Name, in.Body.SHA256)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	h.audit(ctx, auth.ActionSettings, "made a registered "+in.Name+" the default", "",
		map[string]any{"name": in.Name, "sha256": in.Body.SHA256, "queued": n})
	out := &queuedOutput{}
	out.Body.Queued = n
	return out, nil
}

type packageChoicesInput struct {
	ID string `path:"id"`
}

type packageChoicesOutput struct {
	Body struct {
		Items []registry.Choice `json:"items"`
	}
}

func (h *handlers) packageChoices(ctx context.Context, in *packageChoicesInput) (*packageChoicesOutput, error) {
	if _, err := h.Repo.GetPackage(ctx, in.ID); err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	cs, err := h.Registry.Store.Choices(ctx, in.ID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &packageChoicesOutput{}
	out.Body.Items = cs
	return out, nil
}

type packageChooseInput struct {
	ID   string `path:"id"`
	Name string `path:"name" maxLength:"255"`
	Body struct {
		SHA256  string `json:"sha256,omitempty" doc:"the registered variant to use; empty with default=false: use none"`
		Default bool   `json:"default,omitempty" doc:"drop the package's pick and follow the registry default again"`
	}
}

func (h *handlers) packageChoose(ctx context.Context, in *packageChooseInput) (*queuedOutput, error) {
	n, err := h.Registry.SetChoice(ctx, in.ID, registry.Choice{Name: in.Name, SHA256: in.Body.SHA256}, in.Body.Default)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	h.audit(ctx, auth.ActionPackageEdit, "chose the registry variant of "+in.Name, in.ID,
		map[string]any{"name": in.Name, "sha256": in.Body.SHA256, "default": in.Body.Default, "queued": n})
	out := &queuedOutput{}
	out.Body.Queued = n
	return out, nil
}
