// Package deploy_test checks the deployment files (docker-compose.yml, Prometheus
// and Grafana provisioning, the Kubernetes Job) without Docker: promtool validates
// the Prometheus config, and the dashboard, compose file and manifests are parsed
// and cross-checked against the runner's metric names and the repository's files.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/runner/grants"
)

// ourMetrics are the runner's metric names (runner/metrics.go); histograms add the classic
// suffixes.
var ourMetrics = []string{
	runner.MetricRequests, runner.MetricRequestDuration, runner.MetricServiceTime, runner.MetricFlowDuration,
	runner.MetricFlows, runner.MetricScheduleLag, runner.MetricDropped, runner.MetricInFlight,
	runner.MetricWorkers, runner.MetricRunInfo,
}

func isOurMetric(name string) bool {
	for _, m := range ourMetrics {
		if name == m || name == m+"_bucket" || name == m+"_sum" || name == m+"_count" {
			return true
		}
	}
	return false
}

func TestPrometheusConfigPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("promtool is not installed (Debian package prometheus); set CI=1 to make this a failure")
		}
		if out, err := exec.Command("../scripts/ensure-tools.sh", "promtool").CombinedOutput(); err != nil {
			t.Fatalf("installing promtool: %v\n%s", err, out)
		}
		if promtool, err = exec.LookPath("promtool"); err != nil {
			t.Fatal("promtool still missing after installing it")
		}
	}
	out, err := exec.Command(promtool, "check", "config", "prometheus.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("SUCCESS")) {
		t.Fatalf("promtool did not report success:\n%s", out)
	}
}

