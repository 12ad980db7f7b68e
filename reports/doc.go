// Package reports turns saved results into what people and CI systems read:
// JUnit XML, a Markdown summary and a self-contained HTML page with charts.
// Everything it writes goes through a redact.Redactor first.
//
// Conformance results are Ginkgo v2 reports ([]types.Report as
// `ginkgo --json-report` writes them). A spec's text starts with its check ID
// ("AC2: a reused code is refused"); its labels carry the ID, the area and
// the source. Suites attach failure evidence with AddReportEntry:
//   - "exchange": a trace.Exchange or []trace.Exchange (redacted here before
//     anything is written, but see RedactGinkgoReports for results.json);
//   - "screenshot": the path of a PNG file, absolute or relative to the
//     results file, inlined into the HTML as a data: URI.
package reports
