// Package deploy_test checks the deployment files against the bot they
// deploy: the Kubernetes manifest must give a configuration the bot
// accepts, the container build must use the Go of go.mod, the systemd
// unit must treat exit statuses as the bot means them, Redis must keep
// what the replicas share, and every shutdown timing must cover the
// code's.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/config"
)

// slackConnectionCap is how many Socket Mode connections Slack allows one
// app: every replica holds one.
const slackConnectionCap = 10

// object is one document of the manifest, with the fields these tests
// read.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
}

type deploymentSpec struct {
	Replicas *int `yaml:"replicas"`
	Strategy struct {
		RollingUpdate struct {
			MaxSurge yaml.Node `yaml:"maxSurge"`
		} `yaml:"rollingUpdate"`
	} `yaml:"strategy"`
	Template struct {
		Spec struct {
			TerminationGracePeriodSeconds *int        `yaml:"terminationGracePeriodSeconds"`
			Containers                    []container `yaml:"containers"`
			Volumes                       []struct {
				Name      string `yaml:"name"`
				ConfigMap *struct {
					Name  string `yaml:"name"`
					Items []struct {
						Key  string `yaml:"key"`
						Path string `yaml:"path"`
					} `yaml:"items"`
				} `yaml:"configMap"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env            []envVar      `yaml:"env"`
	EnvFrom        []envFromItem `yaml:"envFrom"`
	ReadinessProbe *probe        `yaml:"readinessProbe"`
	LivenessProbe  *probe        `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

// envFromItem takes every key of a ConfigMap or a Secret as a variable.
type envFromItem struct {
	Prefix       string `yaml:"prefix"`
	ConfigMapRef *struct {
		Name     string `yaml:"name"`
		Optional bool   `yaml:"optional"`
	} `yaml:"configMapRef"`
	SecretRef *struct {
		Name     string `yaml:"name"`
		Optional bool   `yaml:"optional"`
	} `yaml:"secretRef"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type probe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"`
	} `yaml:"httpGet"`
}

// manifest is k8s.yaml, parsed.
type manifest struct {
	objects    []object
	deployment deploymentSpec
	container  container
}

// loadObjects parses every document of a manifest file.
func loadObjects(t *testing.T, name string) []object {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var objects []object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s document %d: %v", name, len(objects)+1, err)
		}
		if o.Kind == "" {
			continue // an empty document: a leading "---"
		}
		objects = append(objects, o)
	}
	return objects
}

func loadManifest(t *testing.T) manifest {
	t.Helper()
	m := manifest{objects: loadObjects(t, "k8s.yaml")}
	deployments := m.find("Deployment", "")
	if len(deployments) != 1 {
		t.Fatalf("k8s.yaml has %d Deployments, want 1", len(deployments))
	}
	if err := deployments[0].Spec.Decode(&m.deployment); err != nil {
		t.Fatalf("Deployment spec: %v", err)
	}
	if n := len(m.deployment.Template.Spec.Containers); n != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", n)
	}
	m.container = m.deployment.Template.Spec.Containers[0]
	return m
}

// find returns the objects of a kind, all or the one named.
func (m manifest) find(kind, name string) []object {
	var found []object
	for _, o := range m.objects {
		if o.Kind == kind && (name == "" || o.Metadata.Name == name) {
			found = append(found, o)
		}
	}
	return found
}

// source says where a container variable comes from: "secret",
// "configmap" or "value", and its value as the pod would see it; ok is
// false when the reference points at nothing in the manifest.
func (m manifest) source(v envVar) (from, value string, ok bool) {
	switch {
	case v.Value != nil:
		return "value", *v.Value, true
	case v.ValueFrom == nil:
		return "", "", false
	case v.ValueFrom.SecretKeyRef != nil:
		ref := v.ValueFrom.SecretKeyRef
		for _, s := range m.find("Secret", ref.Name) {
			if val, ok := s.StringData[ref.Key]; ok {
				return "secret", val, true
			}
			if _, ok := s.Data[ref.Key]; ok {
				return "secret", "(base64)", true
			}
		}
		return "secret", "", ref.Optional
	case v.ValueFrom.ConfigMapKeyRef != nil:
		ref := v.ValueFrom.ConfigMapKeyRef
		for _, c := range m.find("ConfigMap", ref.Name) {
			if val, ok := c.Data[ref.Key]; ok {
				return "configmap", val, true
			}
		}
		return "configmap", "", ref.Optional
	}
	return "", "", false
}

