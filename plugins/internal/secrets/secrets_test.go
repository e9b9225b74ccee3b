package secrets

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/GehirnInc/crypt/sha512_crypt"
	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

func TestRandomString(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []int{1, 16, 32, 33, 100} {
		s, err := RandomString(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != n || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(s) {
			t.Fatalf("RandomString(%d) = %q", n, s)
		}
		if seen[s] {
			t.Fatalf("RandomString repeated %q", s)
		}
		seen[s] = true
	}
	for _, n := range []int{0, -1, 5000} {
		if _, err := RandomString(n); err == nil {
			t.Fatalf("RandomString(%d) should fail", n)
		}
	}
}

func TestNewKeyPairSignsAndVerifies(t *testing.T) {
	priv, pub, err := NewKeyPair("thesis-cluster-test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(priv, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Fatalf("private key is not in OpenSSH format: %.40q", priv)
	}
	signer, err := ssh.ParsePrivateKey([]byte(priv))
	if err != nil {
		t.Fatal(err)
	}
	authorized, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	if comment != "thesis-cluster-test" {
		t.Fatalf("comment = %q", comment)
	}
	sig, err := signer.Sign(nil, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := authorized.Verify([]byte("data"), sig); err != nil {
		t.Fatalf("public key does not verify the private key's signature: %v", err)
	}
}

func TestShadowHashVerifies(t *testing.T) {
	h, err := ShadowHash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$6$") {
		t.Fatalf("not a SHA-512 crypt hash: %q", h)
	}
	c := sha512_crypt.New()
	if err := c.Verify(h, []byte("s3cret")); err != nil {
		t.Fatalf("hash does not verify: %v", err)
	}
	if err := c.Verify(h, []byte("other")); err == nil {
		t.Fatal("a wrong password verifies")
	}
	if h2, _ := ShadowHash("s3cret"); h2 == h {
		t.Fatal("the salt must be random")
	}
}

func TestBcryptHashVerifies(t *testing.T) {
	h, err := BcryptHash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$10$") {
		t.Fatalf("not a bcrypt hash at cost 10: %q", h)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")); err != nil {
		t.Fatalf("hash does not verify: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("other")); err == nil {
		t.Fatal("a wrong password verifies")
	}
	if h2, _ := BcryptHash("s3cret"); h2 == h {
		t.Fatal("the salt must be random")
	}
}

func TestRandomSecretBcryptOnlyWhereItFits(t *testing.T) {
	for _, n := range []int{24, 72, 73, 128} {
		resp, err := RandomSecret{}.Create(context.Background(), infer.CreateRequest[RandomSecretArgs]{Inputs: RandomSecretArgs{Length: n}})
		if err != nil {
			t.Fatalf("length %d: %v", n, err)
		}
		s := resp.Output
		if n > 72 {
			if s.Bcrypt != "" {
				t.Fatalf("length %d: a bcrypt hash of a value bcrypt cuts short", n)
			}
			continue
		}
		if err := bcrypt.CompareHashAndPassword([]byte(s.Bcrypt), []byte(s.Value)); err != nil {
			t.Fatalf("length %d: bcrypt hash does not verify the value: %v", n, err)
		}
	}
}
