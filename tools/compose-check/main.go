// compose-check loads a Compose file the way `docker compose` (v2) does - with the same loader,
// github.com/compose-spec/compose-go/v2: override files merged, .env / --env-file / the process
// environment interpolated (x- extension keys included), schema validated, paths resolved, the model
// normalised and checked for consistency - and exits non-zero with the loader's error wherever
// `docker compose config` would refuse the file.
//
// Usage (from the repository root):
//
//	tools/compose-check/run -f stack/compose.yaml [-f override.yaml] [--env-file lab.env] [-p NAME] [--print]
//	go -C tools/compose-check run . -f "$PWD/stack/compose.yaml"    (the same; give absolute paths)
//
// Exit status: 0 the loader accepted it, 1 the loader refused it (its error on stderr), 2 bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var files, envFiles, profiles list
	var name, projectDir string
	var printModel, quiet bool
	fs := flag.NewFlagSet("compose-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&files, "f", "compose `file` (repeat for overrides, as `docker compose -f a -f b`)")
	fs.Var(&files, "file", "same as -f")
	fs.Var(&envFiles, "env-file", "environment `file` for interpolation (repeatable; default: .env of the project directory)")
	fs.Var(&profiles, "profile", "`profile` to enable (repeatable)")
	fs.StringVar(&name, "p", "", "project `name` (default: COMPOSE_PROJECT_NAME, `name:` or the directory's name)")
	fs.StringVar(&name, "project-name", "", "same as -p")
	fs.StringVar(&projectDir, "project-directory", "", "project `dir`ectory (default: the first file's directory)")
	fs.BoolVar(&printModel, "print", false, "print the resolved model as YAML (like `docker compose config`)")
	fs.BoolVar(&quiet, "q", false, "print nothing when the file is accepted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "compose-check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	// The options `docker compose` builds from the same flags (cmd/compose ToProjectOptions).
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(projectDir),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithDefaultProfiles(profiles...),
		cli.WithName(name),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fmt.Fprintf(stderr, "compose-check: %v\n", err)
		return 1
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "compose-check: %v\n", err)
		return 1
	}
	switch {
	case printModel:
		out, err := project.MarshalYAML()
		if err != nil {
			fmt.Fprintf(stderr, "compose-check: %v\n", err)
			return 1
		}
		_, _ = stdout.Write(out)
	case !quiet:
		fmt.Fprintf(stdout, "compose-check: OK: project %q, %d services (%s), from %s\n", project.Name,
			len(project.Services), strings.Join(project.ServiceNames(), ", "), strings.Join(project.ComposeFiles, ", "))
	}
	return 0
}
