import * as pulumi from "@pulumi/pulumi";
import { SshKeyPair } from "./components/provider";

const stack = pulumi.getStack();

// One key pair per stack reaches every machine; nothing is typed by hand.
const adminKey = new SshKeyPair("admin-key", { comment: `thesis-cluster-${stack}` });

export const adminPublicKey = adminKey.publicKey;
