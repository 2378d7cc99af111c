// Package cli holds the veripost command line: one file per subcommand.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// subcommands is filled by each subcommand file's init, so adding a command
// touches only its own file.
var subcommands []func() *cobra.Command

func register(newCmd func() *cobra.Command) { subcommands = append(subcommands, newCmd) }

// ExitError carries a specific exit status out of a command (for example
// `veripost parse` exits 1 when it found errors) without printing anything more.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "veripost",
		Short:         "VeriPost: a home for UPG post processor packages",
		Long:          "VeriPost stores, indexes and explains CAMWorks UPG post processor packages.\nConfiguration comes from VERIPOST_* environment variables; see the README.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	return root
}

// Execute runs the command line and returns the process exit status.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := NewRoot().ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ee, ok := err.(ExitError); ok {
		return ee.Code
	}
	fmt.Fprintln(os.Stderr, "veripost:", err)
	return 1
}
