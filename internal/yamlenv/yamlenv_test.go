package yamlenv

import (
	"errors"
	"testing"
	"time"

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

// A reference in a plain scalar fills a boolean or number field the way the
// value typed there would; quoted, or reading as null, it stays a string.
func TestExpandTypesPlainScalars(t *testing.T) {
	t.Setenv("YAMLENV_FLAG", "true")
	t.Setenv("YAMLENV_PORT", "8080")
	t.Setenv("YAMLENV_NULL", "null")
	t.Setenv("YAMLENV_ZEROS", "007")
	src := "flag: ${YAMLENV_FLAG}\nport: ${YAMLENV_PORT}\nportText: ${YAMLENV_PORT}\nquoted: \"${YAMLENV_FLAG}\"\n" +
		"secret: ${YAMLENV_NULL}\nzeros: ${YAMLENV_ZEROS}\nlist: ${YAMLENV_LIST:-[a, b]}\nwait: ${YAMLENV_WAIT:-30s}\n"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	if err := Expand(&root, ""); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Flag     bool          `yaml:"flag"`
		Port     int           `yaml:"port"`
		PortText string        `yaml:"portText"`
		Quoted   string        `yaml:"quoted"`
		Secret   string        `yaml:"secret"`
		Zeros    string        `yaml:"zeros"`
		List     string        `yaml:"list"`
		Wait     time.Duration `yaml:"wait"`
	}
	if err := root.Decode(&got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := struct {
		Flag     bool
		Port     int
		PortText string
		Quoted   string
		Secret   string
		Zeros    string
		List     string
		Wait     time.Duration
	}{true, 8080, "8080", "true", "null", "007", "[a, b]", 30 * time.Second}
	if got.Flag != want.Flag || got.Port != want.Port || got.PortText != want.PortText || got.Quoted != want.Quoted ||
		got.Secret != want.Secret || got.Zeros != want.Zeros || got.List != want.List || got.Wait != want.Wait {
		t.Errorf("expanded to %+v, want %+v", got, want)
	}

	// A quoted reference is a string, as YAML would have it.
	var quoted yaml.Node
	if err := yaml.Unmarshal([]byte("flag: \"${YAMLENV_FLAG}\"\n"), &quoted); err != nil {
		t.Fatal(err)
	}
	if err := Expand(&quoted, ""); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Flag bool `yaml:"flag"`
	}
	if err := quoted.Decode(&b); err == nil {
		t.Errorf("a quoted reference decoded into a bool (%v); want a string, as YAML reads \"true\"", b.Flag)
	}
}
