/**
 * What the stack's last update left in its outputs, read through a
 * StackReference to the stack itself: how the program tells what leaves the
 * cluster (a compute node to drain, bricks to move off) and says so in the
 * preview before the engine deletes it, and refuses a removal that would lower
 * a replica count before any machine is touched.
 */
import * as pulumi from "@pulumi/pulumi";

let self: pulumi.StackReference | undefined;

/** One of the stack's own outputs as its last update left it (undefined for a new stack). */
export async function previousOutput(name: string): Promise<unknown> {
    self ??= new pulumi.StackReference("previous", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const details = await self.getOutputDetails(name);
    return details.value ?? details.secretValue;
}

/** Compute nodes the last update had in the pool (its `condorPool` output) that the plan no longer has. */
export function computeLeaving(previousPool: unknown, compute: string[]): string[] {
    const pool = previousPool as { executeSlots?: Record<string, number> } | undefined;
    return Object.keys(pool?.executeSlots ?? {}).filter((n) => !compute.includes(n));
}
