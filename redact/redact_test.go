package redact

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/grantbench/grantbench/trace"
)

// A realistic JWT (header.payload.signature), an opaque token and a code.
const (
	testJWT          = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImRlbW8ifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtZm9yLXRlc3Q"
	testOpaqueToken  = "9fQx2LrT7vKpW3mZ8aYc5NdE1hGjUsBo"
	testRefreshToken = "rt-4h8K2mPq9XvL3nR7tW1yZ6cB5dF0gJ"
	testCode         = "SplxlOBeZQQYbYS6WxSbIA"
	testDeviceCode   = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
	testUserCode     = "WDJB-MJHT"
	testSecret       = "s3cr3t-client-Passw0rd!"
	testPassword     = "correct horse battery"
	testVerifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func TestShorten(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"abc":                    "…(len 3)",
		"hunter22":               "hu…(len 8)",
		testJWT:                  "eyJhbG…(len " + fmt.Sprint(len(testJWT)) + ")",
		"ééééééééééééééééé":      "ééé…(len 34)",
		strings.Repeat("x", 100): "xxxxxx…(len 100)",
	} {
		if got := Shorten(in); got != want {
			t.Errorf("Shorten(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactStringHidesSecretsByShapeAndPlace(t *testing.T) {
	cases := []struct {
		name, in string
		secrets  []string // must be gone
		kept     []string // must survive
	}{
		{"token response JSON",
			`{"access_token":"` + testOpaqueToken + `","token_type":"Bearer","expires_in":300,"refresh_token":"` + testRefreshToken + `","id_token":"` + testJWT + `"}`,
			[]string{testOpaqueToken, testRefreshToken, testJWT}, []string{`"token_type":"Bearer"`, `"expires_in":300`}},
		{"token request form",
			"grant_type=authorization_code&code=" + testCode + "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier=" + testVerifier + "&client_secret=" + url.QueryEscape(testSecret),
			[]string{testCode, testVerifier, url.QueryEscape(testSecret)}, []string{"grant_type=authorization_code", "redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb"}},
		{"redirect with code",
			"http://127.0.0.1:4000/cb?code=" + testCode + "&state=xyz&iss=http%3A%2F%2F127.0.0.1",
			[]string{testCode}, []string{"state=xyz", "iss=http%3A%2F%2F127.0.0.1"}},
		{"implicit fragment",
			"http://127.0.0.1/cb#access_token=" + testOpaqueToken + "&token_type=Bearer&state=s1",
			[]string{testOpaqueToken}, []string{"token_type=Bearer", "state=s1"}},
		{"device flow",
			`{"device_code":"` + testDeviceCode + `","user_code":"` + testUserCode + `","verification_uri":"http://127.0.0.1/device","interval":5}`,
			[]string{testDeviceCode, testUserCode}, []string{"http://127.0.0.1/device", `"interval":5`}},
		{"authorization header text",
			"Authorization: Bearer " + testOpaqueToken + "\r\nAccept: application/json",
			[]string{testOpaqueToken}, []string{"Authorization: Bearer ", "Accept: application/json"}},
		{"go-printed header map",
			fmt.Sprint(http.Header{"Authorization": {"Basic Y2xpZW50OnMzY3IzdA=="}, "Cookie": {"sid=" + testOpaqueToken}}),
			[]string{"Y2xpZW50OnMzY3IzdA==", testOpaqueToken}, []string{"Authorization:[Basic ", "sid="}},
		{"url.Values printed with %v",
			fmt.Sprint(url.Values{"code": {testCode}, "state": {"s1"}, "code_verifier": {testVerifier}}),
			[]string{testCode, testVerifier}, []string{"state:[s1]"}},
		{"struct printed with %+v",
			// A password with spaces cannot be told apart from the text after it
			// here: runs register theirs (TestRedactorRegisteredSecrets).
			fmt.Sprintf("%+v", struct{ ClientID, ClientSecret, Password string }{"demo", testSecret, "Tr0ub4dor&3"}),
			[]string{testSecret, "Tr0ub4dor&3"}, []string{"ClientID:demo"}},
		{"yaml",
			"client_secret: " + testSecret + "\npassword: " + "hunter2-abc",
			[]string{testSecret, "hunter2-abc"}, []string{"client_secret: ", "password: "}},
		{"bare JWT in a failure message",
			"Expected\n    <string>: " + testJWT + "\nto have claim iss",
			[]string{testJWT}, []string{"to have claim iss"}},
		{"bare opaque token in a failure message",
			"Expected <string>: " + testOpaqueToken + " to be inactive",
			[]string{testOpaqueToken}, []string{"to be inactive"}},
		{"url password",
			"postgres://admin:" + testSecret + "@127.0.0.1:5432/db",
			[]string{testSecret}, []string{"postgres://admin:", "@127.0.0.1:5432/db"}},
		{"bearer in prose",
			"the provider returned Bearer " + testOpaqueToken + " in the body; basic authentication failed",
			[]string{testOpaqueToken}, []string{"basic authentication failed"}},
		{"a key stays readable beside a random value",
			"code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
			nil, []string{"code_challenge=E9Melh", "&code_challenge_method=S256"}},
		{"bare device code with a single digit",
			"polling with " + testDeviceCode + " again",
			[]string{testDeviceCode}, []string{"polling with", "again"}},
		{"harmless text survives",
			"status code: 400, error=invalid_grant, /work/main/suites/authcode_test.go:123, grantbench_request_duration_seconds, 0b3f5a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b, /tmp/TestNoSecretInAnyOutput2673201606/002, TestRedactStringHidesSecretsByShapeAndPlace, authorization_response_iss_parameter_supported",
			nil, []string{"status code: 400", "error=invalid_grant", "/work/main/suites/authcode_test.go:123", "grantbench_request_duration_seconds", "0b3f5a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "TestNoSecretInAnyOutput2673201606", "TestRedactStringHidesSecretsByShapeAndPlace", "authorization_response_iss_parameter_supported"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := String(tc.in)
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("secret %q survived:\n%s", s, got)
				}
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("lost %q:\n%s", k, got)
				}
			}
			if len(tc.secrets) > 0 && !strings.Contains(got, shortenedMarker) {
				t.Errorf("no shortened form in %q", got)
			}
			if again := String(got); again != got {
				t.Errorf("redaction is not idempotent:\n%s\n%s", got, again)
			}
		})
	}
}

