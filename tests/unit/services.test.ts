import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { applyScript, checkScript } from "../../components/converge";
import { clusterHosts, dnsmasqConf, haproxyCfg, hostsFile, keepalivedConf, nftablesConf, resolvConf } from "../../components/frontdoor/configs";
import { macOf, nicOn } from "../../components/plan";
import { ganeshaConf } from "../../components/storage/nfs";
import { bondFiles } from "../../components/network/bond";
import { condorConfig } from "../../components/jobs/condor";
import { infrastructureLogins, penaltyExempt, sshAccessConf, userKeyFiles } from "../../components/identity/ssh-access";
import { execFileSync } from "child_process";
import * as os from "os";
import { planOf, stackConfig } from "./stackfiles";

const GOLDEN = path.join(__dirname, "..", "golden");

/** Every rendered file of a stack, keyed by its golden path. */
function renderings(stack: string): Record<string, string> {
    const plan = planOf(stackConfig(stack));
    const out: Record<string, string> = {};
    for (const d of plan.directors) {
        out[`${d.name}/dnsmasq.d/thesis-cluster.conf`] = dnsmasqConf(plan, d);
        out[`${d.name}/keepalived.conf`] = keepalivedConf(plan, d);
        out[`${d.name}/haproxy.cfg`] = haproxyCfg(plan, d, "STATS-PASSWORD");
        out[`${d.name}/nftables.conf`] = nftablesConf(plan, d);
        out[`${d.name}/resolv.conf`] = resolvConf(plan, d);
    }
    out[`cluster2/resolv.conf`] = resolvConf(plan, plan.at("cluster2"));
    out[`cluster2/hosts`] = hostsFile(plan, plan.at("cluster2"));
    out[`cluster2/sshd_config.d/20-thesis-cluster-access.conf`] = sshAccessConf(plan, plan.at("cluster2"));
    out[`nas/sshd_config.d/20-thesis-cluster-access.conf`] = sshAccessConf(plan, plan.at("nas"));
    out[`nas/ganesha.conf`] = ganeshaConf(plan);
    for (const f of bondFiles(plan, plan.at("nas"))) out[`nas/${path.basename(f.path)}`] = f.content;
    for (const n of ["cluster1", "master2", "cluster2"]) out[`${n}/condor/50-thesis-cluster.conf`] = condorConfig(plan, plan.at(n))!;
    return out;
}

