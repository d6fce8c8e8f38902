// chart-render renders a Helm chart the way `helm template` does, for the
// chart's tests on machines without Helm: Go's text/template with Sprig
// (Debian's packages; the libraries Helm itself uses) plus Helm's own
// functions (include, tpl, required, fail, toYaml, fromYaml, lookup),
// values from values.yaml merged with -f files, and Helm's .Release,
// .Chart, .Capabilities, .Template and .Files (Get, Glob) objects.
//
//	chart-render -chart charts/metrics-adapter [-f values.yaml]... [-name release] [-namespace ns] [-show-only templates/x.yaml]... [-cluster objects.yaml] [-notes]
//
// -cluster: objects (YAML documents, e.g. an earlier render) that lookup
// finds, as if they were in the cluster (helm upgrade); without it lookup
// finds nothing, as in `helm template`. -notes: print NOTES.txt instead.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// apiVersions answers .Capabilities.APIVersions.Has as a cluster with the
// built-in groups would.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// chartFiles answers .Files as Helm does for the files outside templates/:
// Get returns a file's text ("" when missing), Glob the files matching a
// pattern (path/filepath syntax, relative to the chart), by name.
type chartFiles struct{ dir string }

func (f chartFiles) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	return string(b)
}

func (f chartFiles) Glob(pattern string) map[string][]byte {
	out := map[string][]byte{}
	filepath.Walk(f.dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(f.dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			return nil
		}
		if ok, _ := filepath.Match(pattern, rel); ok {
			if b, err := os.ReadFile(p); err == nil {
				out[rel] = b
			}
		}
		return nil
	})
	return out
}

func readYAML(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return m, nil
}

// merge overlays src on dst as Helm merges values files: maps merge key by
// key, anything else replaces, and null removes the key.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func toYAML(v interface{}) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// readObjects reads the YAML documents of a file, for lookup.
func readObjects(path string) ([]map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]interface{}
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out, nil
}

// lookupIn answers Helm's lookup from objects: one object by name (empty
// map when absent), or a list of the kind's objects when name is empty.
func lookupIn(objects []map[string]interface{}, apiVersion, kind, ns, name string) map[string]interface{} {
	var items []interface{}
	for _, o := range objects {
		meta, _ := o["metadata"].(map[string]interface{})
		if o["apiVersion"] != apiVersion || o["kind"] != kind {
			continue
		}
		if ns != "" && meta["namespace"] != ns {
			continue
		}
		if name == "" {
			items = append(items, o)
		} else if meta["name"] == name {
			return o
		}
	}
	if name == "" {
		return map[string]interface{}{"items": items}
	}
	return map[string]interface{}{}
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	clusterFile := flag.String("cluster", "", "objects lookup finds (YAML documents)")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt only")
	release := flag.String("name", "metrics-adapter", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	var files, only valueFiles
	flag.Var(&files, "f", "values file (repeatable; later ones win)")
	flag.Var(&only, "show-only", "only this template's output, e.g. templates/service.yaml (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "chart-render: -chart is required")
		os.Exit(2)
	}
	meta, err := readYAML(filepath.Join(*chartDir, "Chart.yaml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-render:", err)
		os.Exit(1)
	}
	values, err := readYAML(filepath.Join(*chartDir, "values.yaml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-render:", err)
		os.Exit(1)
	}
	for _, f := range files {
		over, err := readYAML(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chart-render:", err)
			os.Exit(1)
		}
		values = merge(values, over)
	}
	name, _ := meta["name"].(string)
	chart := map[string]interface{}{
		"Name": name, "Version": meta["version"], "AppVersion": meta["appVersion"],
		"Description": meta["description"], "Type": meta["type"], "KubeVersion": meta["kubeVersion"],
	}

	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, fmt.Errorf("%s", msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) }
	// helm template has no cluster: lookup finds nothing, unless -cluster.
	var cluster []map[string]interface{}
	if *clusterFile != "" {
		if cluster, err = readObjects(*clusterFile); err != nil {
			fmt.Fprintln(os.Stderr, "chart-render:", err)
			os.Exit(1)
		}
	}
	funcs["lookup"] = func(apiVersion, kind, ns, name string) (map[string]interface{}, error) {
		return lookupIn(cluster, apiVersion, kind, ns, name), nil
	}
	funcs["include"] = func(n string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, n, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	root.Funcs(funcs)

	tdir := filepath.Join(*chartDir, "templates")
	entries, err := os.ReadDir(tdir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-render:", err)
		os.Exit(1)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "chart-render:", err)
			os.Exit(1)
		}
		n := name + "/templates/" + e.Name()
		if _, err := root.New(n).Parse(string(b)); err != nil {
			fmt.Fprintln(os.Stderr, "chart-render: parse error:", err)
			os.Exit(1)
		}
		names = append(names, n)
	}
	sort.Strings(names)

	revision := 1
	if *clusterFile != "" {
		revision = 2
	}
	var out bytes.Buffer
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{
			"Values": values,
			"Chart":  chart,
			"Release": map[string]interface{}{
				"Name": *release, "Namespace": *namespace, "Service": "Helm",
				"IsInstall": *clusterFile == "", "IsUpgrade": *clusterFile != "", "Revision": revision,
			},
			"Capabilities": map[string]interface{}{
				"KubeVersion": map[string]interface{}{"Version": "v1.29.0", "GitVersion": "v1.29.0", "Major": "1", "Minor": "29"},
				"APIVersions": apiVersions{"v1", "apps/v1", "batch/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
					"apiregistration.k8s.io/v1", "autoscaling/v2", "networking.k8s.io/v1"},
			},
			"Template": map[string]interface{}{"Name": n, "BasePath": name + "/templates"},
			"Files":    chartFiles{*chartDir},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, data); err != nil {
			fmt.Fprintln(os.Stderr, "chart-render: render error:", err)
			os.Exit(1)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if *notes {
			if base == "NOTES.txt" {
				out.WriteString(text)
			}
			continue
		}
		if base == "NOTES.txt" || strings.TrimSpace(text) == "" {
			continue
		}
		if len(only) > 0 {
			wanted := false
			for _, o := range only {
				wanted = wanted || n == name+"/"+o
			}
			if !wanted {
				continue
			}
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, strings.TrimLeft(text, "\n"))
	}
	os.Stdout.Write(out.Bytes())
}
