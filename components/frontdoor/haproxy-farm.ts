import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { NodePlan } from "../plan";
import { RandomSecret } from "../provider";
import { haproxyCfg } from "./configs";

const SYSCTL = "/etc/sysctl.d/60-thesis-cluster-haproxy.conf";

/** Prints that HAProxy serves the farm once it does (up to 10 s after a start or reload). */
export function servingProbe(vip: string, port: number): string {
    const ok = `echo "show info" | nc -U -N /run/haproxy/admin.sock 2>/dev/null | grep -q '^Pid:' && ss -Hltn 'sport = :${port}' | awk '{print $4}' | grep -qxF '${vip}:${port}'`;
    return `for _ in $(seq 100); do ${ok} && break; sleep 0.1; done; if ${ok}; then echo "haproxy serves ${vip}:${port}"; else echo "haproxy does not serve ${vip}:${port}"; fi`;
}

/**
 * HAProxy on both directors (thesis section 4.5.2): the SSH farm on the external
 * VIP, round robin over the compute nodes' sshd with health checks, and a stats
 * page behind a generated password instead of the thesis' admin:admin.
 */
export class HaproxyFarm extends ServiceComponent {
    public readonly services: Record<string, ManagedService> = {};
    /** The service on a director, once `after` is done: the front door rolls the directors one at a time. */
    public readonly on: (director: NodePlan, after: pulumi.Resource[]) => ManagedService;
    /** The stats page's password for user `admin`; a Pulumi secret. */
    public readonly statsPassword: pulumi.Output<string>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:HaproxyFarm", name, opts);
        const { plan, machines } = args;
        const password = new RandomSecret(`${name}-stats-password`, { length: 24 }, { parent: this });
        this.statsPassword = password.value;
        this.on = this.rolling("haproxy", machines, this.services, (d) => ({
            files: [
                // HAProxy binds the VIP it does not hold yet per socket
                // (`transparent`); host-wide non-local binds stay off, since
                // with them every address looks local to a bind() probe and
                // HTCondor's HAD daemons on the two directors then take each
                // other for one process family and never agree (two negotiators).
                { path: SYSCTL, content: "# HAProxy binds the VIP per socket (transparent); host-wide non-local binds\n# would make HTCondor's HAD daemons on the directors split the pool.\nnet.ipv4.ip_nonlocal_bind = 0\n" },
                {
                    path: "/etc/haproxy/haproxy.cfg",
                    content: pulumi.secret(password.value).apply((pw) => haproxyCfg(plan, d, pw)),
                    mode: "640",
                    owner: "root:haproxy",
                    validate: "haproxy -q -c -f {}",
                    secret: true,
                },
            ],
            after: `sysctl -q -p ${SYSCTL}`,
            unit: "haproxy",
            probes: [
                { script: "echo nonlocal_bind=$(sysctl -n net.ipv4.ip_nonlocal_bind)", expect: "nonlocal_bind=0" },
                // Serving: its worker answers on the stats socket and holds the SSH farm's listener.
                { script: servingProbe(plan.networks.external.vip, plan.frontDoor.sshPort), expect: `haproxy serves ${plan.networks.external.vip}:${plan.frontDoor.sshPort}` },
            ],
        }));
        this.registerOutputs({ statsPassword: this.statsPassword });
    }
}
