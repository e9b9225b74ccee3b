/**
 * Draining a compute node (condor_drain -graceful): HTCondor matches it no
 * more, its running jobs retire up to condor.drainTimeoutSeconds after their
 * start (MAXJOBRETIREMENTTIME, see the pool's config), self-checkpointing ones
 * are vacated at once and resume from their checkpoint elsewhere. Done before
 * a node leaves roles.compute (the `drain-<node>` step's delete), and before a
 * change that only a restart of the node's startd applies.
 */
import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { NodePlan } from "../plan";
import { q } from "../shell";

/** Knobs a startd reads only when it starts (its slots): a change to one restarts the startd, drained first. */
export const STARTD_RESTART_KNOBS = ["NUM_CPUS", "MEMORY", "RESERVED_MEMORY"];

/** Seconds a drain may take beyond the jobs' retirement: the vacate (MachineMaxVacateTime) and the startd's restart. */
const DRAIN_SLACK = 60;

/** The shell that asks the local startd to drain (retried while the collectors do not answer); `extra` adds condor_drain options. */
function requestDrain(node: NodePlan, reason: string, extra = ""): string[] {
    return [
        "host=$(condor_config_val FULL_HOSTNAME)",
        "asked=0",
        `for _ in $(seq 30); do if condor_drain -graceful ${extra}-reason ${q(`thesis-cluster: ${reason}`)} "$host" >/dev/null 2>&1; then asked=1; break; fi`,
        // Asked before (a drain interrupted and run again): the startd says so in its ad.
        `  if condor_status -af Draining -constraint "Machine == \\"$host\\"" 2>/dev/null | grep -q true; then asked=1; break; fi; sleep 2; done`,
        `[ $asked = 1 ] || { echo "${node.name}: condor_drain was refused 30 times (do the central managers answer?)" >&2; exit 1; }`,
    ];
}

/**
 * The delete script of `drain-<node>`: drains the node and waits until no job
 * runs there and its own schedd holds none (they would go with the machine).
 * Running jobs are HTCondor's to end by their retirement; jobs still queued
 * at `seconds` (plus slack) stop the removal, with what to do. Then the users
 * still logged in there get until the same deadline (sessionsEndScript).
 */
export function drainBeforeRemovalScript(node: NodePlan, seconds: number): string {
    return [
        `if ! systemctl is-active --quiet condor; then echo "${node.name}: condor is not running, nothing to drain"; exit 0; fi`,
        "t0=$SECONDS",
        ...requestDrain(node, `${node.name} leaves roles.compute`),
        `deadline=$((t0 + ${seconds + DRAIN_SLACK}))`,
        "while :; do",
        "  running=$(pgrep -c -x condor_starter || true)",
        // idle, running, held and suspended jobs of the node's own queue ("Total for all users: 4 jobs; 0 completed, 0 removed, 0 idle, 4 running, 0 held, 0 suspended").
        `  queued=$(condor_q -allusers -totals 2>/dev/null | awk '/^Total for all users:/ { for (i = 2; i <= NF; i++) if ($i ~ /^(idle|running|held|suspended),?$/) n += $(i - 1) } END { print n + 0 }')`,
        '  [ "$running" -eq 0 ] && [ "$queued" -eq 0 ] && break',
        "  if [ $SECONDS -ge $deadline ]; then",
        `    if [ "$queued" -gt 0 ]; then echo "${node.name}'s schedd still holds $queued unfinished jobs after $((SECONDS - t0)) s; they would be lost with the node. Let them finish, or remove them (condor_q -allusers, condor_rm on ${node.name}), then run pulumi up again." >&2; exit 1; fi`,
        "    break",
        "  fi",
        "  sleep 1",
        "done",
        `echo "${node.name} drained in $((SECONDS - t0)) s: no job runs there, its queue is empty"`,
        sessionsEndScript(node),
    ].join("\n");
}

/**
 * After the drain: users still logged in on the node (processes of a uid from
 * 1000 up) are told with `wall` to log in again through the front door, and
 * waited for until $deadline; sessions still open then end with the machine,
 * and the step says whose. HAProxy sends no new session there already.
 */
