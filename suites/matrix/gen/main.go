// Command gen writes docs/checks.md from the check catalogue (catalog/CHECKS.md,
// compiled into catalog.All), the mock's defect descriptions and the committed
// mutation matrix result. Run
// it through `go generate ./suites/matrix`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/suites/matrix"
)

func main() {
	matrixPath := flag.String("matrix", "testdata/matrix.json", "the matrix result the mutation matrix test wrote")
	outPath := flag.String("out", "../../docs/checks.md", "the page to write")
	flag.Parse()
	result, err := matrix.LoadResult(*matrixPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -matrix: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*outPath, matrix.Render(catalog.All(), mockprovider.Defects(), result), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gen: -out: %v\n", err)
		os.Exit(1)
	}
}