func TestRedactorRegisteredSecrets(t *testing.T) {
	r := New(testPassword, "abc") // "abc" is too short to match by value
	r.Add(testSecret)
	in := "login as alice with " + testPassword + " (form: " + url.QueryEscape(testPassword) +
		"); secret " + testSecret + " or " + url.PathEscape(testSecret) + "; abc stays"
	got := r.String(in)
	for _, s := range []string{testPassword, url.QueryEscape(testPassword), testSecret, url.PathEscape(testSecret)} {
		if strings.Contains(got, s) {
			t.Errorf("registered secret %q survived: %s", s, got)
		}
	}
	if !strings.Contains(got, "abc stays") || !strings.Contains(got, "login as alice") {
		t.Errorf("redacted too much: %s", got)
	}
	if !strings.Contains(got, Shorten(testPassword)) {
		t.Errorf("want %q in %s", Shorten(testPassword), got)
	}
}

// TestRedactorRegisteredFields: a login page may call its password input
// anything, and a short password is not matched by value; the field's name,
// registered by the form driver, hides its value in the recorded request
// body, a URL, JSON, a Go map and an exchange, and nothing else is touched.
func TestRedactorRegisteredFields(t *testing.T) {
	r := New()
	r.AddField("Kennwort_1", "q7z")
	r.AddField("pin[0]", "42")
	exchange := r.Exchange(trace.Exchange{
		Method: http.MethodPost, URL: "http://127.0.0.1/login?kennwort_1=q7z",
		RequestBody: "login=alice&Kennwort_1=q7z&pin%5B0%5D=42&remember=on",
	})
	for name, c := range map[string]struct{ got, kept string }{
		"form body":     {exchange.RequestBody, "login=alice"},
		"URL":           {exchange.URL, "http://127.0.0.1/login?kennwort_1="},
		"JSON":          {r.String(`{"user":"alice","kennwort_1":"q7z"}`), `"user":"alice"`},
		"Go url.Values": {r.String(`map[Kennwort_1:[q7z] login:[alice]]`), "login:[alice]"},
		"raw pin":       {r.String("pin[0]=42&x=1"), "&x=1"},
	} {
		if strings.Contains(c.got, "q7z") || strings.Contains(c.got, "=42") {
			t.Errorf("%s: the password survived: %s", name, c.got)
		}
		if !strings.Contains(c.got, c.kept) {
			t.Errorf("%s: redacted too much: %s", name, c.got)
		}
	}
	if got := exchange.RequestBody; got != "login=alice&Kennwort_1="+Shorten("q7z")+"&pin%5B0%5D="+Shorten("42")+"&remember=on" {
		t.Errorf("form body redacted as %q", got)
	}
	// An unregistered field and the same value elsewhere stay (a short value
	// is only found by its place).
	if got := r.String("kennwort_2=q7z&note=q7z"); got != "kennwort_2=q7z&note=q7z" {
		t.Errorf("redacted what was not registered: %q", got)
	}
	var nilRedactor *Redactor
	nilRedactor.AddField("pw", "x") // must not panic
}

