package inputs

import (
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
)

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

type inner struct {
	Keys []string `pulumi:"keys,optional"`
}

type args struct {
	inner
	Name  string `pulumi:"name" provider:"replaceOnChanges"`
	Size  int    `pulumi:"size,optional"`
	Token string `pulumi:"token" provider:"secret,replaceOnChanges"`
	How   int    `pulumi:"how,optional" diff:"ignore"`
	note  string
}

func TestDiffCoversEveryInput(t *testing.T) {
	old := args{inner: inner{Keys: nil}, Name: "a", Size: 1, Token: "t", note: "x"}
	if d := Diff(old, args{inner: inner{Keys: []string{}}, Name: "a", Size: 1, Token: "t", note: "y"}); len(d) != 0 {
		t.Fatalf("no input changed, got %v", d)
	}
	if d := Diff(old, args{inner: inner{Keys: nil}, Name: "a", Size: 1, Token: "t", How: 3}); len(d) != 0 {
		t.Fatalf("only a diff:\"ignore\" input changed, got %v", d)
	}
	d := Diff(old, args{inner: inner{Keys: []string{"k"}}, Name: "b", Size: 2, Token: "u", How: 4})
	want := map[string]p.DiffKind{"keys": p.Update, "name": p.UpdateReplace, "size": p.Update, "token": p.UpdateReplace}
	if len(d) != len(want) {
		t.Fatalf("got %v, want %v", d, want)
	}
	for k, kind := range want {
		if d[k].Kind != kind || !d[k].InputDiff {
			t.Errorf("%s: got %+v, want kind %v", k, d[k], kind)
		}
	}
}
