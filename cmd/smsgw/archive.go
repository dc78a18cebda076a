package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/app"
)

// archiveCmd groups the commands that work on the archive store directly
// (no running node needed).
func archiveCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "archive", Short: "Archive tools: signing key, verification, backend conformance, reindex"}
	cmd.AddCommand(archiveKeygenCmd(), archiveVerifyCmd(), archiveCheckBackendCmd(), archiveReindexCmd(), archiveVerifyBundleCmd())
	return cmd
}

func archiveKeygenCmd() *cobra.Command {
	var out, name string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create the Ed25519 key that signs the archive's checkpoints",
		Long: `Writes a new signing key to --out (mode 0600; an existing file is never replaced)
and its verifier key to --out.pub, and prints the verifier key. Point
archive.signing_key_file at the key on every node; give the verifier key to
whoever runs "smsgw archive verify" (archive.verifier_keys or --vkey).
The name is the log's origin, e.g. "archive.example.com/smsgw".`,
		Example: "  smsgw archive keygen --out /etc/smsgw/archive.key --name archive.example.com/smsgw",
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{2, fmt.Errorf("--out is required")}
			}
			vkey, err := archive.WriteKeyFile(out, name)
			if err != nil {
				return &exitError{2, err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "signing key written to %s (keep it secret; set archive.signing_key_file)\nverifier key written to %s.pub:\n", out, out)
			fmt.Fprintln(cmd.OutOrStdout(), vkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the signing key to")
	cmd.Flags().StringVar(&name, "name", app.DefaultSigningKeyName, "key name: the log's origin (no spaces, no '+')")
	return cmd
}

// loadArchiveConfig reads and validates the configuration for an archive
// command; a problem is exit code 2.
func loadArchiveConfig(cmd *cobra.Command, path string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(path, nil)
	if err != nil {
		return cfg, nil, &exitError{2, err}
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(cmd.ErrOrStderr(), "config:", e)
		}
		return cfg, nil, &exitError{2, fmt.Errorf("%d configuration problem(s)", len(errs))}
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg, log, nil
}

func archiveVerifyCmd() *cobra.Command {
	var path string
	var vkeys []string
	var asJSON bool
	var workers int
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove the archive complete and unchanged (exit 1 with a report of every problem)",
		Long: `Re-reads every segment and checkpoint in the configured store: recomputes
every record's leaf hash and every segment's root, rebuilds the Merkle log in
index order (each index exactly once, no gap), checks each checkpoint's
signature and root (so consecutive checkpoints are consistent), that every
message and audit id is archived once, and — on S3 — that every object version
is still locked in COMPLIANCE mode until at least its policy date, with no
later version or delete marker over it.

Trusted keys: --vkey, archive.verifier_keys, and the signing key's own when its
file is readable. Exit 0: no problem; 1: problems (listed); 2: could not run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := loadArchiveConfig(cmd, path)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := app.OpenArchiveStore(ctx, cfg, log)
			if err != nil {
				return &exitError{2, err}
			}
			keys := append(vkeys, app.ArchiveVerifierKeys(cfg)...)
			rep, err := archive.Verify(ctx, st, archive.VerifyConfig{
				VerifierKeys:        keys,
				CheckpointRetention: time.Duration(cfg.Archive.RetentionDays) * 24 * time.Hour,
				Heartbeat:           cfg.Archive.CheckpointHeartbeat,
				Workers:             workers,
			})
			if err != nil {
				return &exitError{2, err}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				rep.WriteText(cmd.OutOrStdout())
			}
			if !rep.OK() {
				return &exitError{1, fmt.Errorf("archive verification failed: %d problem(s)", len(rep.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file (the archive.* settings); SMSGW_* variables override it")
	cmd.Flags().StringArrayVar(&vkeys, "vkey", nil, "trusted checkpoint verifier key (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().IntVar(&workers, "workers", 0, "segments read in parallel (default: 2 per CPU, at least 4)")
	return cmd
}

func archiveCheckBackendCmd() *cobra.Command {
	var path string
	var retain time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check-backend",
		Short: "Run the Object Lock conformance suite against the configured S3 bucket",
		Long: `Writes small test objects under conformance/ in the configured bucket and
checks every Object Lock property the archive relies on: put-if-absent, a
COMPLIANCE-locked version cannot be deleted or overwritten, its retention
cannot be shortened nor turned into GOVERNANCE, a legal hold blocks deletion,
a delete marker leaves the locked version readable. A bucket without Object
Lock is reported. The locked test object expires after --retain.
Exit 0: conforms; 1: does not; 2: could not run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadArchiveConfig(cmd, path)
			if err != nil {
				return err
			}
			if retain < time.Minute {
				return &exitError{2, fmt.Errorf("--retain must be at least 1m")}
			}
			st, err := app.S3ArchiveStore(cfg)
			if err != nil {
				return &exitError{2, err}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			checks := st.CheckConformance(ctx, retain)
			var ok bool
			if asJSON {
				ok = true
				for _, c := range checks {
					ok = ok && c.OK
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"bucket": st.Bucket(), "conforms": ok, "checks": checks}); err != nil {
					return err
				}
			} else {
				ok = archive.WriteConformance(cmd.OutOrStdout(), st.Bucket(), checks)
			}
			if !ok {
				return &exitError{1, fmt.Errorf("bucket %s does not conform", st.Bucket())}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file (the archive.s3.* settings); SMSGW_* variables override it")
	cmd.Flags().DurationVar(&retain, "retain", 15*time.Minute, "how long the locked test object stays locked")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	return cmd
}