func TestRedactHeader(t *testing.T) {
	h := http.Header{
		"Authorization":    {"Bearer " + testJWT},
		"Cookie":           {"sid=" + testOpaqueToken + "; theme=dark"},
		"Set-Cookie":       {"sid=" + testOpaqueToken + "; Path=/; HttpOnly; SameSite=Lax"},
		"Location":         {"http://127.0.0.1/cb?code=" + testCode + "&state=abc"},
		"X-Auth-Token":     {"tok-1234"},
		"Content-Type":     {"application/json"},
		"Www-Authenticate": {`Basic realm="grantbench"`},
	}
	got := Header(h)
	if got.Get("Content-Type") != "application/json" || got.Get("Www-Authenticate") != `Basic realm="grantbench"` {
		t.Errorf("harmless headers changed: %v", got)
	}
	if a := got.Get("Authorization"); !strings.HasPrefix(a, "Bearer eyJhbG…(len ") {
		t.Errorf("Authorization = %q", a)
	}
	if c := got.Get("Set-Cookie"); !strings.Contains(c, "Path=/; HttpOnly; SameSite=Lax") || strings.Contains(c, testOpaqueToken) {
		t.Errorf("Set-Cookie = %q", c)
	}
	if c := got.Get("Cookie"); strings.Contains(c, testOpaqueToken) || !strings.Contains(c, "sid=") {
		t.Errorf("Cookie = %q", c)
	}
	if l := got.Get("Location"); strings.Contains(l, testCode) || !strings.Contains(l, "state=abc") {
		t.Errorf("Location = %q", l)
	}
	if x := got.Get("X-Auth-Token"); x == "tok-1234" {
		t.Errorf("X-Auth-Token kept")
	}
	if h.Get("Authorization") != "Bearer "+testJWT {
		t.Error("Header changed its input")
	}
}

