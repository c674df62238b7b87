package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireToolsEnv names the environment variable that turns a missing tool from a
// skip into a failure.
const RequireToolsEnv = "PROBITY_REQUIRE_TOOLS"

// ErrNotInstalled reports that a toolchain binary is absent from node_modules.
var ErrNotInstalled = errors.New("not installed")

// ErrNoRepoRoot reports that no go.mod was found above the working directory.
var ErrNoRepoRoot = errors.New("repository root (go.mod) not found")

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory that holds go.mod. Go runs tests in their package directory,
// so this finds the root from any package.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: working directory: %w", err)
	}
	return findRoot(dir)
}

func findRoot(dir string) (string, error) {
	start := dir
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: %w above %s", ErrNoRepoRoot, start)
		}
		dir = parent
	}
}

// npmPlatform is the platform suffix of the @foundry-rs/<tool>-<platform> packages.
func npmPlatform() string {
	goos := runtime.GOOS
	if goos == "windows" {
		goos = "win32"
	}
	return goos + "-" + runtime.GOARCH
}

// Locate returns the path of tool (forge, anvil or cast) under root/node_modules.
// It prefers the native binary from the platform package over the node launcher in
// node_modules/.bin: the launcher is a node process that forwards only some signals
// to its child, so killing it could leave an anvil running.
func Locate(root, tool string) (string, error) {
	exe := tool
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	candidates := []string{
		filepath.Join(root, "node_modules", "@foundry-rs", tool+"-"+npmPlatform(), "bin", exe),
		filepath.Join(root, "node_modules", ".bin", tool),
	}
	for _, p := range candidates {
		info, err := os.Stat(p)
		if err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("testenv: %s: %w", tool, err)
		}
	}
	return "", fmt.Errorf("testenv: %s %w under %s", tool, ErrNotInstalled, filepath.Join(root, "node_modules"))
}

// toolPath resolves tool or ends the test: a skip by default, a failure when
// PROBITY_REQUIRE_TOOLS=1.
func toolPath(t testing.TB, tool string) string {
	t.Helper()
	root, err := RepoRoot()
	if err == nil {
		var p string
		if p, err = Locate(root, tool); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not installed: run `make deps` (%v)", tool, err)
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, RequireToolsEnv)
	}
	t.Skip(msg)
	return ""
}

// ForgePath returns the forge binary, or skips (fails under PROBITY_REQUIRE_TOOLS=1).
func ForgePath(t testing.TB) string { t.Helper(); return toolPath(t, "forge") }

// AnvilPath returns the anvil binary, or skips (fails under PROBITY_REQUIRE_TOOLS=1).
func AnvilPath(t testing.TB) string { t.Helper(); return toolPath(t, "anvil") }

// CastPath returns the cast binary, or skips (fails under PROBITY_REQUIRE_TOOLS=1).
func CastPath(t testing.TB) string { t.Helper(); return toolPath(t, "cast") }

// AnvilChainID is anvil's default chain id.
const AnvilChainID = 31337

// anvilStartTimeout bounds how long StartAnvil waits for the first RPC answer; a
// cold start on a loaded 2-core machine takes well under a second.
const anvilStartTimeout = 30 * time.Second

// StartAnvil starts anvil on a free 127.0.0.1 port, waits until it answers
// eth_chainId, and stops it when the test ends. Extra command-line flags (for
// example "--block-time", "1") are passed through. It returns the HTTP RPC URL.
func StartAnvil(t testing.TB, args ...string) (rpcURL string) {
	t.Helper()
	bin := AnvilPath(t)
	var lastErr error
	// A free port can be taken between probing and anvil binding it; retry then.
	for attempt := 0; attempt < 3; attempt++ {
		url, err := startAnvil(t, bin, args)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("testenv: start anvil: %v", lastErr)
	return ""
}

func startAnvil(t testing.TB, bin string, args []string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	argv := append([]string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--quiet"}, args...)
	cmd := exec.Command(bin, argv...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(anvilStartTimeout)
	for {
		id, err := ChainID(context.Background(), url)
		if err == nil {
			if id != AnvilChainID && !hasFlag(args, "--chain-id") {
				stop()
				return "", fmt.Errorf("%s answered chain id %d, want %d: another node on port %d?", url, id, AnvilChainID, port)
			}
			t.Cleanup(stop)
			return url, nil
		}
		select {
		case werr := <-exited:
			return "", fmt.Errorf("anvil exited before answering (%v): %s", werr, strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("anvil did not answer on %s within %v: %v; output: %s", url, anvilStartTimeout, err, strings.TrimSpace(out.String()))
		}
	}
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ChainID asks an Ethereum JSON-RPC endpoint for eth_chainId over plain HTTP.
func ChainID(ctx context.Context, url string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("eth_chainId: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("eth_chainId: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("eth_chainId: HTTP %s", resp.Status)
	}
	var r struct {
		Result string `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, fmt.Errorf("eth_chainId: decode response: %w", err)
	}
	if r.Error != nil {
		return 0, fmt.Errorf("eth_chainId: rpc error %d: %s", r.Error.Code, r.Error.Message)
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(r.Result, "0x"), 16, 64)
	if err != nil || !strings.HasPrefix(r.Result, "0x") {
		return 0, fmt.Errorf("eth_chainId: result %q is not a hex quantity", r.Result)
	}
	return id, nil
}

// syncBuffer collects a child's output for error messages; the child writes
// from os/exec's copying goroutines while the test may read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// AnvilDevKeys are the private keys (hex, no 0x) of anvil's ten default accounts,
// derived from its well-known development mnemonic ("test test ... junk"). Each
// account starts with 10000 ether on a fresh anvil, so tests can send transactions
// from them without funding them first. Never use them on a public chain.
var AnvilDevKeys = [10]string{
	"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
	"8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
	"92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
	"4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
	"dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
	"2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
}

// RequireNumPyEnv, set to 1 (as CI does), turns a missing NumPy into a failure instead of a
// skip, so the cross-checks against the independent NumPy implementations cannot silently stop.
const RequireNumPyEnv = "PROBITY_REQUIRE_NUMPY"

// NumPy returns Debian's /usr/bin/python3 when it imports numpy (the second implementations in
// tools/ need it), and skips the test otherwise (fails with PROBITY_REQUIRE_NUMPY=1).
func NumPy(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	missing := func(msg string) {
		if os.Getenv(RequireNumPyEnv) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, RequireNumPyEnv)
		}
		t.Skip(msg + "; skipping the NumPy cross-check (apt-get install -y python3-numpy)")
	}
	if _, err := os.Stat(py); err != nil {
		missing("the NumPy references need Debian's /usr/bin/python3")
	}
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		missing("python3-numpy is not installed")
	}
	return py
}
