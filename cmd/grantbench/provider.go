package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/grantbench/grantbench/mockprovider"
)

func init() {
	register("provider", "run the bundled mock authorization server", runProvider)
}

// providerOptions are the flags of `grantbench provider`.
type providerOptions struct {
	addr          string
	configFile    string
	alg           string
	profile       string
	accessToken   string
	adminToken    string
	adminFile     string
	tlsCert       string
	tlsKey        string
	tlsSelfSigned bool
	verbose       bool
	defects       stringList
	listDefects   bool
}

// providerAddrEnv, when set, replaces 127.0.0.1:9000 as the default --addr:
// the README's provider commands are run as written by a test on a port of
// its own, and a user can move the default without editing commands.
const providerAddrEnv = "GRANTBENCH_PROVIDER_ADDR"

func defaultProviderAddr() string {
	if addr := os.Getenv(providerAddrEnv); addr != "" {
		return addr
	}
	return "127.0.0.1:9000"
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runProvider(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o providerOptions
	fs := flag.NewFlagSet("grantbench provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", defaultProviderAddr(), "listen address `host:port` (port 0 picks a free one; the default is $"+providerAddrEnv+" when set)")
	fs.StringVar(&o.configFile, "config", "", "provider configuration YAML `file` (default: the embedded demo config)")
	fs.StringVar(&o.alg, "alg", "", "signing algorithm `alg`: RS256 or ES256 (overrides the config)")
	fs.StringVar(&o.profile, "profile", "", "security `profile`: fapi2 makes it a FAPI 2.0 authorization server (PAR required, private_key_jwt only, ES256, 60 s codes, no implicit or password; overrides the config)")
	fs.StringVar(&o.accessToken, "access-token", "", "access-token `format`: jwt or opaque (overrides the config)")
	fs.StringVar(&o.adminToken, "admin-token", "", "turn on the admin API under /admin/, guarded by this bearer `token` (visible to ps: prefer --admin-token-file or $"+adminTokenEnv+")")
	fs.StringVar(&o.adminFile, "admin-token-file", "", "read the admin API's bearer token from the first line of this `file`")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate `file` (needs --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key `file` for --tls-cert")
	fs.BoolVar(&o.tlsSelfSigned, "tls-self-signed", false, "serve HTTPS with a certificate generated at start")
	fs.BoolVar(&o.verbose, "v", false, "log requests the provider refuses and key rotations to stderr")
	fs.Var(&o.defects, "defect", "switch on a defect `mode` for the whole provider, or CLIENT:MODE for one client (repeatable; see --list-defects)")
	fs.BoolVar(&o.listDefects, "list-defects", false, "print every defect mode with the checks it breaks, and exit")
	setHelp(fs, helpText{
		usage: "grantbench provider [--addr HOST:PORT] [--config FILE] [--alg ALG] [--profile fapi2] [--access-token FORMAT] [--admin-token TOKEN | --admin-token-file FILE] [--defect MODE ...] " +
			"[--tls-cert FILE --tls-key FILE | --tls-self-signed] [-v] | --list-defects",
		purpose: "Runs the bundled mock OAuth 2.0 / OpenID Connect authorization server until interrupted, printing its issuer, demo clients and user. " +
			"Point an application or grantbench conform --target at it; --defect makes it misbehave on purpose, and an admin token (--admin-token, --admin-token-file or $GRANTBENCH_ADMIN_TOKEN) turns on the admin API " +
			"(moving its clock, rotating keys, counters; docs/mockprovider.md).",
		exits:   "0 stopped by Ctrl-C or SIGTERM; 1 the server failed while running; 2 bad usage or configuration (the message names the flag or field)",
		example: "grantbench provider --alg ES256 --admin-token s3cret-admin\ngrantbench provider --list-defects",
	})
	if help, err := parseFlags(fs, args, "provider"); help || err != nil {
		return err
	}
	if o.listDefects {
		printDefects(stdout)
		return nil
	}
	adminSource, err := o.resolveAdminToken(os.Getenv)
	if err != nil {
		return err
	}
	cfg, tlsCfg, err := o.config()
	if err != nil {
		return err
	}
	var opts []mockprovider.Option
	if o.adminToken != "" {
		opts = append(opts, mockprovider.WithAdminToken(o.adminToken))
	}
	if o.verbose {
		opts = append(opts, mockprovider.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	}
	for _, warning := range exposureWarnings(o.addr, o.adminToken != "") {
		fmt.Fprintf(stderr, "grantbench provider: WARNING: %s\n", warning)
	}
	srv, err := mockprovider.StartLocalTLS(ctx, o.addr, cfg, tlsCfg, opts...)
	if err != nil {
		var (
			fe *mockprovider.FieldError
			le *mockprovider.ListenError
		)
		if errors.As(err, &fe) || errors.As(err, &le) {
			return usageErrorf("provider: %v", err)
		}
		return err
	}
	printProviderBanner(stdout, srv, adminSource)
	select {
	case <-ctx.Done():
	case <-srv.Done():
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	fmt.Fprintln(stdout, "provider stopped")
	return nil
}

// config loads the file (or the embedded default) and applies the flags.
func (o *providerOptions) config() (mockprovider.Config, *mockprovider.TLSConfig, error) {
	var cfg mockprovider.Config
	var err error
	if o.configFile != "" {
		cfg, err = mockprovider.LoadConfig(o.configFile)
	} else {
		cfg, err = mockprovider.DefaultConfig()
	}
	if err != nil {
		return cfg, nil, usageErrorf("provider: --config %s: %v", o.configFile, err)
	}
	if o.alg != "" {
		if o.alg != mockprovider.AlgRS256 && o.alg != mockprovider.AlgES256 {
			return cfg, nil, usageErrorf("provider: --alg: %q is not RS256 or ES256", o.alg)
		}
		cfg.SigningAlg = o.alg
	}
	if o.profile != "" {
		if !slices.Contains(mockprovider.Profiles, o.profile) {
			return cfg, nil, usageErrorf("provider: --profile: %q is not one of %v", o.profile, mockprovider.Profiles)
		}
		cfg.Profile = o.profile
	}
	if o.accessToken != "" {
		if o.accessToken != mockprovider.AccessTokenJWT && o.accessToken != mockprovider.AccessTokenOpaque {
			return cfg, nil, usageErrorf("provider: --access-token: %q is not jwt or opaque", o.accessToken)
		}
		cfg.AccessTokenFormat = o.accessToken
	}
	for _, d := range o.defects {
		if err := cfg.AddDefect(d); err != nil {
			return cfg, nil, usageErrorf("provider: --defect: %v", err)
		}
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return cfg, nil, usageErrorf("provider: --addr: %v", err)
	}
	var tlsCfg *mockprovider.TLSConfig
	switch {
	case o.tlsSelfSigned && (o.tlsCert != "" || o.tlsKey != ""):
		return cfg, nil, usageErrorf("provider: --tls-self-signed cannot be combined with --tls-cert/--tls-key")
	case o.tlsSelfSigned:
		tlsCfg = &mockprovider.TLSConfig{SelfSigned: true}
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return cfg, nil, usageErrorf("provider: --tls-cert and --tls-key go together")
	case o.tlsCert != "":
		tlsCfg = &mockprovider.TLSConfig{CertFile: o.tlsCert, KeyFile: o.tlsKey}
	}
	if tlsCfg != nil && strings.HasPrefix(cfg.Issuer, "http://") {
		return cfg, nil, usageErrorf("provider: issuer: %q is http but TLS is on", cfg.Issuer)
	}
	return cfg, tlsCfg, nil
}

// adminTokenEnv names the environment variable the admin token may come from.
const adminTokenEnv = "GRANTBENCH_ADMIN_TOKEN"

// resolveAdminToken sets o.adminToken from --admin-token, --admin-token-file
// or $GRANTBENCH_ADMIN_TOKEN (at most one flag; the variable when neither is
// given) and returns where it came from for the banner ("" when off). A file
// or the environment keeps the token out of the process list.
func (o *providerOptions) resolveAdminToken(getenv func(string) string) (string, error) {
	source := ""
	switch {
	case o.adminToken != "" && o.adminFile != "":
		return "", usageErrorf("provider: --admin-token and --admin-token-file: give one of them")
	case o.adminToken != "":
		source = "--admin-token"
	case o.adminFile != "":
		data, err := os.ReadFile(o.adminFile)
		if err != nil {
			return "", usageErrorf("provider: --admin-token-file: %v", err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		o.adminToken = strings.TrimSpace(first)
		if o.adminToken == "" {
			return "", usageErrorf("provider: --admin-token-file: %s: the first line is empty", o.adminFile)
		}
		source = "--admin-token-file " + o.adminFile
	case getenv(adminTokenEnv) != "":
		o.adminToken = strings.TrimSpace(getenv(adminTokenEnv))
		source = "$" + adminTokenEnv
	default:
		return "", nil
	}
	if len(o.adminToken) < 8 {
		return "", usageErrorf("provider: %s: the admin token must be at least 8 characters", source)
	}
	return source, nil
}

// printDefects lists every defect mode: the checks CHECKS.md names for it,
// every check it breaks and every warning it raises over the whole catalogue
// (the mutation matrix's exact sets), and what it does.
func printDefects(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEFECT\tCHECKS\tBREAKS\tWARNS\tWHAT THE PROVIDER DOES WRONG")
	for _, d := range mockprovider.Defects() {
		scope := ""
		if d.ProviderOnly {
			scope = " (whole provider only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\n", d.Name, idList(d.Checks), idList(d.Breaks), idList(d.Warns), d.Does, scope)
	}
	tw.Flush()
}

// idList writes check IDs comma-separated, "-" for none.
func idList(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ",")
}

// exposureWarnings are what an operator must hear before the provider
// listens beyond loopback.
func exposureWarnings(addr string, admin bool) []string {
	if isLoopback(addr) {
		return nil
	}
	w := []string{addr + " is not a loopback address; the demo clients, secrets and user are public values, so anyone who can reach it can get tokens"}
	if admin {
		w = append(w, "the admin API (/admin/) is on and reachable there too: whoever has its token can switch defects and faults on, move the clock and rotate keys")
	}
	return w
}

// isLoopback reports whether a listen address only accepts local traffic.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printProviderBanner shows what an application needs to point at the
// provider. The secrets and password are the documented public demo values.
func printProviderBanner(w io.Writer, srv *mockprovider.Server, adminSource string) {
	cfg := srv.Provider().Config()
	fmt.Fprintf(w, "grantbench mock provider\n")
	fmt.Fprintf(w, "  issuer:    %s\n", srv.Issuer())
	fmt.Fprintf(w, "  discovery: %s/.well-known/openid-configuration\n", srv.Issuer())
	fmt.Fprintf(w, "  signing:   %s, access tokens: %s\n", cfg.SigningAlg, cfg.AccessTokenFormat)
	if cfg.Profile == mockprovider.ProfileFAPI2 {
		fmt.Fprintf(w, "  profile:   fapi2 (FAPI 2.0: PAR required, private_key_jwt only, 60 s codes; clients with secrets cannot authenticate)\n")
	}
	printClientsAndUsers(w, cfg, "")
	for _, id := range srv.Provider().IssuerIDs() {
		sub := srv.Provider().IssuerByID(id)
		fmt.Fprintf(w, "issuer %s:\n", id)
		fmt.Fprintf(w, "  issuer:    %s\n", sub.Issuer())
		fmt.Fprintf(w, "  discovery: %s/.well-known/openid-configuration\n", sub.Issuer())
		fmt.Fprintf(w, "  signing:   %s, access tokens: %s\n", sub.Config().SigningAlg, sub.Config().AccessTokenFormat)
		printClientsAndUsers(w, sub.Config(), "  ")
	}
	if adminSource != "" {
		fmt.Fprintf(w, "admin API: on at %s/admin/ (bearer token from %s)\n", srv.Issuer(), adminSource)
	}
	if d := srv.Provider().DefectsInForce(); len(d.Provider) > 0 || len(d.Clients) > 0 {
		fmt.Fprintf(w, "DEFECTS ON (the provider breaks the spec on purpose):\n")
		for _, name := range d.Provider {
			fmt.Fprintf(w, "  %s\n", name)
		}
		for client, names := range d.Clients {
			fmt.Fprintf(w, "  %s (client %s only)\n", strings.Join(names, ", "), client)
		}
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

// printClientsAndUsers lists an issuer's clients and users, indented.
func printClientsAndUsers(w io.Writer, cfg mockprovider.Config, indent string) {
	fmt.Fprintf(w, "%sclients:\n", indent)
	for _, c := range cfg.Clients {
		kind := "confidential, secret " + c.Secret
		switch {
		case c.Public:
			kind = "public (PKCE, no secret)"
		case c.TokenEndpointAuthMethod == mockprovider.AuthPrivateKeyJWT:
			kind = "confidential, private_key_jwt (its registered keys)"
		case c.TokenEndpointAuthMethod != "":
			kind += " (" + c.TokenEndpointAuthMethod + ")"
		}
		if c.RequirePushedAuthorizationRequests {
			kind += ", PAR required"
		}
		fmt.Fprintf(w, "%s  %-12s %s\n", indent, c.ID, kind)
		fmt.Fprintf(w, "%s  %-12s grants: %s\n", indent, "", strings.Join(c.GrantTypes, ", "))
		if len(c.RedirectURIs) > 0 {
			fmt.Fprintf(w, "%s  %-12s redirect URIs: %s (loopback: any port)\n", indent, "", strings.Join(c.RedirectURIs, ", "))
		}
		fmt.Fprintf(w, "%s  %-12s scopes: %s\n", indent, "", strings.Join(c.Scopes, " "))
	}
	for _, ti := range cfg.TrustedIssuers {
		fmt.Fprintf(w, "%strusted issuer (jwt-bearer grant): %s\n", indent, ti.Issuer)
	}
	fmt.Fprintf(w, "%susers:\n", indent)
	for _, u := range cfg.Users {
		fmt.Fprintf(w, "%s  %-12s password %s\n", indent, u.Username, u.Password)
	}
}
