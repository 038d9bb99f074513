package main

import (
	"bytes"
	"strings"
	"testing"
)

func check(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The bug the lab had: Debezium's `${source.table}` written unescaped under an x- key.
func TestUnescapedDollarInExtensionIsRefused(t *testing.T) {
	code, _, stderr := check(t, "-f", "testdata/unescaped.yaml")
	if code != 1 || !strings.Contains(stderr, "invalid interpolation format") {
		t.Fatalf("want exit 1 with 'invalid interpolation format', got %d: %s", code, stderr)
	}
}

func TestEscapedDollarIsAcceptedAndUnescaped(t *testing.T) {
	code, stdout, stderr := check(t, "-f", "testdata/escaped.yaml", "--print")
	if code != 0 {
		t.Fatalf("want exit 0, got %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "raw.${source.table}") {
		t.Fatalf("the loaded value should be raw.${source.table}:\n%s", stdout)
	}
}

func TestEnvironmentMovesPublishedPorts(t *testing.T) {
	t.Setenv("LAB_PORT_OLTP", "55000")
	code, stdout, stderr := check(t, "-f", "../../stack/docker/compose.prototype.yaml", "-p", "labcheck", "--print")
	if code != 0 {
		t.Fatalf("the prototype compose file must load, got %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `published: "55000"`) {
		t.Fatalf("LAB_PORT_OLTP=55000 should publish 55000:\n%s", stdout)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	if code, _, _ := check(t, "-f", "testdata/does-not-exist.yaml"); code != 1 {
		t.Fatalf("want exit 1 for a missing file, got %d", code)
	}
}
