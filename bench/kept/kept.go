// Package kept names the deployments bench/scale keeps (-keep NAME) and
// opens them again for the benchmarks that measure on one (bench/readcost,
// bench/firstsearch): SQLite in a data directory under the temp
// directory; PostgreSQL as a database and an S3 bucket on the services
// scripts/services.sh starts (VERIPOST_TEST_* in the environment).
package kept

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/veripost/veripost/internal/config"
)

// DataDir is the data directory of a kept deployment.
func DataDir(stack, name string) string {
	return filepath.Join(os.TempDir(), "veripost-scale-keep-"+stack+"-"+name)
}

// Tag names a kept deployment's PostgreSQL database and bucket.
func Tag(name string) string { return "keep_" + strings.ToLower(name) }

// Database is the PostgreSQL database of a deployment tagged tag.
func Database(tag string) string { return "veripost_scale_" + tag }

// Bucket is the S3 bucket of a deployment tagged tag.
func Bucket(tag string) string { return "veripost-scale-" + strings.ReplaceAll(tag, "_", "-") }

// ServiceURLs are the database and blob URLs of a deployment tagged tag on
// the test services.
func ServiceURLs(tag string) (databaseURL, blobURL string, err error) {
	base, endpoint := os.Getenv("VERIPOST_TEST_DATABASE_URL"), os.Getenv("VERIPOST_TEST_S3_ENDPOINT")
	if base == "" || endpoint == "" {
		return "", "", errors.New("-stack postgres needs the services of scripts/services.sh (source the env.sh it prints)")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + Database(tag)
	q := url.Values{"endpoint": {endpoint}, "region": {os.Getenv("VERIPOST_TEST_S3_REGION")}, "use_path_style": {"true"},
		"access_key_id": {os.Getenv("VERIPOST_TEST_S3_ACCESS_KEY")}, "secret_access_key": {os.Getenv("VERIPOST_TEST_S3_SECRET_KEY")}}
	return u.String(), "s3://" + Bucket(tag) + "?" + q.Encode(), nil
}

// Config is the configuration of an existing kept deployment.
func Config(stack, name string) (config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return cfg, err
	}
	cfg.DataDir = DataDir(stack, name)
	cfg.DatabaseURL, cfg.BlobURL = "", ""
	switch stack {
	case "sqlite":
		if _, err := os.Stat(cfg.DataDir); err != nil {
			return cfg, fmt.Errorf("no kept deployment %q: fill one with bench/scale -stack sqlite -keep %s -phases fill", name, name)
		}
	case "postgres":
		cfg.DatabaseURL, cfg.BlobURL, err = ServiceURLs(Tag(name))
	default:
		err = fmt.Errorf("unknown -stack %q (sqlite or postgres)", stack)
	}
	return cfg, err
}
