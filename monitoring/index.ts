/**
 * The monitoring stack: Prometheus on the cluster's nas, node-exporter on
 * every node with a state collector (VIPs, keepalived, the HTCondor pool,
 * Slurm, Gluster bricks), and alert rules, on the machines of a thesis-cluster
 * stack that it knows only through its outputs (a StackReference to
 * `thesis-monitoring:clusterStack`). It writes only files and units of its
 * own, so its destroy leaves the cluster as it was. See docs/monitoring.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { connectionsFrom, sourceStackName } from "../components/backends/existing/source";
import { ManagedService, StepTarget } from "../components/converge";
import { READY_SCRIPT } from "../components/machines";
import { RandomSecret } from "../components/provider";
import { Command } from "../components/remote";
import {
    alertRules,
    ClusterView,
    INTERVAL,
    nodeExporterDropIn,
    PROMETHEUS_DIR,
    prometheusConfig,
    prometheusDropIn,
    STATE_SCRIPT,
    stateScript,
    TEXTFILE_DIR,
    TSDB_DIR,
    webConfig,
} from "./watch";

const NAMESPACE = "thesis-monitoring";
const DAEMON_RELOAD = "[ $changed = 1 ] && systemctl daemon-reload; true";

/** One of the cluster stack's outputs, or a clear error naming the stack. */
async function read<T>(ref: pulumi.StackReference, stack: string, name: string): Promise<T> {
    const d = await ref.getOutputDetails(name);
    const v = d.value ?? d.secretValue;
    if (v === undefined) {
        throw new pulumi.RunError(`${NAMESPACE}:clusterStack: stack ${stack} has no output \`${name}\` (is it up, with this repository's version of the cluster program?)`);
    }
    return v as T;
}

