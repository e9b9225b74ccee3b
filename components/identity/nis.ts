/**
 * The NIS domain (thesis section 4.6.1): ypserv on the nas, every node a
 * client, the stack config's users created on the master with their homes on
 * the shared home base and pushed with `make -C /var/yp`. Passwords are
 * generated, and reach the machines only as SHA-512 crypt hashes.
 */
import * as crypto from "crypto";
import * as ipaddr from "ipaddr.js";
import * as pulumi from "@pulumi/pulumi";
import { UserSpec } from "../config";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { RandomSecret } from "../provider";
import { render } from "../render";
import { ClusterPlan, rolloutOf } from "../plan";
import { enableUnits, q } from "../shell";

/** Where a user's home is. */
export const homeOf = (plan: ClusterPlan, u: UserSpec) => `${plan.homes.base}/${u.name}`;

/**
 * The master's user script: adds, fixes and removes the config's users, then
 * rebuilds the maps. Homes are not made here (homesScript is, once the home
 * base is mounted), so the domain need not wait for storage.
 */
export function usersScript(plan: ClusterPlan, hashes: Record<string, string>): string {
    const domain = plan.identity.nisDomain;
    const lines = [
        "set -euo pipefail",
        `domainname ${q(domain)}`,
        "managed=/var/lib/thesis-cluster/nis-users",
        'mkdir -p "$(dirname $managed)" && touch $managed',
        "changed=0",
    ];
    for (const u of plan.identity.users) {
        const home = homeOf(plan, u);
        lines.push(
            `if ! getent -s files passwd ${u.name} >/dev/null; then`,
            `  getent -s files group ${u.name} >/dev/null || groupadd -g ${u.uid} ${u.name}`,
            `  useradd -u ${u.uid} -g ${u.uid} -M -d ${q(home)} -s /bin/bash ${u.name}; changed=1; echo "added user ${u.name}"`,
            "fi",
            `[ "$(getent -s files passwd ${u.name} | cut -d: -f3,4,6)" = ${q(`${u.uid}:${u.uid}:${home}`)} ] || { usermod -u ${u.uid} -g ${u.uid} -d ${q(home)} ${u.name}; changed=1; echo "fixed user ${u.name}"; }`,
            // The hash reaches chpasswd on its stdin (printf is a shell builtin): never in an argv.
            `[ "$(getent -s files shadow ${u.name} | cut -d: -f2)" = ${q(hashes[u.name])} ] || { printf '%s:%s\\n' ${u.name} ${q(hashes[u.name])} | chpasswd -e; changed=1; echo "password of ${u.name}"; }`,
            `grep -qx ${u.name} $managed || echo ${u.name} >>$managed`,
        );
    }
    const wanted = plan.identity.users.map((u) => u.name).join(" ");
    lines.push(
        // A user this stack created and the config no longer names is removed (the home stays).
        `for u in $(cat $managed); do case " ${wanted} " in *" $u "*) ;; *) userdel "$u" 2>/dev/null || true; sed -i "/^$u\\$/d" $managed; changed=1; echo "removed user $u" ;; esac; done`,
        `if [ $changed = 1 ] || [ ! -f /var/yp/${domain}/passwd.byname ]; then make -s -C /var/yp >/dev/null; echo "NIS maps rebuilt"; fi`,
    );
    return lines.join("\n") + "\n";
}

/**
 * The users' homes on the shared home base, run on the master once the base is
 * mounted there: a missing home is made from /etc/skel, root's and 0700 until
 * its contents are the user's (so the user never sees it half made); an
 * existing one is left as it is but for its own owner and mode. Homes of users
 * dropped from the config stay.
 */
export function homesScript(plan: ClusterPlan): string {
    const lines = ["set -euo pipefail", `mkdir -p ${q(plan.homes.base)}`];
    for (const u of plan.identity.users) {
        const home = q(homeOf(plan, u));
        const owner = `${u.uid}:${u.uid}`;
        lines.push(
            `if [ ! -e ${home} ]; then mkdir -m 700 ${home}; cp -a /etc/skel/. ${home}/; find ${home} -mindepth 1 -exec chown -h ${owner} {} +; echo "made the home of ${u.name}"; fi`,
            // The home itself only: what is inside belongs to the user, and root
            // writing or chown'ing there would follow the user's symlinks. Managed
            // SSH keys live in /etc/ssh/authorized_keys (components/identity/ssh-access.ts).
            `chown ${owner} ${home} && chmod 755 ${home}`,
        );
    }
    return lines.join("\n") + "\n";
}

export interface NisArgs extends ServiceArgs {
    /** What must be up before homes are made on the master: the home base's mount there (plan.homes.source). */
    homeBase: pulumi.Input<pulumi.Resource>[];
}

