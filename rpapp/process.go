package rpapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ReadyTimeout is how long Start waits for the app's ready path to answer.
const ReadyTimeout = 30 * time.Second

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 3 * time.Second

// logTailBytes is how much of the app's log an error shows.
const logTailBytes = 2 << 10

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartError is an application that could not be started, died, or never
// got ready; the CLI maps it to exit 3 and prints the log's tail.
type StartError struct {
	Reason  string // "did not start", "exited", "not ready after 30s", ...
	Err     error
	LogPath string
	LogTail string
}

func (e *StartError) Error() string {
	msg := "application " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.LogPath != "" {
		msg += "\n(log: " + e.LogPath + ")"
	}
	if e.LogTail != "" {
		msg += "\n--- last lines of its output ---\n" + e.LogTail
	}
	return msg
}

func (e *StartError) Unwrap() error { return e.Err }

// App is an application under test: a process grantbench started, or one
// that runs already (base_url).
type App struct {
	BaseURL string
	ready   string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// Start starts the rendered command (process group, its output to logPath,
// working directory r.Dir) and waits until readyPath answers; with no
// command it only waits for BaseURL. The error is a *StartError.
func Start(ctx context.Context, r *Rendered, readyPath, logPath string) (*App, error) {
	a := &App{BaseURL: r.BaseURL, ready: readyPath, logPath: logPath}
	if len(r.Command) > 0 {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, &StartError{Reason: "log file", Err: err}
		}
		a.log = f
		cmd := exec.Command(r.Command[0], r.Command[1:]...)
		cmd.Dir = r.Dir
		cmd.Env = append(os.Environ(), r.Env...)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			f.Close()
			return nil, &StartError{Reason: "did not start", Err: fmt.Errorf("%s: %w", r.Command[0], err), LogPath: logPath}
		}
		a.cmd = cmd
		a.done = make(chan struct{})
		go func() { a.waitErr = cmd.Wait(); close(a.done) }()
	}
	if err := a.waitReady(ctx, ReadyTimeout); err != nil {
		a.Stop()
		err.LogPath, err.LogTail = a.logPathIfAny(), a.LogTail()
		return nil, err
	}
	return a, nil
}

func (a *App) logPathIfAny() string {
	if a.cmd == nil {
		return ""
	}
	return a.logPath
}

// waitReady polls the ready path until any HTTP answer (redirects not
// followed), the process exits, or timeout.
func (a *App) waitReady(ctx context.Context, timeout time.Duration) *StartError {
	hc := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.BaseURL+a.ready, nil)
		if err != nil {
			return &StartError{Reason: "has an unusable ready URL", Err: err}
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		lastErr = err
		select {
		case <-a.exited():
			return &StartError{Reason: "exited before it was ready", Err: a.ExitErr()}
		case <-deadline.C:
			return &StartError{Reason: fmt.Sprintf("not ready after %s (GET %s)", timeout, a.BaseURL+a.ready), Err: lastErr}
		case <-ctx.Done():
			return &StartError{Reason: "start interrupted", Err: ctx.Err()}
		case <-tick.C:
		}
	}
}

// exited is closed when the process ended (never for a running app).
func (a *App) exited() <-chan struct{} {
	if a.done == nil {
		return nil
	}
	return a.done
}

// Died returns a *StartError when the process has ended, else nil.
func (a *App) Died() error {
	select {
	case <-a.exited():
		return &StartError{Reason: "exited during the run", Err: a.ExitErr(), LogPath: a.logPath, LogTail: a.LogTail()}
	default:
		return nil
	}
}

// ExitErr says how the process ended ("exit status 1", a signal), once it has.
func (a *App) ExitErr() error {
	if a.waitErr == nil {
		return errors.New("exit status 0")
	}
	return a.waitErr
}

// LogTail returns the last lines of the app's output ("" for a running app).
func (a *App) LogTail() string {
	if a.cmd == nil {
		return ""
	}
	data, err := os.ReadFile(a.logPath)
	if err != nil {
		return ""
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(bytes.TrimRight(data, "\n"))
}

// Stop ends a started app: SIGTERM to its process group, SIGKILL after a
// grace period. A running app (base_url) is left alone. Safe to call twice.
func (a *App) Stop() {
	a.stop.Do(func() {
		if a.cmd == nil {
			return
		}
		pgid := a.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(stopGrace):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-a.done
		}
		// Children that ignored SIGTERM after the leader left.
		syscall.Kill(-pgid, syscall.SIGKILL)
		a.log.Close()
	})
}

// Port returns the port of a base URL ("" when it has none).
func Port(baseURL string) string {
	u, err := http.NewRequest(http.MethodGet, baseURL, nil)
	if err != nil {
		return ""
	}
	if p := u.URL.Port(); p != "" {
		return p
	}
	if u.URL.Scheme == "https" {
		return strconv.Itoa(443)
	}
	return strconv.Itoa(80)
}
