package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/server/servertest"
)

// An identical re-upload skips the blob lookups the upload has just done;
// a later ingestion of an older version (a re-index) still finds a blob
// that went missing and says so.
func TestIngestionChecksTheBlobsOfOlderVersions(t *testing.T) {
	src := []byte(":SYSTEM=MILL\r\n@START_OF_PROGRAM\r\n  SPINDLE_ON\r\n@END\r\n")
	files := []servertest.NamedFile{{Name: "CHECK.SRC", Data: src}}
	sum := sha256.Sum256(src)
	for _, be := range servertest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			app := servertest.Start(t, be.Config(t))
			first := app.Upload(files, map[string]string{"name": "Blob check"})
			app.WaitReady(first.PackageID)
			again := app.Upload(files, map[string]string{"name": "Blob check again"})
			app.WaitReady(again.PackageID)

			// The first package's version was uploaded long ago and its
			// stored copy has gone since; a re-index runs its ingestion.
			if _, err := app.DB.SQL.Exec(`UPDATE package_versions SET uploaded_at = $1, parser_version = 'old' WHERE package_id = $2`,
				time.Now().Add(-time.Hour).UTC(), first.PackageID); err != nil {
				t.Fatal(err)
			}
			if err := app.Blobs.Delete(context.Background(), hex.EncodeToString(sum[:])); err != nil {
				t.Fatal(err)
			}
			if status, body := app.Do(http.MethodPost, "/api/v1/admin/reindex", nil); status != http.StatusAccepted {
				t.Fatalf("reindex: %d %s", status, body)
			}
			var st servertest.StatusBody
			for deadline := time.Now().Add(time.Minute); st.Status != "error"; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the version without its blob did not end in error: %+v", st)
				}
				app.GetJSON("/api/v1/packages/"+first.PackageID+"/status", &st)
			}
			if !strings.Contains(st.ErrorMessage, "stored copy of CHECK.SRC is missing") {
				t.Fatalf("error message %q does not name the missing file", st.ErrorMessage)
			}
		})
	}
}
