package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/apiclient"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/importer"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/upload"
)

func init() { register(newImportCmd) }

func newImportCmd() *cobra.Command {
	var serverURL string
	var dryRun, asJSON, wait bool
	var workers int
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Import every post package in a folder tree (a file share), idempotently",
		Long: `Walk the folder DIR and import the post packages in it: a folder with one .SRC is
a package; several .SRC in one folder become several packages sharing the folder's
other files (files named like one .SRC go to that one only); UPG files in folders
without a .SRC are attached to the packages whose sources name them in :LIBRARY= or
:INCLUDE=. Clutter, other file types, archives, duplicates and unreadable files are
skipped with the reason. Packages are named after their folder and .SRC.

--dry-run prints the plan and changes nothing. Otherwise the packages are uploaded
with a progress bar and a report at the end (imported, new versions, unchanged,
skipped, failed). Running it again imports only what changed: a package whose files
are unchanged is left alone, a changed file becomes a new version of its package,
so an interrupted import is resumed by running it again.

Without --server the packages go straight into the deployment configured by the
VERIPOST_* variables (this process works their ingestion with --workers); with
--server URL (or VERIPOST_SERVER) they are uploaded to that server, sending
VERIPOST_TOKEN.` + envHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dir := args[0]
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("%s is not a folder", dir)
			}
			fsys := os.DirFS(dir)
			cfg, log, err := loadConfig(cmd, workers)
			if err != nil {
				return err
			}
			plan, err := importer.MakePlan(fsys, importer.Options{MaxFileBytes: cfg.MaxFileBytes})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				if asJSON {
					return writeJSON(out, plan)
				}
				printPlan(out, plan)
				return nil
			}
			var target importer.Target
			var status func(ctx context.Context, d importer.Done) (catalog.Status, string, error)
			if serverURL == "" {
				serverURL = os.Getenv(apiclient.EnvServer)
			}
			if serverURL != "" {
				c := apiclient.FromEnv(serverURL)
				t := apiTarget{c}
				target, status = t, t.status
			} else {
				app, err := server.New(ctx, cfg, log, server.Options{Workers: -1, Version: Version})
				if err != nil {
					return err
				}
				defer app.Close()
				if err := app.Queue.Start(ctx); err != nil {
					return err
				}
				defer func() {
					stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
					defer cancel()
					_ = app.Queue.Stop(stopCtx)
				}()
				// Uploads are recorded and audited as the command line's user.
				ctx = asCLI(ctx)
				t := embeddedTarget{app: app, limits: app.Limits()}
				target, status = t, t.status
			}
			var bar *progressbar.ProgressBar
			if !asJSON && len(plan.Packages) > 0 {
				bar = progressbar.NewOptions(len(plan.Packages), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionSetDescription("importing"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			rep := importer.Run(ctx, fsys, plan, target, importer.RunOptions{Progress: func(done, _ int, _ importer.Done) {
				if bar != nil {
					_ = bar.Set(done)
				}
			}})
			if bar != nil {
				_ = bar.Finish()
			}
			ingest := map[catalog.Status]int{}
			if wait {
				ingest = waitIngested(ctx, cmd.ErrOrStderr(), &rep, status, !asJSON)
			}
			if asJSON {
				if err := writeJSON(out, struct {
					importer.Report
					Skipped []importer.Skipped     `json:"skipped_files"`
					Ingest  map[catalog.Status]int `json:"ingestion,omitempty"`
				}{rep, plan.Skipped, ingest}); err != nil {
					return err
				}
			} else {
				printReport(out, rep, plan, ingest)
			}
			if rep.Refused != "" {
				return fmt.Errorf("the server refused the upload, so the import stopped: %s\nSet VERIPOST_TOKEN to an API token that may upload (scope write; 'veripost token create NAME --scope write' on the server's host)", rep.Refused)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted after %d of %d packages; run the same command again to go on", len(rep.Packages), len(plan.Packages))
			}
			if rep.Failed > 0 || ingest[catalog.StatusError] > 0 {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&serverURL, "server", "", "import into the VeriPost server at this URL (default: VERIPOST_SERVER; without either, into the configured deployment directly)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan (packages, files, skipped files and why) and change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan or the report as JSON")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait until the imported versions are ingested and report how they ended")
	cmd.Flags().IntVar(&workers, "workers", 0, "without --server: ingestion jobs this process works at once (overrides VERIPOST_WORKERS)")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printPlan(w io.Writer, plan importer.Plan) {
	files := 0
	for _, p := range plan.Packages {
		files += len(p.Files)
		fmt.Fprintf(w, "package %s (%d files)\n", p.Name, len(p.Files))
		for _, f := range p.Files {
			via := ""
			if f.Via != "" {
				via = " (" + f.Via + ")"
			}
			fmt.Fprintf(w, "    %s  <- %s%s\n", f.Name, f.Path, via)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(w, "skip %s: %s\n", s.Path, s.Reason)
	}
	fmt.Fprintf(w, "plan: %d packages with %d files; %d skipped\n", len(plan.Packages), files, len(plan.Skipped))
}

func printReport(w io.Writer, rep importer.Report, plan importer.Plan, ingest map[catalog.Status]int) {
	for _, d := range rep.Packages {
		if d.Outcome == importer.Failed {
			fmt.Fprintf(w, "failed %s: %s\n", d.Package, d.Error)
		}
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Path, s.Reason)
	}
	fmt.Fprintf(w, "imported %d, new versions %d, unchanged %d, skipped %d, failed %d (in %s)\n",
		rep.Imported, rep.NewVersions, rep.Unchanged, rep.Skipped, rep.Failed, rep.Took)
	if len(ingest) > 0 {
		fmt.Fprintf(w, "ingestion: %d ready, %d error\n", ingest[catalog.StatusReady], ingest[catalog.StatusError])
	}
}

// waitIngested polls the versions the import recorded until each is ready
// or in error (failed ingestions are added to the report's messages).
func waitIngested(ctx context.Context, errw io.Writer, rep *importer.Report, status func(context.Context, importer.Done) (catalog.Status, string, error), bar bool) map[catalog.Status]int {
	var todo []int
	for i, d := range rep.Packages {
		if d.Outcome == importer.Imported || d.Outcome == importer.NewVersion {
			todo = append(todo, i)
		}
	}
	out := map[catalog.Status]int{}
	if len(todo) == 0 {
		return out
	}
	var pb *progressbar.ProgressBar
	if bar {
		pb = progressbar.NewOptions(len(todo), progressbar.OptionSetWriter(errw), progressbar.OptionSetDescription("ingesting"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	for len(todo) > 0 && ctx.Err() == nil {
		var left []int
		for _, i := range todo {
			st, msg, err := status(ctx, rep.Packages[i])
			if err != nil || !st.Terminal() {
				left = append(left, i)
				continue
			}
			out[st]++
			if st == catalog.StatusError {
				rep.Packages[i].Error = "ingestion failed: " + msg
				fmt.Fprintf(errw, "ingestion of %s failed: %s\n", rep.Packages[i].Package, msg)
			}
		}
		todo = left
		if pb != nil {
			_ = pb.Set(out[catalog.StatusReady] + out[catalog.StatusError])
		}
		if len(todo) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	if pb != nil {
		_ = pb.Finish()
	}
	return out
}

// embeddedTarget imports straight into the configured deployment.
type embeddedTarget struct {
	app    *server.App
	limits upload.Limits
}

func (t embeddedTarget) FindPackage(ctx context.Context, name string) (string, error) {
	found := ""
	for offset := 0; ; offset += 200 {
		res, err := t.app.DB.BrowsePackages(ctx, catalog.BrowseQuery{Search: name, Sort: catalog.BrowseSortUploaded, Limit: 200, Offset: offset})
		if err != nil {
			return "", err
		}
		for _, r := range res.Rows {
			if r.Name == name {
				if found != "" {
					return "", importer.ErrAmbiguous
				}
				found = r.ID
			}
		}
		if offset+len(res.Rows) >= res.Total || len(res.Rows) == 0 {
			return found, nil
		}
	}
}

func (t embeddedTarget) Upload(ctx context.Context, u importer.Upload) (importer.Result, error) {
	named := make([]upload.Named, len(u.Files))
	for i, f := range u.Files {
		named[i] = upload.Named{Name: f.Name, Data: f.Data}
	}
	files, err := upload.ReadLooseFiles(named, t.limits)
	if err != nil {
		return importer.Result{}, err
	}
	up := catalog.Upload{PackageID: u.PackageID, Name: u.Name, Note: u.Note, IdempotencyKey: u.IdempotencyKey, UploadedBy: auth.ActorFrom(ctx).Name()}
	for _, f := range files {
		up.Files = append(up.Files, catalog.UploadFile{NewFile: catalog.NewFile{Filename: f.Name, Extension: f.Ext, Size: f.Size, SHA256: f.SHA256}, Data: f.Data})
	}
	acc, err := t.app.Service.Accept(ctx, up)
	if err != nil {
		return importer.Result{}, err
	}
	api.RecordUpload(ctx, t.app.Auth, acc)
	return importer.Result{PackageID: acc.Package.ID, VersionID: acc.Version.ID, Version: acc.Version.Number, Created: acc.Created}, nil
}

func (t embeddedTarget) status(ctx context.Context, d importer.Done) (catalog.Status, string, error) {
	v, err := t.app.DB.GetVersion(ctx, d.VersionID)
	return v.Status, v.ErrorMessage, err
}

// apiTarget imports into a server through its API.
type apiTarget struct{ c *apiclient.Client }

func (t apiTarget) FindPackage(ctx context.Context, name string) (string, error) {
	found := ""
	cursor := ""
	for {
		q := url.Values{"search": {name}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := t.c.GetJSON(ctx, apiclient.Prefix+"/packages", q, &page); err != nil {
			return "", err
		}
		for _, p := range page.Items {
			if p.Name == name {
				if found != "" {
					return "", importer.ErrAmbiguous
				}
				found = p.ID
			}
		}
		if page.NextCursor == "" {
			return found, nil
		}
		cursor = page.NextCursor
	}
}

func (t apiTarget) Upload(ctx context.Context, u importer.Upload) (importer.Result, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := map[string]string{"name": u.Name, "note": u.Note, "package_id": u.PackageID}
	for k, v := range fields {
		if v != "" {
			if err := mw.WriteField(k, v); err != nil {
				return importer.Result{}, err
			}
		}
	}
	for _, f := range u.Files {
		w, err := mw.CreateFormFile("files", f.Name)
		if err != nil {
			return importer.Result{}, err
		}
		if _, err := w.Write(f.Data); err != nil {
			return importer.Result{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return importer.Result{}, err
	}
	req, err := t.c.NewRequest(ctx, http.MethodPost, apiclient.Prefix+"/packages", nil, &body)
	if err != nil {
		return importer.Result{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Idempotency-Key", u.IdempotencyKey)
	resp, err := t.c.Do(req)
	if err != nil {
		return importer.Result{}, err
	}
	defer resp.Body.Close()
	var res struct {
		PackageID string `json:"package_id"`
		VersionID string `json:"version_id"`
		Version   int    `json:"version"`
		Created   bool   `json:"created"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return importer.Result{}, fmt.Errorf("reading the upload answer: %w", err)
	}
	return importer.Result{PackageID: res.PackageID, VersionID: res.VersionID, Version: res.Version, Created: res.Created}, nil
}

func (t apiTarget) status(ctx context.Context, d importer.Done) (catalog.Status, string, error) {
	var v struct {
		Status       catalog.Status `json:"status"`
		ErrorMessage string         `json:"error_message"`
	}
	err := t.c.GetJSON(ctx, apiclient.Prefix+"/packages/"+d.PackageID+"/versions/"+strconv.Itoa(d.Version), nil, &v)
	return v.Status, v.ErrorMessage, err
}
