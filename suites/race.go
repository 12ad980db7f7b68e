package suites

import (
	"sync"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
)

// parallelRequests is how many copies of one request the race checks fire at
// once: enough that a provider which checks and then marks a code or token
// used in two steps lets several through, few enough for any provider.
const parallelRequests = 8

// raceRounds is how many fresh codes or refresh tokens a race check tries,
// stopping at the first round where more than one request won. A provider
// whose window is a millisecond wide (zitadel's example OP: the code is looked
// up, the tokens are signed, then the code is deleted) lets two requests
// through in about half the rounds on a 2-core machine, so twenty rounds miss
// it about once in a hundred thousand runs; the bundled mock's code_race and
// refresh_race windows are caught in the first.
const raceRounds = 20

// inParallel sends n requests made by send truly at once: every goroutine is
// started and parked on a closed-channel barrier before any request leaves,
// so they race inside the provider rather than queue behind each other here.
// It returns the responses in no particular order. A transport failure of
// any of them fails the spec (GinkgoRecover carries it out of the goroutine).
func inParallel(n int, send func() *response) []*response {
	var (
		start   = make(chan struct{})
		ready   sync.WaitGroup
		done    sync.WaitGroup
		mu      sync.Mutex
		answers = make([]*response, 0, n)
	)
	ready.Add(n)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			defer GinkgoRecover()
			ready.Done()
			<-start
			r := send()
			mu.Lock()
			answers = append(answers, r)
			mu.Unlock()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return answers
}

// raceUntilTwoWin runs up to raceRounds rounds of parallel requests, each on
// a fresh single-use credential that round makes, and asserts that in every
// round at most one request got tokens and every other one an error status.
// It stops at the first round that breaks that.
func raceUntilTwoWin(what string, round func() []*response) {
	for i := range raceRounds {
		answers := round()
		successes := 0
		for _, r := range answers {
			if r == nil {
				continue // a failed request already failed the spec
			}
			if r.Status == 200 && hasMember(r, "access_token") {
				successes++
				continue
			}
			Expect(r.Status).To(BeNumerically(">=", 400), "%s: a request that lost the race must be refused; got %s", what, r.describe())
			if r.Status >= 500 {
				// Refused all the same, so the check holds; a 5xx is still
				// wrong (RFC 6749 5.2 wants invalid_grant), so it is reported.
				AddReportEntry(what+": a losing request got a 5xx", r.describe(), ReportEntryVisibilityFailureOrVerbose)
			}
		}
		Expect(successes).To(BeNumerically("<=", 1), "%s, round %d: %d of %d parallel requests got tokens; at most one may", what, i+1, successes, len(answers))
	}
}

func (e *env) declareRace() {
	Describe("authorization code: parallel redemption", Label("authcode"), func() {
		It("AC3: one code redeemed by parallel requests succeeds at most once", check("AC3", "oauch"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			raceUntilTwoWin("parallel redemptions of one code", func() []*response {
				auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
				return inParallel(parallelRequests, func() *response { return e.redeem(ctx, c, auth, nil) })
			})
		})
	})

	Describe("refresh tokens: parallel use", Label("refresh"), func() {
		It("R5: one refresh token used by parallel requests succeeds at most once", check("R5", "oauch"), func(ctx SpecContext) {
			// Without rotation a refresh token is meant to be used many times, so
			// several parallel successes would be no fault.
			e.need(e.target.Features.RefreshRotation, "refresh_rotation")
			c := e.client(flows.RoleConfidential)
			raceUntilTwoWin("parallel refreshes with one refresh token", func() []*response {
				tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
				return inParallel(parallelRequests, func() *response { return e.refresh(ctx, c, tr.RefreshToken, "") })
			})
		})
	})
}
