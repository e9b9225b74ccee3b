/** `npm run bench` options, checked before anything is built. */

export const SECTIONS = ["lifecycle", "failover", "soak", "jobs", "had", "schedulers"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
    /** Topologies, in machines (the thesis' 10, then compute nodes added): one stack after the other. */
    machines: number[];
    only: Set<Section>;
    /** Samples per figure that is sampled (no-op runs, job runs, takeovers). */
    rounds: number;
    /** A cold up that builds the base image first, from a fresh image cache. */
    imageBuild: boolean;
    /** Exit non-zero when a goal is missed. */
    check: boolean;
}

export const usage = `usage: npm run bench -- [--machines 10,20] [--only ${SECTIONS.join(",")}] [--rounds 3] [--image-build] [--check]`;

export class BadOption extends Error {}

/**
 * Calls `handle` with each flag of ARGV in turn; `value()` takes the flag's
 * value, and throws BadOption when there is none.
 */
export function eachOption(argv: string[], handle: (flag: string, value: () => string) => void): void {
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        handle(flag, () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new BadOption(`${flag} needs a value`);
            return v;
        });
    }
}

/** Parses the command line; a bad option or value throws BadOption naming it. */
export function parseBenchOptions(argv: string[]): BenchOptions {
    const o: BenchOptions = { machines: [10, 20], only: new Set(SECTIONS), rounds: 3, imageBuild: false, check: false };
    eachOption(argv, (flag, value) => {
        switch (flag) {
            case "--machines": {
                const v = value();
                const ns = v.split(",").map(Number);
                if (ns.some((n) => !Number.isInteger(n) || n < 10 || n > 60)) {
                    throw new BadOption(`--machines ${v}: give machine counts from 10 (the thesis' cluster) to 60, separated by commas`);
                }
                o.machines = [...new Set(ns)].sort((a, b) => a - b);
                break;
            }
            case "--only": {
                const v = value();
                const names = v.split(",");
                const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
                if (unknown.length > 0) throw new BadOption(`--only ${v}: unknown section ${unknown.join(", ")} (sections: ${SECTIONS.join(", ")})`);
                o.only = new Set(names as Section[]);
                break;
            }
            case "--rounds":
                o.rounds = parseRounds(value());
                break;
            case "--image-build":
                o.imageBuild = true;
                break;
            case "--check":
                o.check = true;
                break;
            default:
                throw new BadOption(`unknown option ${flag}`);
        }
    });
    return o;
}

/** `--rounds N`: how many times each measurement repeats (the bench's and the evaluation's). */
export function parseRounds(v: string): number {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new BadOption(`--rounds ${v}: give a whole number from 1 to 20`);
    return n;
}
