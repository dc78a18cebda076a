package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/internal/app"
	"github.com/smsgw/smsgw/readmodel"
)

func archiveReindexCmd() *cobra.Command {
	var path, out string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index from the object store alone",
		Long: `Reads every segment in the configured archive store and writes a new search
index (messages, status events, reviews) next to the old one, then moves it
into place. Stop the gateway on this node first; when it starts again its
index consumer carries on from where it was (re-applying is harmless).`,
		Example: "  smsgw archive reindex --config /etc/smsgw/smsgw.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := loadArchiveConfig(cmd, path)
			if err != nil {
				return err
			}
			ctx := context.Background()
			st, err := app.OpenArchiveStore(ctx, cfg, log)
			if err != nil {
				return &exitError{1, err}
			}
			if out == "" {
				out = filepath.Join(cfg.DataDir, "readmodel.db")
			}
			tmp := out + ".rebuild"
			for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
				_ = os.Remove(f)
			}
			stats, err := readmodel.Rebuild(ctx, st, tmp)
			if err != nil {
				return &exitError{1, fmt.Errorf("rebuilding the index: %w", err)}
			}
			for _, f := range []string{out + "-wal", out + "-shm"} {
				_ = os.Remove(f)
			}
			if err := os.Rename(tmp, out); err != nil {
				return &exitError{1, err}
			}
			for _, s := range stats.Skipped {
				fmt.Fprintln(cmd.ErrOrStderr(), "skipped:", s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "index %s rebuilt from %d segments: %d messages, %d events, %d reviews\n",
				out, stats.Segments, stats.Messages, stats.Events, stats.Reviews)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "config file (the archive.* settings and data_dir)")
	cmd.Flags().StringVar(&out, "out", "", "index file to write (default <data_dir>/readmodel.db)")
	return cmd
}
