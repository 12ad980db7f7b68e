// Package reportstest builds a synthetic but realistic run for tests of the
// reports and of `grantbench report`:
// a Ginkgo suite report with passing, failing, panicking, skipped and pending
// checks and their evidence (HTTP exchanges full of secrets, a browser
// screenshot), and a load result with three scenarios, per-second series,
// HDR histograms, failed requests and threshold verdicts. Every secret it
// plants is listed, so tests can prove none reaches an output file.
package reportstest

import (
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

// Secrets planted in the run. ClientSecret and Password are what a run
// registers with its Redactor; the tokens and codes must be caught by shape
// and place alone.
const (
	ClientSecret = "s3cr3t-Cl1ent-Passphrase!"
	Password     = "alice's correct horse"
	AccessToken  = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xIiwic3ViIjoiYWxpY2UiLCJhdWQiOiJkZW1vIn0.VGhpcy1pcy1hLWZha2Utc2lnbmF0dXJlLWZvci10ZXN0cw"
	IDToken      = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVzMSJ9.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xIiwic3ViIjoiYWxpY2UiLCJub25jZSI6Im4tMGZhMyJ9.ZmFrZS1lY2RzYS1zaWduYXR1cmUtYnl0ZXM"
	RefreshToken = "8xLpQ2vR9sT4wY7zA1bC3dE5fG6hJ0kM"
	Code         = "Qm9vdGgtY29kZS0xMjM0NTY3ODkw"
	DeviceCode   = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
	Verifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	SessionID    = "sess-7Hq2Lw9Xp4Rt6Yv1Zs3Nb8Mc"
)

// Secrets lists every planted secret, also as it is sent (form-encoded and in
// Basic credentials).
func Secrets() []string {
	return []string{
		ClientSecret, url.QueryEscape(ClientSecret), Password, url.QueryEscape(Password),
		AccessToken, IDToken, RefreshToken, Code, DeviceCode, Verifier, SessionID,
		basic("demo", ClientSecret),
	}
}

// FailedIDs are the checks that fail in the sample, in catalogue order.
func FailedIDs() []string { return []string{"AC2", "AC7", "C8", "T2"} }

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(user) + ":" + url.QueryEscape(pass)))
}

