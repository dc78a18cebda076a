package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/internal/auth"
)

// apiClient is how the admin commands talk to a running gateway.
type apiClient struct {
	server, token string
	http          *http.Client
}

type clientFlags struct {
	server, token, dataDir string
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", envOr("SMSGW_SERVER", "http://127.0.0.1:8080"), "gateway URL (env SMSGW_SERVER)")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "bearer token (env SMSGW_TOKEN; default: <data-dir>/admin.token)")
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", envOr("SMSGW_DATA_DIR", "smsgw-data"), "data directory holding admin.token")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f *clientFlags) client() (*apiClient, error) {
	tok := f.token
	if tok == "" {
		tok = os.Getenv("SMSGW_TOKEN")
	}
	if tok == "" {
		data, err := os.ReadFile(auth.AdminTokenFile(f.dataDir))
		if err != nil {
			return nil, fmt.Errorf("no token: pass --token, set SMSGW_TOKEN, or point --data-dir at the gateway's data directory (%w)", err)
		}
		tok = strings.TrimSpace(string(data))
	}
	return &apiClient{server: strings.TrimRight(f.server, "/"), token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and decodes the JSON answer into out (may be nil). A
// non-2xx answer becomes an error quoting the API's code and message.
func (c *apiClient) do(method, path string, in, out any, hdr ...string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.server+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			if e.Error.Field != "" {
				return fmt.Errorf("%s (%s, field %s)", e.Error.Message, e.Error.Code, e.Error.Field)
			}
			return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func pathEscape(s string) string { return url.PathEscape(s) }
