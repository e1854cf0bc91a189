// Package deploy_test checks the deployment files against the bot they
// deploy: the Kubernetes manifest must give a configuration the bot
// accepts, the container build must use the Go of go.mod, and the systemd
// unit must treat exit statuses as the bot means them.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
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

// minGracePeriod is what the bot needs to stop cleanly after SIGTERM: it
// exits within 5 s (README, "Running in production"), with room to spare.
const minGracePeriod = 10 * time.Second

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
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env            []envVar `yaml:"env"`
	EnvFrom        []any    `yaml:"envFrom"`
	ReadinessProbe *probe   `yaml:"readinessProbe"`
	LivenessProbe  *probe   `yaml:"livenessProbe"`
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

func loadManifest(t *testing.T) manifest {
	t.Helper()
	data, err := os.ReadFile("k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("k8s.yaml document %d: %v", len(m.objects)+1, err)
		}
		if o.Kind == "" {
			continue // an empty document: a leading "---"
		}
		m.objects = append(m.objects, o)
	}
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

// env is the container's environment as the pod would see it.
func (m manifest) env(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, v := range m.container.Env {
		from, value, ok := m.source(v)
		if !ok {
			t.Errorf("%s: its %s reference points at nothing in k8s.yaml", v.Name, from)
			continue
		}
		if _, dup := env[v.Name]; dup {
			t.Errorf("%s is set twice", v.Name)
		}
		env[v.Name] = value
	}
	return env
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
	// Kubernetes' default is 30 s; an explicit, shorter one must still
	// cover the bot's shutdown.
	if grace := d.Template.Spec.TerminationGracePeriodSeconds; grace != nil && time.Duration(*grace)*time.Second < minGracePeriod {
		t.Errorf("terminationGracePeriodSeconds = %d, want at least %s", *grace, minGracePeriod)
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

func TestManifestTakesSecretsFromTheSecret(t *testing.T) {
	m := loadManifest(t)
	if len(m.container.EnvFrom) > 0 {
		t.Errorf("envFrom is used: list each variable, so that each one's source can be reviewed")
	}
	byName := map[string]envVar{}
	for _, v := range m.container.Env {
		byName[v.Name] = v
	}
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
		// Replicas need it; it holds a password when Redis has one.
		{"REDIS_URL", []string{"secret", "configmap"}},
	}
	for _, tc := range tests {
		v, ok := byName[tc.name]
		if !ok {
			t.Errorf("%s: not set", tc.name)
			continue
		}
		from, value, ok := m.source(v)
		switch {
		case !slices.Contains(tc.froms, from):
			t.Errorf("%s comes from %q, want a reference to one of %v", tc.name, from, tc.froms)
		case !ok || value == "":
			t.Errorf("%s: its %s has no value for it", tc.name, from)
		}
	}
	// A Secret's value never sits in the ConfigMap by mistake.
	for _, c := range m.find("ConfigMap", "") {
		for _, secret := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCESS_TOKEN"} {
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
		// SIGTERM is the graceful stop; the bot needs 5 s.
		{"KillSignal", "SIGTERM"},
		{"TimeoutStopSec", "15s"},
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