// Conformance returns one Ginkgo suite report. Screenshot paths are relative
// to dir, where WriteScreenshot puts the PNG.
func Conformance(start time.Time) []types.Report {
	at := func(s int) time.Time { return start.Add(time.Duration(s) * 100 * time.Millisecond) }
	spec := func(text string, state types.SpecState, labels ...string) types.SpecReport {
		return types.SpecReport{
			ContainerHierarchyTexts: []string{"conformance"},
			LeafNodeType:            types.NodeTypeIt,
			LeafNodeText:            text,
			LeafNodeLabels:          labels,
			LeafNodeLocation:        types.CodeLocation{FileName: "/src/grantbench/suites/authcode.go", LineNumber: 42},
			State:                   state,
			StartTime:               at(0),
			EndTime:                 at(3),
			RunTime:                 300 * time.Millisecond,
			NumAttempts:             1,
		}
	}
	failure := func(msg string, line int) types.Failure {
		return types.Failure{
			Message:            msg,
			Location:           types.CodeLocation{FileName: "/src/grantbench/suites/authcode.go", LineNumber: line},
			FailureNodeContext: types.FailureNodeIsLeafNode,
			FailureNodeType:    types.NodeTypeIt,
		}
	}

	tokenRequest := trace.Exchange{
		Step:   "token",
		Method: http.MethodPost,
		URL:    "http://127.0.0.1:9000/token",
		RequestHeader: http.Header{
			"Authorization": {"Basic " + basic("demo", ClientSecret)},
			"Content-Type":  {"application/x-www-form-urlencoded"},
		},
		RequestBody:    "grant_type=authorization_code&code=" + Code + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb&code_verifier=" + Verifier,
		Status:         200,
		ResponseHeader: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
		ResponseBody:   `{"access_token":"` + AccessToken + `","token_type":"Bearer","expires_in":300,"refresh_token":"` + RefreshToken + `","id_token":"` + IDToken + `"}`,
	}
	ac2 := spec("AC2: a reused code is refused", types.SpecStateFailed, "AC2", "authcode", "rfc6749")
	ac2.Failure = failure("second redemption of the code\nExpected\n    <int>: 200\nto equal\n    <int>: 400", 88)
	ac2.ReportEntries = types.ReportEntries{
		{Name: "exchange", Value: types.WrapEntryValue(tokenRequest)},
		{Name: "exchange", Value: types.WrapEntryValue(tokenRequest)},
	}
	ac2.CapturedGinkgoWriterOutput = "logging in as alice with password " + Password + "\n"

	authorize := trace.Exchange{
		Step:   "authorize",
		Method: http.MethodGet,
		URL:    "http://127.0.0.1:9000/authorize?response_type=code&client_id=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=st-1",
		RequestHeader: http.Header{
			"Cookie": {"gb_session=" + SessionID},
		},
		Status: 303,
		ResponseHeader: http.Header{
			"Location":   {"http://127.0.0.1:4000/cb?code=" + Code + "&state=st-1&iss=http%3A%2F%2F127.0.0.1%3A9000"},
			"Set-Cookie": {"gb_session=" + SessionID + "; Path=/; HttpOnly; SameSite=Lax"},
		},
	}
	login := trace.Exchange{
		Step:          "login",
		Method:        http.MethodPost,
		URL:           "http://127.0.0.1:9000/login",
		RequestHeader: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		RequestBody:   "username=alice&password=" + url.QueryEscape(Password),
		Status:        303,
	}
	// An implicit-style response: tokens in the fragment of the callback URL.
	callback := trace.Exchange{
		Step:   "callback",
		Method: http.MethodGet,
		URL:    "http://127.0.0.1:4000/cb#access_token=" + AccessToken + "&token_type=Bearer&id_token=" + IDToken + "&refresh_token=" + RefreshToken + "&state=st-1",
		Status: 200,
	}
	ac7 := spec("AC7: a token request without code_verifier is refused", types.SpecStateFailed, "AC7", "authcode", "rfc7636")
	ac7.Failure = failure("token endpoint accepted a request without code_verifier\nExpected\n    <string>: \nto equal\n    <string>: invalid_grant", 131)
	ac7.ReportEntries = types.ReportEntries{
		{Name: "exchange", Value: types.WrapEntryValue([]trace.Exchange{authorize, login, callback})},
		{Name: "screenshot", Value: types.WrapEntryValue("screenshots/AC7.png")},
	}

	c8 := spec("C8: a malformed token request gets invalid_request, never 5xx", types.SpecStatePanicked, "C8", "client", "rfc6749")
	c8.Failure = failure("Test Panicked", 57)
	c8.Failure.ForwardedPanic = "runtime error: index out of range [3] with length 3 (refresh_token=" + RefreshToken + ")"
	c8.ReportEntries = types.ReportEntries{{Name: "exchange", Value: types.WrapEntryValue(trace.Exchange{
		Step: "token", Method: http.MethodPost, URL: "http://127.0.0.1:9000/token",
		RequestBody: "client_id=demo&client_secret=" + url.QueryEscape(ClientSecret) + "&grant_type=",
		Err:         "read: connection reset by peer",
	})}}

	t2 := spec("T2: the ID token's iss equals the discovery issuer", types.SpecStateFailed, "T2", "token", "oidc")
	t2.Failure = failure("claim iss of ID token "+IDToken+"\nExpected\n    <string>: http://127.0.0.1:9000/\nto equal\n    <string>: http://127.0.0.1:9000", 77)

	b6 := spec("B6: iss in the authorization response equals the issuer", types.SpecStateSkipped, "B6", "redirect", "rfc9207")
	b6.Failure = failure("the target does not advertise authorization_response_iss_parameter_supported", 12)
	d5 := spec("D5: polling after expires_in gets expired_token", types.SpecStatePending, "D5", "device", "rfc8628")

	device := spec("D1: the device flow yields tokens", types.SpecStatePassed, "D1", "device", "rfc8628")
	device.ReportEntries = types.ReportEntries{{Name: "exchange", Value: types.WrapEntryValue(trace.Exchange{
		Step: "device_poll", Method: http.MethodPost, URL: "http://127.0.0.1:9000/token",
		RequestBody: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" + DeviceCode,
		Status:      200, ResponseBody: `{"access_token":"` + AccessToken + `"}`,
	})}}

	setup := types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed, RunTime: time.Second, NumAttempts: 1}

	return []types.Report{{
		SuitePath:        "/src/grantbench/suites",
		SuiteDescription: "grantbench conformance",
		SuiteSucceeded:   false,
		StartTime:        start,
		EndTime:          start.Add(12 * time.Second),
		RunTime:          12 * time.Second,
		SpecReports: types.SpecReports{
			setup,
			spec("AC1: the code flow returns the code and state, tokens with no-store", types.SpecStatePassed, "AC1", "authcode", "rfc6749"),
			ac2,
			ac7,
			spec("B1: an unregistered redirect_uri gets an error page", types.SpecStatePassed, "B1", "redirect", "rfc6749"),
			b6,
			spec("C1: client credentials give a bearer token without refresh token", types.SpecStatePassed, "C1", "client", "rfc6749"),
			c8,
			device,
			d5,
			spec("T1: the ID token verifies with a key from jwks_uri", types.SpecStatePassed, "T1", "token", "oidc"),
			t2,
			spec("M1: discovery issuer and fields", types.SpecStatePassed, "M1", "metadata", "rfc8414"),
			spec("the discovery document is served as JSON", types.SpecStatePassed, "metadata"),
		},
	}}
}