// env is the container's environment as the pod would see it: first
// every key of the envFrom sources, then the env list. A variable set
// twice is an error: which one wins is easy to misread.
func (m manifest) env(t *testing.T) map[string]string {
	t.Helper()
	env, _ := m.envSources(t)
	return env
}

// envSources is env, and where each variable comes from: "secret",
// "configmap" or "value".
func (m manifest) envSources(t *testing.T) (env, from map[string]string) {
	t.Helper()
	env, from = map[string]string{}, map[string]string{}
	set := func(name, source, value string) {
		if prev, dup := from[name]; dup {
			t.Errorf("%s is set twice (from the %s and from the %s)", name, prev, source)
		}
		env[name], from[name] = value, source
	}
	for _, ef := range m.container.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cms := m.find("ConfigMap", ef.ConfigMapRef.Name)
			if len(cms) == 0 && !ef.ConfigMapRef.Optional {
				t.Errorf("envFrom: ConfigMap %s is not in k8s.yaml", ef.ConfigMapRef.Name)
			}
			for _, cm := range cms {
				for k, v := range cm.Data {
					set(ef.Prefix+k, "configmap", v)
				}
			}
		case ef.SecretRef != nil:
			secrets := m.find("Secret", ef.SecretRef.Name)
			if len(secrets) == 0 && !ef.SecretRef.Optional {
				t.Errorf("envFrom: Secret %s is not in k8s.yaml", ef.SecretRef.Name)
			}
			for _, s := range secrets {
				for k, v := range s.StringData {
					set(ef.Prefix+k, "secret", v)
				}
				for k := range s.Data {
					set(ef.Prefix+k, "secret", "(base64)")
				}
			}
		default:
			t.Errorf("envFrom entry with neither configMapRef nor secretRef")
		}
	}
	for _, v := range m.container.Env {
		source, value, ok := m.source(v)
		if !ok {
			t.Errorf("%s: its %s reference points at nothing in k8s.yaml", v.Name, source)
			continue
		}
		set(v.Name, source, value)
	}
	return env, from
}

// port resolves a probe's port, a number or a container port's name.
func (m manifest) port(t *testing.T, n yaml.Node) int {
	t.Helper()
	if p, err := strconv.Atoi(n.Value); err == nil {
		return p
	}
	for _, p := range m.container.Ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	t.Errorf("probe port %q is not a container port", n.Value)
	return 0
}

func TestManifestDeploysThreeReplicasWithinSlacksCap(t *testing.T) {
	m := loadManifest(t)
	d := m.deployment
	if d.Replicas == nil {
		t.Fatal("replicas: not set (Kubernetes would run 1), want 3")
	}
	if *d.Replicas != 3 {
		t.Fatalf("replicas = %d, want 3", *d.Replicas)
	}
	// A rollout runs the surge alongside: every pod holds a connection.
	surge, err := strconv.Atoi(d.Strategy.RollingUpdate.MaxSurge.Value)
	if err != nil {
		t.Fatalf("maxSurge %q: want a number of pods (a percentage hides how many connections a rollout opens)", d.Strategy.RollingUpdate.MaxSurge.Value)
	}
	if *d.Replicas+surge > slackConnectionCap {
		t.Errorf("replicas %d + maxSurge %d = %d Socket Mode connections during a rollout, want at most Slack's %d",
			*d.Replicas, surge, *d.Replicas+surge, slackConnectionCap)
	}
	if pdbs := m.find("PodDisruptionBudget", ""); len(pdbs) != 1 {
		t.Errorf("%d PodDisruptionBudgets, want 1", len(pdbs))
	}
}

