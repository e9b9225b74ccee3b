// Command pulumi-resource-cluster is the project's Pulumi provider: the parts
// of the cluster that act on machines (SSH, files, units, local machines,
// VirtualBox VMs) and generated secrets.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"thesis-cluster/plugins/internal/nspawn"
	"thesis-cluster/plugins/internal/remote"
	"thesis-cluster/plugins/internal/secrets"
	"thesis-cluster/plugins/internal/vbox"
)

// version is set with -ldflags "-X main.version=...".
var version = "0.1.0"

func provider() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("cluster").
		WithDescription("Machines and services of the thesis compute cluster.").
		WithNamespace("thesis-cluster").
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"secrets": "index"}).
		WithResources(
			infer.Resource(&secrets.RandomSecret{}),
			infer.Resource(&secrets.SshKeyPair{}),
			infer.Resource(&nspawn.BaseImage{}),
			infer.Resource(&nspawn.Network{}),
			infer.Resource(&nspawn.Machine{}),
			infer.Resource(&remote.Command{}),
			infer.Resource(&vbox.HostOnlyNetwork{}),
			infer.Resource(&vbox.Machine{}),
		).
		Build()
}

func main() {
	prov, err := provider()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := prov.Run(context.Background(), "cluster", version); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
