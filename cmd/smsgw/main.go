package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/app"
)

func main() {
	if err := root().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "smsgw:", err)
		os.Exit(exitCode(err))
	}
}

type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "smsgw",
		Short:         "SMS compliance gateway: business numbers, PCI/PII redaction, immutable archive",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(serveCmd(), configCmd(), numbersCmd(), employeesCmd(), queuesCmd(), conversationsCmd(), optoutsCmd(), sandboxCmd(), sendCmd(), messagesCmd(), complianceCmd(), tokensCmd(), archiveCmd(), redactCmd(), benchCmd(), hashPasswordCmd())
	return cmd
}

func serveCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a gateway node (embedded NATS, local archive and sandbox carrier by default)",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path, cmd.Flags())
			if err != nil {
				return err
			}
			if errs := cfg.Validate(); len(errs) > 0 {
				for _, e := range errs {
					fmt.Fprintln(os.Stderr, "config:", e)
				}
				return &exitError{2, fmt.Errorf("%d configuration problem(s)", len(errs))}
			}
			log := newLogger(cfg.Log)
			slog.SetDefault(log)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			if a.AdminTokenNew {
				fmt.Fprintf(os.Stderr, "\nFirst start: an admin token was written to %s (mode 0600).\n"+
					"Use it as a Bearer token, or let the CLI read it: smsgw numbers list --data-dir %s\n\n", a.AdminTokenPath, cfg.DataDir)
			} else {
				log.Info("admin token", "file", a.AdminTokenPath)
			}
			fmt.Fprintf(os.Stderr, "smsgw listening on http://%s", a.HTTPAddr())
			if a.SMPP != nil {
				fmt.Fprintf(os.Stderr, " and smpp://%s", a.SMPPAddr())
			}
			fmt.Fprintln(os.Stderr)
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file (YAML, TOML or JSON); SMSGW_* variables override it")
	cmd.Flags().String("data_dir", "", "data directory (default smsgw-data)")
	cmd.Flags().String("http.addr", "", "HTTP listen address (default 127.0.0.1:8080)")
	return cmd
}

func newLogger(c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration tools"}
	var path string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate a configuration (file + SMSGW_* environment) and print every problem",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path, nil)
			if err != nil {
				return &exitError{2, err}
			}
			errs := cfg.Validate()
			for _, e := range errs {
				fmt.Fprintln(cmd.OutOrStdout(), e)
			}
			if len(errs) > 0 {
				return &exitError{2, fmt.Errorf("%d configuration problem(s)", len(errs))}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration OK")
			return nil
		},
	}
	check.Flags().StringVar(&path, "config", "", "config file to check")
	cmd.AddCommand(check)
	return cmd
}

func hashPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Read an SMPP account password on stdin and print its bcrypt hash for smpp.accounts[].password_hash",
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return &exitError{2, fmt.Errorf("reading the password from stdin: %w", err)}
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" || len(pw) > 8 {
				return &exitError{2, fmt.Errorf("an SMPP 3.4 password has 1 to 8 characters")}
			}
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(h))
			return nil
		},
	}
}
