// Package secrets holds resources that generate secret material inside the
// provider, so no secret is ever typed into stack config by hand. Values live
// in Pulumi state, encrypted as secrets.
package secrets

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/GehirnInc/crypt/sha512_crypt"
	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// RandomSecret is a random string of URL-safe characters.
type RandomSecret struct{}

// RandomSecretArgs are the inputs of a RandomSecret.
type RandomSecretArgs struct {
	// Length in characters; 32 when unset.
	Length int `pulumi:"length,optional"`
}

// RandomSecretState is what Pulumi keeps of a RandomSecret.
type RandomSecretState struct {
	RandomSecretArgs
	Value string `pulumi:"value" provider:"secret"`
	// Sha512Crypt is Value hashed for /etc/shadow ($6$, random salt), so a
	// password reaches a machine only as a hash.
	Sha512Crypt string `pulumi:"sha512Crypt" provider:"secret"`
	// Bcrypt is Value hashed with bcrypt (random salt), for HTTP basic auth
	// files that take only bcrypt (Prometheus's web config). Empty for a value
	// longer than bcrypt takes (72 bytes: keys, not passwords) and for a
	// secret made by a provider before it had this field.
	Bcrypt string `pulumi:"bcrypt,optional" provider:"secret"`
}

// Annotate documents the resource in the provider schema.
func (r *RandomSecret) Annotate(a infer.Annotator) {
	a.Describe(r, "A random URL-safe string, generated once and kept as a Pulumi secret.")
}

// RandomString returns n URL-safe random characters.
func RandomString(n int) (string, error) {
	if n <= 0 || n > 4096 {
		return "", fmt.Errorf("length must be between 1 and 4096, got %d", n)
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf)[:n], nil
}

// Create generates the value.
func (RandomSecret) Create(
	_ context.Context, req infer.CreateRequest[RandomSecretArgs],
) (infer.CreateResponse[RandomSecretState], error) {
	args := req.Inputs
	if args.Length == 0 {
		args.Length = 32
	}
	state := RandomSecretState{RandomSecretArgs: args}
	if req.DryRun {
		return infer.CreateResponse[RandomSecretState]{Output: state}, nil
	}
	v, err := RandomString(args.Length)
	if err != nil {
		return infer.CreateResponse[RandomSecretState]{}, err
	}
	state.Value = v
	if state.Sha512Crypt, err = ShadowHash(v); err != nil {
		return infer.CreateResponse[RandomSecretState]{}, err
	}
	if len(v) <= 72 {
		if state.Bcrypt, err = BcryptHash(v); err != nil {
			return infer.CreateResponse[RandomSecretState]{}, err
		}
	}
	id, err := RandomString(8)
	return infer.CreateResponse[RandomSecretState]{ID: id, Output: state}, err
}

// ShadowHash hashes a password with SHA-512 crypt and a random salt.
func ShadowHash(password string) (string, error) {
	return sha512_crypt.New().Generate([]byte(password), nil)
}

// BcryptHash hashes a password with bcrypt at the default cost and a random salt.
func BcryptHash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// SshKeyPair is an ed25519 key pair in OpenSSH format.
type SshKeyPair struct{}

// SshKeyPairArgs are the inputs of an SshKeyPair.
type SshKeyPairArgs struct {
	// Comment appended to the public key line.
	Comment string `pulumi:"comment,optional"`
}

// SshKeyPairState is what Pulumi keeps of an SshKeyPair.
type SshKeyPairState struct {
	SshKeyPairArgs
	PrivateKey string `pulumi:"privateKey" provider:"secret"`
	PublicKey  string `pulumi:"publicKey"`
}

// Annotate documents the resource in the provider schema.
func (k *SshKeyPair) Annotate(a infer.Annotator) {
	a.Describe(k, "An ed25519 SSH key pair; the private key is kept as a Pulumi secret.")
}

// NewKeyPair returns an OpenSSH private key and its authorized_keys line.
func NewKeyPair(comment string) (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if comment != "" {
		line += " " + comment
	}
	return string(pem.EncodeToMemory(block)), line, nil
}

// Create generates the key pair.
func (SshKeyPair) Create(
	_ context.Context, req infer.CreateRequest[SshKeyPairArgs],
) (infer.CreateResponse[SshKeyPairState], error) {
	state := SshKeyPairState{SshKeyPairArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[SshKeyPairState]{Output: state}, nil
	}
	priv, pub, err := NewKeyPair(req.Inputs.Comment)
	if err != nil {
		return infer.CreateResponse[SshKeyPairState]{}, err
	}
	state.PrivateKey, state.PublicKey = priv, pub
	id, err := RandomString(8)
	return infer.CreateResponse[SshKeyPairState]{ID: id, Output: state}, err
}