export = async () => {
    const cfg = new pulumi.Config(NAMESPACE);
    const stack = sourceStackName(cfg.require("clusterStack"), pulumi.getOrganization(), "thesis-cluster");
    const ref = new pulumi.StackReference("cluster", { name: stack });
    const c: ClusterView = {
        stack,
        nodes: await read(ref, stack, "nodes"),
        vips: await read(ref, stack, "vips"),
        monitoring: await read(ref, stack, "monitoring"),
        glusterBricks: await read(ref, stack, "glusterBricks"),
        condorPool: await read(ref, stack, "condorPool"),
        slurmCluster: await read(ref, stack, "slurmCluster"),
    };
    const privateKey = pulumi.secret(await read<string>(ref, stack, "adminPrivateKey"));
    const connections = connectionsFrom(stack, c.nodes, privateKey, `${NAMESPACE}:clusterStack`);

    // Each machine answers before anything is put on it; its steps are grouped under it.
    const targets: Record<string, StepTarget> = {};
    const groups: Record<string, pulumi.ComponentResource> = {};
    for (const [name, connection] of Object.entries(connections)) {
        groups[name] = new pulumi.ComponentResource("thesis-monitoring:index:Node", name);
        const ready = new Command(`reach-${name}`, { connection, create: READY_SCRIPT, timeoutSeconds: 300 }, { parent: groups[name] });
        targets[name] = { connection, ready, deletedWith: undefined };
    }

    const exporters: ManagedService[] = [];
    for (const [name, n] of Object.entries(c.nodes)) {
        exporters.push(
            new ManagedService(
                `node-exporter-${name}`,
                {
                    machine: targets[name],
                    files: [{ path: "/etc/systemd/system/prometheus-node-exporter.service.d/thesis-monitoring.conf", content: nodeExporterDropIn(n) }],
                    after: DAEMON_RELOAD,
                    unit: "prometheus-node-exporter.service",
                    onChange: "restart",
                    onDelete: "rmdir /etc/systemd/system/prometheus-node-exporter.service.d 2>/dev/null; systemctl daemon-reload",
                },
                { parent: groups[name], dependsOn: [] },
            ),
        );
        const script = stateScript(c, name);
        if (script === undefined) continue;
        new ManagedService(
            `state-${name}`,
            {
                machine: targets[name],
                files: [
                    { path: STATE_SCRIPT, content: script, mode: "755", validate: "bash -n {}" },
                    {
                        path: "/etc/systemd/system/thesis-monitoring-state.service",
                        content: `# Managed by thesis-monitoring (Pulumi).\n[Unit]\nDescription=The cluster's state for node-exporter (thesis-monitoring)\n\n[Service]\nType=oneshot\nExecStart=${STATE_SCRIPT}\nTimeoutStartSec=20\n`,
                    },
                    {
                        path: "/etc/systemd/system/thesis-monitoring-state.timer",
                        content: `# Managed by thesis-monitoring (Pulumi).\n[Unit]\nDescription=The cluster's state for node-exporter, every ${INTERVAL} s\n\n[Timer]\nOnActiveSec=1s\nOnUnitActiveSec=${INTERVAL}s\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n`,
                    },
                ],
                after: DAEMON_RELOAD,
                unit: "thesis-monitoring-state.timer",
                onChange: "restart",
                onDelete: `systemctl daemon-reload; rm -f ${TEXTFILE_DIR}/thesis-cluster.prom; rmdir --ignore-fail-on-non-empty ${STATE_SCRIPT.replace(/\/[^/]+$/, "")}`,
            },
            { parent: groups[name], dependsOn: [] },
        );
    }

    // Prometheus where the cluster's front door sends its monitoring port.
    const p = c.monitoring.prometheus;
    const password = new RandomSecret("prometheus-password", { length: 24 });
    new ManagedService(
        `prometheus-${p.node}`,
        {
            machine: targets[p.node],
            files: [
                { path: `${PROMETHEUS_DIR}/thesis-cluster.rules.yml`, content: alertRules(c), validate: "promtool check rules {}" },
                { path: `${PROMETHEUS_DIR}/thesis-cluster-web.yml`, content: password.bcrypt.apply(webConfig), mode: "640", owner: "root:prometheus", validate: "promtool check web-config {}", secret: true },
                { path: `${PROMETHEUS_DIR}/thesis-cluster.yml`, content: prometheusConfig(c), validate: "promtool check config --syntax-only {}" },
                { path: "/etc/systemd/system/prometheus.service.d/thesis-monitoring.conf", content: prometheusDropIn(c) },
            ],
            after: `${DAEMON_RELOAD}\ninstall -d -o prometheus -g prometheus -m 750 ${TSDB_DIR}`,
            unit: "prometheus.service",
            onChange: "reload",
            // Up once it answers, with a 401 to a request without the password.
            ready: `for _ in $(seq 300); do [ "$(curl -s -o /dev/null -w '%{http_code}' http://${p.address}:${p.port}/-/ready)" = 401 ] && break; sleep 0.2; done
[ "$(curl -s -o /dev/null -w '%{http_code}' http://${p.address}:${p.port}/-/ready)" = 401 ] || { echo "prometheus does not answer on ${p.address}:${p.port}" >&2; exit 1; }`,
            onDelete: `rmdir /etc/systemd/system/prometheus.service.d 2>/dev/null; systemctl daemon-reload; rm -rf ${TSDB_DIR}`,
        },
        { parent: groups[p.node], dependsOn: exporters },
    );

    return {
        clusterStack: stack,
        /** Prometheus from the cluster's host, through HAProxy on the external VIP; its login below. */
        prometheus: { url: c.monitoring.url, user: "admin", password: pulumi.secret(password.value), node: p.node },
        /** What Prometheus scrapes: every node's exporter and HAProxy on each director. */
        targets: {
            node: Object.fromEntries(Object.entries(c.nodes).map(([name, n]) => [name, `${n.addresses.internal}:9100`])),
            haproxy: c.monitoring.haproxyMetrics,
        },
        alerts: JSON.parse(alertRules(c).replace(/^#.*\n/, "")).groups[0].rules.map((r: { alert: string }) => r.alert),
    };
};
