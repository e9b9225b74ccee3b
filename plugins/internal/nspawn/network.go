package nspawn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"thesis-cluster/plugins/internal/inputs"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Network is a Linux bridge on this host, one per lab network. It is never
// connected to an uplink, and the host refuses to forward what arrives on it.
type Network struct{}

// NetworkArgs are the inputs of a Network.
type NetworkArgs struct {
	// Bridge is the interface name (15 characters at most).
	Bridge string `pulumi:"bridge" provider:"replaceOnChanges"`
	// Cidr is the lab subnet; the host checks no other interface routes it.
	Cidr string `pulumi:"cidr" provider:"replaceOnChanges"`
	// HostAddress is the host's own address on the network (the external one,
	// like a VirtualBox host-only adapter), without prefix length.
	HostAddress string `pulumi:"hostAddress,optional" provider:"replaceOnChanges"`
}

// NetworkState is what Pulumi keeps of a Network.
type NetworkState struct {
	NetworkArgs
}

// Annotate documents the resource.
func (n *Network) Annotate(a infer.Annotator) {
	a.Describe(n, "A Linux bridge for one lab network, isolated from the host's uplink.")
}

func (a NetworkArgs) validate() (netip.Prefix, error) {
	if a.Bridge == "" || len(a.Bridge) > 15 || strings.ContainsAny(a.Bridge, "/ ") {
		return netip.Prefix{}, fmt.Errorf("bridge: %q is not a valid interface name (1-15 characters)", a.Bridge)
	}
	prefix, err := netip.ParsePrefix(a.Cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cidr: %q: %w", a.Cidr, err)
	}
	if a.HostAddress != "" {
		addr, err := netip.ParseAddr(a.HostAddress)
		if err != nil || !prefix.Contains(addr) {
			return netip.Prefix{}, fmt.Errorf("hostAddress: %q is not an address in %s", a.HostAddress, a.Cidr)
		}
	}
	return prefix.Masked(), nil
}

