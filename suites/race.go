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
const parallelRequests = 5

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

// expectAtMostOneSuccess asserts that of parallel token requests for one
// single-use credential, at most one got tokens and every other one a 4xx.
func expectAtMostOneSuccess(answers []*response, what string) {
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
		Expect(r.Status).To(BeNumerically("<", 500), "%s: a refusal is a 4xx, never a 5xx; got %s", what, r.describe())
	}
	Expect(successes).To(BeNumerically("<=", 1), "%s: %d of %d parallel requests got tokens; at most one may", what, successes, len(answers))
}

func (e *env) declareRace() {
	Describe("authorization code: parallel redemption", Label("authcode"), func() {
		It("AC3: one code redeemed by parallel requests succeeds at most once", check("AC3", "oauch"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			answers := inParallel(parallelRequests, func() *response { return e.redeem(ctx, c, auth, nil) })
			expectAtMostOneSuccess(answers, "parallel code redemptions")
		})
	})

	Describe("refresh tokens: parallel use", Label("refresh"), func() {
		It("R5: one refresh token used by parallel requests succeeds at most once", check("R5", "oauch"), func(ctx SpecContext) {
			// Without rotation a refresh token is meant to be used many times, so
			// several parallel successes would be no fault.
			e.need(e.target.Features.RefreshRotation, "refresh_rotation")
			c := e.client(flows.RoleConfidential)
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			answers := inParallel(parallelRequests, func() *response { return e.refresh(ctx, c, tr.RefreshToken, "") })
			expectAtMostOneSuccess(answers, "parallel refreshes")
		})
	})
}
