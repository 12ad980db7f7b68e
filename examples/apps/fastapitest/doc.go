// Package fastapitest proves that the two Python example applications of
// examples/apps (fastapi-tutorial and fastapi-verified) work: it starts the
// bundled mock provider, starts each app from its app.yaml profile the way
// `grantbench rp` does, logs alice in over HTTP, and switches on provider
// defects to show that the verified app refuses each bad response while the
// tutorial app lets the user in, and does the same with the stimuli of
// `grantbench rp` (mockprovider/rp.go). It holds only tests; they skip, saying why,
// when /usr/bin/python3 lacks Debian's python3-fastapi, python3-uvicorn,
// python3-jwt or python3-requests (`make test` installs them).
package fastapitest
