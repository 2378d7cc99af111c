package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/auth"
)

func init() { register(newTokenCmd) }

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens on the configured database",
		Long:  "Manage API tokens for scripts and CI (send them as \"Authorization: Bearer vpt_…\", or as VERIPOST_TOKEN to the veripost commands that talk to a server)." + adminHelp,
	}
	cmd.AddCommand(newTokenCreateCmd(), newTokenListCmd(), newTokenRevokeCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var scope, expires, owner string
	cmd := &cobra.Command{
		Use:   "create NAME --scope read|write|admin [--expires 720h] [--user NAME]",
		Short: "Create an API token and print it (alone) on standard output",
		Long: `Create an API token named NAME and print it alone on standard output, so a script
can capture it: TOKEN=$(veripost token create ci --scope write). It is shown only
this once. The token acts for --user (default: the oldest administrator) and can do
at most what that user's role allows. --expires takes a duration (720h = 30 days)
or "never"; the default is VERIPOST_TOKEN_DEFAULT_EXPIRY.` + adminHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := auth.ParseScope(scope)
			if err != nil {
				return err
			}
			ttl, err := api.ParseExpiry(expires)
			if err != nil {
				return err
			}
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			if owner == "" {
				us, err := svc.ListUsers(ctx)
				if err != nil {
					return err
				}
				var first *auth.User
				for i, u := range us {
					if u.Role == auth.RoleAdmin && !u.Disabled && (first == nil || u.CreatedAt.Before(first.CreatedAt)) {
						first = &us[i]
					}
				}
				if first == nil {
					return fmt.Errorf("there is no administrator to own the token: name one with --user, or create one with 'veripost user create NAME --role admin --password-stdin'")
				}
				owner = first.Username
			}
			t, err := svc.CreateToken(ctx, auth.NewToken{Name: args[0], Scope: sc, ExpiresIn: ttl, Owner: owner})
			if err != nil {
				return err
			}
			exp := "never expires"
			if t.ExpiresAt != nil {
				exp = "expires " + t.ExpiresAt.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(stderr(cmd), "created %s token %q for %s (%s); it is shown only now\n", t.Scope, t.Name, t.Username, exp)
			fmt.Fprintln(cmd.OutOrStdout(), t.Secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "read, write or admin (required)")
	cmd.Flags().StringVar(&expires, "expires", "", `lifetime such as 720h, or "never" (default VERIPOST_TOKEN_DEFAULT_EXPIRY)`)
	cmd.Flags().StringVar(&owner, "user", "", "the user the token acts for (default: the oldest administrator)")
	_ = cmd.MarkFlagRequired("scope")
	return cmd
}

func newTokenListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List every API token (never the tokens themselves)", Long: "List every API token with its owner, scope, expiry and last use." + adminHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			ts, err := svc.ListTokens(ctx, true)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tUSER\tSCOPE\tTOKEN\tEXPIRES\tSTATE")
			for _, t := range ts {
				exp, state := "never", "active"
				if t.ExpiresAt != nil {
					exp = t.ExpiresAt.Local().Format("2006-01-02")
				}
				if !t.Active(auth.Now()) {
					state = "expired"
				}
				if t.RevokedAt != nil {
					state = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\t%s\t%s\n", t.ID, t.Name, t.Username, t.Scope, t.Prefix, exp, state)
			}
			return tw.Flush()
		},
	}
}

func newTokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use: "revoke ID", Short: "Revoke an API token (see 'veripost token list' for ids)", Long: "Revoke an API token; it stops working at once." + adminHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, svc, done, err := openAuth(cmd)
			if err != nil {
				return err
			}
			defer done()
			t, err := svc.RevokeToken(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %q of %s\n", t.Name, t.Username)
			return nil
		},
	}
}
