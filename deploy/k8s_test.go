package deploy_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/runner/grants"
)

// k8sManifest is deploy/k8s/load-job.yaml decoded into the Kubernetes API's
// own types, strictly: an unknown or misspelt field, or a value of the wrong
// type, is an error, as the API server's strict field validation makes it.
type k8sManifest struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	jobs       []*batchv1.Job
}

func decodeK8sManifest(t *testing.T, path string) k8sManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := k8sManifest{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripYAMLComments(doc)) == "" {
			continue
		}
		var meta metav1.TypeMeta
		if err := k8syaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 ConfigMap":
			cm := &corev1.ConfigMap{}
			m.configMaps[""], obj = cm, cm
		case "v1 Secret":
			s := &corev1.Secret{}
			m.secrets[""], obj = s, s
		case "batch/v1 Job":
			j := &batchv1.Job{}
			m.jobs, obj = append(m.jobs, j), j
		default:
			t.Fatalf("%s document %d: %s %s is not a kind this test knows (ConfigMap, Secret, Job)", path, i, meta.APIVersion, meta.Kind)
		}
		if err := k8syaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", path, i, meta.Kind, err)
		}
		// Re-key by name now that it is decoded.
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			delete(m.configMaps, "")
			m.configMaps[cm.Name] = cm
		}
		if s, ok := obj.(*corev1.Secret); ok {
			delete(m.secrets, "")
			m.secrets[s.Name] = s
		}
	}
	return m
}

func stripYAMLComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestKubernetesManifestWorksAsShipped validates the Job's manifest against
// the Kubernetes API types (k8s.io/api, strict decoding) and then checks what
// makes it run on any cluster as shipped: every Secret and ConfigMap it refers
// to is defined in the file with the key it reads; it runs as the image's
// non-root user with an fsGroup, so its volumes are writable; its volumes are
// kinds every cluster has (no storage class or ReadWriteMany claim); with a
// read-only root file system every directory it writes is a volume; and every
// port it declares is one the runner listens on.
func TestKubernetesManifestWorksAsShipped(t *testing.T) {
	m := decodeK8sManifest(t, "k8s/load-job.yaml")
	if len(m.jobs) != 1 {
		t.Fatalf("%d Jobs in the manifest, want 1", len(m.jobs))
	}
	job := m.jobs[0]
	pod := job.Spec.Template.Spec
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Error("the Job is not Indexed: its pods would not know their shard")
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("a Job's pods need restartPolicy Never or OnFailure, not %q", pod.RestartPolicy)
	}

	sc := pod.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("the pod has no securityContext: an emptyDir or claim may not be writable for the image's user (65532)")
	case sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("the pod should run as the image's user 65532, non-root: %+v", sc)
	case sc.FSGroup == nil || *sc.FSGroup != 65532:
		t.Errorf("the pod sets no fsGroup 65532: its volumes are not writable for the runner (%+v)", sc)
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		switch {
		case v.EmptyDir != nil:
		case v.ConfigMap != nil:
			if _, ok := m.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s mounts ConfigMap %s, which the manifest does not define", v.Name, v.ConfigMap.Name)
			}
		case v.Secret != nil:
			if _, ok := m.secrets[v.Secret.SecretName]; !ok {
				t.Errorf("volume %s mounts Secret %s, which the manifest does not define", v.Name, v.Secret.SecretName)
			}
		default:
			t.Errorf("volume %s is not emptyDir, configMap or secret: not every cluster can provide it", v.Name)
		}
	}

	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the one load runner", len(pod.Containers))
	}
	c := pod.Containers[0]
	args := strings.Join(append(append([]string(nil), c.Command...), c.Args...), " ")
	for _, env := range c.Env {
		if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := env.ValueFrom.SecretKeyRef
		secret, ok := m.secrets[ref.Name]
		if !ok {
			t.Errorf("env %s reads Secret %s, which the manifest does not define", env.Name, ref.Name)
			continue
		}
		if _, ok := secret.StringData[ref.Key]; !ok {
			if _, ok := secret.Data[ref.Key]; !ok {
				t.Errorf("env %s reads key %s of Secret %s, which it does not have", env.Name, ref.Key, ref.Name)
			}
		}
	}
	for _, p := range c.Ports {
		if !strings.Contains(args, "--metrics-addr 0.0.0.0:"+itoa(p.ContainerPort)) {
			t.Errorf("port %s %d is declared, but the runner does not listen on it (--metrics-addr 0.0.0.0:%d): %s", p.Name, p.ContainerPort, p.ContainerPort, args)
		}
	}
	if strings.Contains(args, "--linger") && !strings.Contains(args, "--metrics-addr") {
		t.Error("--linger needs --metrics-addr")
	}

	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		if _, ok := volumes[vm.Name]; !ok {
			t.Errorf("mount %s names no volume of the pod", vm.Name)
		}
		mounts[vm.MountPath] = vm
	}
	readOnlyRoot := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	// Where the runner writes: --out's parent, and the temporary directory
	// (the fallback for results --out cannot take).
	out := regexp.MustCompile(`--out (/[^/ ]+)`).FindStringSubmatch(args)
	if out == nil {
		t.Fatalf("the runner has no absolute --out: %s", args)
	}
	for _, dir := range []string{out[1], "/tmp"} {
		vm, ok := mounts[dir]
		switch {
		case !ok && readOnlyRoot:
			t.Errorf("the root file system is read-only and %s is no volume: the runner cannot write there", dir)
		case ok && vm.ReadOnly:
			t.Errorf("%s is mounted read-only", dir)
		}
	}

	// The plan and the target profile the pods read parse, with the secret
	// the Secret provides.
	cm, ok := m.configMaps["grantbench-load"]
	if !ok {
		t.Fatal("no ConfigMap grantbench-load")
	}
	if _, err := runner.ParsePlan([]byte(cm.Data["scenario.yaml"]), grants.Table); err != nil {
		t.Errorf("the Job's scenario: %v", err)
	}
	t.Setenv("GRANTBENCH_CLIENT_SECRET", "from-the-secret")
	if _, err := flows.ParseTarget([]byte(cm.Data["target.yaml"])); err != nil {
		t.Errorf("the Job's target profile: %v", err)
	}
}

// TestKubernetesManifestDecodingIsStrict: the validator refuses what the API
// server would, so the test above cannot pass on a manifest with a typo.
func TestKubernetesManifestDecodingIsStrict(t *testing.T) {
	good, err := os.ReadFile("k8s/load-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"misspelt field": func(b []byte) []byte { return bytes.Replace(b, []byte("backoffLimit:"), []byte("backofLimit:"), 1) },
		"wrong type": func(b []byte) []byte {
			return bytes.Replace(b, []byte("completions: 4"), []byte("completions: four"), 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			bad := mutate(good)
			if bytes.Equal(bad, good) {
				t.Fatal("the mutation changed nothing")
			}
			var job batchv1.Job
			docs := regexp.MustCompile(`(?m)^---\s*$`).Split(string(bad), -1)
			if err := k8syaml.UnmarshalStrict([]byte(docs[len(docs)-1]), &job); err == nil {
				t.Error("strict decoding accepted it")
			}
		})
	}
}

func itoa(n int32) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}