func TestManifestProbesServeTheHealthEndpoints(t *testing.T) {
	m := loadManifest(t)
	env := m.env(t)
	_, httpPort, err := net.SplitHostPort(env["HTTP_ADDR"])
	if err != nil {
		t.Fatalf("HTTP_ADDR %q: %v", env["HTTP_ADDR"], err)
	}
	tests := []struct {
		name  string
		probe *probe
		path  string
	}{
		// Readiness: the socket is up and the contact center answers.
		{"readiness", m.container.ReadinessProbe, "/readyz"},
		// Liveness: the process answers.
		{"liveness", m.container.LivenessProbe, "/healthz"},
	}
	for _, tc := range tests {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s probe: none, want GET %s", tc.name, tc.path)
			continue
		}
		if got := tc.probe.HTTPGet.Path; got != tc.path {
			t.Errorf("%s probe path = %q, want %q", tc.name, got, tc.path)
		}
		if got := strconv.Itoa(m.port(t, tc.probe.HTTPGet.Port)); got != httpPort {
			t.Errorf("%s probe port = %s, want HTTP_ADDR's %s", tc.name, got, httpPort)
		}
	}
}

// TestDeployManifestTakesEveryVariableFromConfigMapAndSecret: the
// container takes every key of the ConfigMap and of the Secret (envFrom),
// so a variable added to either reaches the bot; a list of variables in
// the Deployment would silently miss the ones not on it.
func TestDeployManifestTakesEveryVariableFromConfigMapAndSecret(t *testing.T) {
	m := loadManifest(t)
	var configMaps, secrets []string
	for _, ef := range m.container.EnvFrom {
		if ef.Prefix != "" {
			t.Errorf("envFrom prefix %q: the bot reads its variables by their own names", ef.Prefix)
		}
		if ef.ConfigMapRef != nil {
			configMaps = append(configMaps, ef.ConfigMapRef.Name)
		}
		if ef.SecretRef != nil {
			secrets = append(secrets, ef.SecretRef.Name)
		}
	}
	if !slices.Contains(configMaps, "presence-bot-config") || !slices.Contains(secrets, "presence-bot-secrets") {
		t.Errorf("envFrom takes ConfigMaps %v and Secrets %v, want presence-bot-config and presence-bot-secrets", configMaps, secrets)
	}
	if len(m.container.Env) > 0 {
		t.Errorf("the container lists %d variables in env: put them in the ConfigMap or the Secret, which envFrom takes whole", len(m.container.Env))
	}

	env, from := m.envSources(t)
	tests := []struct {
		name  string
		froms []string // where it may come from
	}{
		// The tokens are secrets.
		{"SLACK_APP_TOKEN", []string{"secret"}},
		{"SLACK_BOT_TOKEN", []string{"secret"}},
		{"EXOTEL_ACCESS_TOKEN", []string{"secret"}},
		// Required but not secret: the Secret or the ConfigMap.
		{"EXOTEL_ACCOUNT_SID", []string{"secret", "configmap"}},
		// Replicas need it; it holds Redis's password.
		{"REDIS_URL", []string{"secret"}},
	}
	for _, tc := range tests {
		switch {
		case from[tc.name] == "":
			t.Errorf("%s: not set", tc.name)
		case !slices.Contains(tc.froms, from[tc.name]):
			t.Errorf("%s comes from the %s, want one of %v", tc.name, from[tc.name], tc.froms)
		case env[tc.name] == "":
			t.Errorf("%s: its %s has no value for it", tc.name, from[tc.name])
		}
	}
	// A Secret's value never sits in a ConfigMap by mistake.
	for _, c := range m.find("ConfigMap", "") {
		for _, secret := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCESS_TOKEN", "REDIS_URL"} {
			if _, ok := c.Data[secret]; ok {
				t.Errorf("ConfigMap %s holds %s, a secret", c.Metadata.Name, secret)
			}
		}
	}
}

