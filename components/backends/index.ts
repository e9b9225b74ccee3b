/** The machine backends by the name `thesis-cluster:backend` gives them. */
import { Backend } from "../config";
import { BackendContext, MachineBackend } from "./backend";
import { existingBackend } from "./existing";
import { nspawnBackend } from "./nspawn";
import { virtualboxBackend } from "./virtualbox";

export const BACKEND_FACTORIES: Record<Backend, (ctx: BackendContext) => MachineBackend> = {
    nspawn: nspawnBackend,
    virtualbox: virtualboxBackend,
    existing: existingBackend,
};

export * from "./backend";
