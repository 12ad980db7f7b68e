// Command gencatalog turns the check catalogue (catalog/CHECKS.md, in this
// repository) into catalog/catalog.go, so the binary carries every check's area
// and sources without reading the Markdown at run time. Run through
// `go generate ./catalog`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/grantbench/grantbench/catalog/internal/checksmd"
)

func main() {
	in := flag.String("in", "CHECKS.md", "the check catalogue")
	out := flag.String("out", "catalog.go", "the Go file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencatalog:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	checks, err := checksmd.Parse(f)
	if err != nil {
		return err
	}
	src, err := checksmd.GoSource(checks)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
