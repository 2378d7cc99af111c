package explain

import (
	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// This file is the explainer's one dependency on the shared analysis
// (internal/analysis) and its resolver. The rest of the package reads the
// resolved package through these names only.

type (
	resolved   = resolve.Package
	definition = resolve.Definition
	reference  = resolve.Reference
	library    = resolve.Library
	sideFile   = resolve.SideFile
)

// Input is one file of a package: its name and bytes.
type Input = analysis.Input

// Symbol kinds, reference statuses and file roles of the resolver.
const (
	symAttribute = resolve.KindAttribute
	symSection   = resolve.KindSection
	symDefine    = resolve.KindDefine
	symOperation = resolve.KindOperation
	symParam     = resolve.KindParam
	symSystem    = resolve.KindSystem

	statusDefined        = resolve.StatusDefined
	statusGuarded        = resolve.StatusGuarded
	statusLibraryMissing = resolve.StatusLibraryMissing
	statusUserMissing    = resolve.StatusUserMissing
	statusUndefined      = resolve.StatusUndefined

	roleMain       = resolve.RoleMain
	roleLibrary    = resolve.RoleLibrary
	roleInclude    = resolve.RoleInclude
	roleUnusedLib  = resolve.RoleUnusedLib
	roleAttributes = resolve.RoleAttributes

	howUnresolved = resolve.HowUnresolved
)

// Analyze analyses the files of one package (the same analysis ingestion
// stores, with the syntax trees kept) and indexes the result for
// explaining.
func Analyze(inputs []Input) *Package {
	res, trees := analysis.AnalyzeParsed(inputs)
	return New(res.Package, trees)
}
