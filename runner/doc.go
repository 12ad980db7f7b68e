// Package runner replays OAuth flows concurrently against a target and measures
// them: open-model executors (constant and ramping arrival rate, with a cap on
// iterations in flight and dropped iterations counted, never delayed) and a closed
// model (constant workers), several weighted scenarios at once, an untimed setup
// phase, latency from the intended start (corrected for coordinated omission) beside
// service time, exact HdrHistogram percentiles per flow and per step, Prometheus
// metrics on a registry per run, and k6-style thresholds (package loadresult)
// judged at the end.
//
// The core knows flows only through the Flow interface and spells no flow name:
// a plan's flow names are checked against a FlowCatalog, and runner/grants holds
// the flow table (grants.Table) and binds the grants of package flows to it. A
// run's result (loadresult.Result, the content of load.json) carries its
// histograms encoded, so results of several shards merge exactly; it lives in
// package loadresult so that readers such as reports need neither Prometheus nor
// remote write.
package runner
