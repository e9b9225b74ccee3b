package vbox

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"thesis-cluster/plugins/internal/inputs"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// HostOnlyNetwork is a VirtualBox host-only interface (vboxnetN): the
// cluster's external network, on which the host holds an address and reaches
// the VIP, as the thesis' workstation did.
type HostOnlyNetwork struct{}

// HostOnlyNetworkArgs are the inputs of a HostOnlyNetwork.
type HostOnlyNetworkArgs struct {
	// HostAddress is the host's address on the network, e.g. 192.168.1.1.
	HostAddress string `pulumi:"hostAddress"`
	// Netmask, e.g. 255.255.255.0.
	Netmask string `pulumi:"netmask"`
}

// HostOnlyNetworkState is what Pulumi keeps of a HostOnlyNetwork.
type HostOnlyNetworkState struct {
	HostOnlyNetworkArgs
	// Interface is the name VirtualBox gave it (vboxnet0, ...).
	Interface string `pulumi:"interface"`
}

// Annotate documents the resource.
func (n *HostOnlyNetwork) Annotate(a infer.Annotator) {
	a.Describe(n, "A VirtualBox host-only network (vboxnetN) with the host's address on it, and no DHCP server of VirtualBox's.")
}

var createdRe = regexp.MustCompile(`Interface '([^']+)' was successfully created`)

func (a HostOnlyNetworkArgs) validate() error {
	if _, err := netip.ParseAddr(a.HostAddress); err != nil {
		return fmt.Errorf("hostAddress: %q is not an IP address", a.HostAddress)
	}
	if _, err := netip.ParseAddr(a.Netmask); err != nil {
		return fmt.Errorf("netmask: %q is not a netmask", a.Netmask)
	}
	return nil
}

// Create makes the interface and gives the host its address on it.
func (HostOnlyNetwork) Create(ctx context.Context, req infer.CreateRequest[HostOnlyNetworkArgs]) (infer.CreateResponse[HostOnlyNetworkState], error) {
	state := HostOnlyNetworkState{HostOnlyNetworkArgs: req.Inputs}
	if err := req.Inputs.validate(); err != nil {
		return infer.CreateResponse[HostOnlyNetworkState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[HostOnlyNetworkState]{ID: "vboxnet", Output: state}, nil
	}
	if err := checkVersion(ctx); err != nil {
		return infer.CreateResponse[HostOnlyNetworkState]{}, err
	}
	out, err := vboxmanage(ctx, "hostonlyif", "create")
	m := createdRe.FindStringSubmatch(out)
	if err != nil || m == nil {
		return infer.CreateResponse[HostOnlyNetworkState]{}, fmt.Errorf("a host-only network cannot be created: %v%s", err, strings.TrimSpace(out))
	}
	state.Interface = m[1]
	if err := configure(ctx, state); err != nil {
		return infer.CreateResponse[HostOnlyNetworkState]{ID: state.Interface, Output: state}, err
	}
	return infer.CreateResponse[HostOnlyNetworkState]{ID: state.Interface, Output: state}, nil
}

// configure sets the host's address and removes any VirtualBox DHCP server
// (the directors' dnsmasq serves the network).
func configure(ctx context.Context, s HostOnlyNetworkState) error {
	if _, err := vboxmanage(ctx, "hostonlyif", "ipconfig", s.Interface, "--ip", s.HostAddress, "--netmask", s.Netmask); err != nil {
		return fmt.Errorf("host-only network %s: cannot give the host %s/%s: %w (on Linux and macOS, VirtualBox "+
			"allows host-only addresses in 192.168.56.0/21 only, unless /etc/vbox/networks.conf lists the range, "+
			"e.g. \"* %s/24\"; see the README)", s.Interface, s.HostAddress, s.Netmask, err, s.HostAddress)
	}
	// No DHCP server of VirtualBox's on it; none there is fine.
	_, _ = vboxmanage(ctx, "dhcpserver", "remove", "--interface="+s.Interface)
	return nil
}

// hostOnly is VirtualBox's record of the named host-only interface; nil when there is none.
func hostOnly(ctx context.Context, name string) (map[string]string, error) {
	out, err := vboxmanage(ctx, "list", "hostonlyifs")
	if err != nil {
		return nil, err
	}
	for _, r := range records(out) {
		if r["Name"] == name {
			return r, nil
		}
	}
	return nil, nil
}

// Read reports the interface as VirtualBox has it now.
func (HostOnlyNetwork) Read(ctx context.Context, req infer.ReadRequest[HostOnlyNetworkArgs, HostOnlyNetworkState]) (infer.ReadResponse[HostOnlyNetworkArgs, HostOnlyNetworkState], error) {
	resp := infer.ReadResponse[HostOnlyNetworkArgs, HostOnlyNetworkState]{ID: req.ID, Inputs: req.Inputs, State: req.State}
	r, err := hostOnly(ctx, req.State.Interface)
	if err != nil || r == nil {
		// Gone: the next up makes it again.
		return infer.ReadResponse[HostOnlyNetworkArgs, HostOnlyNetworkState]{}, err
	}
	resp.State.HostAddress, resp.State.Netmask = r["IPAddress"], r["NetworkMask"]
	return resp, nil
}

// Diff compares the wanted address with the one VirtualBox reports, so an
// interface changed or removed by hand shows in `pulumi preview`.
func (HostOnlyNetwork) Diff(ctx context.Context, req infer.DiffRequest[HostOnlyNetworkArgs, HostOnlyNetworkState]) (infer.DiffResponse, error) {
	diff := inputs.Diff(req.State.HostOnlyNetworkArgs, req.Inputs)
	if req.State.Interface != "" {
		if r, err := hostOnly(ctx, req.State.Interface); err == nil {
			if r == nil {
				diff["interface"] = p.PropertyDiff{Kind: p.UpdateReplace}
			} else if r["IPAddress"] != req.Inputs.HostAddress || r["NetworkMask"] != req.Inputs.Netmask {
				diff["observed"] = p.PropertyDiff{Kind: p.Update}
			}
		}
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff}, nil
}

// Update sets the address again.
func (HostOnlyNetwork) Update(ctx context.Context, req infer.UpdateRequest[HostOnlyNetworkArgs, HostOnlyNetworkState]) (infer.UpdateResponse[HostOnlyNetworkState], error) {
	state := req.State
	state.HostOnlyNetworkArgs = req.Inputs
	if err := req.Inputs.validate(); err != nil || req.DryRun {
		return infer.UpdateResponse[HostOnlyNetworkState]{Output: state}, err
	}
	return infer.UpdateResponse[HostOnlyNetworkState]{Output: state}, configure(ctx, state)
}

// Delete removes the interface.
func (HostOnlyNetwork) Delete(ctx context.Context, req infer.DeleteRequest[HostOnlyNetworkState]) (infer.DeleteResponse, error) {
	if req.State.Interface == "" {
		return infer.DeleteResponse{}, nil
	}
	if _, err := vboxmanage(ctx, "hostonlyif", "remove", req.State.Interface); err != nil {
		if r, lerr := hostOnly(ctx, req.State.Interface); lerr == nil && r == nil {
			return infer.DeleteResponse{}, nil // already gone
		}
		return infer.DeleteResponse{}, err
	}
	return infer.DeleteResponse{}, nil
}
