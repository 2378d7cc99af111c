package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/backup"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/upload"
)

func init() {
	register(newBackupCmd)
	register(newRestoreCmd)
	register(newExportCmd)
}

func newBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup DEST",
		Short: "Copy the embedded deployment (database and originals) to a new folder, while it runs",
		Long: `Write a consistent snapshot of the embedded deployment into the folder DEST (new or
empty): the SQLite database, copied online with VACUUM INTO, every original it
references (verified by SHA-256) under DEST/blobs, and DEST/manifest.json with the
counts. The server keeps running and accepting uploads meanwhile; uploads that
arrive during the backup are in the next one. Restore with 'veripost restore DEST'.

The scaled deployment (PostgreSQL) is backed up with pg_dump and 'veripost export';
see the README.` + envHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := loadConfig(cmd, 0)
			if err != nil {
				return err
			}
			app, err := server.New(cmd.Context(), cfg, log, server.Options{Workers: 0, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			if app.DB.Dialect != store.SQLite {
				return store.ErrNoSnapshot
			}
			s := app.Snapshotter()
			s.Progress = progress(cmd.ErrOrStderr(), "copying originals")
			m, err := s.Snapshot(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			recordManifest(cmd.Context(), app.Auth, auth.ActionBackup, "backed up", args[0], m)
			printManifest(cmd.OutOrStdout(), "backed up", args[0], m)
			return nil
		},
	}
}

func newRestoreCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restore SRC",
		Short: "Restore a backup into an empty embedded deployment",
		Long: `Put the snapshot in the folder SRC (made by 'veripost backup') back: the database
into VERIPOST_DATA_DIR (or the sqlite:// file of VERIPOST_DATABASE_URL), which must
not have one yet, and the originals into the configured object store, which must be
empty. Every original is verified by its SHA-256 as it is copied. Then start
'veripost serve': it applies any newer database migrations.` + envHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(cmd, 0)
			if err != nil {
				return err
			}
			path, ok := strings.CutPrefix(cfg.Database(), "sqlite://")
			if !ok {
				return errors.New("restore writes the embedded SQLite database; for PostgreSQL use pg_restore (see the README)")
			}
			dst, err := blob.Open(cmd.Context(), cfg.Blob())
			if err != nil {
				return err
			}
			defer dst.Close()
			m, err := backup.Restore(cmd.Context(), args[0], path, dst, store.Snapshots{}, progress(cmd.ErrOrStderr(), "restoring originals"))
			if err != nil {
				return err
			}
			// The restore is written to the restored database's own trail
			// (a database of a version without one gets it from the
			// migrations, when VERIPOST_AUTO_MIGRATE is on).
			if ctx, svc, done, err := openAuth(cmd); err == nil {
				recordManifest(ctx, svc, auth.ActionRestore, "restored", args[0], m)
				done()
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the restore is not in the audit trail: %v\n", err)
			}
			printManifest(cmd.OutOrStdout(), "restored", path, m)
			return nil
		},
	}
}

func newExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export DEST",
		Short: "Write every package's metadata (JSON lines) and every original to a new folder or an empty bucket",
		Long: `Export all packages, with every version and file, as DEST/packages.jsonl (one
package per line), and every original under DEST/blobs (verified by SHA-256), with
DEST/manifest.json. DEST may also be an object store address in the form of
VERIPOST_BLOB_URL (s3://bucket/prefix?region=…&endpoint=…) that holds nothing yet:
the originals go there in VeriPost's own layout, with packages.jsonl and
manifest.json beside them. Works on both deployments; for the scaled one it is the
copy of the object store to keep next to a pg_dump of the database (see the README).` + envHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := loadConfig(cmd, 0)
			if err != nil {
				return err
			}
			app, err := server.New(cmd.Context(), cfg, log, server.Options{Workers: 0, Version: Version})
			if err != nil {
				return err
			}
			defer app.Close()
			m, err := backup.Export(cmd.Context(), args[0], app.DB, app.Blobs, Version, progress(cmd.ErrOrStderr(), "copying originals"))
			if err != nil {
				return err
			}
			recordManifest(cmd.Context(), app.Auth, auth.ActionExport, "exported", args[0], m)
			printManifest(cmd.OutOrStdout(), "exported", args[0], m)
			return nil
		},
	}
}

// progress returns a progress callback drawing a bar on w.
func progress(w io.Writer, what string) func(done, total int) {
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
		}
	}
}

// recordManifest writes a backup, restore or export to the audit trail as
// done by the command line's user.
func recordManifest(ctx context.Context, a *auth.Service, action, did, where string, m backup.Manifest) {
	ctx = asCLI(ctx)
	a.Record(ctx, auth.NewEvent(ctx, action, fmt.Sprintf("%s %d packages, %d versions, %d files (%s)", did, m.Packages, m.Versions, m.Files, where)).
		With("path", where).With("packages", m.Packages).With("versions", m.Versions).With("files", m.Files).With("bytes", m.Bytes))
}

func printManifest(w io.Writer, did, where string, m backup.Manifest) {
	fmt.Fprintf(w, "%s %s: %d packages, %d versions, %d files, %d originals (%s)\n", did, where, m.Packages, m.Versions, m.Files, m.Contents, upload.HumanBytes(m.Bytes))
}