/** Users and maps need no storage; their homes wait for `homeBase`. */
export class NisDomain extends ServiceComponent {
    public readonly master: ManagedService;
    /** The users' homes on the home base, made on the master. */
    public readonly homes: ManagedService;
    public readonly clients: Record<string, ManagedService>;
    /** User name → generated password (a Pulumi secret). */
    public readonly passwords: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: NisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NisDomain", name, opts);
        const { plan, machines } = args;
        const domain = plan.identity.nisDomain;
        const nas = plan.nas;
        const hashes: Record<string, pulumi.Output<string>> = {};
        for (const u of plan.identity.users) {
            const pw = new RandomSecret(`${name}-password-${u.name}`, { length: 20 }, { parent: this });
            this.passwords[u.name] = pw.value;
            hashes[u.name] = pw.sha512Crypt;
        }
        const allHashes = pulumi.all(hashes);
        const net = plan.networks.internal;
        const defaultdomain = { path: "/etc/defaultdomain", content: `${domain}\n` };
        this.master = this.step(
            `nis-master-${nas.name}`,
            {
                machine: machines[nas.name],
                files: [
                    defaultdomain,
                    {
                        path: "/etc/ypserv.securenets",
                        content: render("nis/ypserv.securenets.mustache", {
                            netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(net.prefix[1]).toString(),
                            network: net.prefix[0].toString(),
                        }),
                    },
                    { path: "/var/yp/ypservers", content: `${nas.name}\n` },
                ],
                after: allHashes.apply((h) => [enableUnits(["rpcbind.socket", "rpcbind.service"], true), usersScript(plan, h)].join("\n")),
                unit: "ypserv",
                onChange: "restart",
                probes: [
                    {
                        script: `echo "nis users $(ypcat -d ${domain} -h localhost passwd 2>/dev/null | awk -F: '$3 >= 1000 && $3 < 60000 {print $1":"$3":"$6}' | sort | paste -sd,)"`,
                        expect: `nis users ${[...plan.identity.users]
                            .sort((a, b) => a.name.localeCompare(b.name))
                            .map((u) => `${u.name}:${u.uid}:${homeOf(plan, u)}`)
                            .join(",")}`,
                    },
                    ...plan.identity.users.map((u) => ({
                        script: `echo "password ${u.name} $(getent -s files shadow ${u.name} | cut -d: -f2 | sha256sum | cut -c1-16)"`,
                        expect: hashes[u.name].apply((h) => `password ${u.name} ${crypto.createHash("sha256").update(h + "\n").digest("hex").slice(0, 16)}`),
                        secret: true,
                    })),
                ],
            },
        );
        this.homes = this.step(
            `homes-${nas.name}`,
            {
                machine: machines[nas.name],
                files: [],
                after: homesScript(plan),
                // A home base that does not answer in 5 s (a SAN outage) reads as homes missing.
                probes: plan.identity.users.map((u) => ({
                    script: `echo "home ${u.name} $(timeout 5 stat -c %u:%g:%a ${q(homeOf(plan, u))} 2>/dev/null || echo missing)"`,
                    expect: `home ${u.name} ${u.uid}:${u.uid}:755`,
                })),
            },
            [...this.waitsFor, ...args.homeBase],
        );
        this.clients = this.onEach(
            "nis-client",
            plan.nodes,
            machines,
            (node) => ({
                rollout: rolloutOf(plan, node),
                files: [
                    defaultdomain,
                    { path: "/etc/yp.conf", content: `# Managed by thesis-cluster (Pulumi).\ndomain ${domain} server ${nas.address}\n` },
                    { path: "/etc/nsswitch.conf", content: render("nis/nsswitch.conf.mustache", { domain }) },
                ],
                // ypbind gives up when no server answers as it starts: wait for the master's ypserv.
                after: [
                    `domainname ${q(domain)}`,
                    enableUnits(["rpcbind.socket", "rpcbind.service"], true),
                    `for _ in $(seq 100); do rpcinfo -u ${nas.address} ypserv >/dev/null 2>&1 && break; sleep 0.2; done`,
                    "systemctl is-failed --quiet ypbind && systemctl reset-failed ypbind || true",
                ].join("\n"),
                unit: "ypbind",
                onChange: "restart",
                keepOnDelete: ["/etc/nsswitch.conf"],
                probes: plan.identity.users.map((u) => ({
                    script: `for _ in $(seq 50); do getent passwd ${u.name} >/dev/null && break; sleep 0.2; done; echo "user $(getent passwd ${u.name} | cut -d: -f1,3,6)"`,
                    expect: `user ${u.name}:${u.uid}:${homeOf(plan, u)}`,
                })),
            }),
            [this.master],
        );
        this.registerOutputs({});
    }
}
