import * as http from "http";
import * as path from "path";
import { Project, TempProject } from "./project";
import { until } from "./probe";

/** A Prometheus target as /api/v1/targets lists it. */
export interface Target {
    labels: { job: string; node: string; role: string };
    health: "up" | "down" | "unknown";
    lastError: string;
}

/** A Prometheus alert as /api/v1/alerts lists it. */
export interface Alert {
    labels: { alertname: string; node?: string };
    state: "pending" | "firing";
}

/**
 * The monitoring project (monitoring/) of a TempProject, with a stack that
 * watches one of its cluster stacks, and its Prometheus's HTTP API read from
 * this host through the cluster's external VIP, with the stack's login (in a
 * header, on no command line).
 */
export class Monitoring extends Project {
    private login: { url: string; user: string; password: string } | undefined;

    constructor(
        project: TempProject,
        readonly stack: string,
    ) {
        super(path.join(project.dir, "monitoring"), project.env);
    }

    /** Creates the stack for cluster stack CLUSTER and brings it up. */
    async up(cluster: string): Promise<void> {
        await this.ok(["stack", "init", this.stack]);
        await this.ok(["config", "set", "--stack", this.stack, "thesis-monitoring:clusterStack", cluster]);
        await this.ok(["up", "--stack", this.stack, "--yes", "--skip-preview"], 600_000);
        const out = JSON.parse(await this.ok(["stack", "output", "--stack", this.stack, "--json", "--show-secrets"]));
        this.login = out.prometheus;
    }

    /** GET PATH of Prometheus through the VIP: its status and body; `auth: false` sends no login. */
    get(p: string, auth = true): Promise<{ status: number; body: string }> {
        const login = this.login!;
        const headers: http.OutgoingHttpHeaders = auth ? { authorization: "Basic " + Buffer.from(`${login.user}:${login.password}`).toString("base64") } : {};
        return new Promise((resolve, reject) => {
            const req = http.get(new URL(p.replace(/^\//, ""), login.url), { headers, timeout: 10_000 }, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            });
            req.on("timeout", () => req.destroy(new Error(`GET ${p}: no answer in 10 s`)));
            req.on("error", reject);
        });
    }

    async api<T>(p: string): Promise<T> {
        const r = await this.get(p);
        if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.body.slice(0, 200)}`);
        return JSON.parse(r.body).data as T;
    }

    targets(): Promise<Target[]> {
        return this.api<{ activeTargets: Target[] }>("/api/v1/targets").then((d) => d.activeTargets);
    }

    alerts(): Promise<Alert[]> {
        return this.api<{ alerts: Alert[] }>("/api/v1/alerts").then((d) => d.alerts);
    }

    /**
     * Seconds until Prometheus answers through the VIP and lists every target
     * UP (fails after TIMEOUT ms). Until HAProxy's check has seen Prometheus,
     * the VIP's port closes connections.
     */
    allUp(timeoutMs = 120_000): Promise<number> {
        return until(
            async () => {
                // Right after its start Prometheus lists no target yet.
                const targets = await this.targets().catch(() => []);
                return targets.length > 0 && targets.every((t) => t.health === "up");
            },
            timeoutMs,
            1000,
        );
    }

    async destroy(): Promise<void> {
        await this.ok(["destroy", "--stack", this.stack, "--yes", "--skip-preview"], 600_000);
        await this.ok(["stack", "rm", this.stack, "--yes"]);
    }
}