export function sessionsEndScript(node: NodePlan): string {
    return [
        `users() { ps -eo uid=,user= | awk '$1 >= 1000 && $1 < 65534 { n[$2]++ } END { for (u in n) printf "%s%s (%d processes)", sep, u, n[u]; sep = ", " }'; }`,
        "told=0",
        'while who=$(users); [ -n "$who" ]; do',
        "  if [ $told = 0 ]; then",
        `    echo ${q(`${node.name} is leaving the cluster: save your work, log out, and log in again through the front door.`)} "It goes in $((deadline - SECONDS)) s at the latest." | wall 2>/dev/null || true`,
        `    echo "${node.name}: waiting for the sessions of $who to end (told with wall)"; told=1`,
        "  fi",
        `  if [ $SECONDS -ge $deadline ]; then echo "${node.name}: the sessions of $who end with the machine, $((SECONDS - t0)) s after the drain began"; break; fi`,
        "  sleep 1",
        "done",
        `[ $told = 1 ] && [ -z "$(users)" ] && echo "${node.name}: every session ended after $((SECONDS - t0)) s"`,
        "true",
    ].join("\n");
}

/**
 * For the pool's config step: `before` records the restart-only knobs, `after`
 * compares them with the new file's and, when they changed on a running
 * startd, drains it with a restart at the end, and waits until the new startd
 * has reported to the collectors.
 */
export function restartDrainedScripts(node: NodePlan, seconds: number): { before: string; after: string } {
    const policy = "MAXJOBRETIREMENTTIME MachineMaxVacateTime";
    const knobs = `{ condor_config_val ${STARTD_RESTART_KNOBS.join(" ")} 2>&1 || true; } | paste -sd' '`;
    return {
        before: `knobs_before=$(${knobs})`,
        after: [
            `if [ "$(${knobs})" != "$knobs_before" ] && systemctl is-active --quiet condor; then`,
            "  t0=$SECONDS; since=$(date +%s)",
            // The drain follows the new file's retirement and vacate times: the running startd reads it first.
            "  systemctl reload condor",
            `  for _ in $(seq 100); do [ "$(condor_config_val -startd ${policy} 2>&1)" = "$(condor_config_val ${policy} 2>&1)" ] && break; sleep 0.2; done`,
            ...requestDrain(node, `${STARTD_RESTART_KNOBS.join(", ")} changed on ${node.name}`, "-restart-on-completion ").map((l) => `  ${l}`),
            `  deadline=$((t0 + ${seconds + DRAIN_SLACK}))`,
            `  until condor_status -af Name -constraint "Machine == \\"$host\\" && DaemonStartTime >= $since" 2>/dev/null | grep -q .; do`,
            `    [ $SECONDS -lt $deadline ] || { echo "${node.name}: its startd was not back $((SECONDS - t0)) s after the drain began" >&2; exit 1; }`,
            "    sleep 1",
            "  done",
            `  echo "restarted ${node.name}'s startd after draining it ($((SECONDS - t0)) s): ${STARTD_RESTART_KNOBS.join(", ")} changed"`,
            "fi",
        ].join("\n"),
    };
}

/**
 * One `drain-<node>` step per compute node, made after everything on it: it
 * installs nothing, and its delete (the node leaving roles.compute) drains the
 * node while its homes, users and sshd are still there; only then do the
 * node's other steps and its machine go. `deletedWith` names what only a
 * `pulumi destroy` removes: a destroy does not wait for jobs.
 */
export class ComputeDrain extends ServiceComponent {
    public readonly steps: Record<string, ManagedService>;

    constructor(name: string, args: ServiceArgs & { deletedWith: pulumi.Resource }, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:ComputeDrain", name, opts);
        const { plan, machines } = args;
        const seconds = plan.condor.drainTimeoutSeconds;
        this.steps = this.onEach("drain", plan.compute, machines, (node) => ({
            files: [],
            onDelete: drainBeforeRemovalScript(node, seconds),
            timeoutSeconds: seconds + 2 * DRAIN_SLACK,
            deletedWith: args.deletedWith,
        }));
        this.registerOutputs({});
    }
}
