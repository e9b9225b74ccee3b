/**
 * What the monitoring stack puts on a cluster's machines, worked out from the
 * cluster stack's outputs alone: Prometheus's scrape config and alert rules,
 * node-exporter's unit drop-in, and each node's state collector (VIPs,
 * keepalived, the HTCondor pool, Slurm, Gluster bricks) for node-exporter's
 * textfile collector. Pure functions; monitoring/index.ts puts them on the machines.
 */
import type { SourceNode } from "../components/backends/existing/source";
import { render } from "../components/render";

/** A node as the cluster stack's `nodes` output has it (docs/consumers.md). */
export type ClusterNode = SourceNode;

/** The cluster stack's outputs this stack reads. */
export interface ClusterView {
    stack: string;
    nodes: Record<string, ClusterNode>;
    vips: { internal: string; external: string };
    monitoring: { url: string; prometheus: { node: string; address: string; port: number }; haproxyMetrics: Record<string, string> };
    glusterBricks: Record<string, { replica?: number; bricks: string[] }>;
    condorPool: { centralManagers: string[]; executeSlots: Record<string, number> };
    slurmCluster: { enabled: boolean; controllers?: { primary: string; backups: string[] } };
}

export const NODE_EXPORTER_PORT = 9100;
/** Where node-exporter reads the collectors' files (Debian's default directory). */
export const TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";
export const STATE_SCRIPT = "/usr/local/lib/thesis-monitoring/state";
export const PROMETHEUS_DIR = "/etc/prometheus";
export const TSDB_DIR = "/var/lib/prometheus/thesis-cluster";
/** How often everything is scraped, collected and evaluated, in seconds: an alert's `for` counts in these. */
export const INTERVAL = 5;

const directors = (c: ClusterView) => Object.keys(c.nodes).filter((n) => c.nodes[n].role === "directors");

/** Prometheus's config: every node's exporter and HAProxy's endpoint on each director, labelled by node and role. */
export function prometheusConfig(c: ClusterView): string {
    const config = {
        global: { scrape_interval: `${INTERVAL}s`, scrape_timeout: `${INTERVAL - 1}s`, evaluation_interval: `${INTERVAL}s`, external_labels: { cluster: c.stack } },
        rule_files: [`${PROMETHEUS_DIR}/thesis-cluster.rules.yml`],
        scrape_configs: [
            {
                job_name: "node",
                static_configs: Object.entries(c.nodes).map(([name, n]) => ({
                    targets: [`${n.addresses.internal}:${NODE_EXPORTER_PORT}`],
                    labels: { node: name, role: n.role ?? "none" },
                })),
            },
            {
                job_name: "haproxy",
                static_configs: Object.entries(c.monitoring.haproxyMetrics).map(([name, target]) => ({ targets: [target], labels: { node: name, role: "directors" } })),
            },
        ],
    };
    return `# Managed by thesis-monitoring (Pulumi) for stack ${c.stack}: edits here are reported as drift and undone.\n${JSON.stringify(config, null, 2)}\n`;
}

/** The alerts: a director or compute node down, a VIP away from its MASTER, a brick offline, the pool short of execute nodes. */
export function alertRules(c: ClusterView): string {
    const [master] = directors(c);
    const executeNodes = Object.keys(c.condorPool.executeSlots).length;
    const rule = (alert: string, expr: string, forSeconds: number, summary: string) => ({
        alert,
        expr,
        for: `${forSeconds}s`,
        labels: { severity: "critical" },
        annotations: { summary },
    });
    const rules = [
        rule("DirectorDown", 'up{job="node",role="directors"} == 0', 2 * INTERVAL, "director {{ $labels.node }} does not answer"),
        rule("ComputeNodeDown", 'up{job="node",role="compute"} == 0', 2 * INTERVAL, "compute node {{ $labels.node }} does not answer"),
        rule("VipMoved", `thesis_vip_held{node!="${master}"} == 1`, INTERVAL, `VIP {{ $labels.vip }} ({{ $labels.network }}) is on {{ $labels.node }}, not on ${master}`),
        rule("BrickOffline", "min by (volume, brick) (thesis_gluster_brick_online) == 0", 2 * INTERVAL, "brick {{ $labels.brick }} of {{ $labels.volume }} is offline"),
    ];
    if (executeNodes > 0) {
        rules.push(rule("PoolShort", `max(thesis_condor_execute_nodes) < ${executeNodes}`, 6 * INTERVAL, `the HTCondor pool has {{ $value }} of its ${executeNodes} execute nodes`));
    }
    return `# Managed by thesis-monitoring (Pulumi): edits here are reported as drift and undone.\n${JSON.stringify({ groups: [{ name: "thesis-cluster", rules }] }, null, 2)}\n`;
}

/** Prometheus's login: one user, `admin`, with the generated password's bcrypt hash. */
export function webConfig(bcrypt: string): string {
    return `# Managed by thesis-monitoring (Pulumi).\nbasic_auth_users:\n  admin: ${JSON.stringify(bcrypt)}\n`;
}

/** Debian's prometheus unit, started with this stack's files, on the nas' internal address. */
export function prometheusDropIn(c: ClusterView): string {
    const p = c.monitoring.prometheus;
    const args = [
        `--config.file=${PROMETHEUS_DIR}/thesis-cluster.yml`,
        `--web.config.file=${PROMETHEUS_DIR}/thesis-cluster-web.yml`,
        `--web.listen-address=${p.address}:${p.port}`,
        `--web.external-url=${c.monitoring.url}`,
        `--storage.tsdb.path=${TSDB_DIR}`,
        "--storage.tsdb.retention.time=15d",
    ];
    return `# Managed by thesis-monitoring (Pulumi).\n[Service]\nExecStart=\nExecStart=/usr/bin/prometheus ${args.join(" ")}\n`;
}

/** Debian's node-exporter unit on the node's internal address only, with the state collector's directory. */
export function nodeExporterDropIn(n: ClusterNode): string {
    const args = [`--web.listen-address=${n.addresses.internal}:${NODE_EXPORTER_PORT}`, `--collector.textfile.directory=${TEXTFILE_DIR}`];
    return `# Managed by thesis-monitoring (Pulumi).\n[Service]\nExecStart=\nExecStart=/usr/bin/prometheus-node-exporter ${args.join(" ")}\n`;
}

/** The node's state collector, or none when its role has no state beyond node-exporter's own. */
export function stateScript(c: ClusterView, node: string): string | undefined {
    const isDirector = c.nodes[node].role === "directors";
    const volumes = Object.entries(c.glusterBricks).filter(([, v]) => v.bricks.some((b) => b.startsWith(`${node}:`)));
    // Central managers are named by their FQDN (cluster1.cluster).
    const condor = c.condorPool.centralManagers.some((m) => m === node || m.startsWith(`${node}.`));
    const slurm = c.slurmCluster.enabled && c.slurmCluster.controllers !== undefined && [c.slurmCluster.controllers.primary, ...c.slurmCluster.controllers.backups].includes(node);
    if (!isDirector && volumes.length === 0) return undefined;
    return render("monitoring/state.sh.mustache", {
        node,
        out: `${TEXTFILE_DIR}/thesis-cluster.prom`,
        vips: isDirector ? [{ address: c.vips.internal, network: "internal" }, { address: c.vips.external, network: "external" }] : [],
        director: isDirector,
        condor,
        slurm,
        volumes: volumes.map(([name, v]) => ({ name, bricks: v.bricks.join(" ") })),
    });
}
