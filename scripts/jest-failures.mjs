// Prints each failed test of a jest --json result file with the first lines of
// its message, for the end of the test log (where a truncated log still shows it).
//   node scripts/jest-failures.mjs RESULTS.json
import { readFileSync } from "fs";

const r = JSON.parse(readFileSync(process.argv[2], "utf8"));
// The message and the first line of its stack, without colours.
function first(m) {
    const lines = m.replace(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => l.trim() !== "");
    const at = lines.findIndex((l) => /^\s+at /.test(l));
    return lines.slice(0, Math.min(at < 0 ? lines.length : at + 1, 20)).join("\n    ");
}
for (const f of r.testResults) {
    const failed = f.assertionResults.filter((a) => a.status === "failed");
    // A file that failed as a whole (syntax error, a failing beforeAll) has no failed assertion.
    if (f.status === "failed" && failed.length === 0) console.log(`FAILED ${f.name}:\n    ${first(f.message || "(no message)")}`);
    for (const a of failed) console.log(`FAILED ${a.fullName}:\n    ${first(a.failureMessages.join("\n"))}`);
}
