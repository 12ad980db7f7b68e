package testparallel

import (
	"flag"
	"testing"
)

func TestDefaultRaisesUnsetParallel(t *testing.T) {
	f := flag.Lookup("test.parallel")
	if f == nil {
		t.Fatal("no test.parallel flag")
	}
	before := f.Value.String()
	defer flag.Set("test.parallel", before)

	// go test passes -test.parallel only when -parallel is given, so in a
	// plain run the flag is unset and Default must change it.
	explicit := false
	flag.Visit(func(v *flag.Flag) { explicit = explicit || v.Name == "test.parallel" })
	if err := Default(7); err != nil {
		t.Fatal(err)
	}
	if explicit {
		if got := f.Value.String(); got != before {
			t.Fatalf("test.parallel = %s after Default, the command line's %s must stand", got, before)
		}
		return
	}
	if got := f.Value.String(); got != "7" {
		t.Fatalf("test.parallel = %s, want 7", got)
	}
}
