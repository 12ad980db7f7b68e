// Package readme holds the test that every grantbench command line of the
// repository's README works as written: a user copies them first, so they are
// run, in order, against a binary built from this tree (readme_test.go).
package readme
