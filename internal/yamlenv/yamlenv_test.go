package yamlenv

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExpand(t *testing.T) {
	t.Setenv("YAMLENV_SECRET", "s3cret")
	var root yaml.Node
	src := "a: ${YAMLENV_SECRET}\nb: [x, \"${YAMLENV_UNSET:-fallback}\"]\nc: cost $$5\n"
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	if err := Expand(&root, ""); err != nil {
		t.Fatal(err)
	}
	var got struct {
		A string
		B []string
		C string
	}
	if err := root.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.A != "s3cret" || got.B[1] != "fallback" || got.C != "cost $5" {
		t.Errorf("expanded to %+v", got)
	}

	var missing yaml.Node
	if err := yaml.Unmarshal([]byte("outer:\n  list: [ok, \"${YAMLENV_UNSET}\"]\n"), &missing); err != nil {
		t.Fatal(err)
	}
	var me *MissingError
	if err := Expand(&missing, ""); !errors.As(err, &me) || me.Field != "outer.list[1]" || me.Variable != "YAMLENV_UNSET" {
		t.Errorf("unset variable: %v, want a MissingError naming outer.list[1]", err)
	}
}
