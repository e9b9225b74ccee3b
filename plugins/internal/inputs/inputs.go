// Package inputs holds helpers shared by the provider's resource diffs.
package inputs

import (
	"reflect"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
)

// Same compares two input values, treating nil and empty slices alike (the
// engine sends an unset list as absent, the state may hold it as empty).
func Same(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice && va.Len() == 0 && vb.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// Diff compares every input field of two Args structs (the fields with a
// `pulumi` tag, embedded structs included), so a new input can never be left
// out of a resource's diff. A field tagged `provider:"replaceOnChanges"` is
// replaced on a change; one tagged `diff:"ignore"` says how a change is made,
// not what is wanted, and is left out; any other is updated in place.
func Diff(olds, news any) map[string]p.PropertyDiff {
	diff := map[string]p.PropertyDiff{}
	diffFields(reflect.ValueOf(olds), reflect.ValueOf(news), diff)
	return diff
}

func diffFields(o, n reflect.Value, diff map[string]p.PropertyDiff) {
	t := o.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			diffFields(o.Field(i), n.Field(i), diff)
			continue
		}
		tag, ok := f.Tag.Lookup("pulumi")
		if !ok || f.Tag.Get("diff") == "ignore" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if Same(o.Field(i).Interface(), n.Field(i).Interface()) {
			continue
		}
		kind := p.Update
		if slices.Contains(strings.Split(f.Tag.Get("provider"), ","), "replaceOnChanges") {
			kind = p.UpdateReplace
		}
		diff[name] = p.PropertyDiff{Kind: kind, InputDiff: true}
	}
}
