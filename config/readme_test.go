package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// firstKeys are the keys the README's table must show: what an operator
// sets before the first real run. The table may show more.
var firstKeys = []string{
	"base_url", "secret", "newsroom.zone", "http.listen", "http.api_token", "database.url",
	"feeds.schedule", "smtp.url", "smtp.from", "brand.name", "log.format",
}

// tableRow is a row of the README's configuration table: | `key` | `default` | what |
var tableRow = regexp.MustCompile("^\\| `([^`]+)` \\| `([^`]*)` \\| (.+) \\|$")

// The README's configuration table is tested against the code, not a copy
// of it: each row names a key Config has, once, and shows as its default
// (a TOML value) exactly what Default() holds; the keys an operator sets
// first are all there. (config/example.toml is held to Default() by
// TestExampleMatchesDefaults.)
func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	def := reflect.ValueOf(Default())
	var seen []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not a | `key` | `default` | meaning | row: %s", line)
			continue
		}
		key, value := m[1], m[2]
		if slices.Contains(seen, key) {
			t.Errorf("%s: shown twice", key)
		}
		seen = append(seen, key)
		var got Config
		md, err := toml.Decode(key+" = "+value, &got)
		if err != nil {
			t.Errorf("%s: default `%s` is not a TOML value of the key's type: %v", key, value, err)
			continue
		}
		if u := md.Undecoded(); len(u) > 0 || !md.IsDefined(strings.Split(key, ".")...) {
			t.Errorf("%s: the README shows a key the configuration does not have", key)
			continue
		}
		want, _ := fieldAt(def, key)
		shown, _ := fieldAt(reflect.ValueOf(got), key)
		if !sameValue(shown, want) {
			t.Errorf("%s: the README shows the default `%s`, the code has `%s`", key, value, tomlValue(t, want))
		}
	}
	for _, k := range firstKeys {
		if !slices.Contains(seen, k) {
			t.Errorf("%s: missing from the README's configuration table", k)
		}
	}
	if len(seen) < len(firstKeys) {
		t.Errorf("the table has %d rows", len(seen))
	}
}

// tomlValue writes v as the value of a TOML key.
func tomlValue(t *testing.T, v reflect.Value) string {
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		return "[]"
	}
	b, err := toml.Marshal(map[string]any{"v": v.Interface()})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "v = "))
}

// fieldAt is the field of a Config value at a dotted TOML key.
func fieldAt(v reflect.Value, key string) (reflect.Value, bool) {
	for _, name := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			if n, ok := tomlKey(v.Type().Field(i)); ok && n == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// sameValue compares two field values; an empty list is an empty list
// whether it is nil or not.
func sameValue(a, b reflect.Value) bool {
	if a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// configKeys lists every key of Config, with "N" for the index of a list
// of tables (series.N.title).
func configKeys(t reflect.Type, prefix string, out map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		name, ok := tomlKey(t.Field(i))
		if !ok {
			continue
		}
		key, ft := prefix+name, t.Field(i).Type
		out[key] = true
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]():
			configKeys(ft, key+".", out)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			configKeys(ft.Elem(), key+".N.", out)
		}
	}
}

// A key the README or docs/ name in code (`feeds.hub_url`, `series.0.title`,
// `feeds.hub = "builtin"`) is a key the configuration has: a renamed or
// removed key cannot live on in the documentation.
func TestDocsNameOnlyConfigKeys(t *testing.T) {
	keys := map[string]bool{}
	configKeys(reflect.TypeFor[Config](), "", keys)
	tables := map[string]bool{}
	for k := range keys {
		if first, _, ok := strings.Cut(k, "."); ok {
			tables[first] = true
		}
	}
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	mention := regexp.MustCompile("`([a-z_]+(?:\\.[a-z0-9_]+)+)(?: = [^`]*)?`")
	index := regexp.MustCompile(`\.[0-9]+\.`)
	notKey := regexp.MustCompile(`\.(go|md|toml|org|com|net|example)$`) // files, hosts
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mention.FindAllStringSubmatch(string(b), -1) {
			key := m[1]
			first, _, _ := strings.Cut(key, ".")
			if !tables[first] || notKey.MatchString(key) {
				continue
			}
			checked++
			if !keys[index.ReplaceAllString(key, ".N.")] {
				t.Errorf("%s names `%s`, which is no configuration key", filepath.Base(f), key)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d key names found in the docs", checked)
	}
}
