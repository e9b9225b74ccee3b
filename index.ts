import * as pulumi from "@pulumi/pulumi";
import { loadClusterConfig, roleOf } from "./components/config";
import { SshKeyPair } from "./components/provider";

// Checked before any resource exists: bad config changes nothing.
const cfg = loadClusterConfig();
const stack = pulumi.getStack();

// One key pair per stack reaches every machine; nothing is typed by hand.
const adminKey = new SshKeyPair("admin-key", { comment: `thesis-cluster-${stack}` });

export const adminPublicKey = adminKey.publicKey;
export const backend = cfg.backend;
export const nodes = Object.fromEntries(
    cfg.nodes.map((n) => [n.name, { role: roleOf(cfg, n.name), addresses: n.addresses }]),
);
export const vips = { internal: cfg.networks.internal.vip, external: cfg.networks.external.vip };