// Create makes the bridge.
func (Network) Create(
	ctx context.Context, req infer.CreateRequest[NetworkArgs],
) (infer.CreateResponse[NetworkState], error) {
	state := NetworkState{req.Inputs}
	if _, err := req.Inputs.validate(); err != nil {
		return infer.CreateResponse[NetworkState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[NetworkState]{ID: req.Inputs.Bridge, Output: state}, nil
	}
	if err := requireRoot(); err != nil {
		return infer.CreateResponse[NetworkState]{}, err
	}
	if ports := bridgePorts(req.Inputs.Bridge); len(ports) > 0 {
		// Bridge names come from the stack name: a bridge with machines on it
		// that this stack's state does not know belongs to a stack of the same
		// name elsewhere (this stack records a bridge before any machine on it).
		return infer.CreateResponse[NetworkState]{}, fmt.Errorf("bridge %s already exists with machines on it (%s): "+
			"is a stack of the same name up from another copy of the project? Destroy that one, or give this stack another name",
			req.Inputs.Bridge, strings.Join(ports, " "))
	}
	return infer.CreateResponse[NetworkState]{ID: req.Inputs.Bridge, Output: state}, ensureBridge(ctx, req.Inputs)
}

// bridgePorts lists the interfaces attached to a bridge, if it exists.
func bridgePorts(bridge string) []string {
	entries, err := os.ReadDir(filepath.Join("/sys/class/net", bridge, "brif"))
	if err != nil {
		return nil
	}
	ports := make([]string, 0, len(entries))
	for _, e := range entries {
		ports = append(ports, e.Name())
	}
	return ports
}

type ipRoute struct {
	Dst string `json:"dst"`
	Dev string `json:"dev"`
}

// routedElsewhere names another interface that already routes the subnet:
// two stacks (or a host network) on one subnet would steal each other's traffic.
func routedElsewhere(ctx context.Context, prefix netip.Prefix, bridge string) (string, error) {
	out, err := run(ctx, "ip", "-j", "route", "show", "table", "all", "to", "exact", prefix.String())
	if err != nil {
		return "", err
	}
	var routes []ipRoute
	if out != "" {
		if err := json.Unmarshal([]byte(out), &routes); err != nil {
			return "", fmt.Errorf("reading routes: %w", err)
		}
	}
	for _, r := range routes {
		if r.Dev != "" && r.Dev != bridge {
			return r.Dev, nil
		}
	}
	return "", nil
}

func ensureBridge(ctx context.Context, a NetworkArgs) error {
	prefix, err := a.validate()
	if err != nil {
		return err
	}
	if dev, err := routedElsewhere(ctx, prefix, a.Bridge); err != nil {
		return err
	} else if dev != "" {
		return fmt.Errorf("subnet %s is already routed through %s on this host; "+
			"another stack or network uses it (destroy it or choose another cidr)", prefix, dev)
	}
	if !exists(filepath.Join("/sys/class/net", a.Bridge)) {
		if _, err := run(ctx, "ip", "link", "add", "name", a.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	// Nothing that arrives on a lab bridge is routed anywhere by the host, and
	// the bridge takes no IPv6 autoconfiguration.
	for key, value := range map[string]string{
		"/proc/sys/net/ipv4/conf/" + a.Bridge + "/forwarding":   "0",
		"/proc/sys/net/ipv6/conf/" + a.Bridge + "/disable_ipv6": "1",
	} {
		if err := os.WriteFile(key, []byte(value), 0o644); err != nil {
			return fmt.Errorf("isolating bridge %s: %w", a.Bridge, err)
		}
	}
	if a.HostAddress != "" {
		cidr := fmt.Sprintf("%s/%d", a.HostAddress, prefix.Bits())
		if _, err := run(ctx, "ip", "addr", "replace", cidr, "dev", a.Bridge); err != nil {
			return err
		}
	}
	_, err = run(ctx, "ip", "link", "set", a.Bridge, "up")
	return err
}

// bridgeDrift says what differs on the host from the recorded network.
func bridgeDrift(a NetworkArgs) map[string]p.PropertyDiff {
	diff := map[string]p.PropertyDiff{}
	base := filepath.Join("/sys/class/net", a.Bridge)
	if !exists(filepath.Join(base, "bridge")) {
		diff["bridge"] = p.PropertyDiff{Kind: p.Update}
		return diff
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/conf/" + a.Bridge + "/forwarding"); strings.TrimSpace(string(b)) != "0" {
		diff["cidr"] = p.PropertyDiff{Kind: p.Update}
	}
	if a.HostAddress != "" {
		out, err := run(context.Background(), "ip", "-o", "-4", "addr", "show", "dev", a.Bridge)
		if err != nil || !strings.Contains(out, " "+a.HostAddress+"/") {
			diff["hostAddress"] = p.PropertyDiff{Kind: p.Update}
		}
	}
	return diff
}

// Diff compares inputs, then the bridge on the host.
func (Network) Diff(
	_ context.Context, req infer.DiffRequest[NetworkArgs, NetworkState],
) (infer.DiffResponse, error) {
	diff := inputs.Diff(req.State.NetworkArgs, req.Inputs)
	if len(diff) == 0 {
		diff = bridgeDrift(req.State.NetworkArgs)
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff, DeleteBeforeReplace: true}, nil
}

// Update repairs a bridge changed or removed on the host.
func (Network) Update(
	ctx context.Context, req infer.UpdateRequest[NetworkArgs, NetworkState],
) (infer.UpdateResponse[NetworkState], error) {
	if req.DryRun {
		return infer.UpdateResponse[NetworkState]{Output: NetworkState{req.Inputs}}, nil
	}
	return infer.UpdateResponse[NetworkState]{Output: NetworkState{req.Inputs}}, ensureBridge(ctx, req.Inputs)
}

// Delete removes the bridge.
func (Network) Delete(ctx context.Context, req infer.DeleteRequest[NetworkState]) (infer.DeleteResponse, error) {
	if !exists(filepath.Join("/sys/class/net", req.State.Bridge)) {
		return infer.DeleteResponse{}, nil
	}
	_, err := run(ctx, "ip", "link", "del", req.State.Bridge)
	return infer.DeleteResponse{}, err
}