// TestManifestConfigurationIsValid loads the pod's environment the way the
// bot does: every variable must be one the bot reads, and together they
// must pass its validation, the mounted mapping file included.
func TestManifestConfigurationIsValid(t *testing.T) {
	m := loadManifest(t)
	env := m.env(t)
	known := knownVariables(t)
	for name := range env {
		if !known[name] {
			t.Errorf("%s is not a variable presence-bot reads (see .env.example)", name)
		}
	}

	// The mapping file is the ConfigMap key mounted at AGENT_MAP_FILE.
	mapFile := env["AGENT_MAP_FILE"]
	mounted := m.mountedFiles()
	content, ok := mounted[mapFile]
	if !ok {
		t.Fatalf("AGENT_MAP_FILE %q is not a file mounted from a ConfigMap (mounted: %v)", mapFile, mounted)
	}
	if _, err := agentmap.Parse([]byte(content)); err != nil {
		t.Errorf("the mounted %s does not parse: %v", mapFile, err)
	}
	local := filepath.Join(t.TempDir(), "agents.yml")
	if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	stat := func(name string) (fs.FileInfo, error) {
		if name == mapFile {
			return os.Stat(local)
		}
		return nil, fs.ErrNotExist
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, config.WithStat(stat))
	if err != nil {
		t.Fatalf("the bot refuses the manifest's configuration: %v", err)
	}
	if cfg.Redis.URL == "" {
		t.Errorf("REDIS_URL is empty: replicas would each run every scheduled job")
	}
	if cfg.HTTPAddr == "" {
		t.Errorf("HTTP_ADDR is empty: the probes would find nothing")
	}
	// The shipped configuration starts without a warning: a setting the
	// bot would ignore (a threshold without its channel) teaches operators
	// to read past warnings.
	for _, p := range append(cfg.Ignored, cfg.Unknown...) {
		t.Errorf("the manifest's configuration draws a warning: %s", p)
	}
}

// mountedFiles maps each file mounted from a ConfigMap key to its content.
func (m manifest) mountedFiles() map[string]string {
	files := map[string]string{}
	for _, vm := range m.container.VolumeMounts {
		for _, v := range m.deployment.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			for _, cm := range m.find("ConfigMap", v.ConfigMap.Name) {
				for _, item := range v.ConfigMap.Items {
					files[path.Join(vm.MountPath, item.Path)] = cm.Data[item.Key]
				}
			}
		}
	}
	return files
}

// knownVariables are the variables .env.example documents, set or
// commented out: every one the bot reads.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`)
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			known[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !known["SLACK_APP_TOKEN"] || !known["REDIS_URL"] {
		t.Fatalf(".env.example lists %d variables, without SLACK_APP_TOKEN or REDIS_URL: not the file expected", len(known))
	}
	return known
}

func TestManifestSizesMemoryFromTheBenchmark(t *testing.T) {
	m := loadManifest(t)
	// The benchmark's peak RSS (60 MB target with 5,000 agents): the
	// request covers it, the limit leaves room for a spike.
	const peakRSS = 60 << 20
	req, err := mebibytes(m.container.Resources.Requests["memory"])
	if err != nil {
		t.Fatalf("memory request: %v", err)
	}
	limit, err := mebibytes(m.container.Resources.Limits["memory"])
	if err != nil {
		t.Fatalf("memory limit: %v", err)
	}
	if req < peakRSS || limit < req || limit < 2*peakRSS {
		t.Errorf("memory request %d MiB, limit %d MiB; want a request of at least the peak RSS (%d MiB) and a limit of twice that",
			req>>20, limit>>20, peakRSS>>20)
	}
}

// mebibytes reads a Kubernetes memory quantity in Mi or Gi.
func mebibytes(q string) (int64, error) {
	for suffix, shift := range map[string]uint{"Mi": 20, "Gi": 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return 0, err
			}
			return v << shift, nil
		}
	}
	return 0, errors.New("quantity " + strconv.Quote(q) + ": want Mi or Gi")
}

