// Command veripost is the VeriPost server, worker and UPG tool in one binary.
package main

import (
	"os"

	"github.com/veripost/veripost/internal/cli"
)

func main() {
	os.Exit(cli.Execute())
}
