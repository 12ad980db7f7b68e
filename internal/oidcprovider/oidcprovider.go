// Package oidcprovider runs panva's oidc-provider (the Node.js OpenID Provider
// that package-lock.json beside this file pins, 9.13.3) on 127.0.0.1, so
// grantbench's suites can be pointed at a second real, OpenID-certified
// implementation beside zitadel's example OP (internal/zitadelop).
//
// The provider is the npm package unchanged; provider.mjs (ours) only chooses
// its configuration through the library's documented options: clients, PAR,
// DPoP, private_key_jwt, the FAPI 2.0 profile for two clients, the device flow,
// introspection and revocation, and the library's own login, consent and device
// pages. Start installs the package with `npm ci` when node_modules is missing
// or was installed from another lock file, starts `node provider.mjs` in a
// process group of its own, and waits for it to listen; Close stops the group.
package oidcprovider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The clients and the user the provider knows (provider.mjs registers them).
// Secrets are fixtures of a loopback-only provider, not credentials.
const (
	// WebClientID is a confidential web client (client_secret_basic;
	// authorization_code and refresh_token). Its redirect URIs are matched
	// exactly, so they must be given to Start.
	WebClientID     = "web"
	WebClientSecret = "web-secret"

	// OtherClientID is a second client shaped like WebClientID, for the checks
	// that one client cannot use what was issued to another.
	OtherClientID     = "other"
	OtherClientSecret = "other-secret"

	// NativeClientID is a public native client (auth method none, PKCE
	// required); any loopback port matches its redirect URI (RFC 8252 7.3).
	NativeClientID = "native"

	// DeviceClientID is a public client of the device authorization grant.
	DeviceClientID = "device"

	// ServiceClientID is a client_credentials-only client allowed api.read.
	ServiceClientID     = "service"
	ServiceClientSecret = "service-secret"

	// FAPIClientID and FAPIOtherClientID run under oidc-provider's FAPI 2.0
	// profile: private_key_jwt (ES256) with the keys of Config.FAPIJWKS, PAR
	// required, DPoP-bound tokens. They exist only when FAPIJWKS is set.
	FAPIClientID      = "fapi"
	FAPIOtherClientID = "fapi-other"

	// Username and Password log in on the library's development login page,
	// which takes any login and password and makes the login the subject.
	Username = "alice"
	Password = "any-password"
)

// Version is the oidc-provider release package.json and package-lock.json pin.
const Version = "9.13.3"

// MinNodeMajor is the oldest Node.js major this package starts the provider
// on. oidc-provider 9 asks for Node 22 LTS and warns on 20, but runs there.
const MinNodeMajor = 20

// Config is the part of the provider's configuration a test chooses.
type Config struct {
	// Port to listen on, 0 for a free one that the provider reports.
	Port int
	// WebRedirectURIs are registered for WebClientID and OtherClientID; none
	// registers an unusable URI.
	WebRedirectURIs []string
	// FAPIJWKS is the public JWK set (JSON) of the FAPI 2.0 clients'
	// private_key_jwt keys; empty leaves those clients out.
	FAPIJWKS json.RawMessage
	// FAPIRedirectURIs are registered for the FAPI 2.0 clients.
	FAPIRedirectURIs []string
	// Log receives the provider's stderr (its warnings) when set.
	Log io.Writer
}

// settings is what provider.mjs reads from GRANTBENCH_OIDC_PROVIDER.
type settings struct {
	Port             int             `json:"port"`
	WebRedirectURIs  []string        `json:"webRedirectURIs,omitempty"`
	FAPIJWKS         json.RawMessage `json:"fapiJwks,omitempty"`
	FAPIRedirectURIs []string        `json:"fapiRedirectURIs,omitempty"`
}

// ToolMissingError says Node.js or npm is not installed (or too old).
type ToolMissingError struct {
	Tool   string // "node" or "npm"
	Reason string
}

func (e *ToolMissingError) Error() string {
	return fmt.Sprintf("oidcprovider: %s %s: oidc-provider %s needs Node.js %d or later and npm (Debian: apt-get install nodejs npm; make test installs them through scripts/ensure-tools.sh)",
		e.Tool, e.Reason, Version, MinNodeMajor)
}

// Dir is the folder of provider.mjs, package.json and package-lock.json.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "internal/oidcprovider"
	}
	return filepath.Dir(file)
}

// Timeouts. npm ci fetches 40 small packages from the registry; the provider
// starts in well under a second on an idle machine, but the machine may be busy.
const (
	installTimeout  = 5 * time.Minute
	startTimeout    = 60 * time.Second
	stopGracePeriod = 5 * time.Second
)

// stampName is the file in node_modules that records which package-lock.json
// (its SHA-256) the installation came from.
const stampName = ".grantbench-lock.sha256"

// Install runs `npm ci` in Dir unless node_modules was installed from the
// current package-lock.json already. Concurrent callers (test packages run in
// parallel) take turns on a file lock, so one installs and the others find it
// done. It returns whether it ran npm ci.
func Install(ctx context.Context) (bool, error) { return install(ctx, Dir()) }

