package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// certReloader serves the API's certificate and swaps it on SIGHUP (a
// renewed certificate needs no restart). A reload that fails keeps the
// certificate in use and says why.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
	log               *slog.Logger
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) load() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("http.tls_cert_file / http.tls_key_file: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&c)
	return nil
}

// tlsConfig is the API's TLS: 1.2 and up, the certificate of the moment;
// http.Server adds h2 to NextProtos, so HTTP/2 is served too.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.cert.Load(), nil
		},
	}
}

// onSIGHUP subscribes to SIGHUP (before serving, so that no signal is
// missed and none ends the process).
func onSIGHUP() chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch
}

// watch reloads on every signal on ch until ctx ends.
func (r *certReloader) watch(ctx context.Context, ch chan os.Signal) {
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if err := r.load(); err != nil {
				r.log.Error("reloading the API certificate failed; keeping the one in use", "err", err)
				continue
			}
			r.log.Info("API certificate reloaded", "file", r.certFile)
		}
	}
}