describe("front door config files", () => {
    // One set of golden files (tests/golden/thesis): the stacks share the topology,
    // and only the machine layer differs between them, so both render the same.
    // UPDATE_GOLDEN=1 npx jest tests/unit/services.test.ts rewrites them; review the diff.
    it.each(["local", "lab"])("render as the committed golden files for the %s stack", (stack) => {
        for (const [rel, text] of Object.entries(renderings(stack))) {
            const file = path.join(GOLDEN, "thesis", rel);
            if (process.env.UPDATE_GOLDEN) {
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, text);
            }
            expect([rel, text]).toEqual([rel, fs.readFileSync(file, "utf8")]);
        }
    });

    const plan = planOf(stackConfig("local"));

    it("follow the thesis: sync group of two instances, MASTER 101 on cluster1, BACKUP 100 on master2", () => {
        const master = keepalivedConf(plan, plan.at("cluster1"));
        expect(master).toMatch(/vrrp_instance VI_1 \{\n\s+state MASTER\n\s+interface eth0\n\s+virtual_router_id 52\n\s+priority 101/);
        expect(master).toMatch(/vrrp_instance VE_1 \{\n\s+state MASTER\n\s+interface eth1\n\s+virtual_router_id 51\n\s+priority 101/);
        expect(master).toContain("10.0.100.200/24 dev eth0");
        expect(master).toContain("192.168.1.200/24 dev eth1");
        expect(keepalivedConf(plan, plan.at("master2"))).toMatch(/state BACKUP\n\s+interface eth0\n\s+virtual_router_id 52\n\s+priority 100/);
    });

    it("farm SSH on the external VIP over every compute node, with a generated stats password", () => {
        const h = haproxyCfg(plan, plan.at("master2"), "s3cret");
        expect(h).toContain("bind 192.168.1.200:2000");
        for (const [n, a] of [["cluster2", "10.0.100.2"], ["cluster5", "10.0.100.5"]]) expect(h).toContain(`server ${n} ${a}:22 check`);
        expect(h).toContain("stats auth admin:s3cret");
        expect(h).not.toContain("admin:admin");
        expect(h).toContain("bind 192.168.1.102:9000");
        expect(h).not.toContain("&#x2F;"); // mustache's HTML escaping is off
    });

    it("name every node and VIP, lease every non-director its MAC, and keep PXE off by default", () => {
        const names = clusterHosts(plan).map((h) => h.name);
        expect(names).toEqual(expect.arrayContaining(["cluster1", "master2", "nas", "san3", "gateway", "frontdoor", "cluster1-ext"]));
        const d = dnsmasqConf(plan, plan.at("cluster1"));
        expect(d).toContain(`dhcp-host=${macOf("cluster3", "eth0")},cluster3,10.0.100.3,infinite`);
        expect(d).toContain("host-record=frontdoor,frontdoor.cluster,192.168.1.200");
        expect(d).toContain("interface=eth0");
        expect(d).not.toContain("enable-tftp");
        const pxe = planOf({ ...stackConfig("local"), frontDoor: { pxe: true, dhcpMtu: 9000 } });
        expect(dnsmasqConf(pxe, pxe.at("cluster1"))).toMatch(/enable-tftp\ntftp-root=\/srv\/tftp\ndhcp-boot=pxelinux.0/);
        expect(dnsmasqConf(pxe, pxe.at("cluster1"))).toContain("dhcp-option=option:mtu,9000");
    });

    it("send internal nodes through the internal VIP and directors to their own dnsmasq", () => {
        expect(resolvConf(plan, plan.at("cluster2"))).toContain("nameserver 10.0.100.200\nnameserver 10.0.100.1\nnameserver 10.0.100.50\n");
        expect(resolvConf(plan, plan.at("master2"))).toContain("nameserver 127.0.0.1\n");
        expect(nftablesConf(plan, plan.at("cluster1"))).toContain('ip saddr 10.0.100.0/24 oifname "eth1" masquerade');
        expect(nicOn(plan.at("master2"), "external").name).toBe("eth1");
    });
});

describe("convergence scripts", () => {
    const files = [{ path: "/etc/demo.conf", content: "a = 1\n", mode: "0640", owner: "root:demo", validate: "demo-check {}" }];

    it("install only what the checker accepts, then enable and reload the unit", () => {
        const s = applyScript(files, { unit: "demo" });
        expect(s).toContain(`put '/etc/demo.conf' 640 'root:demo' '${Buffer.from("a = 1\n").toString("base64")}' 'demo-check {}'`);
        // Enabled for the next boot without a manager reload or Debian's SysV helper.
        expect(s).toContain("SYSTEMCTL_SKIP_SYSV=1 systemctl enable --quiet --no-reload 'demo'");
        expect(s).toContain("systemctl reload-or-restart 'demo'");
        expect(applyScript(files, { unit: "demo", onChange: "restart" })).not.toContain("reload-or-restart");
    });

    it("stage each new file readable by its owner alone until its mode is set (run here in bash)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "put-"));
        try {
            // A base64 that records the mode of the file its output goes to, as it writes it.
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "base64"), `#!/bin/bash\nstat -L -c %a /proc/self/fd/1 >>${dir}/modes\nexec /usr/bin/base64 "$@"\n`, { mode: 0o755 });
            const owner = `${os.userInfo().username}:${execFileSync("id", ["-gn"], { encoding: "utf8" }).trim()}`;
            const target = path.join(dir, "etc", "secret.conf");
            const script = applyScript([{ path: target, content: "key = s3cret\n", mode: "640", owner }], {});
            const out = execFileSync("bash", ["-c", script], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` }, encoding: "utf8" });
            expect(out).toBe(`installed ${target}\n`);
            expect(fs.readFileSync(path.join(dir, "modes"), "utf8")).toBe("600\n");
            expect(fs.statSync(target).mode & 0o777).toBe(0o640);
            expect(fs.readFileSync(target, "utf8")).toBe("key = s3cret\n");
            expect(fs.readdirSync(path.dirname(target))).toEqual(["secret.conf"]);
            // The directory the file lands in keeps the usual mode: others may need to traverse it.
            expect(fs.statSync(path.dirname(target)).mode & 0o777).toBe(0o755);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("expect the content's hash, mode and owner, the unit active and enabled, and each probe", () => {
        const { check, expect: want } = checkScript(files, { unit: "demo", probes: [{ script: "echo x=$(cat /x)", expect: "x=1" }] });
        const hash = crypto.createHash("sha256").update("a = 1\n").digest("hex");
        expect(want).toBe(`/etc/demo.conf ${hash} 640:root:demo\ndemo active enabled\nx=1`);
        expect(check).toContain("systemctl is-active 'demo'");
    });
});

describe("NIS users and homes scripts", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { homesScript, usersScript } = require("../../components/identity/nis") as typeof import("../../components/identity/nis");
    const plan = planOf({ ...stackConfig("local"), identity: { users: [{ name: "jordi", uid: 2001, sshKeys: ["ssh-ed25519 AAAA jordi@laptop"] }] } });

    it("creates the user without a home, sets the hash, and rebuilds the maps only on change", () => {
        const s = usersScript(plan, { jordi: "$6$salt$hash" });
        expect(s).toContain("useradd -u 2001 -g 2001 -M -d '/mnt/gfs-r/home/jordi' -s /bin/bash jordi");
        // The hash goes to chpasswd on its stdin, never into a command's argv.
        expect(s).toContain("printf '%s:%s\\n' jordi '$6$salt$hash' | chpasswd -e");
        expect(s).not.toMatch(/usermod[^\n]* -p /);
        // Nothing on the home base: the maps do not wait for storage.
        expect(s).not.toContain("/mnt/gfs-r/home'");
        expect(s).not.toContain("mkdir -p '/mnt/gfs-r");
        expect(s).toMatch(/if \[ \$changed = 1 \] \|\| \[ ! -f \/var\/yp\/cluster\/passwd.byname \]; then make -s -C \/var\/yp/);
        expect(s).toContain('case " jordi " in');
    });

    it("makes a missing home from /etc/skel, closed to the user until it is theirs, and touches only an existing home's own owner and mode", () => {
        const s = homesScript(plan);
        const home = "'/mnt/gfs-r/home/jordi'";
        expect(s).toContain(`if [ ! -e ${home} ]; then mkdir -m 700 ${home}; cp -a /etc/skel/. ${home}/; find ${home} -mindepth 1 -exec chown -h 2001:2001 {} +; echo "made the home of jordi"; fi`);
        // Root writes nothing inside an existing home: the user's symlinks there are not followed.
        expect(s).not.toContain(".ssh");
        expect(s).not.toContain("chown -R");
        expect(s).toContain(`chown 2001:2001 ${home} && chmod 755 ${home}`);
    });

    it("makes homes as it says, run in a scratch directory: skel copied and the user's, a second run prints nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homes-"));
        try {
            fs.mkdirSync(path.join(dir, "skel"));
            fs.writeFileSync(path.join(dir, "skel", ".bashrc"), "# skel\n");
            const local = planOf({ ...stackConfig("local"), identity: { homeBase: path.join(dir, "home"), users: [{ name: "jordi", uid: 2001 }] } });
            const script = homesScript(local).replace(/\/etc\/skel/g, path.join(dir, "skel"));
            const first = execFileSync("bash", ["-c", script], { encoding: "utf8" });
            expect(first).toBe("made the home of jordi\n");
            expect(fs.readFileSync(path.join(dir, "home", "jordi", ".bashrc"), "utf8")).toBe("# skel\n");
            const st = fs.statSync(path.join(dir, "home", "jordi"));
            expect([(st.mode & 0o777).toString(8), st.uid, fs.statSync(path.join(dir, "home", "jordi", ".bashrc")).uid]).toEqual(["755", 2001, 2001]);
            expect(execFileSync("bash", ["-c", script], { encoding: "utf8" })).toBe("");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("Gluster scripts", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const g = require("../../components/storage/gluster") as typeof import("../../components/storage/gluster");
    const plan = planOf(stackConfig("local"));

    it("create gv0 as replica 3 over brick1 and gv1 distributed over brick2, limited to the cluster", () => {
        const s = g.volumesScript(plan);
        expect(s).toContain("g volume create gv0 replica 3 san1:/export/brick1/data san2:/export/brick1/data san3:/export/brick1/data");
        expect(s).toContain("g volume create gv1 san1:/export/brick2/data san2:/export/brick2/data san3:/export/brick2/data");
        expect(s).toContain("g volume set gv0 auth.allow '10.0.100.*'");
        expect(g.volumesProbes(plan).map((p) => p.expect).join("\n")).toContain("gv0 Replicate Started san1:/export/brick1/data,san2:/export/brick1/data,san3:/export/brick1/data");
        expect(g.volumesProbes(plan).map((p) => p.expect).join("\n")).toContain("gv1 Distribute Started");
    });

    it("expand a distributed volume with the bricks of a new SAN node, never re-creating it", () => {
        const more = planOf({
            ...stackConfig("local"),
            nodes: [...(stackConfig("local").nodes as object[]), { name: "san4", addresses: { internal: "10.0.100.9" }, disks: [{ sizeMb: 1024 }, { sizeMb: 1024 }] }],
            roles: { ...(stackConfig("local").roles as object), san: ["san1", "san2", "san3", "san4"] },
            storage: { volumes: [{ name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d" }] },
            identity: { homeBase: "/srv/home" },
            // Slurm's backup controller needs a replicated volume.
            jobs: { schedulers: ["htcondor"] },
        });
        const s = g.volumesScript(more);
        // Existing volume: only the missing bricks are added, then the layout is fixed.
        expect(s).toMatch(/if ! g volume info gv1 >\/dev\/null 2>&1; then\n  g volume create gv1 /);
        expect(s).toContain("for b in san1:/export/brick2/data san2:/export/brick2/data san3:/export/brick2/data san4:/export/brick2/data; do");
        expect(s).toContain('g volume add-brick gv1 "${missing[@]}"');
        expect(s).toContain("g volume rebalance gv1 fix-layout start");
        expect(s).toContain("g peer probe san4");
    });

    const withVolumes = (volumes: object[]) => planOf({ ...stackConfig("local"), storage: { volumes }, identity: { homeBase: "/srv/home" }, jobs: { schedulers: ["htcondor"] } });

    it("move the files off bricks that leave a volume before they go, and let a SAN node gone from roles.san leave the pool", () => {
        const two = withVolumes([{ name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d", nodes: ["san1", "san2"] }]);
        expect(g.volumeBricks(two, two.storage.volumes[0])).toEqual(["san1:/export/brick2/data", "san2:/export/brick2/data"]);
        const s = g.volumesScript(two);
        expect(s).toContain('for b in $have; do case " san1:/export/brick2/data san2:/export/brick2/data " in *" $b "*) ;; *) extra+=("$b") ;; esac; done');
        // start, wait until no migration is running, commit only when it completed.
        const start = s.indexOf('g volume remove-brick gv1 "${extra[@]}" start');
        const wait = s.indexOf('g volume remove-brick gv1 "${extra[@]}" status');
        const commit = s.indexOf('g volume remove-brick gv1 "${extra[@]}" commit');
        expect([start > 0, start < wait, wait < commit]).toEqual([true, true, true]);
        expect(s).toContain("did not complete; the bricks stay in the volume");
        expect(s).toContain('case " san1 san2 san3 " in *" $p "*) ;; *) g peer detach "$p"');
        expect(g.brickLayout(two)).toEqual({ gv1: { replica: undefined, bricks: ["san1:/export/brick2/data", "san2:/export/brick2/data"] } });
    });

    it("move aside a brick directory of a volume that no longer lists it, so that the node can join again; never a brick in use", () => {
        const s = g.retireStaleBricksScript("san3", [0, 1], ["gv0"]);
        expect(s.split("\n")[0]).toBe("# bricks of san3: gv0");
        // Only when glusterd answers, and only a directory that was a brick and is none now.
        expect(s).toContain("if bricks=$(gluster --mode=script volume info 2>/dev/null | sed -n 's/^Brick[0-9]*: //p'); then");
        expect(s).toContain("if [ -d /export/brick2/data/.glusterfs ] && ! grep -qxF 'san3:/export/brick2/data' <<<\"$bricks\"; then old=/export/brick2/data.removed-");
        expect(s).not.toMatch(/rm -rf/);
        expect(g.volumesOf(plan, "san3")).toEqual(["gv0", "gv1"]);
    });

    it("refuse a removal that would lower a replica count or split a replica set, and allow whole sets to leave", () => {
        const all = g.brickLayout(plan);
        // san3 gone from gv1 (distributed): allowed; from gv0 (replica 3 over all SAN nodes): refused.
        const gv1Two = withVolumes([
            { name: "gv0", type: "replicate", disk: 0, mount: "/mnt/gfs-r" },
            { name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d", nodes: ["san1", "san2"] },
        ]);
        expect(g.brickRemovalProblems(all, gv1Two)).toEqual([]);
        expect(g.bricksLeaving(all, gv1Two)).toEqual({ gv1: ["san3:/export/brick2/data"] });
        const gv0Two = withVolumes([{ name: "gv0", type: "replicate", disk: 0, mount: "/mnt/gfs-r", nodes: ["san1", "san2"] }]);
        expect(g.brickRemovalProblems(all, gv0Two)).toEqual([
            "volume gv0 is replica 3; with san3 gone it would be replica 2. Lowering a volume's replica count gives up copies of every file: not done by pulumi up. Keep san3 in the volume, or set storage.volumes[0].replica and nodes so that whole replica sets of 3 leave",
        ]);
        // Replica 2 over four bricks, two nodes kept: a whole set may leave, half of each set may not.
        const keep = (nodes: string[]) => withVolumes([{ name: "gv0", type: "replicate", replica: 2, disk: 0, mount: "/mnt/gfs-r", nodes }]);
        expect(g.brickRemovalProblems({ gv0: { replica: 2, bricks: ["san1:/export/brick1/data", "san2:/export/brick1/data", "san3:/export/brick1/data", "x:/export/brick1/data"] } }, keep(["san1", "san2"]))).toEqual([]);
        expect(g.brickRemovalProblems({ gv0: { replica: 2, bricks: ["san1:/export/brick1/data", "san3:/export/brick1/data", "san2:/export/brick1/data", "x:/export/brick1/data"] } }, keep(["san1", "san2"]))).toEqual([
            "volume gv0: san3, x would leave part of the replica set san1:/export/brick1/data san3:/export/brick1/data; san2:/export/brick1/data x:/export/brick1/data; only whole sets of 2 bricks can leave",
        ]);
        // A new stack, or a volume new since the last update: nothing to compare.
        expect(g.brickRemovalProblems(undefined, gv0Two)).toEqual([]);
    });

    it("format a brick disk only when it holds no filesystem, and mount volumes from fstab", () => {
        expect(g.mountUnit("/export/brick1")).toBe("export-brick1.mount");
        expect(g.mountUnit("/mnt/gfs-r")).toBe("mnt-gfs\\x2dr.mount");
        expect(g.fstabLine(plan, plan.storage.volumes[0])).toBe("san1:/gv0 /mnt/gfs-r glusterfs defaults,_netdev,backup-volfile-servers=san2:san3 0 0");
        expect(g.allowPattern(plan)).toBe("10.0.100.*");
    });
});

describe("sshd access", () => {
    const plan = planOf({
        ...stackConfig("local"),
        identity: { users: [{ name: "jordi", uid: 2001, sshKeys: ["ssh-ed25519 AAAA jordi@laptop"] }, { name: "ana", uid: 2002 }] },
    });

    it("exempts exactly the directors' internal addresses and the internal VIP from sshd's penalties", () => {
        expect(penaltyExempt(plan)).toEqual(["10.0.100.1/32", "10.0.100.50/32", "10.0.100.200/32"]);
        expect(sshAccessConf(plan, plan.at("cluster2"))).toContain("\nPerSourcePenaltyExemptList 10.0.100.1/32,10.0.100.50/32,10.0.100.200/32\n");
    });

    it("keeps users' managed keys outside their homes, one root-owned file a user with keys", () => {
        expect(sshAccessConf(plan, plan.at("cluster2"))).toContain("\nAuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u\n");
        expect(userKeyFiles(plan)).toEqual([{ path: "/etc/ssh/authorized_keys/jordi", content: "ssh-ed25519 AAAA jordi@laptop\n" }]);
    });

    it("admits root alone on the nodes that are not compute nodes", () => {
        expect(infrastructureLogins(plan, plan.at("cluster2"))).toBeUndefined();
        expect(sshAccessConf(plan, plan.at("cluster2"))).not.toContain("AllowUsers");
        for (const n of ["cluster1", "master2", "nas", "san1"]) expect([n, infrastructureLogins(plan, plan.at(n))]).toEqual([n, ["root"]]);
        expect(sshAccessConf(plan, plan.at("nas"))).toMatch(/\nAllowUsers root\n$/);
    });
});
