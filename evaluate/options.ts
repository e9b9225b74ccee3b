/** `npm run evaluate` options, checked before anything is touched. */
import * as path from "path";
import { BadOption, eachOption, parseRounds } from "../bench/options";

export interface EvaluateOptions {
    /** The stack of the repository to evaluate (it must be up); unset with `fresh`. */
    stack: string;
    /** Where results.json, index.html and report.md go (made if missing). */
    out: string;
    /** A temporary stack of its own on the test subnets: cold up, the evaluation, destroy. */
    fresh: boolean;
    /** Exit non-zero when a target is missed. */
    check: boolean;
    /** Rounds of the HTCondor and Slurm comparison (each figure's median, min and max over them). */
    rounds: number;
}

export const usage = "usage: npm run evaluate -- [--stack NAME | --fresh] [--out DIR] [--rounds 3] [--check]";

const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

/** Parses the command line; a bad option or value throws BadOption naming it. */
export function parseEvaluateOptions(argv: string[], cwd = process.cwd()): EvaluateOptions {
    const o: EvaluateOptions = { stack: "local", out: path.resolve(cwd, "report"), fresh: false, check: false, rounds: 3 };
    let stackGiven = false;
    eachOption(argv, (flag, value) => {
        switch (flag) {
            case "--stack": {
                const v = value();
                if (!STACK_NAME.test(v)) throw new BadOption(`--stack ${v}: not a stack name (letters, digits, "-", "_", "." and up to two "/")`);
                o.stack = v;
                stackGiven = true;
                break;
            }
            case "--out": {
                const v = value();
                if (v.trim() === "") throw new BadOption(`--out "${v}": give a directory`);
                o.out = path.resolve(cwd, v);
                break;
            }
            case "--rounds":
                o.rounds = parseRounds(value());
                break;
            case "--fresh":
                o.fresh = true;
                break;
            case "--check":
                o.check = true;
                break;
            default:
                throw new BadOption(`unknown option ${flag}`);
        }
    });
    if (o.fresh && stackGiven) throw new BadOption(`--stack ${o.stack} with --fresh: --fresh makes a temporary stack of its own; give one or the other`);
    return o;
}