func install(ctx context.Context, dir string) (bool, error) {
	node, err := findNode(ctx)
	if err != nil {
		return false, err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return false, &ToolMissingError{Tool: "npm", Reason: "is not on PATH"}
	}
	lockFile, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("oidcprovider: %w", err)
	}
	sum := sha256.Sum256(lockFile)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", stampName)
	if installed(stamp, want) {
		return false, nil
	}

	unlock, err := lockDir(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	if installed(stamp, want) { // another process installed it while we waited
		return false, nil
	}
	ictx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ictx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = dir
	// npm runs under the same node as the provider, first on PATH.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return true, fmt.Errorf("oidcprovider: npm ci in %s: %w\n%s", dir, err, tail(out.Bytes(), 4096))
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return true, fmt.Errorf("oidcprovider: %w", err)
	}
	return true, nil
}

func installed(stamp, want string) bool {
	got, err := os.ReadFile(stamp)
	return err == nil && strings.TrimSpace(string(got)) == want
}

// lockDir takes an exclusive flock on path. It waits without a deadline of
// its own: the holder's npm ci is bounded by installTimeout.
func lockDir(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: install lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("oidcprovider: install lock: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

// findNode returns the node executable, checked to be new enough.
func findNode(ctx context.Context) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", &ToolMissingError{Tool: "node", Reason: "is not on PATH"}
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("oidcprovider: %s --version: %w", node, err)
	}
	m := nodeVersion.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return "", fmt.Errorf("oidcprovider: %s --version said %q", node, strings.TrimSpace(string(out)))
	}
	if major, _ := strconv.Atoi(m[1]); major < MinNodeMajor {
		return "", &ToolMissingError{Tool: "node", Reason: "is " + strings.TrimSpace(string(out))}
	}
	return node, nil
}

// Server is a running oidc-provider. Its methods are safe for concurrent use.
type Server struct {
	// Issuer is the provider's issuer and base URL, http://127.0.0.1:PORT.
	Issuer string

	cmd       *exec.Cmd
	stdin     io.WriteCloser
	stderr    *tailBuffer
	exited    chan struct{}
	waitErr   error
	closeOnce sync.Once
	closeErr  error
}

// Start installs the package if needed (Install), starts the provider, and
// returns once its discovery document answers. It stops when Close is called or
// ctx is done.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if _, err := Install(ctx); err != nil {
		return nil, err
	}
	node, err := findNode(ctx)
	if err != nil {
		return nil, err
	}
	conf, err := json.Marshal(settings{Port: cfg.Port, WebRedirectURIs: cfg.WebRedirectURIs, FAPIJWKS: cfg.FAPIJWKS, FAPIRedirectURIs: cfg.FAPIRedirectURIs})
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: settings: %w", err)
	}
	cmd := exec.Command(node, "provider.mjs")
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "GRANTBENCH_OIDC_PROVIDER="+string(conf), "NODE_ENV=development")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin, stderr: &tailBuffer{max: 64 << 10, also: cfg.Log}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("oidcprovider: start node: %w", err)
	}

	ready := make(chan string, 1)
	go func() {
		// The first line is {"issuer": ...}; later lines (none expected) are
		// drained so the provider never blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				first = false
				var line struct {
					Issuer string `json:"issuer"`
				}
				if json.Unmarshal(sc.Bytes(), &line) == nil {
					ready <- line.Issuer
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case s.Issuer = <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("oidcprovider: node provider.mjs exited before listening (%v):\n%s", s.waitErr, s.stderr.String())
	case <-sctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("oidcprovider: node provider.mjs did not listen within %s: %w\n%s", startTimeout, sctx.Err(), s.stderr.String())
	}
	if err := s.checkDiscovery(sctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.exited:
		}
	}()
	return s, nil
}

// checkDiscovery fetches the discovery document once: the provider wrote its
// ready line after it listened, so one request is enough.
func (s *Server) checkDiscovery(ctx context.Context) error {
	u := s.Issuer + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("oidcprovider: issuer %q: %w", s.Issuer, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("oidcprovider: discovery: %w\n%s", err, s.stderr.String())
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oidcprovider: discovery at %s: HTTP %d, %v", u, resp.StatusCode, err)
	}
	if doc.Issuer != s.Issuer {
		return fmt.Errorf("oidcprovider: discovery at %s names issuer %q", u, doc.Issuer)
	}
	return nil
}

// Done is closed once the provider process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

// Stderr is what the provider wrote to stderr (its last 64 KiB).
func (s *Server) Stderr() string { return s.stderr.String() }

// Close stops the provider's process group: SIGTERM, then SIGKILL after a
// grace period. Calling it again returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		_ = s.stdin.Close()
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopGracePeriod):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.exited
			s.closeErr = fmt.Errorf("oidcprovider: the provider ignored SIGTERM for %s and was killed", stopGracePeriod)
			return
		}
		if s.waitErr != nil { // the script exits 0 on SIGTERM
			s.closeErr = fmt.Errorf("oidcprovider: provider exited: %w\n%s", s.waitErr, s.stderr.String())
		}
	})
	return s.closeErr
}

// tailBuffer keeps the last max bytes written to it, and copies them to also.
type tailBuffer struct {
	mu   sync.Mutex
	buf  []byte
	max  int
	also io.Writer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	if b.also != nil {
		_, _ = b.also.Write(p)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
