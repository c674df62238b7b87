package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/probitylabs/probity/internal/testenv"
)

// The CLI as a user meets it: testdata/script/*.txtar (offline commands) and
// testdata/script-chain/*.txtar (the chain commands, on an anvil) run `probity` as its own
// process, checking stdout, stderr and the exit status of each success path, bad input and
// --json output. In a script:
//
//	exits N probity ARGS...   runs probity and fails unless its exit status is N
//	jsonget VAR FIELD         sets $VAR to FIELD of the JSON object the last command printed
//	$REPO                     the repository root (models/, testdata/vectors/)
//	$RPC, $GOV, $BUYER, $PROV anvil's URL and three of its development keys (script-chain)
//
// The key cache is the user's ($XDG_CACHE_HOME/probity/keys), where keys are built once.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"probity": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script", nil))
}

func TestScriptsChain(t *testing.T) {
	rpc := testenv.StartAnvil(t) // skips without anvil (fails under PROBITY_REQUIRE_TOOLS=1)
	testscript.Run(t, scriptParams(t, "testdata/script-chain", func(e *testscript.Env) error {
		e.Setenv("RPC", rpc)
		for i, name := range []string{"GOV", "BUYER", "PROV"} {
			path := filepath.Join(e.WorkDir, name+".key")
			if err := os.WriteFile(path, []byte("0x"+testenv.AnvilDevKeys[i]+"\n"), 0o600); err != nil {
				return err
			}
			e.Setenv(name, path)
		}
		return nil
	}))
}

func scriptParams(t *testing.T, dir string, setup func(*testscript.Env) error) testscript.Params {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("REPO", repo)
			e.Setenv("XDG_CACHE_HOME", cache)
			if setup != nil {
				return setup(e)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"exits": exits, "jsonget": jsonget},
	}
}

// exits N CMD ARGS... runs CMD and checks that it exits with status N.
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not a status", args[0])
	}
	got := 0
	var ee *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// jsonget VAR FIELD sets VAR to the string or number FIELD of the last stdout's JSON object.
func jsonget(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonget VAR FIELD")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &doc); err != nil {
		ts.Fatalf("jsonget: stdout is not a JSON object: %v", err)
	}
	v, ok := doc[args[1]]
	if !ok {
		ts.Fatalf("jsonget: no field %q", args[1])
	}
	ts.Setenv(args[0], fmt.Sprint(v))
}
