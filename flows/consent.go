package flows

// ConsentMode chooses how the user's login and consent happen.
type ConsentMode string

const (
	// ConsentBrowser drives the provider's pages in headless Chromium with the
	// target's CSS selectors. It works with any provider.
	ConsentBrowser ConsentMode = "browser"
	// ConsentHTTP posts the provider's forms over plain HTTP with a cookie jar,
	// no browser: for the bundled mock (whose pages follow docs/mockprovider.md)
	// and for high-rate load. Results are labelled with the mode.
	ConsentHTTP ConsentMode = "http"
)
