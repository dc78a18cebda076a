package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/archive"
	"golang.org/x/mod/sumdb/note"
)

// exportCmd downloads an evidence bundle for a query or a matter.
func exportCmd(f *clientFlags) *cobra.Command {
	var out, matter string
	var sel selection
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Download an evidence bundle (zip) for a query or a legal hold's matter",
		Long: `The bundle holds the messages as CSV, JSON lines and, per conversation, an EML
and an RSMF 2.0.0 file (Relativity Short Message Format), every archived record about them with its Merkle inclusion proof, the signed
checkpoint the proofs are against, a manifest with the selection, the counts and
the SHA-256 of every file, and manifest.sig, the manifest signed with the
archive's checkpoint key. Check it anywhere, without the archive:
smsgw archive verify-bundle FILE.`,
		Example: `  smsgw compliance export --matter 01J... --out matter.zip
  smsgw compliance export --party +14155550199 --from 2026-01-01 --out customer.zip`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			query := sel.params()
			c, err := f.client()
			if err != nil {
				return err
			}
			body := map[string]any{"matter": matter}
			if len(query) > 0 {
				body["query"] = query
			}
			data, err := c.download("/v1/compliance/exports", body)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, len(data))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "file to write the bundle to")
	fl.StringVar(&matter, "matter", "", "a legal hold's matter id")
	sel.addFlags(fl)
	return cmd
}

// download POSTs a JSON body and returns the raw answer.
func (c *apiClient) download(path string, in any) ([]byte, error) {
	var buf bytes.Buffer
	if err := jsonEncode(&buf, in); err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, c.server+path, &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	hc := *c.http
	hc.Timeout = 0 // a large export may take a while
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("export refused: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	return data, nil
}

func archiveVerifyBundleCmd() *cobra.Command {
	var vkeys []string
	cmd := &cobra.Command{
		Use:   "verify-bundle FILE",
		Short: "Check an evidence bundle offline (no access to the archive needed)",
		Long: `Checks the manifest's Ed25519 signature (manifest.sig: it binds the selection,
the message count and every file's hash, so no message can be left out),
every file against the manifest's SHA-256, the checkpoint's signature, each
record's leaf hash and Merkle inclusion proof against the checkpoint, and that
every exported message is one of the proven records. Pass the archive's
verifier key (--vkey, from smsgw archive keygen) to trust the signatures;
without it the key named in the bundle is used and the report says so. Exit code 0: verified; 1: problems (listed); 2: unreadable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return &exitError{2, err}
			}
			var vs note.Verifiers
			if len(vkeys) > 0 {
				if vs, err = archive.Verifiers(vkeys...); err != nil {
					return &exitError{2, err}
				}
			}
			rep, err := archive.VerifyBundle(f, st.Size(), vs)
			if err != nil {
				return &exitError{2, err}
			}
			w := cmd.OutOrStdout()
			m := rep.Manifest
			fmt.Fprintf(w, "bundle %s: %d messages, %d records, checkpoint %s size %d\n", args[0], m.Messages, m.Records, m.Checkpoint.Origin, m.Checkpoint.Size)
			if rep.KeyFromBundle {
				fmt.Fprintf(w, "signatures checked against the key named in the bundle (%s); confirm that key out of band or pass --vkey\n", m.VerifierKey)
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(w, "PROBLEM:", p)
			}
			if !rep.OK() {
				return &exitError{1, fmt.Errorf("%d problem(s)", len(rep.Problems))}
			}
			fmt.Fprintln(w, "OK: every file, signature and proof verifies")
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&vkeys, "vkey", nil, "trusted verifier key (repeatable)")
	return cmd
}

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
