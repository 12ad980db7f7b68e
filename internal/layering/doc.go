// Package layering holds the test that keeps grantbench's layers apart (see
// docs/architecture.md): leaf packages for shared data import no heavy
// dependency, reports reads results without the browser or the runner's
// metrics, and the suites run without the report writer and its charts.
package layering