func TestRedactExchange(t *testing.T) {
	e := trace.Exchange{
		Step:           "token",
		Method:         "POST",
		URL:            "http://client:" + testSecret + "@127.0.0.1/token?access_token=" + testOpaqueToken,
		RequestHeader:  http.Header{"Authorization": {"Basic " + "ZGVtbzpzM2NyM3QtY2xpZW50LVBhc3N3MHJkIQ=="}},
		RequestBody:    "grant_type=password&username=alice&password=" + url.QueryEscape(testPassword),
		Status:         200,
		ResponseHeader: http.Header{"Content-Type": {"application/json"}},
		ResponseBody:   `{"access_token":"` + testJWT + `"}`,
		Err:            "refresh_token=" + testRefreshToken + " rejected",
	}
	got := fmt.Sprintf("%+v", Exchange(e))
	for _, s := range []string{testSecret, testOpaqueToken, "ZGVtbzpzM2NyM3QtY2xpZW50LVBhc3N3MHJkIQ==", url.QueryEscape(testPassword), testJWT, testRefreshToken} {
		if strings.Contains(got, s) {
			t.Errorf("%q survived in %s", s, got)
		}
	}
	for _, k := range []string{"username=alice", "grant_type=password", "POST", "200"} {
		if !strings.Contains(got, k) {
			t.Errorf("lost %q in %s", k, got)
		}
	}
}

func TestWriterSeesSecretsSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	r := New(testSecret)
	w := r.Writer(&out)
	line := "progress: token=" + testOpaqueToken + " secret=" + testSecret + "\nlast line id_token=" + testJWT
	for i := 0; i < len(line); i += 7 { // seven bytes at a time
		end := min(i+7, len(line))
		if n, err := w.Write([]byte(line[i:end])); err != nil || n != end-i {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if strings.Contains(out.String(), "last line") {
		t.Errorf("an unterminated line was written before Flush: %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, s := range []string{testOpaqueToken, testSecret, testJWT} {
		if strings.Contains(got, s) {
			t.Errorf("%q survived: %s", s, got)
		}
	}
	if !strings.HasPrefix(got, "progress: token=") || !strings.Contains(got, "\nlast line id_token=eyJhbG") {
		t.Errorf("output mangled: %q", got)
	}
}

func TestWriterBoundsLongLines(t *testing.T) {
	var out bytes.Buffer
	w := New().Writer(&out)
	chunk := strings.Repeat("word ", maxPendingLine/5+10)
	if _, err := w.Write([]byte(chunk)); err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Error("a line longer than the buffer bound was held back whole")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != chunk {
		t.Error("text without secrets changed")
	}
}

func TestRedactorConcurrentUse(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Add(fmt.Sprintf("secret-number-%02d", i)) }()
		go func() { defer wg.Done(); _ = r.String("password=" + testPassword) }()
	}
	wg.Wait()
	if got := r.String("uses secret-number-03 here"); strings.Contains(got, "secret-number-03") {
		t.Errorf("registered secret survived: %s", got)
	}
}

// FuzzRedactPlacedSecret checks that a token-like value in a sensitive place
// never survives, whatever it looks like, and that redaction never panics.
func FuzzRedactPlacedSecret(f *testing.F) {
	for _, seed := range []string{testOpaqueToken, testCode, testDeviceCode, testVerifier, "aaaaaaaa", "A-_~.+/0"} {
		f.Add(seed, "some context")
	}
	f.Fuzz(func(t *testing.T, secret, context string) {
		_ = String(context + secret) // must not panic on anything
		if len(secret) < 8 || strings.Contains(context, secret) || strings.ContainsAny(secret, "&#\"'<>\\,;)]}= \t\r\n…") || !utf8.ValidString(secret) {
			return
		}
		for _, placed := range []string{
			"access_token=" + secret + "&x=1",
			`{"refresh_token":"` + secret + `"}`,
			"Authorization: Bearer " + secret,
			"http://127.0.0.1/cb#id_token=" + secret,
			"password: " + secret,
		} {
			if got := String(context + "\n" + placed); strings.Contains(got, secret) {
				t.Errorf("secret %q survived in %q", secret, got)
			}
		}
	})
}
