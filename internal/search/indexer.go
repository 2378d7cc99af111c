package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Embedder embeds text with an external model (an OpenAI-compatible
// /v1/embeddings service). It is optional: without it, VeriPost's own
// structural embedding serves every similarity.
type Embedder interface {
	// Model names the model; stored vectors are kept per model.
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// DocSummary is what a version's index needs of a stored document.
type DocSummary struct {
	Kind      string
	Vector    []float32
	Signature []uint32
}

// ExternalVector is a section's embedding by an external model.
type ExternalVector struct {
	SHA256 string
	Ord    int
	Vector []float32
}

// VersionIndex is what the index keeps per package version: the combined
// embedding of its files and the MinHash signature of all their lines,
// with its LSH band keys. All of it depends on FileSet only, so versions
// with the same contents share one stored entry.
type VersionIndex struct {
	VersionID    string
	IndexVersion string
	FileSet      string // FileSetKey of the version's contents
	Vector       []float32
	Signature    []uint32
	Bands        []int64
}

// Store writes the search index. The SQL store implements it.
type Store interface {
	// StoredDocs returns which of shas have a document under indexVersion.
	StoredDocs(ctx context.Context, indexVersion string, shas []string) (map[string]DocSummary, error)
	// SaveDocs stores documents under indexVersion; a content stored
	// meanwhile (by another upload) or no longer referenced by any file is
	// skipped. External vectors, when given, are stored for model.
	SaveDocs(ctx context.Context, indexVersion string, docs []Document, model string, external []ExternalVector) error
	// SaveVersionIndex replaces a version's entry (nothing happens when the
	// version was deleted meanwhile). The vector, signature and bands are
	// stored once per FileSet: a version whose file set is stored already
	// just points at it.
	SaveVersionIndex(ctx context.Context, v VersionIndex) error
}

// File is one file of a version to index.
type File struct {
	SHA256   string
	Filename string
	Data     []byte
	// Load reads the bytes when Data is nil; it is called only when the
	// content has no search document yet.
	Load func(ctx context.Context) ([]byte, error)
	// Parsed is the file's UPG parse when the caller has it (nil: Build
	// parses UPG source itself).
	Parsed *upg.File
}

// Indexer builds and stores the search index of package versions.
type Indexer struct {
	Store    Store
	Embedder Embedder // optional
	Log      *slog.Logger
}

// fileWeight is how much a file counts in its version's embedding: the
// post's own source most, libraries and attribute files next, side files
// a little, compiled files not at all.
func fileWeight(kind string) float64 {
	switch upg.FileKind(kind) {
	case upg.KindSRC:
		return 2
	case upg.KindLIB, upg.KindATR, upg.KindInclude:
		return 1
	case upg.KindCNF, upg.KindKIN, upg.KindPINF, upg.KindLNG:
		return 0.25
	}
	return 0
}

// IndexVersion indexes the contents of a version that are not indexed yet
// (a content shared with other versions is built and stored once) and
// stores the version's own entry, for the parser version that analysed it.
func (ix *Indexer) IndexVersion(ctx context.Context, parserVersion, versionID string, files []File) error {
	iv := IndexVersionFor(parserVersion)
	shas := make([]string, 0, len(files))
	for _, f := range files {
		shas = append(shas, f.SHA256)
	}
	slices.Sort(shas)
	shas = slices.Compact(shas)
	stored, err := ix.Store.StoredDocs(ctx, iv, shas)
	if err != nil {
		return err
	}
	var docs []Document
	summaries := map[string]DocSummary{}
	for sha, s := range stored {
		summaries[sha] = s
	}
	for _, f := range files {
		if _, ok := summaries[f.SHA256]; ok {
			continue
		}
		if f.Data == nil && f.Load != nil {
			if f.Data, err = f.Load(ctx); err != nil {
				return err
			}
		}
		d := Build(Input{SHA256: f.SHA256, ParserVersion: parserVersion, Filename: f.Filename, Data: f.Data, Parsed: f.Parsed})
		docs = append(docs, d)
		summaries[f.SHA256] = DocSummary{Kind: d.Kind, Vector: d.Vector, Signature: d.Signature}
	}
	var model string
	var ext []ExternalVector
	if ix.Embedder != nil && len(docs) > 0 {
		model = ix.Embedder.Model()
		if ext, err = ix.embedSections(ctx, docs); err != nil {
			// The structural embedding still serves; the next reindex
			// tries the service again.
			ix.log().WarnContext(ctx, "external embeddings failed; sections keep the structural embedding only", "err", err)
			ext = nil
		}
	}
	if len(docs) > 0 {
		if err := ix.Store.SaveDocs(ctx, iv, docs, model, ext); err != nil {
			return err
		}
	}
	var vecs [][]float32
	var weights []float64
	var sigs [][]uint32
	for _, f := range files {
		s := summaries[f.SHA256]
		if w := fileWeight(s.Kind); w > 0 && len(s.Vector) == Dims {
			vecs = append(vecs, s.Vector)
			weights = append(weights, w)
		}
		sigs = append(sigs, s.Signature)
	}
	v := VersionIndex{VersionID: versionID, IndexVersion: iv, FileSet: FileSetKey(iv, files),
		Vector: Quantize(Combine(vecs, weights)), Signature: UnionSignature(sigs)}
	if v.Vector == nil {
		v.Vector = make([]float32, Dims)
	}
	v.Bands = BandHashes(v.Signature)
	return ix.Store.SaveVersionIndex(ctx, v)
}

// FileSetKey names what a version's entry is computed from: the index
// version and the SHA-256 of each file, counted as often as it occurs
// (the combined embedding weighs every file), in any order. File names do
// not matter: a content's kind is that of its stored document.
func FileSetKey(indexVersion string, files []File) string {
	shas := make([]string, len(files))
	for i, f := range files {
		shas[i] = f.SHA256
	}
	slices.Sort(shas)
	h := sha256.New()
	h.Write([]byte(indexVersion))
	for _, s := range shas {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// maxSectionText bounds the text of a section sent to an external model.
const maxSectionText = 4000

func (ix *Indexer) embedSections(ctx context.Context, docs []Document) ([]ExternalVector, error) {
	var texts []string
	var keys []ExternalVector
	for _, d := range docs {
		for ord, s := range d.Sections {
			var b strings.Builder
			for _, l := range d.Lines {
				if l.N >= s.StartLine && l.N <= s.EndLine && b.Len() < maxSectionText {
					b.WriteString(l.Text)
					b.WriteByte('\n')
				}
			}
			texts = append(texts, b.String())
			keys = append(keys, ExternalVector{SHA256: d.SHA256, Ord: ord})
		}
	}
	const batch = 64
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		vecs, err := ix.Embedder.Embed(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		for i, v := range vecs {
			keys[start+i].Vector = v
		}
	}
	return keys, nil
}

func (ix *Indexer) log() *slog.Logger {
	if ix.Log == nil {
		return slog.Default()
	}
	return ix.Log
}