// selectorPattern finds metric names in PromQL: an identifier directly followed by
// a label matcher or a range. Function names are followed by "(" and label names
// by "," ")" or "=", so they do not match.
var selectorPattern = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]`)

func TestDashboardQueriesNameOnlyOurMetrics(t *testing.T) {
	data, err := os.ReadFile("grafana/dashboards/grantbench.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query struct {
					Query string `json:"query"`
				} `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) < 6 {
		t.Fatalf("dashboard uid %q title %q with %d panels", dash.UID, dash.Title, len(dash.Panels))
	}
	datasourceUID := provisionedDatasourceUID(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != datasourceUID {
			t.Errorf("panel %q uses datasource %q, provisioned is %q", p.Title, p.Datasource.UID, datasourceUID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			names := selectorPattern.FindAllStringSubmatch(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q query %s selects no metric", p.Title, q.RefID)
			}
			for _, m := range names {
				if !isOurMetric(m[1]) {
					t.Errorf("panel %q query %s names %q, not a grantbench metric", p.Title, q.RefID, m[1])
				}
				used[strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_count")] = true
			}
			if strings.Count(q.Expr, "(") != strings.Count(q.Expr, ")") || strings.Count(q.Expr, "{") != strings.Count(q.Expr, "}") {
				t.Errorf("panel %q query %s has unbalanced brackets: %s", p.Title, q.RefID, q.Expr)
			}
		}
	}
	for _, v := range dash.Templating.List {
		for _, m := range regexp.MustCompile(`label_values\((\w+)`).FindAllStringSubmatch(v.Query.Query, -1) {
			if !isOurMetric(m[1]) {
				t.Errorf("variable %s reads %q", v.Name, m[1])
			}
		}
	}
	for _, m := range ourMetrics {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

func provisionedDatasourceUID(t *testing.T) string {
	t.Helper()
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasource provisioning %+v", ds)
	}
	var dashboards struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/grantbench.yml", &dashboards)
	if len(dashboards.Providers) != 1 || dashboards.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Fatalf("dashboard provisioning %+v", dashboards)
	}
	return ds.Datasources[0].UID
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestComposeFileWiresTheServices(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image      string   `yaml:"image"`
			Command    []string `yaml:"command"`
			Entrypoint []string `yaml:"entrypoint"`
			Volumes    []string `yaml:"volumes"`
			Ports      []string `yaml:"ports"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	readYAML(t, "../docker-compose.yml", &compose)
	for _, name := range []string{"provider", "runner", "prometheus", "grafana"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	for name, svc := range compose.Services {
		for _, v := range svc.Volumes {
			host, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(host, ".") && !strings.HasPrefix(host, "/") {
				// A named volume: it must be declared, and starts with the
				// image's content and ownership at the mount point.
				if _, ok := compose.Volumes[host]; !ok {
					t.Errorf("service %s mounts the volume %s, which the file does not declare", name, host)
				}
				continue
			}
			// A bind mount of a path a fresh clone lacks is created by Docker,
			// root-owned, where a non-root container cannot write.
			if _, err := os.Stat(filepath.Join("..", host)); err != nil {
				t.Errorf("service %s mounts %s, which a fresh clone does not have", name, host)
			}
		}
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %s beyond loopback", name, p)
			}
		}
	}
	runnerCmd := strings.Join(compose.Services["runner"].Command, " ")
	for _, flag := range []string{"grantbench load", "--metrics-addr 0.0.0.0:9464", "--scenario", "--target", "--linger"} {
		if !strings.Contains(runnerCmd, flag) {
			t.Errorf("runner command lacks %q: %s", flag, runnerCmd)
		}
	}
	// The runner's results go to a named volume mounted at /out, which the
	// image creates owned by the user it runs as.
	outMounted := false
	for _, v := range compose.Services["runner"].Volumes {
		host, rest, _ := strings.Cut(v, ":")
		mount, _, _ := strings.Cut(rest, ":")
		mount = strings.Fields(mount)[0]
		if mount == "/out" {
			outMounted = !strings.HasPrefix(host, ".") && !strings.HasPrefix(host, "/")
		}
	}
	if !outMounted || !strings.Contains(runnerCmd, "--out /out/") {
		t.Errorf("the runner writes %q; want --out under /out on a named volume (volumes %v)", runnerCmd, compose.Services["runner"].Volumes)
	}
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chown 65532:65532 /out", "USER 65532:65532"} {
		if !bytes.Contains(dockerfile, []byte(want)) {
			t.Errorf("the Dockerfile lacks %q: the named volume would not be writable for the runner", want)
		}
	}
	if !slices.Contains(compose.Services["prometheus"].Command, "--enable-feature=native-histograms") {
		t.Error("Prometheus runs without native histograms")
	}
	// The runner's metrics port is the one Prometheus discovers.
	data, _ := os.ReadFile("prometheus.yml")
	if !bytes.Contains(data, []byte("port: 9464")) || !bytes.Contains(data, []byte("names: [runner]")) {
		t.Error("prometheus.yml does not scrape the runner service on 9464")
	}
}

func TestProviderConfigAndScenarioParse(t *testing.T) {
	data, err := os.ReadFile("provider.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mockprovider.ParseConfig(data)
	if err != nil {
		t.Fatalf("deploy/provider.yaml: %v", err)
	}
	if cfg.Issuer != "http://provider:9000" {
		t.Errorf("provider issuer %q, want the compose service URL", cfg.Issuer)
	}
	plan, err := runner.LoadPlan("scenario.yaml", grants.Table)
	if err != nil {
		t.Fatal(err)
	}
	var flows, names []string
	for _, s := range plan.Scenarios {
		flows = append(flows, s.Flow)
		names = append(names, s.Name)
	}
	ths, err := loadresult.ParseThresholds(plan.Thresholds)
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range ths {
		if err := th.CheckScope(flows, names); err != nil {
			t.Error(err)
		}
	}
}

func TestKubernetesJobIsIndexedAndSharded(t *testing.T) {
	f, err := os.Open("k8s/load-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("k8s/load-job.yaml: %v", err)
		}
		kind, _ := doc["kind"].(string)
		kinds[kind] = doc
	}
	job := kinds["Job"]
	if job == nil || kinds["ConfigMap"] == nil {
		t.Fatalf("manifest kinds %v, want a Job and a ConfigMap", kinds)
	}
	spec := job["spec"].(map[string]any)
	if spec["completionMode"] != "Indexed" || spec["completions"] != spec["parallelism"] {
		t.Errorf("job spec %v: want an Indexed Job running all shards at once", spec)
	}
	raw, _ := yaml.Marshal(job)
	if !bytes.Contains(raw, []byte("--shard $((JOB_COMPLETION_INDEX + 1))/4")) {
		t.Error("the job does not derive --shard from the completion index")
	}
	cm := kinds["ConfigMap"]["data"].(map[string]any)
	if _, err := runner.ParsePlan([]byte(cm["scenario.yaml"].(string)), grants.Table); err != nil {
		t.Errorf("the job's scenario: %v", err)
	}
}
