// Package inputs holds helpers shared by the provider's resource diffs.
package inputs

import "reflect"

// Same compares two input values, treating nil and empty slices alike (the
// engine sends an unset list as absent, the state may hold it as empty).
func Same(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice && va.Len() == 0 && vb.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
