//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cli runs the probity binary as a user would, with the test's environment less PROBITY_*
// variables, and returns its exit status, stdout and stderr.
type cli struct {
	t   *testing.T
	bin string
	// net are appended to the commands that act on the deployment (--rpc, --deployment).
	net []string
}

func (c cli) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		c.t.Fatalf("probity %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

// ok runs a command on the deployment and requires exit 0; it returns stdout.
func (c cli) ok(ctx context.Context, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(ctx, append(args, c.net...)...)
	require.Equal(c.t, 0, code, "probity %s:\n%s%s", strings.Join(args, " "), out, errs)
	return out
}

// json runs a command on the deployment with --json and decodes its stdout into v.
func (c cli) json(ctx context.Context, v any, args ...string) {
	c.t.Helper()
	out := c.ok(ctx, append(args, "--json")...)
	require.NoError(c.t, json.Unmarshal([]byte(out), v), out)
}
