// Package testparallel lets a test package raise how many of its parallel
// tests run at once, without `go test -parallel` on the command line: Ginkgo
// refuses to run its suites when that flag is set at all (ginkgo/v2
// types/config.go, VetConfig: "Use of go test -parallel"), and make test runs
// every package, the Ginkgo suites among them, in one `go test ./...`.
package testparallel

import (
	"flag"
	"strconv"
)

// Default sets -test.parallel to n unless the command line set it. Call it
// from TestMain before m.Run; it parses the command line, as m.Run would.
func Default(n int) error {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			set = true
		}
	})
	if set {
		return nil
	}
	return flag.Set("test.parallel", strconv.Itoa(n))
}