func TestDockerfileBuildsAStaticBinaryWithGoModsGo(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	var froms []string
	for line := range strings.Lines(string(data)) {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "FROM "); ok {
			froms = append(froms, strings.Fields(f)[0])
		}
	}
	if len(froms) != 2 {
		t.Fatalf("FROM lines %v, want a build stage and a run stage", froms)
	}
	tests := []struct {
		what, got, want string
	}{
		// The builder's Go is the one go.mod asks for.
		{"build image", froms[0], "golang:" + string(goLine[1])},
		// A static image: no libc, no shell, a non-root user.
		{"run image", froms[1], "gcr.io/distroless/static-debian12:nonroot"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
	// The distroless static image has no libc: the binary must not need one.
	if !strings.Contains(string(data), "CGO_ENABLED=0") {
		t.Errorf("the build does not set CGO_ENABLED=0: the binary may need a libc the image lacks")
	}
}

func TestSystemdUnitRestartsOnlyWhatARestartFixes(t *testing.T) {
	unit := readUnit(t, "presence-bot.service")
	tests := []struct {
		key, want string
	}{
		// Crashes and lost tokens at run time (exit 1) are retried…
		{"Restart", "on-failure"},
		// …configuration errors (exit 2) are not: a restart cannot fix them.
		{"RestartPreventExitStatus", "2"},
		// Secrets come from a file, not the unit.
		{"EnvironmentFile", "/etc/presence-bot/presence-bot.env"},
		// SIGTERM is the graceful stop (TimeoutStopSec: see
		// TestDeployShutdownTimingsAgree).
		{"KillSignal", "SIGTERM"},
		// No root, no new privileges.
		{"DynamicUser", "yes"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
	}
	for _, tc := range tests {
		if got := unit[tc.key]; !slices.Contains(got, tc.want) {
			t.Errorf("%s = %v, want %q", tc.key, got, tc.want)
		}
	}
	if secrets := []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCESS_TOKEN"}; slices.ContainsFunc(unit["Environment"], func(e string) bool {
		return slices.ContainsFunc(secrets, func(s string) bool { return strings.HasPrefix(e, s+"=") })
	}) {
		t.Errorf("the unit sets a secret in Environment=, readable by anyone who can read units: use EnvironmentFile")
	}
}

// readUnit reads a systemd unit's settings: key → values, all sections.
func readUnit(t *testing.T, name string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: %q is not key=value", name, line)
			continue
		}
		settings[k] = append(settings[k], v)
	}
	return settings
}

// TestDeployImagesArePinned: every image is a version (or a digest),
// never latest, which changes under a running Deployment and makes two
// pods of one ReplicaSet run different code; and the bot's image is the
// one deploy/README.md builds and pushes.
func TestDeployImagesArePinned(t *testing.T) {
	for _, file := range []string{"k8s.yaml", "redis.yaml"} {
		for _, o := range loadObjects(t, file) {
			if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
				continue
			}
			var spec workloadSpec
			if err := o.Spec.Decode(&spec); err != nil {
				t.Fatalf("%s %s: %v", file, o.Metadata.Name, err)
			}
			for _, c := range spec.Template.Spec.Containers {
				if problem := imageProblem(c.Image); problem != "" {
					t.Errorf("%s: %s %s, container %s: image %q %s", file, o.Kind, o.Metadata.Name, c.Name, c.Image, problem)
				}
			}
		}
	}
	image := loadManifest(t).container.Image
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"docker build -f deploy/Dockerfile -t " + image + " .",
		"docker push " + image,
		"ko build",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("deploy/README.md lacks %q: the build it documents is not the image k8s.yaml runs", want)
		}
	}
}

// imageProblem says what is wrong with an image reference, or "".
func imageProblem(ref string) string {
	if _, digest, ok := strings.Cut(ref, "@"); ok {
		if !strings.HasPrefix(digest, "sha256:") {
			return "has a digest that is not sha256:…"
		}
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return "has no tag: Kubernetes pulls latest"
	case tag == "latest":
		return "is latest: pin a version or a digest"
	}
	return ""
}

