import { parseBenchOptions, SECTIONS } from "../../bench/options";
import { formatRows, median, misses, ratio, Row, verdict } from "../../bench/report";

describe("bench rows", () => {
    const rows: Row[] = [
        { what: "no-op up", value: 6.3, unit: "s", goal: { op: "<", value: 8 }, how: "median of 3", samples: [6.2, 6.3, 6.4] },
        { what: "destroy", value: 18.4, unit: "s", goal: { op: "<", value: 15 } },
        { what: "jobs", value: 10, unit: "%", goal: { op: "<=", value: 10 } },
        { what: "defaults", value: 30, unit: "%" },
        { what: "stopped", value: NaN, unit: "s", goal: { op: "<", value: 1 } },
    ];

    it("meets a goal below it, misses one above it or at a strict bound, and a figure never measured misses", () => {
        expect(rows.map(verdict)).toEqual(["PASS", "MISS", "PASS", "—", "MISS"]);
        expect(verdict({ what: "x", value: 8, unit: "s", goal: { op: "<", value: 8 } })).toBe("MISS");
        expect(misses(rows).map((r) => r.what)).toEqual(["destroy", "stopped"]);
    });

    it("prints each figure beside its goal with the ratio and the runs", () => {
        expect(ratio(rows[1])!.toFixed(2)).toBe("1.23");
        expect(ratio(rows[3])).toBeUndefined();
        const text = formatRows(rows);
        expect(text).toMatch(/^no-op up +6\.3 s \(median of 3\) +< 8 s +0\.79× +PASS$/m);
        expect(text).toMatch(/^ +runs: 6\.2, 6\.3, 6\.4$/m);
        expect(text).toMatch(/^destroy +18\.4 s +< 15 s +1\.23× +MISS$/m);
        expect(text).toMatch(/^jobs +10% +<= 10% +1\.00× +PASS$/m);
        expect(text).toMatch(/^stopped +not measured +< 1 s +MISS$/m);
    });

    it("takes the median of odd and even samples", () => {
        expect(median([3, 1, 2])).toBe(2);
        expect(median([4, 1, 2, 3])).toBe(2.5);
        expect(median([])).toBeNaN();
    });
});

describe("bench options", () => {
    it("defaults to every section on 10 and 20 machines, three rounds", () => {
        const o = parseBenchOptions([]);
        expect(o.machines).toEqual([10, 20]);
        expect([...o.only]).toEqual([...SECTIONS]);
        expect(o).toMatchObject({ rounds: 3, check: false, imageBuild: false });
    });

    it("reads machines, sections, rounds and --check", () => {
        const o = parseBenchOptions(["--machines", "20,10,20", "--only", "had,jobs", "--rounds", "1", "--check"]);
        expect(o.machines).toEqual([10, 20]);
        expect([...o.only]).toEqual(["had", "jobs"]);
        expect(o).toMatchObject({ rounds: 1, check: true });
    });

    it("names the option and the value it refuses", () => {
        expect(() => parseBenchOptions(["--machines", "8"])).toThrow("--machines 8: give machine counts from 10");
        expect(() => parseBenchOptions(["--machines", "ten"])).toThrow("--machines ten");
        expect(() => parseBenchOptions(["--only", "jobs,speed"])).toThrow("--only jobs,speed: unknown section speed");
        expect(() => parseBenchOptions(["--rounds", "0"])).toThrow("--rounds 0");
        expect(() => parseBenchOptions(["--rounds"])).toThrow("--rounds needs a value");
        expect(() => parseBenchOptions(["--fast"])).toThrow("unknown option --fast");
    });
});
