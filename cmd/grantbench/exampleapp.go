package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/grantbench/grantbench/examples/apps/goapp"
)

// The bundled Go example client application, built in so that `grantbench rp`
// and `make run`'s demo can start it with no Go toolchain. Hidden from the
// usage (empty summary): it is a fixture, not a tool.
func init() {
	register("example-app", "", runExampleApp)
}

// runExampleApp serves examples/apps/goapp on 127.0.0.1:$PORT, configured
// from the environment (ISSUER, CLIENT_ID, CLIENT_SECRET, AUTH_METHOD,
// REDIRECT_URI, PORT, BUGS), until ctx ends (SIGINT or SIGTERM).
func runExampleApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("example-app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		writeHelp(stderr, fs, helpText{
			usage: "grantbench example-app   (settings from the environment: ISSUER, CLIENT_ID, CLIENT_SECRET, AUTH_METHOD, REDIRECT_URI, PORT, BUGS)",
			purpose: "Serves the bundled Go example client application (examples/apps/goapp) on 127.0.0.1:$PORT until interrupted: " +
				"the app grantbench rp checks in the README and in make run. BUGS switches on bugs on purpose, one per P check.",
			exits:   "0 stopped by Ctrl-C or SIGTERM; 2 a missing or bad setting (the message names the variable)",
			example: "ISSUER=http://127.0.0.1:9000 CLIENT_ID=goapp CLIENT_SECRET=goapp-secret PORT=8080 grantbench example-app",
		})
		fmt.Fprintln(stderr, "\nBug switches (BUGS=a,b):")
		for _, b := range goapp.Bugs() {
			fmt.Fprintf(stderr, "  %-27s %-4s %s\n", b.Name, b.Check, b.Effect)
		}
	}
	if help, err := parseFlags(fs, args, "example-app"); help || err != nil {
		return err
	}
	cfg, err := goapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		return usageErrorf("example-app: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Logger = log
	app, err := goapp.New(cfg)
	if err != nil {
		return usageErrorf("example-app: %v", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return usageErrorf("example-app: %v", err)
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Info("example app serving", "url", "http://"+ln.Addr().String(), "issuer", cfg.Issuer, "client_id", cfg.ClientID, "bugs", cfg.Bugs.String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("example-app: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("example-app: shutting down: %w", err)
	}
	fmt.Fprintln(stdout, "example app stopped")
	return nil
}