// workloadSpec is the spec of a Deployment or StatefulSet, with the
// fields these tests read.
type workloadSpec struct {
	Replicas *int `yaml:"replicas"`
	Template struct {
		Spec struct {
			Containers []container `yaml:"containers"`
			Volumes    []struct {
				Name                  string `yaml:"name"`
				PersistentVolumeClaim *struct {
					ClaimName string `yaml:"claimName"`
				} `yaml:"persistentVolumeClaim"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
	VolumeClaimTemplates []struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	} `yaml:"volumeClaimTemplates"`
}

// TestDeployRedisKeepsStateAndNeverEvicts: the Redis of redis.yaml is
// one instance on a persistent volume, logs every write (appendonly), and
// refuses writes when full rather than evict a key (noeviction): an
// evicted lock or duplicate check could post or run twice. The bot's
// REDIS_URL reaches it, with its password.
func TestDeployRedisKeepsStateAndNeverEvicts(t *testing.T) {
	objects := loadObjects(t, "redis.yaml")
	var workloads []object
	for _, o := range objects {
		if o.Kind == "StatefulSet" || o.Kind == "Deployment" {
			workloads = append(workloads, o)
		}
	}
	if len(workloads) != 1 {
		t.Fatalf("redis.yaml has %d StatefulSets and Deployments, want 1", len(workloads))
	}
	var spec workloadSpec
	if err := workloads[0].Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	// One Redis: two would each hold half the locks.
	if spec.Replicas == nil || *spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", spec.Replicas)
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Template.Spec.Containers))
	}
	c := spec.Template.Spec.Containers[0]
	settings := redisSettings(append(slices.Clone(c.Command), c.Args...))
	for key, want := range map[string]string{
		"appendonly":       "yes",
		"maxmemory-policy": "noeviction",
		"requirepass":      "$(REDIS_PASSWORD)",
		"appendfsync":      "everysec",
	} {
		if got := settings[key]; got != want {
			t.Errorf("redis-server --%s = %q, want %q", key, got, want)
		}
	}
	// The data directory is a persistent volume: an emptyDir would lose
	// the append-only file with the pod.
	persistent := map[string]bool{}
	for _, v := range spec.VolumeClaimTemplates {
		persistent[v.Metadata.Name] = true
	}
	for _, v := range spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			persistent[v.Name] = true
		}
	}
	dataOnVolume := false
	for _, vm := range c.VolumeMounts {
		if persistent[vm.Name] && vm.MountPath == settings["dir"] {
			dataOnVolume = true
		}
	}
	if !dataOnVolume {
		t.Errorf("redis-server --dir %q is not a mounted persistent volume (mounts %+v)", settings["dir"], c.VolumeMounts)
	}

	// The bot's REDIS_URL names this Redis's Service and port, and its
	// password is the one Redis is given.
	redisURL := loadManifest(t).env(t)["REDIS_URL"]
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", redisURL, err)
	}
	var svc struct {
		Ports []struct {
			Port int `yaml:"port"`
		} `yaml:"ports"`
	}
	found := false
	for _, o := range objects {
		if o.Kind == "Service" && o.Metadata.Name == u.Hostname() {
			if err := o.Spec.Decode(&svc); err != nil {
				t.Fatal(err)
			}
			found = len(svc.Ports) == 1 && strconv.Itoa(svc.Ports[0].Port) == u.Port()
		}
	}
	if !found {
		t.Errorf("REDIS_URL's host %s and port %s are not a Service of redis.yaml", u.Hostname(), u.Port())
	}
	var passwordRef *keyRef
	for _, v := range c.Env {
		if v.Name == "REDIS_PASSWORD" && v.ValueFrom != nil {
			passwordRef = v.ValueFrom.SecretKeyRef
		}
	}
	if passwordRef == nil {
		t.Fatalf("REDIS_PASSWORD does not come from a Secret")
	}
	password, _ := u.User.Password()
	for _, o := range objects {
		if o.Kind == "Secret" && o.Metadata.Name == passwordRef.Name {
			if got := o.StringData[passwordRef.Key]; got != password {
				t.Errorf("Redis's password %q and REDIS_URL's %q differ: the bot could not log in", got, password)
			}
			return
		}
	}
	t.Errorf("Secret %s is not in redis.yaml", passwordRef.Name)
}

// redisSettings reads redis-server's command line, --key value …
func redisSettings(args []string) map[string]string {
	settings := map[string]string{}
	for i := 0; i < len(args); i++ {
		if key, ok := strings.CutPrefix(args[i], "--"); ok && i+1 < len(args) {
			settings[key] = args[i+1]
			i++
		}
	}
	return settings
}

// shutdownMargin is the room a grace period leaves over the documented
// shutdown bound: a loaded node, a slow last answer.
const shutdownMargin = 5 * time.Second

// TestDeployShutdownTimingsAgree: the code's shutdown budget fits the
// bound the README promises ("within 5 s"), and every grace period
// (Kubernetes' terminationGracePeriodSeconds, systemd's TimeoutStopSec)
// covers that bound with room to spare; the docs name the same numbers
// as the code and the files.
func TestDeployShutdownTimingsAgree(t *testing.T) {
	// From SIGTERM: the bot drains its commands (DefaultDrainTimeout), makes
	// a last try at each answer (lateDeliveryTimeout), waits for work that
	// ignores cancellation (abandonAfter); then the app stops the scheduled
	// jobs (shutdownTimeout) and the health server (httpShutdownTimeout).
	botConsts := goDurations(t, filepath.Join("..", "bot", "bot.go"))
	appConsts := goDurations(t, filepath.Join("..", "app", "app.go"))
	var budget time.Duration
	for _, c := range []struct {
		consts map[string]time.Duration
		name   string
	}{
		{botConsts, "DefaultDrainTimeout"},
		{botConsts, "lateDeliveryTimeout"},
		{botConsts, "abandonAfter"},
		{appConsts, "shutdownTimeout"},
		{appConsts, "httpShutdownTimeout"},
	} {
		d, ok := c.consts[c.name]
		if !ok {
			t.Fatalf("no duration constant %s: this test sums the shutdown budget from it", c.name)
		}
		budget += d
	}

	readme := section(t, filepath.Join("..", "README.md"), "## Running in production")
	deployDoc := readText(t, "README.md")
	manifestText := readText(t, "k8s.yaml")
	unitText := readText(t, "presence-bot.service")

	// The promise: "exits 0, within 5 s".
	bound := 0 * time.Second
	for _, doc := range []struct{ name, text string }{
		{"README.md (Running in production)", readme},
		{"deploy/README.md", deployDoc},
		{"k8s.yaml", manifestText},
		{"presence-bot.service", unitText},
	} {
		ms := regexp.MustCompile(`exits?(?: 0)?,? within (\d+) s\b`).FindAllStringSubmatch(doc.text, -1)
		if len(ms) == 0 && strings.Contains(doc.name, "README") {
			t.Errorf("%s does not say within how long the bot exits", doc.name)
		}
		for _, m := range ms {
			d := seconds(t, m[1])
			if bound == 0 {
				bound = d
			}
			if d != bound {
				t.Errorf("%s says the bot exits within %s, elsewhere %s", doc.name, d, bound)
			}
		}
		// "finishes the commands in flight (up to 2 s" is the drain.
		for _, m := range regexp.MustCompile(`in flight \(up to (\d+(?:\.\d+)?) s\b`).FindAllStringSubmatch(doc.text, -1) {
			if d := seconds(t, m[1]); d != botConsts["DefaultDrainTimeout"] {
				t.Errorf("%s says commands in flight are finished within %s; the code's drain is %s", doc.name, d, botConsts["DefaultDrainTimeout"])
			}
		}
	}
	if budget > bound {
		t.Errorf("the code's shutdown takes up to %s, more than the %s the docs promise", budget, bound)
	}
	need := bound + shutdownMargin
	t.Logf("shutdown: up to %s by the code, %s promised, grace periods of at least %s needed", budget, bound, need)

	if m := regexp.MustCompile(`grace period of (\d+) s or more`).FindStringSubmatch(readme); m == nil {
		t.Errorf("README.md (Running in production) does not say what grace period to give")
	} else if d := seconds(t, m[1]); d < need {
		t.Errorf("README.md advises a grace period of %s, want at least %s (%s + %s margin)", d, need, bound, shutdownMargin)
	}

	// Kubernetes: unset is 30 s.
	grace := 30 * time.Second
	if g := loadManifest(t).deployment.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace < need {
		t.Errorf("terminationGracePeriodSeconds = %s, want at least %s (%s + %s margin)", grace, need, bound, shutdownMargin)
	}
	if m := regexp.MustCompile("`terminationGracePeriodSeconds: (\\d+)`").FindStringSubmatch(deployDoc); m == nil || seconds(t, m[1]) != grace {
		t.Errorf("deploy/README.md does not give k8s.yaml's terminationGracePeriodSeconds (%s): %v", grace, m)
	}

	// systemd: unset is DefaultTimeoutStopSec, 90 s.
	stop := 90 * time.Second
	if v := readUnit(t, "presence-bot.service")["TimeoutStopSec"]; len(v) > 0 {
		d, err := time.ParseDuration(strings.TrimSpace(v[len(v)-1]))
		if err != nil {
			d = seconds(t, strings.TrimSpace(v[len(v)-1]))
		}
		stop = d
	}
	if stop < need {
		t.Errorf("TimeoutStopSec = %s, want at least %s (%s + %s margin)", stop, need, bound, shutdownMargin)
	}
	if m := regexp.MustCompile("`TimeoutStopSec=(\\d+)s`").FindStringSubmatch(deployDoc); m == nil || seconds(t, m[1]) != stop {
		t.Errorf("deploy/README.md does not give the unit's TimeoutStopSec (%s): %v", stop, m)
	}
}

// readText reads a file as prose: comment marks and line breaks become
// single spaces, so a phrase split over two lines is still found.
func readText(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`\s*\n\s*#*\s*`).ReplaceAllString(string(data), " ")
}

// section is the text of a Markdown section of a file (see rawSection),
// as prose: line breaks become single spaces.
func section(t *testing.T, name, heading string) string {
	t.Helper()
	return regexp.MustCompile(`\s*\n\s*`).ReplaceAllString(rawSection(t, name, heading), " ")
}

func seconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number of seconds", s)
	}
	return time.Duration(f * float64(time.Second))
}

// goDurations evaluates a Go file's constant declarations that are
// durations written as literals times time units (2 * time.Second,
// 750 * time.Millisecond, time.Second), sums and other constants of the
// same file: enough for timeouts, without compiling the package.
func goDurations(t *testing.T, file string) map[string]time.Duration {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]ast.Expr{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					exprs[name.Name] = vs.Values[i]
				}
			}
		}
	}
	units := map[string]time.Duration{
		"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond, "Millisecond": time.Millisecond,
		"Second": time.Second, "Minute": time.Minute, "Hour": time.Hour,
	}
	var eval func(e ast.Expr, depth int) (float64, bool)
	eval = func(e ast.Expr, depth int) (float64, bool) {
		if depth > 10 {
			return 0, false
		}
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.INT && e.Kind != token.FLOAT {
				return 0, false
			}
			v, err := strconv.ParseFloat(strings.ReplaceAll(e.Value, "_", ""), 64)
			return v, err == nil
		case *ast.ParenExpr:
			return eval(e.X, depth+1)
		case *ast.SelectorExpr:
			if pkg, ok := e.X.(*ast.Ident); ok && pkg.Name == "time" {
				u, ok := units[e.Sel.Name]
				return float64(u), ok
			}
		case *ast.Ident:
			if x, ok := exprs[e.Name]; ok {
				return eval(x, depth+1)
			}
		case *ast.BinaryExpr:
			x, okx := eval(e.X, depth+1)
			y, oky := eval(e.Y, depth+1)
			if !okx || !oky {
				return 0, false
			}
			switch e.Op {
			case token.ADD:
				return x + y, true
			case token.SUB:
				return x - y, true
			case token.MUL:
				return x * y, true
			case token.QUO:
				return x / y, y != 0
			}
		}
		return 0, false
	}
	durations := map[string]time.Duration{}
	for name, e := range exprs {
		if v, ok := eval(e, 0); ok {
			durations[name] = time.Duration(v)
		}
	}
	return durations
}
