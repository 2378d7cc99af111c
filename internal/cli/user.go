package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/store"
)

func init() { register(newUserCmd) }

const adminHelp = `
These commands work directly on the configured database (the same VERIPOST_*
settings as 'veripost serve'), so they work before the first start, without a
network, and safely while servers run. Every change is written to the audit
trail as done by "cli:<your OS user>".` + envHelp

// openAuth opens the configured database (migrating it when
// VERIPOST_AUTO_MIGRATE is on, as serve does) and returns the auth service
// with the command line as the acting administrator.
func openAuth(cmd *cobra.Command) (context.Context, *auth.Service, func(), error) {
	cfg, log, err := loadConfig(cmd, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx := cmd.Context()
	db, err := store.Open(ctx, cfg.Database(), store.Options{PoolSize: 1, Log: log})
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.AutoMigrate {
		if err := server.Migrate(ctx, db, log); err != nil {
			db.Close()
			return nil, nil, nil, err
		}
	}
	svc, err := server.NewAuth(cfg, db, log)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return asCLI(ctx), svc, func() { db.Close() }, nil
}

// asCLI returns ctx acting as "cli:<OS user>": commands that work directly
// on the configured database are audited as done by that actor.
func asCLI(ctx context.Context) context.Context {
	who := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		who = "cli:" + u.Username
	}
	return auth.WithActor(ctx, auth.System(who))
}

// readPassword reads one line from r (the rest is ignored).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in: printf '%s\\n' \"$PASSWORD\" | veripost …)")
	}
	return line, nil
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage accounts on the configured database (create, list, disable, set-role …)",
		Long:  "Create and manage VeriPost accounts without a browser: for provisioning, recovery and test scripts." + adminHelp,
	}
	cmd.AddCommand(newUserCreateCmd(), newUserListCmd(), newUserDisableCmd(true), newUserDisableCmd(false), newUserSetRoleCmd(), newUserSetPasswordCmd())
	return cmd
}

func newUserCreateCmd() *cobra.Command {
	var role, display, email string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "create NAME --role admin|engineer|reviewer|viewer [--password-stdin]",
		Short: "Create an account",
		Long: `Create an account. With --password-stdin the first line of standard input is its
password (at least 12 characters); without it the account has no password until an
administrator sets one (or it signs in by single sign-on).` + adminHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			var pw string
			if pwStdin {
				if pw, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			u, err := svc.CreateUser(ctx, auth.NewUser{Username: args[0], Role: r, Password: pw, DisplayName: display, Email: email})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s)\n", u.Username, u.Role)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "admin, engineer, reviewer or viewer (required)")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().StringVar(&display, "display-name", "", "full name")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newUserListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List accounts",
		Long:  "List every account with its role, status, sign-in method and last sign-in." + adminHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			us, err := svc.ListUsers(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(us)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tSIGN-IN\tLAST SIGN-IN")
			for _, u := range us {
				status, method, last := "active", "password", "never"
				if u.Disabled {
					status = "disabled"
				}
				if u.SSO {
					method = "sso"
				}
				if u.LastLoginAt != nil {
					last = u.LastLoginAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, status, method, last)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newUserDisableCmd(disable bool) *cobra.Command {
	use, short := "disable NAME", "Disable an account (signs it out; its tokens stop working)"
	if !disable {
		use, short = "enable NAME", "Enable a disabled account"
	}
	return &cobra.Command{
		Use: use, Short: short, Long: short + "." + adminHelp, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			u, err := svc.UpdateUser(ctx, args[0], auth.UserEdit{Disabled: &disable})
			if err != nil {
				return err
			}
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s\n", u.Username, state)
			return nil
		},
	}
}

func newUserSetRoleCmd() *cobra.Command {
	return &cobra.Command{
		Use: "set-role NAME admin|engineer|reviewer|viewer", Short: "Change an account's role",
		Long: "Change an account's role; it applies to the account's next request." + adminHelp, Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(args[1])
			if err != nil {
				return err
			}
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			u, err := svc.UpdateUser(ctx, args[0], auth.UserEdit{Role: &r})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", u.Username, u.Role)
			return nil
		},
	}
}

func newUserSetPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use: "set-password NAME --password-stdin", Short: "Set an account's password from standard input (signs it out everywhere)",
		Long: "Set an account's password (the first line of standard input), for recovery when nobody can sign in." + adminHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			if err := svc.SetPassword(ctx, args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s set\n", args[0])
			return nil
		},
	}
}

// stderr is where commands whose standard output is data tell people
// what happened.
func stderr(cmd *cobra.Command) io.Writer {
	if cmd != nil {
		return cmd.ErrOrStderr()
	}
	return os.Stderr
}
