import * as fs from "fs";
import { TempProject } from "./project";

// The `lab` stack cannot run here (no VirtualBox): its preview must, offline,
// through the real CLI, and show every VM, network and service it would make.
describe("lab stack preview (VirtualBox, not run here)", () => {
    const project = new TempProject("lab");
    const stack = "labpreview";

    beforeAll(async () => {
        await project.initStack(stack, "lab");
    }, 120_000);

    afterAll(async () => {
        await project.pulumi(["stack", "rm", stack, "--yes", "--force"]);
        project.remove();
    });

    it("lists the 10 VMs, their networks and every service resource, without VBoxManage", async () => {
        const env = { ...project.env, PATH: project.env.PATH!.split(":").filter((d) => !fs.existsSync(`${d}/VBoxManage`)).join(":") };
        const r = await project.pulumi(["preview", "--stack", stack], 600_000, undefined, env);
        expect(r.stderr).not.toMatch(/error/i);
        expect(r.code).toBe(0);
        const creates = (type: string) => [...r.stdout.matchAll(new RegExp(`\\+\\s+${type.replace(/[:]/g, "\\$&")}\\s+(\\S+)\\s+create`, "g"))].map((m) => m[1]).sort();
        expect(creates("cluster:vbox:Machine")).toEqual(["cluster1", "cluster2", "cluster3", "cluster4", "cluster5", "master2", "nas", "san1", "san2", "san3"]);
        expect(creates("cluster:vbox:HostOnlyNetwork")).toEqual(["external-network"]);
        const commands = creates("cluster:remote:Command");
        for (const service of ["dnsmasq-cluster1", "keepalived-master2", "haproxy-cluster1", "nat-master2", "gluster-volumes", "nis-master-nas", "nfs-server-nas", "condor-cluster2", "bond-nas"]) {
            expect(commands.some((c) => c.startsWith(service))).toBe(true);
        }
        console.log(`lab preview: ${creates("cluster:vbox:Machine").length} VMs, ${commands.length} remote commands, ${r.stdout.match(/(\d+) to create/)?.[0]}`);
    }, 600_000);
});
