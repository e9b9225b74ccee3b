package inputs

import "testing"

func TestSame(t *testing.T) {
	var none []string
	cases := []struct {
		a, b any
		want bool
	}{
		{none, []string{}, true},
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a"}, []string{"b"}, false},
		{[]string{"a"}, none, false},
		{"x", "x", true},
		{1, 2, false},
	}
	for _, c := range cases {
		if got := Same(c.a, c.b); got != c.want {
			t.Errorf("Same(%#v, %#v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
