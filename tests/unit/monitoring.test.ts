import { execFileSync } from "child_process";
import { alertRules, ClusterView, nodeExporterDropIn, prometheusConfig, prometheusDropIn, stateScript, webConfig } from "../../monitoring/watch";

// The monitoring stack's files, from a cluster stack's outputs as the thesis
// topology gives them (docs/consumers.md).
const node = (role: string | undefined, internal: string, external?: string) => ({
    role,
    addresses: external ? { internal, external } : { internal },
    ssh: { host: external ?? internal, port: 22, user: "root" },
    hostKey: "ssh-ed25519 AAAA",
});
const view: ClusterView = {
    stack: "organization/thesis-cluster/local",
    nodes: {
        cluster1: node("directors", "10.0.100.1", "192.168.1.101"),
        master2: node("directors", "10.0.100.50", "192.168.1.102"),
        cluster2: node("compute", "10.0.100.2"),
        cluster3: node("compute", "10.0.100.3"),
        nas: node("nas", "10.0.100.100"),
        san1: node("san", "10.0.100.6"),
        san2: node("san", "10.0.100.7"),
    },
    vips: { internal: "10.0.100.200", external: "192.168.1.200" },
    monitoring: {
        url: "http://192.168.1.200:9090/",
        prometheus: { node: "nas", address: "10.0.100.100", port: 9090 },
        haproxyMetrics: { cluster1: "10.0.100.1:8405", master2: "10.0.100.50:8405" },
    },
    glusterBricks: { gv0: { replica: 2, bricks: ["san1:/export/brick1/data", "san2:/export/brick1/data"] }, gv1: { bricks: ["san1:/export/brick2/data"] } },
    condorPool: { centralManagers: ["cluster1.cluster", "master2.cluster"], executeSlots: { cluster2: 1, cluster3: 1 } },
    slurmCluster: { enabled: true, controllers: { primary: "cluster1", backups: ["master2"] } },
};
const body = (text: string) => JSON.parse(text.replace(/^#.*\n/, ""));

describe("the monitoring stack's files", () => {
    it("scrapes every node's exporter on its internal address and HAProxy on each director, labelled by node and role", () => {
        const c = body(prometheusConfig(view));
        expect(c.global).toMatchObject({ scrape_interval: "5s", evaluation_interval: "5s", external_labels: { cluster: view.stack } });
        const [nodes, haproxy] = c.scrape_configs;
        expect(nodes.static_configs).toContainEqual({ targets: ["10.0.100.2:9100"], labels: { node: "cluster2", role: "compute" } });
        expect(nodes.static_configs).toHaveLength(7);
        expect(haproxy.static_configs.map((s: { targets: string[] }) => s.targets[0])).toEqual(["10.0.100.1:8405", "10.0.100.50:8405"]);
    });

    it("alerts on a director or compute node down, a VIP off its MASTER, a brick offline, the pool short", () => {
        const rules = body(alertRules(view)).groups[0].rules as { alert: string; expr: string; for: string }[];
        expect(Object.fromEntries(rules.map((r) => [r.alert, r.expr]))).toEqual({
            DirectorDown: 'up{job="node",role="directors"} == 0',
            ComputeNodeDown: 'up{job="node",role="compute"} == 0',
            VipMoved: 'thesis_vip_held{node!="cluster1"} == 1',
            BrickOffline: "min by (volume, brick) (thesis_gluster_brick_online) == 0",
            PoolShort: "max(thesis_condor_execute_nodes) < 2",
        });
    });

    it("runs Prometheus on the nas' internal address behind a bcrypt login, and node-exporter on each node's", () => {
        expect(prometheusDropIn(view)).toContain("--web.listen-address=10.0.100.100:9090 ");
        expect(prometheusDropIn(view)).toContain("--web.config.file=/etc/prometheus/thesis-cluster-web.yml");
        expect(prometheusDropIn(view)).toMatch(/^ExecStart=$/m);
        expect(webConfig("$2a$10$abc")).toContain('admin: "$2a$10$abc"');
        expect(nodeExporterDropIn(view.nodes.cluster2)).toContain("--web.listen-address=10.0.100.2:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter");
    });

    it("collects each role's state: VIPs, keepalived, the pool and Slurm on the directors, bricks on the SAN nodes, nothing elsewhere", () => {
        const director = stateScript(view, "cluster1")!;
        expect(director).toContain('grep -q " 192.168.1.200/"');
        expect(director).toContain("thesis_keepalived_active");
        expect(director).toContain("condor_status");
        expect(director).toContain("sinfo");
        expect(director).not.toContain("gluster");
        const san = stateScript(view, "san1")!;
        expect(san).toContain("gluster volume status gv0 --xml");
        expect(san).toContain("for brick in san1:/export/brick1/data san2:/export/brick1/data; do");
        expect(san).toContain("gluster volume status gv1 --xml");
        expect(stateScript(view, "san2")).not.toContain("gv1");
        expect(stateScript(view, "cluster2")).toBeUndefined();
        expect(stateScript(view, "nas")).toBeUndefined();
        for (const s of [director, san]) execFileSync("bash", ["-n"], { input: s });
    });
});
