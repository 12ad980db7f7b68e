package checksmd

import (
	"os"
	"strings"
	"testing"
)

const sample = `# The check catalogue

## AC — authorization code
| ID | what is sent | what must happen | source | defect |
|---|---|---|---|---|
| AC1 | normal code flow | code and ` + "`state`" + ` come back | RFC 6749 4.1, 5.1; oidcc-server | ` + "`no_cache_headers`, `state_dropped`" + ` |
| AC3 | parallel redemption | at most one succeeds | OAuch:SingleFastACExchange | ` + "`code_race`" + ` |

## T — tokens
| ID | what is checked | must | source | defect |
|---|---|---|---|---|
| T1 | signature | verifies | OIDC Core 10; oidcc-idtoken-signature | ` + "`bad_signature`" + ` |
| M2 | jwks_uri | no private members | RFC 7517 | ` + "`jwks_leaks_private`" + ` |

## P — client app
| ID | bad response | source |
|---|---|---|
| P1 | wrong iss | oidcc-client-test-invalid-iss, -invalid-aud |

| ID | what is sent | what must happen | source | bug |
|---|---|---|---|---|
| P2 | wrong aud | refuse | oidcc-client-test-invalid-aud; Core 3.1.3.7(3) | ` + "`skip_aud`" + ` |
`

func TestParseSample(t *testing.T) {
	checks, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 6 {
		t.Fatalf("got %d checks, want 6: %+v", len(checks), checks)
	}
	ac1 := checks[0]
	if ac1.ID != "AC1" || ac1.Area != "authcode" || ac1.Sent != "normal code flow" {
		t.Errorf("AC1 parsed as %+v", ac1)
	}
	wantSources := []Source{
		{Text: "RFC 6749 4.1", Key: "rfc6749", URL: "https://www.rfc-editor.org/rfc/rfc6749#section-4.1"},
		{Text: "RFC 6749 5.1", Key: "rfc6749", URL: "https://www.rfc-editor.org/rfc/rfc6749#section-5.1"},
		{Text: "oidcc-server", Key: "oidf"},
	}
	if len(ac1.Sources) != len(wantSources) {
		t.Fatalf("AC1 sources = %+v", ac1.Sources)
	}
	for i, s := range wantSources {
		if ac1.Sources[i] != s {
			t.Errorf("AC1 source %d = %+v, want %+v", i, ac1.Sources[i], s)
		}
	}
	if strings.Join(ac1.Defects, ",") != "no_cache_headers,state_dropped" {
		t.Errorf("AC1 defects = %v", ac1.Defects)
	}
	if checks[1].Sources[0].Key != "oauch" {
		t.Errorf("AC3 source = %+v", checks[1].Sources)
	}
	t1 := checks[2]
	if t1.Expect != "verifies" || t1.Sources[0].URL != "https://openid.net/specs/openid-connect-core-1_0.html#rfc.section.10" {
		t.Errorf("T1 parsed as %+v", t1)
	}
	if checks[3].Sources[0].URL != "https://www.rfc-editor.org/rfc/rfc7517" {
		t.Errorf("M2 source = %+v", checks[3].Sources)
	}
	if p1 := checks[4]; p1.Area != "rp" || p1.Sent != "wrong iss" || len(p1.Sources) != 1 {
		t.Errorf("P1 parsed as %+v", p1)
	}
	p2 := checks[5]
	if strings.Join(p2.Bugs, ",") != "skip_aud" || len(p2.Defects) != 0 {
		t.Errorf("P2 bugs = %v, defects = %v", p2.Bugs, p2.Defects)
	}
	wantCore := Source{Text: "Core 3.1.3.7(3)", Key: "oidc", URL: "https://openid.net/specs/openid-connect-core-1_0.html#rfc.section.3.1.3.7"}
	if len(p2.Sources) != 2 || p2.Sources[1] != wantCore {
		t.Errorf("P2 sources = %+v, want the second %+v", p2.Sources, wantCore)
	}
}

func TestParseRejectsBrokenCatalogue(t *testing.T) {
	for name, doc := range map[string]string{
		"duplicate":  "| ID | source |\n|---|---|\n| AC1 | RFC 6749 4.1 |\n| AC1 | RFC 6749 4.1 |\n",
		"no source":  "| ID | source |\n|---|---|\n| AC1 |  |\n",
		"bad ID":     "| ID | source |\n|---|---|\n| ac-1 | RFC 6749 |\n",
		"unknown":    "| ID | source |\n|---|---|\n| ZZ1 | RFC 6749 |\n",
		"empty file": "# nothing here\n",
	} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: Parse accepted a broken catalogue", name)
		}
	}
}

func TestAreaOf(t *testing.T) {
	for id, want := range map[string]string{"AC10": "authcode", "V2": "revocation", "X1": "", "AC": ""} {
		if got := AreaOf(id); got != want {
			t.Errorf("AreaOf(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestParseTheCatalogue parses the real catalogue, catalog/CHECKS.md.
func TestParseTheCatalogue(t *testing.T) {
	f, err := os.Open("../../CHECKS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checks, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) < 50 {
		t.Errorf("only %d checks parsed from CHECKS.md", len(checks))
	}
}