// WriteScreenshot writes the PNG that the sample's AC7 refers to, under dir.
func WriteScreenshot(dir string) error {
	img := image.NewRGBA(image.Rect(0, 0, 360, 220))
	for y := range 220 {
		for x := range 360 {
			c := color.RGBA{246, 248, 250, 255}
			switch {
			case y < 40:
				c = color.RGBA{36, 41, 47, 255} // a page header
			case x > 40 && x < 320 && y > 80 && y < 110, x > 40 && x < 320 && y > 130 && y < 160:
				c = color.RGBA{255, 255, 255, 255} // two form fields
			case x > 40 && x < 140 && y > 180 && y < 205:
				c = color.RGBA{31, 136, 61, 255} // a button
			}
			img.Set(x, y, c)
		}
	}
	path := filepath.Join(dir, "screenshots", "AC7.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Load returns a load result of three scenarios over 20 seconds: client
// credentials at 50/s, authorization code with HTTP consent at 10/s and
// refresh at 20/s, with some failed requests and one breached threshold.
// The figures come from a seeded random source, so they are the same on
// every call.
func Load(start time.Time) (*loadresult.Result, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var z summarizer
	const seconds = 20
	type plan struct {
		name, flow, consent string
		rate                float64
		steps               []string
		medianMs            float64
		errEvery            int // one flow in errEvery fails
		errOutcome, errCode string
		errClass            string
	}
	plans := []plan{
		{"cc", "client_credentials", "", 50, []string{"token"}, 4, 97, "oauth_error", "invalid_client", "4xx"},
		{"code", "authorization_code", "http", 10, []string{"authorize", "login", "consent", "token"}, 12, 41, "http_error", "", "5xx"},
		{"refresh", "refresh", "", 20, []string{"refresh"}, 5, 53, "timeout", "", "none"},
	}
	res := &loadresult.Result{
		Schema:  loadresult.ResultSchema,
		RunID:   "sample-run",
		Version: "test",
		Target:  "http://127.0.0.1:9000",
		Start:   start,
		End:     start.Add(seconds * time.Second),
	}
	series := make([]loadresult.Point, seconds)
	seriesHist := make([]*hdrhistogram.Histogram, seconds)
	for s := range series {
		series[s] = loadresult.Point{Time: start.Add(time.Duration(s) * time.Second), Second: s}
		seriesHist[s] = newHist()
	}
	for _, p := range plans {
		flowHist, flowService, lag := newHist(), newHist(), newHist()
		stepHists := make([]*hdrhistogram.Histogram, len(p.steps))
		stepService := make([]*hdrhistogram.Histogram, len(p.steps))
		for i := range p.steps {
			stepHists[i], stepService[i] = newHist(), newHist()
		}
		stepCounts := make([]map[[3]string]int64, len(p.steps))
		for i := range stepCounts {
			stepCounts[i] = map[[3]string]int64{}
		}
		flowsByOutcome := map[string]int64{}
		total := int(p.rate * seconds)
		for n := range total {
			second := n * seconds / total
			failed := n%p.errEvery == p.errEvery-1
			var flowMicros int64
			for i := range p.steps {
				// Log-normal-ish service times around the step's share of the median.
				us := int64(p.medianMs / float64(len(p.steps)) * 1000 * (0.6 + rng.ExpFloat64()*0.5))
				if second >= 12 && second < 15 {
					us *= 3 // a slow patch the charts should show
				}
				flowMicros += us
				_ = stepService[i].RecordValue(us)
				_ = stepHists[i].RecordValue(us + int64(rng.IntN(200)))
				key := [3]string{"ok", "2xx", ""}
				if failed && i == len(p.steps)-1 {
					key = [3]string{p.errOutcome, p.errClass, p.errCode}
				} else if p.steps[i] == "authorize" || p.steps[i] == "login" || p.steps[i] == "consent" {
					key[1] = "3xx"
				}
				stepCounts[i][key]++
			}
			lagUs := int64(rng.IntN(300))
			_ = lag.RecordValue(lagUs + 1)
			_ = flowService.RecordValue(flowMicros)
			_ = flowHist.RecordValue(flowMicros + lagUs)
			_ = seriesHist[second].RecordValue(flowMicros + lagUs)
			series[second].Flows++
			series[second].Requests += int64(len(p.steps))
			outcome := "ok"
			if failed {
				outcome = p.errOutcome
				series[second].Errors++
			}
			flowsByOutcome[outcome]++
		}
		sc := loadresult.ScenarioResult{
			Name: p.name, Flow: p.flow, Consent: p.consent, Executor: "constant-arrival-rate", Weight: 1,
			TargetRate: p.rate, MaxInFlight: 64, PlannedSeconds: seconds, ElapsedSeconds: seconds,
			Started: int64(total), Dropped: map[string]int64{}, Flows: flowsByOutcome,
			AchievedRate: float64(total) / seconds,
			Latency:      z.summarize(flowHist), ServiceTime: z.summarize(flowService), ScheduleLag: z.summarize(lag),
		}
		if p.name == "code" {
			sc.Dropped["max_in_flight"] = 3
			series[13].Dropped += 3
		}
		for i, name := range p.steps {
			st := loadresult.StepResult{Name: name, Latency: z.summarize(stepHists[i]), ServiceTime: z.summarize(stepService[i])}
			for k, n := range stepCounts[i] {
				st.Requests = append(st.Requests, loadresult.RequestCount{Outcome: k[0], StatusClass: k[1], OAuthError: k[2], Count: n})
			}
			sc.Steps = append(sc.Steps, st)
		}
		res.Scenarios = append(res.Scenarios, sc)
	}
	for s := range series {
		h := z.summarize(seriesHist[s])
		series[s].P50Seconds, series[s].P99Seconds, series[s].HDR = h.P50Seconds, h.P99Seconds, h.HDR
	}
	res.Series = series
	if z.err != nil {
		return nil, z.err
	}
	thresholds, err := loadresult.ParseThresholds([]string{"cc:p99<250ms", "error_rate<1%", "code:rate>=0.98*target"})
	if err != nil {
		return nil, fmt.Errorf("reportstest: %w", err)
	}
	res.Thresholds, err = loadresult.Judge(res, thresholds)
	if err != nil {
		return nil, fmt.Errorf("reportstest: %w", err)
	}
	return res, nil
}

// newHist has the runner's geometry: 1 µs to one hour, three digits.
func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// summarizer builds runner.Histograms and keeps the first encoding error.
type summarizer struct{ err error }

func (z *summarizer) summarize(h *hdrhistogram.Histogram) loadresult.Histogram {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil && z.err == nil {
		z.err = fmt.Errorf("reportstest: encode histogram: %w", err)
	}
	out := loadresult.Histogram{Count: h.TotalCount(), HDR: string(enc)}
	if out.Count == 0 {
		return out
	}
	sec := func(us int64) float64 { return float64(us) / 1e6 }
	out.MinSeconds, out.MaxSeconds, out.MeanSeconds = sec(h.Min()), sec(h.Max()), h.Mean()/1e6
	out.P50Seconds, out.P90Seconds = sec(h.ValueAtQuantile(50)), sec(h.ValueAtQuantile(90))
	out.P95Seconds, out.P99Seconds = sec(h.ValueAtQuantile(95)), sec(h.ValueAtQuantile(99))
	out.P999Seconds = sec(h.ValueAtQuantile(99.9))
	return out
}
